/*
 * cap_http.h — an incremental HTTP/1.1 response parser for the bytes that
 * come back through a port-forward data channel (where there is no libcurl
 * to speak HTTP for us), plus the request line we send.
 *
 * It handles a status line, headers, and a body delimited by Content-Length,
 * by chunked transfer coding (with trailers), or by the connection closing;
 * interim 1xx responses are skipped.  Body bytes are handed to a callback as
 * they arrive, de-chunked, exactly as `curl -o` would store them: no
 * Content-Encoding decoding (profiles are gzip by format, not by transport).
 *
 * Not for: requests through libcurl (direct and proxy transports use
 * libcurl's own parser), keep-alive or pipelining (we send one request per
 * stream with Connection: close).
 */
#ifndef CAP_HTTP_H
#define CAP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Return 0 to continue, non-zero to stop (feed then returns -1 with an
 * empty error: the callback's owner knows why). */
typedef int (*cap_http_body_fn)(void *ud, const uint8_t *data, size_t len);

typedef enum cap_http_state {
    CAP_HTTP_STATUS = 0,
    CAP_HTTP_HEADERS,
    CAP_HTTP_BODY_LENGTH,
    CAP_HTTP_CHUNK_SIZE,
    CAP_HTTP_CHUNK_DATA,
    CAP_HTTP_CHUNK_CRLF,
    CAP_HTTP_TRAILERS,
    CAP_HTTP_BODY_CLOSE,
    CAP_HTTP_DONE,
    CAP_HTTP_FAILED,
} cap_http_state;

#define CAP_HTTP_MAX_LINE 8192
#define CAP_HTTP_MAX_HEADER_BYTES (64 * 1024)

typedef struct cap_http_parser {
    cap_http_state state;
    bool head_request;      /* response to HEAD: never a body            */
    bool head_done;         /* final status line and headers read        */
    int status;
    char reason[128];
    char content_type[128];
    char content_encoding[64];
    char retry_after[64];   /* the Retry-After value, raw ("" none)      */
    bool chunked;
    bool have_length;
    uint64_t content_length;
    uint64_t remaining;     /* of the current length-delimited part      */
    uint64_t body_bytes;    /* delivered to on_body                       */
    uint64_t max_body;      /* 0: unlimited; larger bodies fail           */
    size_t header_bytes;
    char line[CAP_HTTP_MAX_LINE];
    size_t line_len;
    cap_http_body_fn on_body;
    void *ud;
    char error[200];
} cap_http_parser;

void cap_http_parser_init(cap_http_parser *p, uint64_t max_body,
                          cap_http_body_fn on_body, void *ud);
/* 0 when data was consumed (bytes after a complete response are ignored);
 * -1 on malformed input, a size limit, or a callback stop. */
int cap_http_parser_feed(cap_http_parser *p, const uint8_t *data, size_t len);
/* The connection ended.  0 when that completes the response (it was
 * already done, or the body is close-delimited); -1 when it was truncated
 * (p->error says where). */
int cap_http_parser_eof(cap_http_parser *p);
static inline bool cap_http_parser_done(const cap_http_parser *p)
{
    return p->state == CAP_HTTP_DONE;
}
/* True once the status line and headers have been read. */
bool cap_http_parser_have_head(const cap_http_parser *p);

/* Writes "GET <path> HTTP/1.1\r\nHost: ..\r\n...Connection: close\r\n\r\n"
 * into out.  Returns its length, or 0 when it does not fit or path holds
 * bytes that cannot appear in a request target (spaces, controls). */
size_t cap_http_format_get(char *out, size_t outcap, const char *host,
                           const char *path, const char *user_agent);

#endif
