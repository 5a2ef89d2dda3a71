/* test_abi_layout.c - the permanent record of plugin ABI 1.x on x86-64 (LP64):
 * the offset and size of every field of every public struct of sluice/plugin.h,
 * the signature of every function pointer, and the value of every code.
 *
 * Each fact is checked twice: by _Static_assert (the build fails) and at run time
 * (the test names every difference). Built twice: against include/ (abi_layout)
 * and against the frozen copy tests/abi/v1.0 (abi_layout_v10, with
 * ABI_LAYOUT_FROZEN_V10), so the frozen copy and today's headers agree on 1.0.
 *
 * Rules for 1.x: never edit a line of a 1.0 list. A minor version that appends a
 * field adds a list of its own (e.g. HOST_FIELDS_1_1) under
 * `#if SL_ABI_VERSION_MINOR >= 1` and raises the struct's *_NOW size; *_V10 sizes
 * never change. A retired function keeps its slot (it returns SL_ERR_UNSUPPORTED).
 */
#include "harness.h"

#include <sluice/plugin.h>
#include <sluice/version.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__LP64__)
#define ABI_RECORDED_PLATFORM 1
#else
#define ABI_RECORDED_PLATFORM 0
#endif

/* ---- the record: X(type, field, offset, size) ---- */

#define STR_FIELDS_1_0(X) \
    X(sl_str, ptr, 0, 8)  \
    X(sl_str, len, 8, 8)

#define ATTEMPT_FIELDS_1_0(X)            \
    X(sl_attempt, size, 0, 4)            \
    X(sl_attempt, number, 4, 4)          \
    X(sl_attempt, outcome, 8, 4)         \
    X(sl_attempt, status, 12, 4)         \
    X(sl_attempt, server_index, 16, 4)   \
    X(sl_attempt, reserved, 20, 4)       \
    X(sl_attempt, backend, 24, 16)       \
    X(sl_attempt, server, 40, 16)        \
    X(sl_attempt, duration_us, 56, 8)    \
    X(sl_attempt, retry_after_ms, 64, 8)

#define TXN_END_FIELDS_1_0(X)                \
    X(sl_txn_end, size, 0, 4)                \
    X(sl_txn_end, status, 4, 4)              \
    X(sl_txn_end, attempts, 8, 4)            \
    X(sl_txn_end, flags, 12, 4)              \
    X(sl_txn_end, bytes_in, 16, 8)           \
    X(sl_txn_end, bytes_out, 24, 8)          \
    X(sl_txn_end, duration_us, 32, 8)        \
    X(sl_txn_end, upstream_us, 40, 8)        \
    X(sl_txn_end, first_byte_us, 48, 8)      \
    X(sl_txn_end, prompt_tokens, 56, 8)      \
    X(sl_txn_end, completion_tokens, 64, 8)  \
    X(sl_txn_end, total_tokens, 72, 8)

#define SERVER_INFO_FIELDS_1_0(X)        \
    X(sl_server_info, size, 0, 4)        \
    X(sl_server_info, index, 4, 4)       \
    X(sl_server_info, weight, 8, 4)      \
    X(sl_server_info, priority, 12, 4)   \
    X(sl_server_info, usable, 16, 4)     \
    X(sl_server_info, inflight, 20, 4)   \
    X(sl_server_info, backend, 24, 16)   \
    X(sl_server_info, name, 40, 16)      \
    X(sl_server_info, url, 56, 16)

#define COUNTER_OP_FIELDS_1_0(X)         \
    X(sl_counter_op, size, 0, 4)         \
    X(sl_counter_op, reserved, 4, 4)     \
    X(sl_counter_op, key, 8, 16)         \
    X(sl_counter_op, delta, 24, 8)       \
    X(sl_counter_op, limit, 32, 8)       \
    X(sl_counter_op, ttl_ms, 40, 8)

