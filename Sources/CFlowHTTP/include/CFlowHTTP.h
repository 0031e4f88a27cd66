#ifndef CFLOWHTTP_H
#define CFLOWHTTP_H

#include <stddef.h>

/// Why flow_http_send failed.
enum flow_http_error {
    FLOW_HTTP_OK = 0,
    FLOW_HTTP_NO_LIBCURL,       // libcurl.so.4 could not be loaded
    FLOW_HTTP_CANCELLED,        // flow_http_cancel was called
    FLOW_HTTP_TIMED_OUT,
    FLOW_HTTP_CANNOT_CONNECT,
    FLOW_HTTP_HOST_NOT_FOUND,
    FLOW_HTTP_TLS_FAILED,
    FLOW_HTTP_CONNECTION_DROPPED, // including a body shorter than its Content-Length
    FLOW_HTTP_OUT_OF_MEMORY,
    FLOW_HTTP_FAILED,           // anything else; curl_code says what
};

struct flow_http_response {
    long status;                // the HTTP status, 0 if none arrived
    char *body;                 // malloc'd; free with flow_http_response_free
    size_t body_length;
    long long content_length;   // the Content-Length header, -1 if absent
    double retry_after;         // the Retry-After header in seconds, -1 if absent
    enum flow_http_error error;
    int curl_code;              // libcurl's CURLcode when error is FLOW_HTTP_FAILED or another failure
};

/// Set from any thread to stop a flow_http_send in progress (within about a second).
struct flow_http_cancel_flag { int cancelled; };
void flow_http_cancel(struct flow_http_cancel_flag *flag);

/// One request: a GET, or a POST of `body` when `post` is set.
struct flow_http_request {
    const char *url;
    const char *const *headers;  // whole header lines ("Name: value"), sent as given
    size_t header_count;
    int post;
    const char *body;
    size_t body_length;
    const char *user_agent;
    long connect_timeout_ms;     // to connect
    long idle_timeout_s;         // without a byte
    long total_timeout_ms;       // in all
};

/// An HTTP(S) request through libcurl, loaded on first use (dlopen) rather than at every start of flow. Follows
/// no redirect. Blocks: call it on a thread of its own. 0 on a complete response (whatever its status), -1 with
/// `out->error` set otherwise.
int flow_http_send(const struct flow_http_request *request, const struct flow_http_cancel_flag *cancel,
                   struct flow_http_response *out);
void flow_http_response_free(struct flow_http_response *response);

#endif
