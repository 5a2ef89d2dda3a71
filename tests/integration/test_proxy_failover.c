/* test_proxy_failover.c - failover as far as this stage of sluice goes: priority
 * groups (a backup takes the traffic only while the preferred servers are out),
 * 503 when no server is usable, and a pooled connection that the server closed is
 * retried on a new one without the client noticing. */
#include "harness.h"
#include "mock_fixture.h"
#include "sluice_fixture.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>


static void backup_gets_the_traffic_while_the_priority_0_servers_are_in_maint(void)
{
    struct mock a, b, backup;
    START_MOCK(&a, "a");
    START_MOCK(&b, "b");
    START_MOCK(&backup, "backup");
    struct sluice s;
    REQUIRE(sluice_start(&s,
        SLUICE_GLOBAL_1W
        "frontends:\n"
        "  - name: api\n"
        "    bind: [\"127.0.0.1:@PORT@\"]\n"
        "    routes:\n"
        "      - {match: {path_prefix: /maint/}, backend: maint}\n"
        "      - {match: {path_prefix: /ready/}, backend: ready}\n"
        "backends:\n"
        "  - name: maint\n"
        "    servers:\n"
        "      - {name: a, url: \"http://127.0.0.1:%1$d/v1\", state: maint}\n"
        "      - {name: b, url: \"http://127.0.0.1:%2$d/v1\", state: maint}\n"
        "      - {name: backup, url: \"http://127.0.0.1:%3$d/v1\", priority: 1}\n"
        "  - name: ready\n"
        "    servers:\n"
        "      - {name: a, url: \"http://127.0.0.1:%1$d/v1\"}\n"
        "      - {name: b, url: \"http://127.0.0.1:%2$d/v1\"}\n"
        "      - {name: backup, url: \"http://127.0.0.1:%3$d/v1\", priority: 1}\n",
        a.port, b.port, backup.port));
    static const char *const names[] = {"a", "b", "backup"};
    int count[3] = {0, 0, 0}, failed = 0;
    sluice_spread(&s, "/maint/models", 20, names, count, 3, &failed);
    CHECK_EQ_INT(failed, 0);
    CHECK_EQ_INT(count[0] + count[1], 0);
    CHECK_EQ_INT(count[2], 20);
    /* the contrast: with the priority-0 servers ready, the backup gets nothing */
    memset(count, 0, sizeof count);
    sluice_spread(&s, "/ready/models", 20, names, count, 3, &failed);
    CHECK_EQ_INT(failed, 0);
    CHECK_EQ_INT(count[0], 10);
    CHECK_EQ_INT(count[1], 10);
    CHECK_EQ_INT(count[2], 0);
    CHECK_EQ_INT(sluice_stop(&s), 0);
    CHECK_EQ_INT(mock_stop(&a), 0);
    CHECK_EQ_INT(mock_stop(&b), 0);
    CHECK_EQ_INT(mock_stop(&backup), 0);
}

static void every_server_in_maint_gets_503_at_once(void)
{
    struct mock a, backup;
    START_MOCK(&a, "a");
    START_MOCK(&backup, "backup");
    struct sluice s;
    REQUIRE(sluice_start(&s,
        SLUICE_GLOBAL_1W
        "frontends:\n"
        "  - name: api\n"
        "    bind: [\"127.0.0.1:@PORT@\"]\n"
        "    routes: [{backend: llm}]\n"
        "backends:\n"
        "  - name: llm\n"
        "    servers:\n"
        "      - {name: a, url: \"http://127.0.0.1:%d\", state: maint}\n"
        "      - {name: backup, url: \"http://127.0.0.1:%d\", priority: 1, state: maint}\n",
        a.port, backup.port));
    struct http_resp r;
    CHECK_EQ_INT(http_get(sluice_url(&s, "/v1/models"), &r), 503);
    char code[64] = "", ct[64];
    CHECK(is_openai_error(r.body, code, sizeof code));
    CHECK_STR_CONTAINS(http_header(&r, "content-type", ct, sizeof ct), "application/json");
    CHECK_MSG_(r.total_ms < 250.0, "503 after %.0f ms", r.total_ms);
    http_resp_free(&r);
    CHECK_EQ_INT(mock_stat(&a, "requests"), 0);
    CHECK_EQ_INT(mock_stat(&backup, "requests"), 0);
    CHECK_EQ_INT(sluice_stop(&s), 0);
    CHECK_EQ_INT(mock_stop(&a), 0);
    CHECK_EQ_INT(mock_stop(&backup), 0);
}

static const char one_server[] =
    SLUICE_GLOBAL_1W
    "frontends:\n"
    "  - name: api\n"
    "    bind: [\"127.0.0.1:@PORT@\"]\n"
    "    routes: [{backend: llm}]\n"
    "backends:\n"
    "  - name: llm\n"
    "    servers:\n"
    "      - {name: only, url: \"http://127.0.0.1:%d\"}\n";

static void server_restarted_between_requests_still_answers_200(void)
{
    struct mock m;
    START_MOCK(&m, "first");
    int port = m.port;
    struct sluice s;
    REQUIRE(sluice_start(&s, one_server, port));
    http_client *c = http_client_new();
    struct http_req req = {.url = sluice_url(&s, "/v1/models")};
    struct http_resp r;
    CHECK_EQ_INT(http_do(c, &req, &r), 200);
    http_resp_free(&r);
    CHECK_EQ_INT(mock_stop(&m), 0); /* whatever sluice pooled is now closed */
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    START_MOCK(&m, "second", "--port", ps);
    for (int i = 0; i < 3; i++) {
        char v[64];
        CHECK_EQ_INT(http_do(c, &req, &r), 200);
        CHECK_STR_EQ(http_header(&r, "x-mock-server", v, sizeof v), "second");
        http_resp_free(&r);
    }
    http_client_free(c);
    CHECK_EQ_INT(sluice_stop(&s), 0);
    CHECK_EQ_INT(mock_stop(&m), 0);
}