#define STORE_RESULT_FIELDS_1_0(X)       \
    X(sl_store_result, size, 0, 4)       \
    X(sl_store_result, status, 4, 4)     \
    X(sl_store_result, value, 8, 8)      \
    X(sl_store_result, ttl_ms, 16, 8)    \
    X(sl_store_result, data, 24, 16)

#define SUBREQ_OPTS_FIELDS_1_0(X)            \
    X(sl_subreq_opts, size, 0, 4)            \
    X(sl_subreq_opts, header_count, 4, 4)    \
    X(sl_subreq_opts, backend, 8, 16)        \
    X(sl_subreq_opts, method, 24, 16)        \
    X(sl_subreq_opts, path, 40, 16)          \
    X(sl_subreq_opts, headers, 56, 8)        \
    X(sl_subreq_opts, body, 64, 16)          \
    X(sl_subreq_opts, timeout_ms, 80, 8)

#define SUBREQ_RESULT_FIELDS_1_0(X)              \
    X(sl_subreq_result, size, 0, 4)              \
    X(sl_subreq_result, status, 4, 4)            \
    X(sl_subreq_result, error, 8, 16)            \
    X(sl_subreq_result, body, 24, 16)            \
    X(sl_subreq_result, content_type, 40, 16)

/* The host table: every function pointer, in order, 8 bytes apart. */
#define HOST_FIELDS_1_0(X)                        \
    X(sl_host, size, 0, 4)                        \
    X(sl_host, abi_major, 4, 2)                   \
    X(sl_host, abi_minor, 6, 2)                   \
    X(sl_host, config_root, 8, 8)                 \
    X(sl_host, config_scope, 16, 8)               \
    X(sl_host, config_error, 24, 8)               \
    X(sl_host, config_warn, 32, 8)                \
    X(sl_host, config_check_keys, 40, 8)          \
    X(sl_host, config_load_file, 48, 8)           \
    X(sl_host, node_kind, 56, 8)                  \
    X(sl_host, node_str, 64, 8)                   \
    X(sl_host, node_get, 72, 8)                   \
    X(sl_host, node_count, 80, 8)                 \
    X(sl_host, node_item, 88, 8)                  \
    X(sl_host, node_key, 96, 8)                   \
    X(sl_host, node_int, 104, 8)                  \
    X(sl_host, node_bool, 112, 8)                 \
    X(sl_host, node_duration_ms, 120, 8)          \
    X(sl_host, node_size, 128, 8)                 \
    X(sl_host, worker_count, 136, 8)              \
    X(sl_host, worker_index, 144, 8)              \
    X(sl_host, clock_ms, 152, 8)                  \
    X(sl_host, log, 160, 8)                       \
    X(sl_host, post, 168, 8)                      \
    X(sl_host, txn_worker, 176, 8)                \
    X(sl_host, txn_str, 184, 8)                   \
    X(sl_host, txn_num, 192, 8)                   \
    X(sl_host, txn_alloc, 200, 8)                 \
    X(sl_host, txn_data, 208, 8)                  \
    X(sl_host, txn_set_data, 216, 8)              \
    X(sl_host, var_set, 224, 8)                   \
    X(sl_host, var_get, 232, 8)                   \
    X(sl_host, header_get, 240, 8)                \
    X(sl_host, header_at, 248, 8)                 \
    X(sl_host, header_set, 256, 8)                \
    X(sl_host, header_add, 264, 8)                \
    X(sl_host, header_remove, 272, 8)             \
    X(sl_host, request_body_buffer, 280, 8)       \
    X(sl_host, request_body_retain, 288, 8)       \
    X(sl_host, request_body_get, 296, 8)          \
    X(sl_host, request_body_set, 304, 8)          \
    X(sl_host, response_body_buffer, 312, 8)      \
    X(sl_host, response_body_get, 320, 8)         \
    X(sl_host, response_body_set, 328, 8)         \
    X(sl_host, respond, 336, 8)                   \
    X(sl_host, respond_error, 344, 8)             \
    X(sl_host, txn_ref, 352, 8)                   \
    X(sl_host, txn_lookup, 360, 8)                \
    X(sl_host, resume, 368, 8)                    \
    X(sl_host, timer_start, 376, 8)               \
    X(sl_host, txn_timer_start, 384, 8)           \
    X(sl_host, timer_cancel, 392, 8)              \
    X(sl_host, select_count, 400, 8)              \
    X(sl_host, select_server, 408, 8)             \
    X(sl_host, select_veto, 416, 8)               \
    X(sl_host, select_pick, 424, 8)               \
    X(sl_host, retry, 432, 8)                     \
    X(sl_host, circuit_report, 440, 8)            \
    X(sl_host, count, 448, 8)                     \
    X(sl_host, subrequest, 456, 8)                \
    X(sl_host, subrequest_cancel, 464, 8)         \
    X(sl_host, store_open, 472, 8)                \
    X(sl_host, counter_add, 480, 8)               \
    X(sl_host, counter_get, 488, 8)               \
    X(sl_host, kv_get, 496, 8)                    \
    X(sl_host, kv_set, 504, 8)                    \
    X(sl_host, kv_del, 512, 8)

