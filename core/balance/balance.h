/* balance.h - choosing a backend server for a request.
 *
 * A balancer is per worker thread: no locks, no atomics, and balance_pick()
 * never allocates. The proxy owns everything about a server's health and admin
 * state; at each pick it passes a bitset of the servers usable right now (ready,
 * healthy, not vetoed by a filter, not excluded for a retry). Weight and priority
 * are applied here: servers with weight 0 are never picked, and only the lowest
 * priority among usable weight > 0 servers takes part. docs/balancing.md
 * describes the algorithms as a user sees them.
 */
#ifndef SLUICE_BALANCE_H
#define SLUICE_BALANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

/* Words of a usable bitset for n servers (bit i of word i / 64 = server i). */
#define BALANCE_WORDS(n) (((size_t)(n) + 63u) / 64u)

/* One server as the balancer sees it. The caller fills weight, priority and
 * name_hash; balance_init() clears the rest, which the balancer maintains. */
struct balance_server {
    uint32_t weight;      /* configured weight, 0..256; 0 = never picked by balancing */
    uint32_t priority;    /* 0 first; a higher group only when no lower one has a usable server */
    uint32_t inflight;    /* this worker's requests in flight to it (balance_started/finished) */
    uint64_t ewma_us;     /* smoothed latency in µs, 0 = no sample yet */
    int64_t  cw;          /* smooth weighted round robin current weight */
    uint64_t name_hash;   /* balance_name_hash(name): rendezvous hashing agrees across workers and processes */
    uint64_t picked_at;   /* balancer->picks when last picked: latency re-probing */
    uint64_t sampled_at;  /* balancer->picks at its last latency sample: staleness */
};

struct balancer {
    enum conf_balance algo;
    struct balance_server *servers;   /* caller-owned array of count servers */
    uint32_t count;
    uint64_t rng;                     /* per-worker PRNG state (random_two) */
    uint64_t picks;                   /* successful picks so far: the latency clock */
};

/* Smoothing factor of the latency EWMA, as a fraction: new = old + 3/10 (sample - old). */
#define BALANCE_EWMA_NUM 3u
#define BALANCE_EWMA_DEN 10u
/* Latency samples are clamped to this (about 71 minutes) so costs fit in 64 bits. */
#define BALANCE_LATENCY_MAX_US UINT64_C(0xffffffff)
/* A latency estimate halves every BALANCE_DECAY_PICKS x count picks in which its
 * server is not picked, so a once-slow server is retried now and then; the same
 * span marks a server's previous sample stale (a new one replaces it). */
#define BALANCE_DECAY_PICKS 32u

/* Binds b to servers[0..count) (caller-owned, must outlive b) and clears each
 * server's inflight, ewma_us, cw, picked_at and sampled_at. weight, priority and
 * name_hash must be set by the caller. seed feeds the PRNG; any value is fine. */
void balance_init(struct balancer *b, enum conf_balance algo, struct balance_server *servers,
                  uint32_t count, uint64_t seed);

/* Chooses a server among the candidates: bit i of usable set, weight > 0, and in
 * the lowest priority present among such servers. usable holds
 * BALANCE_WORDS(count) words; bits at or beyond count are ignored. key/key_len is
 * the hash key (hash algorithm only; NULL or 0 bytes: weighted round robin).
 * Returns the server's index, or -1 when there is no candidate. Updates the
 * balancer's state (round robin weights, PRNG, pick clock), never allocates. */
int balance_pick(struct balancer *b, const uint64_t *usable, const char *key, size_t key_len);

/* A request was sent to server idx (counts toward least_conn, random_two, latency). */
void balance_started(struct balancer *b, int idx);

/* The request balance_started() counted on server idx ended. latency_us is the
 * server's latency for it; the proxy should pass the time to the response head,
 * since the length of a streamed body says nothing about the server's speed.
 * latency_us == 0 with ok: no measurement (e.g. the client left first), only
 * inflight changes. !ok counts as slow: at least twice the slowest estimate
 * among the balancer's servers, so a server that fails fast does not attract
 * traffic. */
void balance_finished(struct balancer *b, int idx, uint64_t latency_us, bool ok);

/* A well-mixed 64-bit hash of name[0..len) (FNV-1a with a murmur3 finalizer).
 * Stable across workers, processes, hosts and versions: hash picks depend on it. */
uint64_t balance_name_hash(const char *name, size_t len);

#endif