/* ---- a server that closes a kept-alive connection just as it is reused ----
 *
 * Connection 1 answers the first request with keep-alive, then closes as soon as
 * the next request arrives on it, without answering: the race every pooled
 * connection runs against a server's idle timeout, made certain. Connection 2
 * answers whatever comes, echoing the body, so the test sees the replay whole. */

struct racer {
    int lfd, port;
    pthread_t th;
    atomic_int conns;         /* accepted */
    atomic_int reused_seen;   /* a second request arrived on connection 1 */
    atomic_int answered;      /* requests answered */
    char body2[256];          /* the body of the request answered on connection 2 */
};

/* Reads one request (head and content-length body) into buf; its length, or 0
 * on close or after 5 s. */
static size_t read_request(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    double deadline = proc_now_ms() + 5000;
    for (;;) {
        char *end = memmem(buf, len, "\r\n\r\n", 4);
        if (end) {
            size_t head = (size_t)(end - buf) + 4, cl = 0;
            const char *h = strcasestr(buf, "\r\ncontent-length:");
            if (h && h < end)
                cl = (size_t)strtoul(h + 17, NULL, 10);
            if (len >= head + cl)
                return head + cl;
        }
        int left = (int)(deadline - proc_now_ms());
        struct pollfd p = {fd, POLLIN, 0};
        if (len + 1 >= cap || left <= 0 || poll(&p, 1, left) <= 0)
            return 0;
        ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n <= 0)
            return 0;
        len += (size_t)n;
        buf[len] = '\0';
    }
}

static int accept_within(int lfd, int ms)
{
    struct pollfd p = {lfd, POLLIN, 0};
    if (poll(&p, 1, ms) <= 0)
        return -1;
    return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

static void answer(int fd, const char *conn, const char *body)
{
    char resp[512];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 200 OK\r\nx-conn: %s\r\ncontent-length: %zu\r\n\r\n%s", conn,
                     strlen(body), body);
    tcp_send_all(fd, resp, (size_t)n);
}

static void *racer_main(void *arg)
{
    struct racer *r = arg;
    char buf[8192];
    int c1 = accept_within(r->lfd, 5000);
    if (c1 < 0)
        return NULL;
    r->conns++;
    if (read_request(c1, buf, sizeof buf)) {
        answer(c1, "1", "first");
        r->answered++;
    }
    /* the next request on connection 1 is met with a close */
    struct pollfd p = {c1, POLLIN, 0};
    if (poll(&p, 1, 5000) > 0) {
        char peek[1];
        if (recv(c1, peek, 1, MSG_PEEK) > 0)
            r->reused_seen = 1;
    }
    close(c1);
    int c2 = accept_within(r->lfd, 5000);
    if (c2 < 0)
        return NULL;
    r->conns++;
    size_t n;
    while ((n = read_request(c2, buf, sizeof buf)) > 0) {
        const char *b = strstr(buf, "\r\n\r\n") + 4;
        snprintf(r->body2, sizeof r->body2, "%.*s", (int)(buf + n - b), b);
        answer(c2, "2", r->body2);
        r->answered++;
    }
    close(c2);
    return NULL;
}

static bool racer_start(struct racer *r)
{
    memset(r, 0, sizeof *r);
    r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (r->lfd < 0 || bind(r->lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(r->lfd, 16) != 0 ||
        getsockname(r->lfd, (struct sockaddr *)&a, &len) != 0)
        return false;
    r->port = ntohs(a.sin_port);
    return pthread_create(&r->th, NULL, racer_main, r) == 0;
}

static void pooled_connection_closed_at_reuse_is_retried_transparently(void)
{
    struct racer rc;
    REQUIRE(racer_start(&rc));
    struct sluice s;
    if (!sluice_start(&s, one_server, rc.port)) {
        CHECK(0);
        shutdown(rc.lfd, SHUT_RDWR);
        pthread_join(rc.th, NULL);
        close(rc.lfd);
        return;
    }
    struct http_resp r;
    char v[32];
    CHECK_EQ_INT(http_post_json(sluice_url(&s, "/v1/x"), "{\"n\":1}", &r), 200);
    CHECK_STR_EQ(http_header(&r, "x-conn", v, sizeof v), "1");
    http_resp_free(&r);
    /* a POST with a body: the replay must carry all of it */
    CHECK_EQ_INT(http_post_json(sluice_url(&s, "/v1/x"), "{\"n\":2,\"replayed\":true}", &r), 200);
    CHECK_STR_EQ(http_header(&r, "x-conn", v, sizeof v), "2");
    CHECK_STR_EQ(r.body, "{\"n\":2,\"replayed\":true}");
    http_resp_free(&r);
    CHECK_EQ_INT(sluice_stop(&s), 0);
    pthread_join(rc.th, NULL); /* ends when sluice has closed connection 2 */
    close(rc.lfd);
    /* the premise: the second request went out on the pooled connection first
     * (without pooling there is nothing to retry, and this test proves nothing) */
    CHECK_MSG_(rc.reused_seen == 1, "the second request did not go out on the pooled connection");
    CHECK_EQ_INT(rc.conns, 2);
    CHECK_EQ_INT(rc.answered, 2);
}

TEST_MAIN(
    RUN(backup_gets_the_traffic_while_the_priority_0_servers_are_in_maint)
    RUN(every_server_in_maint_gets_503_at_once)
    RUN(server_restarted_between_requests_still_answers_200)
    RUN(pooled_connection_closed_at_reuse_is_retried_transparently)
)