#define PLUGIN_FIELDS_1_0(X)                      \
    X(sl_plugin, magic, 0, 4)                     \
    X(sl_plugin, abi_major, 4, 2)                 \
    X(sl_plugin, abi_minor, 6, 2)                 \
    X(sl_plugin, size, 8, 4)                      \
    X(sl_plugin, reserved, 12, 4)                 \
    X(sl_plugin, name, 16, 8)                     \
    X(sl_plugin, version, 24, 8)                  \
    X(sl_plugin, create, 32, 8)                   \
    X(sl_plugin, destroy, 40, 8)                  \
    X(sl_plugin, worker_start, 48, 8)             \
    X(sl_plugin, worker_stop, 56, 8)              \
    X(sl_plugin, on_request_head, 64, 8)          \
    X(sl_plugin, on_request_body, 72, 8)          \
    X(sl_plugin, on_select, 80, 8)                \
    X(sl_plugin, on_attempt, 88, 8)               \
    X(sl_plugin, on_response_head, 96, 8)         \
    X(sl_plugin, on_response_body, 104, 8)        \
    X(sl_plugin, on_end, 112, 8)

/* 1.1: sl_host.config_backend, SL_OUTCOME_NO_SERVER. */
#if SL_ABI_VERSION_MINOR >= 1
#define HOST_FIELDS_1_1(X) X(sl_host, config_backend, 520, 8)
#define HOST_SIGS_1_1(G) G(sl_host, config_backend, int32_t (*)(sl_config *, sl_str))
#define CODES_1_1(C) C(SL_OUTCOME_NO_SERVER, 5)
#else
#define HOST_FIELDS_1_1(X)
#define HOST_SIGS_1_1(G)
#define CODES_1_1(C)
#endif

#define ALL_FIELDS(X)                 \
    STR_FIELDS_1_0(X)                 \
    ATTEMPT_FIELDS_1_0(X)             \
    TXN_END_FIELDS_1_0(X)             \
    SERVER_INFO_FIELDS_1_0(X)         \
    COUNTER_OP_FIELDS_1_0(X)          \
    STORE_RESULT_FIELDS_1_0(X)        \
    SUBREQ_OPTS_FIELDS_1_0(X)         \
    SUBREQ_RESULT_FIELDS_1_0(X)       \
    HOST_FIELDS_1_0(X)                \
    HOST_FIELDS_1_1(X)                \
    PLUGIN_FIELDS_1_0(X)

/* S(type, size in 1.0, size now). sl_str never grows (it has no size field). */
#define ALL_SIZES(S)                      \
    S(sl_str, 16, 16)                     \
    S(sl_attempt, 72, 72)                 \
    S(sl_txn_end, 80, 80)                 \
    S(sl_server_info, 72, 72)             \
    S(sl_counter_op, 48, 48)              \
    S(sl_store_result, 40, 40)            \
    S(sl_subreq_opts, 88, 88)             \
    S(sl_subreq_result, 56, 56)           \
    S(sl_host, 520, 528)                  \
    S(sl_plugin, 120, 120)

