/*
 * kube_objects.c — a Pod parsed once into a kube_pod, the controller
 * reference lookup, and what "serving" and "fresher" mean (see
 * kube_objects.h).
 *
 * Not for: API calls, owners beyond the first step, workloads.
 */
#include "kube/kube_objects.h"

#include <stdio.h>
#include <string.h>

static void copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

bool kube_controller_ref(const json_t *obj, kube_owner *out)
{
    memset(out, 0, sizeof *out);
    size_t i;
    const json_t *ref;
    json_array_foreach(kube_json_get(obj, "metadata.ownerReferences"), i, ref)
    {
        if (!json_is_true(json_object_get(ref, "controller")))
            continue;
        copy(out->kind, sizeof out->kind, kube_json_str(ref, "kind"));
        copy(out->name, sizeof out->name, kube_json_str(ref, "name"));
        copy(out->uid, sizeof out->uid, kube_json_str(ref, "uid"));
        copy(out->api_version, sizeof out->api_version,
             kube_json_str(ref, "apiVersion"));
        return true;
    }
    return false;
}

void kube_pod_parse(const json_t *obj, kube_pod *out)
{
    memset(out, 0, sizeof *out);
    copy(out->ns, sizeof out->ns, kube_json_str(obj, "metadata.namespace"));
    copy(out->name, sizeof out->name, kube_json_str(obj, "metadata.name"));
    copy(out->uid, sizeof out->uid, kube_json_str(obj, "metadata.uid"));
    copy(out->node, sizeof out->node, kube_pod_node(obj));
    copy(out->ip, sizeof out->ip, kube_pod_ip(obj));
    copy(out->phase, sizeof out->phase, kube_pod_phase(obj));
    out->ready = kube_pod_ready(obj);
    out->terminating = kube_pod_terminating(obj);
    out->finished = !strcmp(out->phase, "Succeeded") ||
                    !strcmp(out->phase, "Failed");
    out->start_s = kube_pod_start_time(obj);
    out->restarts = kube_pod_restarts(obj);
    copy(out->rev_hash, sizeof out->rev_hash, kube_pod_revision_hash(obj));
    kube_pod_images(obj, out->images, sizeof out->images);
    out->has_controller = kube_controller_ref(obj, &out->controller);
    out->ep_state = kube_pod_endpoint_resolve(obj, &out->ep);
}

bool kube_serving(bool ready, bool terminating, bool finished)
{
    return ready && !terminating && !finished;
}

bool kube_fresher(int64_t a_start_s, const char *a_name, int64_t b_start_s,
                  const char *b_name)
{
    if (a_start_s != b_start_s)
        return a_start_s > b_start_s;
    return strcmp(a_name, b_name) < 0;
}
