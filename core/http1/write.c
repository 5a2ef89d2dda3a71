/* write.c - the few HTTP/1.1 pieces the proxy writes itself: chunk framing, status
 * and request lines, header lines, and the reason phrase table. Each checks its
 * input, so bytes from configuration or filters cannot split a message. */
#include <string.h>

#include "http1/http1_int.h"

size_t http1_chunk_header(char *buf, size_t cap, uint64_t len)
{
    static const char hex[] = "0123456789abcdef";
    char tmp[HTTP1_CHUNK_HEADER_MAX];
    size_t n = 0, i;
    if (len == 0)
        return 0;
    for (; len; len >>= 4)
        tmp[n++] = hex[len & 0xf];
    if (cap < n + 2)
        return 0;
    for (i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    buf[n] = '\r';
    buf[n + 1] = '\n';
    return n + 2;
}

const char *http1_reason_phrase(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    case 511: return "Network Authentication Required";
    default: break;
    }
    if (status >= 100 && status < 200) return "Informational";
    if (status >= 200 && status < 300) return "Success";
    if (status >= 300 && status < 400) return "Redirection";
    if (status >= 400 && status < 500) return "Client Error";
    return "Server Error";
}

/* HTAB, SP, VCHAR, obs-text: no CR, LF, NUL or other CTL. */
static bool text_ok(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

static bool token_ok(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (!http1_tchar((unsigned char)s[i]))
            return false;
    return n > 0;
}

/* Appends the pieces to buf; 0 when they do not fit. */
static size_t join(char *buf, size_t cap, const char *const *part, const size_t *len,
                   size_t count)
{
    size_t i, at = 0;
    for (i = 0; i < count; i++) {
        if (len[i] > cap - at)
            return 0;
        memcpy(buf + at, part[i], len[i]);
        at += len[i];
    }
    return at;
}

size_t http1_status_line(char *buf, size_t cap, int status, const char *reason)
{
    /* Written by hand: snprintf() cost more than the rest of the response head. */
    char code[5] = {' ', 0, 0, 0, ' '};
    size_t reason_len;
    if (status < 100 || status > 599)
        return 0;
    if (!reason)
        reason = http1_reason_phrase(status); /* the table's phrases are text */
    else if (!text_ok(reason, strlen(reason)))
        return 0;
    reason_len = strlen(reason);
    code[1] = (char)('0' + status / 100);
    code[2] = (char)('0' + status / 10 % 10);
    code[3] = (char)('0' + status % 10);
    {
        const char *part[] = {"HTTP/1.1", code, reason, "\r\n"};
        const size_t len[] = {8, sizeof code, reason_len, 2};
        return join(buf, cap, part, len, 4);
    }
}

size_t http1_request_line(char *buf, size_t cap, const char *method, size_t method_len,
                          const char *target, size_t target_len)
{
    size_t i;
    const char *part[] = {method, " ", target, " HTTP/1.1\r\n"};
    const size_t len[] = {method_len, 1, target_len, 11};
    if (!token_ok(method, method_len) || target_len == 0)
        return 0;
    for (i = 0; i < target_len; i++)
        if ((unsigned char)target[i] <= 0x20 || (unsigned char)target[i] >= 0x7f)
            return 0;
    return join(buf, cap, part, len, 4);
}

size_t http1_header_line(char *buf, size_t cap, const char *name, size_t name_len,
                         const char *value, size_t value_len)
{
    const char *part[] = {name, ": ", value, "\r\n"};
    const size_t len[] = {name_len, 2, value_len, 2};
    if (!token_ok(name, name_len) || !text_ok(value, value_len))
        return 0;
    return join(buf, cap, part, len, 4);
}
