/* net.h - sockets, byte buffers and the transport layer connections run over.
 *
 * A connection reads and writes through a `struct transport` (plain TCP now; TLS
 * plugs in as another implementation), so the HTTP layers above never call
 * read()/write() on a socket themselves. Buffers are bounded by their owner.
 */
#ifndef SLUICE_NET_H
#define SLUICE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

/* ---- buffers ---- */

/* A byte buffer; data lives in p[off .. off+len). Memory comes from malloc on
 * demand and is released when idle so idle connections cost little. */
struct nbuf {
    char *p;
    uint32_t off, len, cap;
};

/* The usual size of a connection buffer; such blocks are recycled per thread. */
#define NBUF_BLOCK 16384u

/* Ensures room for `extra` more bytes after the data, compacting first and
 * growing up to `max` total capacity. False when that would pass `max`. */
bool nbuf_reserve(struct nbuf *b, size_t extra, size_t max);
bool nbuf_append(struct nbuf *b, const void *data, size_t n, size_t max);
static inline char *nbuf_data(const struct nbuf *b) { return b->p + b->off; }
static inline char *nbuf_tail(const struct nbuf *b) { return b->p + b->off + b->len; }
static inline size_t nbuf_room(const struct nbuf *b) { return b->cap - b->off - b->len; }
void nbuf_consume(struct nbuf *b, size_t n);
/* Frees the memory when the buffer is empty. */
void nbuf_release_if_empty(struct nbuf *b);
void nbuf_free(struct nbuf *b);
/* Frees the calling thread's recycled blocks (at thread exit). */
void nbuf_cache_drain(void);

/* ---- transports ---- */

struct transport;

/* I/O results: >0 bytes, NET_AGAIN (would block), NET_EOF (peer closed), NET_ERR. */
#define NET_AGAIN (-1)
#define NET_EOF (-2)
#define NET_ERR (-3)

struct transport {
    const char *name;
    ssize_t (*read)(int fd, void *ctx, char *buf, size_t len);
    ssize_t (*writev)(int fd, void *ctx, const struct iovec *iov, int iovcnt);
    void (*close)(int fd, void *ctx);
};

extern const struct transport net_plain;

/* ---- sockets ---- */

/* A non-blocking listening socket on `addr`; with SO_REUSEPORT so each worker can
 * have its own. -1 with errno set on failure. */
int net_listen(const struct sockaddr *addr, socklen_t len, int backlog, bool reuseport);
/* Starts a non-blocking connect. Returns the socket (connecting) or -1. */
int net_connect(const struct sockaddr *addr, socklen_t len);
/* After a connecting socket became writable: 0 when connected, else the errno. */
int net_connect_result(int fd);
void net_set_nodelay(int fd);
/* Formats an address as "ip" (v4) or "ip" (v6, no brackets) into buf. */
const char *net_addr_ip(const struct sockaddr *sa, char *buf, size_t cap);

#endif
