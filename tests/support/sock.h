/*
 * sock.h — the plain-socket pieces that the unit tests' local servers and
 * the e2e drivers' loopback servers share (every .c file in tests/support/
 * is linked into every unit test binary and every e2e driver). Only what
 * both repeated word for word: a listening socket on a given address, an
 * accept that gives up after a while, and "send all of it, give up quietly
 * when the peer is gone". Not for: TLS, HTTP parsing, or anything the
 * controller or the CLI run.
 */
#ifndef LW_TESTS_SUPPORT_SOCK_H
#define LW_TESTS_SUPPORT_SOCK_H

#include <stddef.h>

#include <netinet/in.h>

/* A close-on-exec TCP socket with SO_REUSEADDR, bound to `a` and listening
 * with `backlog`; `a` then holds the address really bound (the port the
 * kernel chose when it asked for port 0).  -1 with errno set on failure,
 * nothing left open. */
int tsock_listen(struct sockaddr_in *a, int backlog);

/* A connection accepted on the listening socket `lfd` within `wait_ms`;
 * -1 when none came (or its accept failed), so that a server thread can
 * look at its stop flag between waits instead of blocking for good. */
int tsock_accept_within(int lfd, int wait_ms);

/* Sends all `n` bytes of `d` on the blocking socket `fd`; stops at the
 * first failure (the peer went away: a test server has no one to tell),
 * never raising SIGPIPE. */
void tsock_send_all(int fd, const void *d, size_t n);

/* tsock_send_all of the string `s` without its NUL. */
void tsock_send_str(int fd, const char *s);

#endif
