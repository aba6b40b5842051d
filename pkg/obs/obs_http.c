/*
 * obs_http.c — /metrics, /healthz, /readyz on libmicrohttpd.
 */
#include "obs_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct obs_http {
    struct MHD_Daemon *daemon;
    obs_http_opts opts;
    unsigned port;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status,
                             const char *ctype, char *body, size_t len,
                             enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    if (!r) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", ctype);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result check_reply(struct MHD_Connection *conn, obs_check_fn fn,
                                   void *ud)
{
    char why[256] = "";
    bool good = fn ? fn(ud, why, sizeof(why)) : true;
    char body[320];
    int n = snprintf(body, sizeof(body), "%s%s%s\n", good ? "ok" : "not ok",
                     why[0] ? ": " : "", why);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof(body))
        n = (int)sizeof(body) - 1;
    return reply(conn, good ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                 "text/plain; charset=utf-8", body, (size_t)n,
                 MHD_RESPMEM_MUST_COPY);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
                              const char *url, const char *method,
                              const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)con_cls;
    obs_http *h = cls;
    if (*upload_data_size)
        return MHD_NO; /* no request bodies here */
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
                     (char *)"method not allowed\n", 19,
                     MHD_RESPMEM_PERSISTENT);
    if (!strcmp(url, "/metrics")) {
        size_t len = 0;
        char *text = obs_registry_render(h->opts.registry, &len);
        if (!text)
            return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain",
                         (char *)"out of memory\n", 14,
                         MHD_RESPMEM_PERSISTENT);
        return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4", text,
                     len, MHD_RESPMEM_MUST_FREE);
    }
    if (!strcmp(url, "/healthz") || !strcmp(url, "/livez"))
        return check_reply(conn, h->opts.healthz, h->opts.ud);
    if (!strcmp(url, "/readyz"))
        return check_reply(conn, h->opts.readyz, h->opts.ud);
    return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain",
                 (char *)"not found\n", 10, MHD_RESPMEM_PERSISTENT);
}

/* Parses "host:port", ":port" or "[v6]:port". */
static int parse_listen(const char *listen, struct sockaddr_storage *ss,
                        socklen_t *sslen)
{
    char host[128];
    const char *colon = strrchr(listen, ':');
    if (!colon)
        return -1;
    size_t hl = (size_t)(colon - listen);
    if (hl >= sizeof(host))
        return -1;
    memcpy(host, listen, hl);
    host[hl] = '\0';
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || port < 0 || port > 65535)
        return -1;
    memset(ss, 0, sizeof(*ss));
    if (host[0] == '[') {
        size_t l = strlen(host);
        if (l < 2 || host[l - 1] != ']')
            return -1;
        host[l - 1] = '\0';
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
            return -1;
        *sslen = sizeof(*s6);
        return 0;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    if (!host[0])
        s4->sin_addr.s_addr = htonl(INADDR_ANY);
    else if (!strcmp(host, "localhost"))
        s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
        return -1;
    *sslen = sizeof(*s4);
    return 0;
}

obs_http *obs_http_start(const obs_http_opts *opts, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    if (!opts->listen || parse_listen(opts->listen, &ss, &sslen) < 0) {
        snprintf(err, errlen, "metrics address \"%s\": want HOST:PORT",
                 opts->listen ? opts->listen : "");
        return NULL;
    }
    obs_http *h = calloc(1, sizeof(*h));
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->opts = *opts;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    h->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, handle, h, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_END);
    if (!h->daemon) {
        snprintf(err, errlen, "metrics address %s: cannot listen (in use or "
                 "not permitted)", opts->listen);
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : 0;
    return h;
}

unsigned obs_http_port(const obs_http *h)
{
    return h->port;
}

void obs_http_stop(obs_http *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->daemon);
    free(h);
}
