/*
 * lwa_ignore.c — stacks that are not anyone's leak: goleak-style rules
 * (IgnoreTopFunction, IgnoreAnyFunction, IgnoreCreatedBy) given by the
 * user, plus built-ins for what every Go service runs.
 *
 * Built-ins, and why each is safe:
 *   - the goroutine serving the capture (runtime/pprof writers, the
 *     net/http/pprof handler) and its connection's background reader: they
 *     exist because we asked;
 *   - os/signal's loop: one per process, started by signal.Notify;
 *   - runtime background goroutines (every frame a runtime internal, or
 *     created by the runtime): Go hides them from most formats anyway;
 *   - the testing harness (tRunner, (*T).Run...): goleak's own exclusions;
 *   - a net/http server's accept loop: one per server is the design, so
 *     only the first goroutine of such a stack is ignored.  Ten accept
 *     loops are nine servers nobody closed, and still show.
 *
 * "Top function" follows goleak (the first frame of the stack as Go prints
 * it, runtime internals aside) and also accepts the innermost user
 * function, which is what leakwatch shows: a user copying a name from our
 * output gets what they meant.
 *
 * Not for: deciding anything about the stacks that remain.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "lw/lw_grow.h"

typedef struct rule {
    lwa_ignore_kind kind;
    char *func;
    size_t len;  /* compared length: without the trailing '*' */
    bool prefix;
    char *desc;  /* "--ignore-top main.worker" */
} rule;

struct lwa_ignore {
    bool builtins;
    rule *rules;
    size_t n, cap;
};

lwa_ignore *lwa_ignore_new(bool builtins)
{
    lwa_ignore *ig = calloc(1, sizeof(*ig));
    if (ig)
        ig->builtins = builtins;
    return ig;
}

void lwa_ignore_free(lwa_ignore *ig)
{
    if (!ig)
        return;
    for (size_t i = 0; i < ig->n; i++) {
        free(ig->rules[i].func);
        free(ig->rules[i].desc);
    }
    free(ig->rules);
    free(ig);
}

int lwa_ignore_add(lwa_ignore *ig, lwa_ignore_kind kind, const char *func)
{
    static const char *const flag[] = {
        [LWA_IGNORE_TOP] = "--ignore-top",
        [LWA_IGNORE_ANY] = "--ignore-any",
        [LWA_IGNORE_CREATED_BY] = "--ignore-created-by",
    };
    if (!func || !*func || (unsigned)kind > LWA_IGNORE_CREATED_BY)
        return -1;
    if (lw_grow(&ig->rules, &ig->cap, ig->n, sizeof *ig->rules, 8))
        return -1;
    rule *r = &ig->rules[ig->n];
    r->kind = kind;
    r->func = strdup(func);
    size_t dlen = strlen(flag[kind]) + strlen(func) + 2;
    r->desc = malloc(dlen);
    if (!r->func || !r->desc) {
        free(r->func);
        free(r->desc);
        return -1;
    }
    snprintf(r->desc, dlen, "%s %s", flag[kind], func);
    r->len = strlen(func);
    r->prefix = func[r->len - 1] == '*';
    if (r->prefix)
        r->len--;
    ig->n++;
    return 0;
}

static bool rule_matches(const rule *r, const char *func)
{
    if (!func)
        return false;
    if (r->prefix)
        return !strncmp(func, r->func, r->len);
    return !strcmp(func, r->func);
}

static bool starts(const char *s, const char *p)
{
    return s && !strncmp(s, p, strlen(p));
}

static bool any_frame(const pprof_frame *f, uint32_t n, const char *prefix)
{
    for (uint32_t i = 0; i < n; i++)
        if (starts(f[i].func, prefix))
            return true;
    return false;
}

static bool builtin_stack(const pprof_frame *f, uint32_t n, uint32_t top,
                          lwa_ignore_match *m)
{
    m->allowance = 0;
    if (any_frame(f, n, "runtime/pprof.writeGoroutine") ||
        any_frame(f, n, "runtime/pprof.writeRuntimeProfile") ||
        any_frame(f, n, "runtime/pprof.runtime_goroutineProfileWithLabels") ||
        any_frame(f, n, "runtime/pprof.(*Profile).WriteTo") ||
        any_frame(f, n, "net/http/pprof.")) {
        m->rule = "built-in: the goroutine serving the capture";
        return true;
    }
    if (any_frame(f, n, "net/http.(*connReader).backgroundRead") ||
        any_frame(f, n, "net/http.(*connReader).startBackgroundRead")) {
        m->rule = "built-in: the capture's own connection";
        m->allowance = 1;
        return true;
    }
    if (any_frame(f, n, "os/signal.signal_recv") ||
        any_frame(f, n, "os/signal.loop")) {
        m->rule = "built-in: os/signal loop";
        return true;
    }
    if (top >= n) {
        m->rule = "built-in: runtime background goroutine";
        return true;
    }
    if (starts(f[top].func, "testing.")) {
        m->rule = "built-in: testing harness";
        return true;
    }
    if (any_frame(f, n, "net/http.(*Server).Serve")) {
        for (uint32_t i = 0; i < n; i++) {
            const char *fn = f[i].func;
            if (fn && (strstr(fn, ".Accept") || strstr(fn, ".accept"))) {
                m->rule = "built-in: net/http accept loop";
                m->allowance = 1;
                return true;
            }
            if (starts(fn, "net/http."))
                break;
        }
    }
    return false;
}

bool lwa_ignore_stack(const lwa_ignore *ig, const pprof_frame *frames,
                      uint32_t nframes, lwa_ignore_match *m)
{
    uint32_t top = 0;
    while (top < nframes && (!frames[top].func ||
                             lwa_func_is_runtime_internal(frames[top].func)))
        top++;
    if (ig->builtins && builtin_stack(frames, nframes, top, m))
        return true;
    uint32_t user = lwa_user_frame(frames, nframes);
    for (size_t k = 0; k < ig->n; k++) {
        const rule *r = &ig->rules[k];
        bool hit = false;
        if (r->kind == LWA_IGNORE_TOP) {
            hit = (top < nframes && rule_matches(r, frames[top].func)) ||
                  (user < nframes && rule_matches(r, frames[user].func));
        } else if (r->kind == LWA_IGNORE_ANY) {
            for (uint32_t i = 0; i < nframes && !hit; i++)
                hit = !lwa_func_is_runtime_internal(frames[i].func) &&
                      rule_matches(r, frames[i].func);
        }
        if (hit) {
            m->rule = r->desc;
            m->allowance = 0;
            return true;
        }
    }
    return false;
}

bool lwa_ignore_creator(const lwa_ignore *ig, const char *created_by,
                        lwa_ignore_match *m)
{
    if (!created_by)
        return false;
    m->allowance = 0;
    if (ig->builtins && lwa_func_is_runtime_internal(created_by)) {
        m->rule = "built-in: runtime background goroutine";
        return true;
    }
    for (size_t k = 0; k < ig->n; k++) {
        const rule *r = &ig->rules[k];
        if (r->kind == LWA_IGNORE_CREATED_BY && rule_matches(r, created_by)) {
            m->rule = r->desc;
            return true;
        }
    }
    return false;
}
