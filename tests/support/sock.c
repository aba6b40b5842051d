/*
 * sock.c — the listening socket and the send loop that test servers share
 * (see sock.h). Not for: anything the controller or the CLI run.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sock.h"

int tsock_listen(struct sockaddr_in *a, int backlog)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    socklen_t al = sizeof *a;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)a, sizeof *a) != 0 ||
        listen(fd, backlog) != 0 ||
        getsockname(fd, (struct sockaddr *)a, &al) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int tsock_accept_within(int lfd, int wait_ms)
{
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    if (poll(&p, 1, wait_ms) <= 0)
        return -1;
    return accept(lfd, NULL, NULL);
}

void tsock_send_all(int fd, const void *d, size_t n)
{
    const char *p = d;
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            return;
        p += k;
        n -= (size_t)k;
    }
}

void tsock_send_str(int fd, const char *s)
{
    tsock_send_all(fd, s, strlen(s));
}
