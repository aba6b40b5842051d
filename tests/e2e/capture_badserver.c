/*
 * capture_badserver.c — an HTTP server on a loopback address that misbehaves
 * on purpose, for the capture e2e suites (the pod behind a kwok PortForward
 * or a loopback pod IP):
 *
 *   /stall/...     headers and 3 body bytes of a promised 100, then silence
 *   /forever/...   a chunked body that never ends
 *   /trickle/...   a chunked body of one byte a second, never ending (no
 *                  read ever waits long, yet the answer never completes)
 *   /bomb/...      a gzipped profile.proto that inflates to 300 MiB
 *                  (about 1.3 MiB on the wire; built before listening)
 *   anything else  404
 *
 *   capture_badserver 127.1.0.9:6060
 *
 * Prints "listening on ADDR" once bound and serves until killed.  Refuses
 * any address outside 127.0.0.0/8.  Not for: anything but tests.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "../support/sock.h"

static unsigned char *bomb;
static size_t bomb_len;

/* profile.proto field 6 (string_table) holding one string of zeros, so a
 * parser sees valid protobuf until the decompression cap stops it. */
static int make_bomb(void)
{
    const size_t raw = 300u << 20, chunk = 1u << 20;
    unsigned char *in = calloc(1, chunk);
    size_t cap = 4u << 20;
    bomb = malloc(cap);
    z_stream z;
    memset(&z, 0, sizeof z);
    if (!in || !bomb ||
        deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(in);
        return -1; /* the process exits at once */
    }
    size_t slen = raw - 5;
    unsigned char head[5] = {0x32};
    for (int i = 1; i <= 4; i++) {
        head[i] = (unsigned char)((slen & 0x7F) | (i < 4 ? 0x80 : 0));
        slen >>= 7;
    }
    z.next_out = bomb;
    z.avail_out = (uInt)cap;
    z.next_in = head;
    z.avail_in = sizeof head;
    deflate(&z, Z_NO_FLUSH);
    for (size_t left = raw - 5; left;) {
        size_t n = left < chunk ? left : chunk;
        z.next_in = in;
        z.avail_in = (uInt)n;
        if (deflate(&z, left == n ? Z_FINISH : Z_NO_FLUSH) == Z_STREAM_ERROR ||
            z.avail_out == 0) {
            deflateEnd(&z);
            free(in);
            return -1;
        }
        left -= n;
    }
    bomb_len = z.total_out;
    deflateEnd(&z);
    free(in);
    return 0;
}

static void *serve(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char req[4096];
    size_t have = 0;
    while (have + 1 < sizeof req) {
        ssize_t n = recv(fd, req + have, sizeof req - 1 - have, 0);
        if (n <= 0)
            break;
        have += (size_t)n;
        req[have] = '\0';
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    req[have] = '\0';
    char path[2048] = "";
    sscanf(req, "%*s %2047s", path);
    if (!strncmp(path, "/stall/", 7)) {
        tsock_send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc");
        char b[256];
        while (recv(fd, b, sizeof b, 0) > 0)
            ;
    } else if (!strncmp(path, "/forever/", 9)) {
        tsock_send_str(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n");
        char chunk[16 * 1024 + 16];
        int hl = sprintf(chunk, "%x\r\n", 16 * 1024);
        memset(chunk + hl, 'x', 16 * 1024);
        memcpy(chunk + hl + 16 * 1024, "\r\n", 2);
        for (;;) {
            ssize_t k = send(fd, chunk, (size_t)hl + 16 * 1024 + 2,
                             MSG_NOSIGNAL);
            if (k <= 0)
                break;
        }
    } else if (!strncmp(path, "/trickle/", 9)) {
        tsock_send_str(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n");
        while (send(fd, "1\r\nx\r\n", 6, MSG_NOSIGNAL) == 6)
            sleep(1);
    } else if (!strncmp(path, "/bomb/", 6)) {
        char h[256];
        snprintf(h, sizeof h, "HTTP/1.1 200 OK\r\nContent-Type: application/"
                 "octet-stream\r\nContent-Length: %zu\r\n\r\n", bomb_len);
        tsock_send_str(fd, h);
        tsock_send_all(fd, bomb, bomb_len);
    } else {
        tsock_send_str(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n"
                     "Connection: close\r\n\r\nnot here!\n");
    }
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: capture_badserver 127.X.Y.Z:PORT\n");
        return 1;
    }
    char host[64];
    unsigned port;
    if (sscanf(argv[1], "%63[0-9.]:%u", host, &port) != 2 || port > 65535) {
        fprintf(stderr, "capture_badserver: bad address %s\n", argv[1]);
        return 1;
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1 ||
        (ntohl(a.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "capture_badserver: %s is not a loopback address\n",
                host);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    if (make_bomb()) {
        fprintf(stderr, "capture_badserver: cannot build the gzip bomb\n");
        return 1;
    }
    int lfd = tsock_listen(&a, 64);
    if (lfd < 0) {
        perror("capture_badserver: bind");
        return 1;
    }
    printf("listening on %s\n", argv[1]);
    fflush(stdout);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        pthread_t th;
        if (pthread_create(&th, NULL, serve, (void *)(intptr_t)fd) == 0)
            pthread_detach(th);
        else
            close(fd);
    }
}