#ifdef ABI_LAYOUT_FROZEN_V10
#define EXPECTED_SIZE(v10, now) (v10)
#else
#define EXPECTED_SIZE(v10, now) (now)
#endif

/* ---- signatures: every function pointer's exact type ---- */

#define HOST_SIGS_1_0(G)                                                                   \
    G(sl_host, config_root, const sl_node *(*)(sl_config *))                               \
    G(sl_host, config_scope, sl_str (*)(sl_config *))                                      \
    G(sl_host, config_error, void (*)(sl_config *, const sl_node *, const char *))         \
    G(sl_host, config_warn, void (*)(sl_config *, const sl_node *, const char *))          \
    G(sl_host, config_check_keys,                                                          \
      int32_t (*)(sl_config *, const sl_node *, const char *const *))                      \
    G(sl_host, config_load_file, const sl_node *(*)(sl_config *, const sl_node *, sl_str)) \
    G(sl_host, node_kind, int32_t (*)(const sl_node *))                                    \
    G(sl_host, node_str, sl_str (*)(const sl_node *))                                      \
    G(sl_host, node_get, const sl_node *(*)(const sl_node *, const char *))                \
    G(sl_host, node_count, uint32_t (*)(const sl_node *))                                  \
    G(sl_host, node_item, const sl_node *(*)(const sl_node *, uint32_t))                   \
    G(sl_host, node_key, const sl_node *(*)(const sl_node *, uint32_t))                    \
    G(sl_host, node_int,                                                                   \
      int32_t (*)(sl_config *, const sl_node *, int64_t, int64_t, int64_t *))              \
    G(sl_host, node_bool, int32_t (*)(sl_config *, const sl_node *, int32_t *))            \
    G(sl_host, node_duration_ms, int32_t (*)(sl_config *, const sl_node *, uint64_t *))    \
    G(sl_host, node_size, int32_t (*)(sl_config *, const sl_node *, uint64_t *))           \
    G(sl_host, worker_count, uint32_t (*)(void))                                           \
    G(sl_host, worker_index, uint32_t (*)(sl_worker *))                                    \
    G(sl_host, clock_ms, uint64_t (*)(int32_t))                                            \
    G(sl_host, log, void (*)(int32_t, const char *))                                       \
    G(sl_host, post, int32_t (*)(sl_worker *, sl_callback, void *))                        \
    G(sl_host, txn_worker, sl_worker *(*)(sl_txn *))                                       \
    G(sl_host, txn_str, sl_str (*)(sl_txn *, int32_t))                                     \
    G(sl_host, txn_num, int64_t (*)(sl_txn *, int32_t))                                    \
    G(sl_host, txn_alloc, void *(*)(sl_txn *, size_t))                                     \
    G(sl_host, txn_data, void *(*)(sl_txn *, const void *))                                \
    G(sl_host, txn_set_data, void (*)(sl_txn *, const void *, void *))                     \
    G(sl_host, var_set, int32_t (*)(sl_txn *, sl_str, sl_str))                             \
    G(sl_host, var_get, int32_t (*)(sl_txn *, sl_str, sl_str *))                           \
    G(sl_host, header_get, int32_t (*)(sl_txn *, int32_t, sl_str, sl_str *))               \
    G(sl_host, header_at, int32_t (*)(sl_txn *, int32_t, uint32_t, sl_str *, sl_str *))    \
    G(sl_host, header_set, int32_t (*)(sl_txn *, int32_t, sl_str, sl_str))                 \
    G(sl_host, header_add, int32_t (*)(sl_txn *, int32_t, sl_str, sl_str))                 \
    G(sl_host, header_remove, int32_t (*)(sl_txn *, int32_t, sl_str))                      \
    G(sl_host, request_body_buffer, int32_t (*)(sl_txn *))                                 \
    G(sl_host, request_body_retain, int32_t (*)(sl_txn *, uint64_t))                       \
    G(sl_host, request_body_get, int32_t (*)(sl_txn *, sl_str *))                          \
    G(sl_host, request_body_set, int32_t (*)(sl_txn *, sl_str))                            \
    G(sl_host, response_body_buffer, int32_t (*)(sl_txn *))                                \
    G(sl_host, response_body_get, int32_t (*)(sl_txn *, sl_str *))                         \
    G(sl_host, response_body_set, int32_t (*)(sl_txn *, sl_str))                           \
    G(sl_host, respond, int32_t (*)(sl_txn *, uint32_t, sl_str, sl_str))                   \
    G(sl_host, respond_error,                                                              \
      int32_t (*)(sl_txn *, uint32_t, const char *, const char *, const char *))           \
    G(sl_host, txn_ref, uint64_t (*)(sl_txn *))                                            \
    G(sl_host, txn_lookup, sl_txn *(*)(sl_worker *, uint64_t))                             \
    G(sl_host, resume, int32_t (*)(sl_txn *, int32_t))                                     \
    G(sl_host, timer_start, sl_timer *(*)(sl_worker *, uint64_t, sl_callback, void *))     \
    G(sl_host, txn_timer_start, sl_timer *(*)(sl_txn *, uint64_t, sl_callback, void *))    \
    G(sl_host, timer_cancel, void (*)(sl_timer *))                                         \
    G(sl_host, select_count, uint32_t (*)(sl_select *))                                    \
    G(sl_host, select_server, int32_t (*)(sl_select *, uint32_t, sl_server_info *))        \
    G(sl_host, select_veto, int32_t (*)(sl_select *, uint32_t))                            \
    G(sl_host, select_pick, int32_t (*)(sl_select *, uint32_t))                            \
    G(sl_host, retry, int32_t (*)(sl_txn *, sl_str, uint64_t))                             \
    G(sl_host, circuit_report, void (*)(sl_str, sl_str, int32_t))                          \
    G(sl_host, count, void (*)(sl_txn *, int32_t, int64_t))                                \
    G(sl_host, subrequest,                                                                 \
      sl_subreq *(*)(sl_worker *, const sl_subreq_opts *, sl_subreq_cb, void *))           \
    G(sl_host, subrequest_cancel, void (*)(sl_subreq *))                                   \
    G(sl_host, store_open, sl_store *(*)(sl_config *, sl_str))                             \
    G(sl_host, counter_add, int32_t (*)(sl_store *, sl_worker *, const sl_counter_op *,    \
                                        sl_store_result *, sl_store_cb, void *))           \
    G(sl_host, counter_get, int32_t (*)(sl_store *, sl_worker *, sl_str,                   \
                                        sl_store_result *, sl_store_cb, void *))           \
    G(sl_host, kv_get, int32_t (*)(sl_store *, sl_txn *, sl_str, sl_store_result *,        \
                                   sl_store_cb, void *))                                   \
    G(sl_host, kv_set, int32_t (*)(sl_store *, sl_worker *, sl_str, sl_str, uint64_t))     \
    G(sl_host, kv_del, int32_t (*)(sl_store *, sl_worker *, sl_str))

