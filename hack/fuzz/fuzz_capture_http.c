/*
 * fuzz_capture_http.c — libFuzzer target for the HTTP/1.1 response parser
 * that reads a profile through the port-forward stream
 * (capture/cap_http.h): the input is the response as the pod sends it,
 * then the connection ends.
 *
 * Asserts: body bytes never exceed the size limit or, when the response
 * is complete and length-delimited, differ from Content-Length; nothing
 * is delivered before the head is read; errors are one printable line;
 * and the same bytes fed in pieces give the same status, head and outcome,
 * and the same body (or, when it fails part way, the same start).  Built and run by hack/fuzz/run.sh.
 */
#include "capture/cap_http.h"
#include "fuzz_rec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct http_run {
    fz_rec body;
    cap_http_parser *p;
} http_run;

static int on_body(void *ud, const uint8_t *d, size_t n)
{
    http_run *r = ud;
    FZ_REQUIRE(n > 0);
    FZ_REQUIRE(cap_http_parser_have_head(r->p));
    FZ_REQUIRE(r->p->status >= 200 || r->p->status == 101);
    fz_rec_add(&r->body, d, n);
    return 0;
}

/* Parses data in pieces of step bytes (0: whole), then the end of the
 * connection; returns 0 when the response is complete. */
static int http_parse(http_run *r, cap_http_parser *p, uint64_t max_body,
                      const uint8_t *data, size_t size, size_t step)
{
    r->p = p;
    cap_http_parser_init(p, max_body, on_body, r);
    if (!step)
        step = size ? size : 1;
    int rc = 0;
    for (size_t off = 0; off < size && rc == 0; off += step)
        rc = cap_http_parser_feed(p, data + off,
                                  size - off < step ? size - off : step);
    if (rc == 0)
        rc = cap_http_parser_eof(p);
    FZ_REQUIRE(p->body_bytes == r->body.len);
    FZ_REQUIRE(max_body == 0 || p->body_bytes <= max_body);
    if (rc == 0) {
        FZ_REQUIRE(cap_http_parser_done(p));
        FZ_REQUIRE(cap_http_parser_have_head(p));
        FZ_REQUIRE(p->status >= 100 && p->status <= 999);
        if (p->have_length && !p->chunked && !p->head_request &&
            p->status != 204 && p->status != 304)
            FZ_REQUIRE(p->body_bytes == p->content_length);
    } else {
        FZ_REQUIRE(p->state == CAP_HTTP_FAILED);
        FZ_REQUIRE(p->error[0] != '\0');
        fz_check_message(p->error, sizeof p->error);
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Unlimited, then a limit small enough that seeds reach it. */
    static const uint64_t limits[] = {0, 1000};
    for (size_t li = 0; li < sizeof limits / sizeof limits[0]; li++) {
        http_run a = {{0}}, b = {{0}};
        cap_http_parser *pa = malloc(sizeof *pa), *pb = malloc(sizeof *pb);
        FZ_REQUIRE(pa && pb);
        int ra = http_parse(&a, pa, limits[li], data, size, 0);
        int rb = http_parse(&b, pb, limits[li], data, size,
                            fz_step(data, size));
        FZ_REQUIRE(ra == rb);
        FZ_REQUIRE(strcmp(pa->error, pb->error) == 0);
        FZ_REQUIRE(pa->status == pb->status);
        FZ_REQUIRE(strcmp(pa->reason, pb->reason) == 0);
        FZ_REQUIRE(strcmp(pa->content_type, pb->content_type) == 0);
        /* A body is handed out as it arrives, so one that fails part way
         * (over the limit, cut short) may have delivered more when fed in
         * pieces; a complete one is the same. */
        if (ra == 0)
            FZ_REQUIRE(fz_rec_same(&a.body, &b.body));
        else
            FZ_REQUIRE(fz_rec_prefix(&a.body, &b.body));
        fz_rec_free(&a.body);
        fz_rec_free(&b.body);
        free(pa);
        free(pb);
    }
    return 0;
}
