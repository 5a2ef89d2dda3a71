/* socket.c - listening and connecting sockets, and the plain TCP transport. */
#include "net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

int net_listen(const struct sockaddr *addr, socklen_t len, int backlog, bool reuseport)
{
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        goto fail;
    if (addr->sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, addr, len) != 0 || listen(fd, backlog) != 0)
        goto fail;
    return fd;
fail: {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}
}

int net_connect(const struct sockaddr *addr, socklen_t len)
{
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    net_set_nodelay(fd);
    if (connect(fd, addr, len) != 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int net_connect_result(int fd)
{
    int err = 0;
    socklen_t l = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) != 0)
        return errno;
    return err;
}

void net_set_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

const char *net_addr_ip(const struct sockaddr *sa, char *buf, size_t cap)
{
    const void *a = sa->sa_family == AF_INET6 ? (const void *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr
                                              : (const void *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    if (!inet_ntop(sa->sa_family, a, buf, (socklen_t)cap))
        snprintf(buf, cap, "unknown");
    return buf;
}

static ssize_t plain_read(int fd, void *ctx, char *buf, size_t len)
{
    (void)ctx;
    ssize_t n = read(fd, buf, len);
    if (n > 0)
        return n;
    if (n == 0)
        return NET_EOF;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? NET_AGAIN : NET_ERR;
}

static ssize_t plain_writev(int fd, void *ctx, const struct iovec *iov, int iovcnt)
{
    (void)ctx;
    ssize_t n = writev(fd, iov, iovcnt);
    if (n >= 0)
        return n;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? NET_AGAIN : NET_ERR;
}

static void plain_close(int fd, void *ctx)
{
    (void)ctx;
    close(fd);
}

const struct transport net_plain = {"tcp", plain_read, plain_writev, plain_close};