#define PLUGIN_SIGS_1_0(G)                                                                 \
    G(sl_plugin, name, const char *)                                                       \
    G(sl_plugin, version, const char *)                                                    \
    G(sl_plugin, create, int32_t (*)(const sl_host *, sl_config *, void **))               \
    G(sl_plugin, destroy, void (*)(void *))                                                \
    G(sl_plugin, worker_start, int32_t (*)(void *, sl_worker *))                           \
    G(sl_plugin, worker_stop, void (*)(void *, sl_worker *))                               \
    G(sl_plugin, on_request_head, int32_t (*)(void *, sl_txn *))                           \
    G(sl_plugin, on_request_body, int32_t (*)(void *, sl_txn *, sl_str, int32_t))          \
    G(sl_plugin, on_select, int32_t (*)(void *, sl_txn *, sl_select *))                    \
    G(sl_plugin, on_attempt, int32_t (*)(void *, sl_txn *, const sl_attempt *))            \
    G(sl_plugin, on_response_head, int32_t (*)(void *, sl_txn *))                          \
    G(sl_plugin, on_response_body, int32_t (*)(void *, sl_txn *, sl_str, int32_t))         \
    G(sl_plugin, on_end, void (*)(void *, sl_txn *, const sl_txn_end *))                   \
    G(sl_subreq_opts, headers, const sl_str *)

/* _Generic picks 1 only for exactly this type (qualifiers and all). */
#define SIG_OK(T, f, ...) _Generic(((T *)0)->f, __VA_ARGS__: 1, default: 0)

/* ---- codes: C(name, value) ---- */

#define CODES_1_0(C)                                                                       \
    C(SL_ABI_VERSION_MAJOR, 1)                                                             \
    C(SL_CONTINUE, 0) C(SL_PAUSE, 1) C(SL_DONE, 2) C(SL_RETRY, 3) C(SL_ERROR, -1)          \
    C(SL_OK, 0) C(SL_PENDING, 1) C(SL_NOT_FOUND, 2) C(SL_LIMITED, 3)                       \
    C(SL_ERR_UNSUPPORTED, -1) C(SL_ERR_INVALID, -2) C(SL_ERR_STATE, -3)                    \
    C(SL_ERR_NOMEM, -4) C(SL_ERR_LIMIT, -5) C(SL_ERR_IO, -6)                               \
    C(SL_REQUEST, 0) C(SL_RESPONSE, 1)                                                     \
    C(SL_TXN_METHOD, 0) C(SL_TXN_PATH, 1) C(SL_TXN_TARGET, 2) C(SL_TXN_HOST, 3)            \
    C(SL_TXN_CLIENT_IP, 4) C(SL_TXN_REQUEST_ID, 5) C(SL_TXN_FRONTEND, 6)                   \
    C(SL_TXN_ROUTE, 7) C(SL_TXN_BACKEND, 8) C(SL_TXN_SERVER, 9) C(SL_TXN_MODEL, 10)        \
    C(SL_TXN_STATUS, 0) C(SL_TXN_ATTEMPTS, 1) C(SL_TXN_WORKER, 2)                          \
    C(SL_TXN_BODY_LENGTH, 3) C(SL_TXN_RESPONSE_STARTED, 4) C(SL_TXN_PROMPT_TOKENS, 5)      \
    C(SL_TXN_COMPLETION_TOKENS, 6) C(SL_TXN_TOTAL_TOKENS, 7) C(SL_TXN_STREAM, 8)           \
    C(SL_OUTCOME_RESPONSE, 0) C(SL_OUTCOME_CONNECT_ERROR, 1) C(SL_OUTCOME_TIMEOUT, 2)      \
    C(SL_OUTCOME_RESET, 3) C(SL_OUTCOME_BAD_RESPONSE, 4)                                   \
    C(SL_END_LOCAL, 0x1) C(SL_END_CLIENT_GONE, 0x2) C(SL_END_UPSTREAM_BROKE, 0x4)          \
    C(SL_LOG_ERROR, 0) C(SL_LOG_WARN, 1) C(SL_LOG_INFO, 2) C(SL_LOG_DEBUG, 3)              \
    C(SL_NODE_SCALAR, 0) C(SL_NODE_MAP, 1) C(SL_NODE_SEQ, 2) C(SL_NODE_NULL, 3)            \
    C(SL_COUNT_RATELIMIT_REJECTED, 0) C(SL_COUNT_CACHE_HIT, 1) C(SL_COUNT_CACHE_MISS, 2)   \
    C(SL_CIRCUIT_CLOSED, 0) C(SL_CIRCUIT_OPEN, 1) C(SL_CIRCUIT_HALF_OPEN, 2)               \
    C(SL_CLOCK_MONOTONIC, 0) C(SL_CLOCK_WALL, 1)                                           \
    C(SL_PLUGIN_MAGIC, 0x534c5046)

/* ---- compile-time checks ---- */

#if ABI_RECORDED_PLATFORM
#define STATIC_FIELD(T, f, off, sz)                                                        \
    _Static_assert(offsetof(T, f) == (off), #T "." #f " moved");                           \
    _Static_assert(sizeof(((T *)0)->f) == (sz), #T "." #f " changed size");
ALL_FIELDS(STATIC_FIELD)

#define STATIC_SIZE(T, v10, now)                                                           \
    _Static_assert(sizeof(T) == EXPECTED_SIZE(v10, now), "sizeof " #T " changed");         \
    _Static_assert((v10) <= (now), #T " shrank");
ALL_SIZES(STATIC_SIZE)
#endif

#define STATIC_SIG(T, f, ...) _Static_assert(SIG_OK(T, f, __VA_ARGS__), #T "." #f " type");
HOST_SIGS_1_0(STATIC_SIG)
HOST_SIGS_1_1(STATIC_SIG)
PLUGIN_SIGS_1_0(STATIC_SIG)
_Static_assert(_Generic((sl_store_cb)0, void (*)(void *, const sl_store_result *): 1, default: 0),
               "sl_store_cb");
_Static_assert(_Generic((sl_subreq_cb)0, void (*)(void *, const sl_subreq_result *): 1,
                        default: 0), "sl_subreq_cb");
_Static_assert(_Generic((sl_callback)0, void (*)(void *): 1, default: 0), "sl_callback");
_Static_assert(_Generic((sl_plugin_entry_fn)0, const sl_plugin *(*)(void): 1, default: 0),
               "sl_plugin_entry_fn");

#define STATIC_CODE(name, v) _Static_assert((long long)(name) == (long long)(v), #name);
CODES_1_0(STATIC_CODE)
CODES_1_1(STATIC_CODE)

/* ---- the same at run time, naming every difference ---- */

struct field_row {
    const char *type, *field;
    size_t off, size, want_off, want_size;
};

#define FIELD_ROW(T, f, o, s) {#T, #f, offsetof(T, f), sizeof(((T *)0)->f), (o), (s)},
static const struct field_row fields[] = {ALL_FIELDS(FIELD_ROW)};

static void every_field_at_its_recorded_offset(void)
{
    if (!ABI_RECORDED_PLATFORM)
        SKIP("the layout is recorded for x86-64 LP64 only");
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const struct field_row *r = &fields[i];
        CHECK_MSG_(r->off == r->want_off && r->size == r->want_size,
                   "%s.%s: offset %zu size %zu, recorded offset %zu size %zu", r->type,
                   r->field, r->off, r->size, r->want_off, r->want_size);
    }
}

struct size_row {
    const char *type;
    size_t size, v10, now;
};

#define SIZE_ROW(T, v10, now) {#T, sizeof(T), (v10), (now)},
static const struct size_row sizes[] = {ALL_SIZES(SIZE_ROW)};

static void every_struct_has_its_recorded_size(void)
{
    if (!ABI_RECORDED_PLATFORM)
        SKIP("the layout is recorded for x86-64 LP64 only");
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        const struct size_row *r = &sizes[i];
        CHECK_MSG_(r->size == EXPECTED_SIZE(r->v10, r->now), "sizeof %s: %zu, recorded %zu",
                   r->type, r->size, (size_t)EXPECTED_SIZE(r->v10, r->now));
    }
}

/* Fields of a struct must tile it in order: a hole would be padding whose
 * contents differ between compilers. */
static void fields_are_in_order_without_holes(void)
{
    if (!ABI_RECORDED_PLATFORM)
        SKIP("the layout is recorded for x86-64 LP64 only");
    size_t end = 0;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const struct field_row *r = &fields[i];
        if (i == 0 || strcmp(r->type, fields[i - 1].type) != 0)
            end = 0;
        CHECK_MSG_(r->off == end, "%s.%s starts at %zu, the previous field ends at %zu",
                   r->type, r->field, r->off, end);
        end = r->off + r->size;
    }
}

struct code_row {
    const char *name;
    long long value, want;
};

#define CODE_ROW(name, v) {#name, (long long)(name), (long long)(v)},
static const struct code_row codes[] = {CODES_1_0(CODE_ROW) CODES_1_1(CODE_ROW)};

static void every_code_has_its_recorded_value(void)
{
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        CHECK_MSG_(codes[i].value == codes[i].want, "%s = %lld, recorded %lld", codes[i].name,
                   codes[i].value, codes[i].want);
    CHECK(SL_ABI_VERSION_MINOR >= 0);
#ifdef ABI_LAYOUT_FROZEN_V10
    CHECK_EQ_INT(SL_ABI_VERSION_MINOR, 0);
#endif
}

#define STR_(x) #x
#define STR(x) STR_(x)

static void entry_symbol_and_magic(void)
{
    CHECK_STR_EQ(SL_PLUGIN_ENTRY_NAME, "sluice_plugin_entry");
    CHECK_STR_EQ(STR(SL_PLUGIN_ENTRY), "sluice_plugin_entry");
    uint32_t magic = SL_PLUGIN_MAGIC;
    unsigned char b[4];
    memcpy(b, &magic, sizeof b);
    /* "SLPF" read as a big-endian number; little-endian memory holds "FPLS". */
    CHECK(b[0] == 'F' && b[1] == 'P' && b[2] == 'L' && b[3] == 'S');
}

static const sl_plugin head_only = {SL_PLUGIN_HEAD, .name = "x"};

static void plugin_head_macro_fills_the_frozen_fields(void)
{
    CHECK_EQ_U64(head_only.magic, SL_PLUGIN_MAGIC);
    CHECK_EQ_INT(head_only.abi_major, SL_ABI_VERSION_MAJOR);
    CHECK_EQ_INT(head_only.abi_minor, SL_ABI_VERSION_MINOR);
    CHECK_EQ_U64(head_only.size, sizeof(sl_plugin));
    CHECK_EQ_U64(head_only.reserved, 0);
    CHECK(head_only.create == NULL && head_only.on_end == NULL);
}

static void str_macros(void)
{
    sl_str s = SL_STR("abc");
    CHECK_EQ_U64(s.len, 3);
    CHECK(memcmp(s.ptr, "abc", 3) == 0);
    sl_str n = SL_STR_NULL;
    CHECK(n.ptr == NULL && n.len == 0);
}

/* SL_HAS is how a plugin built for 1.N reads a field a 1.0 host may not have. */
static void has_macro_tests_the_filled_size(void)
{
    sl_txn_end e = {0};
    e.size = (uint32_t)offsetof(sl_txn_end, total_tokens);
    CHECK(SL_HAS(&e, sl_txn_end, completion_tokens));
    CHECK(!SL_HAS(&e, sl_txn_end, total_tokens));
    e.size = (uint32_t)sizeof e;
    CHECK(SL_HAS(&e, sl_txn_end, total_tokens));

    sl_host h;
    memset(&h, 0, sizeof h);
    h.size = (uint32_t)offsetof(sl_host, kv_del);
    CHECK(SL_HAS(&h, sl_host, kv_set));
    CHECK(!SL_HAS(&h, sl_host, kv_del));
    h.size = 8;
    CHECK(!SL_HAS(&h, sl_host, config_root));
}

TEST_MAIN(RUN(every_field_at_its_recorded_offset) RUN(every_struct_has_its_recorded_size)
              RUN(fields_are_in_order_without_holes) RUN(every_code_has_its_recorded_value)
              RUN(entry_symbol_and_magic) RUN(plugin_head_macro_fills_the_frozen_fields)
              RUN(str_macros) RUN(has_macro_tests_the_filled_size))
