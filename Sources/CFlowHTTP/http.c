#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "CFlowHTTP.h"
#include "curl_abi.h"

/* libcurl is opened on first use rather than linked: linked (as FoundationNetworking links it), it and the ~30
 * libraries it needs are loaded and relocated at every start of flow, about 5 ms, for an HTTP client that only
 * the Databento source and `http.post` use. curl_abi.h declares the types and constants, so no libcurl header is needed. */
static struct {
    flow_curlcode (*global_init)(long);
    FLOW_CURL *(*easy_init)(void);
    flow_curlcode (*easy_setopt)(FLOW_CURL *, flow_curloption, ...);
    flow_curlcode (*easy_perform)(FLOW_CURL *);
    flow_curlcode (*easy_getinfo)(FLOW_CURL *, flow_curlinfo, ...);
    void (*easy_cleanup)(FLOW_CURL *);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    const char *(*easy_strerror)(flow_curlcode);
} curl;
static int curl_loaded;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void load_curl(void) {
    const char *names[] = { "libcurl.so.4", "libcurl-gnutls.so.4", "libcurl.so" };
    void *lib = NULL;
    for (size_t i = 0; i < sizeof names / sizeof *names && lib == NULL; i++) lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) return;
#define LOOK(field, symbol) if ((*(void **)&curl.field = dlsym(lib, symbol)) == NULL) return
    LOOK(global_init, "curl_global_init");
    LOOK(easy_init, "curl_easy_init");
    LOOK(easy_setopt, "curl_easy_setopt");
    LOOK(easy_perform, "curl_easy_perform");
    LOOK(easy_getinfo, "curl_easy_getinfo");
    LOOK(easy_cleanup, "curl_easy_cleanup");
    LOOK(slist_append, "curl_slist_append");
    LOOK(slist_free_all, "curl_slist_free_all");
    LOOK(easy_strerror, "curl_easy_strerror");
#undef LOOK
    /* Once, before any other thread uses libcurl (pthread_once): curl_global_init is not thread-safe before 7.84. */
    if (curl.global_init(FLOW_CURL_GLOBAL_DEFAULT) != FLOW_CURLE_OK) return;
    curl_loaded = 1;
}

struct transfer {
    struct flow_http_response *out;
    size_t capacity;
    const struct flow_http_cancel_flag *cancel;
    int out_of_memory;
};

static size_t on_body(char *data, size_t size, size_t count, void *raw) {
    struct transfer *t = raw;
    size_t n = size * count;
    if (t->out->body_length + n > t->capacity) {
        size_t capacity = t->capacity ? t->capacity : 65536;
        while (capacity < t->out->body_length + n) capacity *= 2;
        char *grown = realloc(t->out->body, capacity);
        if (grown == NULL) {
            t->out_of_memory = 1;
            return 0; /* libcurl stops with FLOW_CURLE_WRITE_ERROR */
        }
        t->out->body = grown;
        t->capacity = capacity;
    }
    memcpy(t->out->body + t->out->body_length, data, n);
    t->out->body_length += n;
    return n;
}

/* A header's value when `line` ("Name: value\r\n") is named `name`, copied into `value`; 0 otherwise. */
static int header_value(const char *line, size_t length, const char *name, char *value, size_t capacity) {
    size_t name_length = strlen(name);
    if (length <= name_length || line[name_length] != ':' || strncasecmp(line, name, name_length) != 0) return 0;
    const char *start = line + name_length + 1;
    const char *end = line + length;
    while (start < end && (*start == ' ' || *start == '\t')) start++;
    while (end > start && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t')) end--;
    size_t n = (size_t)(end - start) < capacity - 1 ? (size_t)(end - start) : capacity - 1;
    memcpy(value, start, n);
    value[n] = 0;
    return 1;
}

static size_t on_header(char *data, size_t size, size_t count, void *raw) {
    struct transfer *t = raw;
    size_t n = size * count;
    char value[64];
    /* A new response (after a 100 Continue, say) starts over. */
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        t->out->retry_after = -1;
        t->out->content_length = -1;
    } else if (header_value(data, n, "Retry-After", value, sizeof value)) {
        char *end;
        double seconds = strtod(value, &end);
        if (end != value && *end == 0 && seconds >= 0) t->out->retry_after = seconds;
    } else if (header_value(data, n, "Content-Length", value, sizeof value)) {
        char *end;
        long long length = strtoll(value, &end, 10);
        if (end != value && *end == 0 && length >= 0) t->out->content_length = length;
    }
    return n;
}

static int on_progress(void *raw, flow_curl_off_t dltotal, flow_curl_off_t dlnow, flow_curl_off_t ultotal, flow_curl_off_t ulnow) {
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    struct transfer *t = raw;
    return __atomic_load_n(&t->cancel->cancelled, __ATOMIC_RELAXED) ? 1 : 0; /* non-zero aborts the transfer */
}

int flow_http_send(const struct flow_http_request *request, const struct flow_http_cancel_flag *cancel,
                   struct flow_http_response *out) {
    memset(out, 0, sizeof *out);
    out->retry_after = -1;
    out->content_length = -1;
    pthread_once(&curl_once, load_curl);
    if (!curl_loaded) {
        out->error = FLOW_HTTP_NO_LIBCURL;
        return -1;
    }
    FLOW_CURL *easy = curl.easy_init();
    if (easy == NULL) {
        out->error = FLOW_HTTP_FAILED;
        return -1;
    }
    struct transfer t = { out, 0, cancel, 0 };
    struct curl_slist *headers = NULL;
    for (size_t i = 0; i < request->header_count; i++) {
        struct curl_slist *grown = curl.slist_append(headers, request->headers[i]);
        if (grown == NULL) {
            curl.slist_free_all(headers);
            curl.easy_cleanup(easy);
            out->error = FLOW_HTTP_OUT_OF_MEMORY;
            return -1;
        }
        headers = grown;
    }
    curl.easy_setopt(easy, FLOW_CURLOPT_URL, request->url);
    if (request->post) {
        curl.easy_setopt(easy, FLOW_CURLOPT_POST, 1L);
        curl.easy_setopt(easy, FLOW_CURLOPT_POSTFIELDSIZE, (long)request->body_length);
        curl.easy_setopt(easy, FLOW_CURLOPT_POSTFIELDS, request->body ? request->body : "");
    } else {
        curl.easy_setopt(easy, FLOW_CURLOPT_HTTPGET, 1L);
    }
    if (headers != NULL) curl.easy_setopt(easy, FLOW_CURLOPT_HTTPHEADER, headers);
    curl.easy_setopt(easy, FLOW_CURLOPT_USERAGENT, request->user_agent);
    /* No redirects: the credentials go to the host that was asked, and nowhere else. */
    curl.easy_setopt(easy, FLOW_CURLOPT_FOLLOWLOCATION, 0L);
    curl.easy_setopt(easy, FLOW_CURLOPT_NOSIGNAL, 1L);
    curl.easy_setopt(easy, FLOW_CURLOPT_CONNECTTIMEOUT_MS, request->connect_timeout_ms);
    /* Less than a byte a second for `idle_timeout_s` seconds is a stalled server. */
    curl.easy_setopt(easy, FLOW_CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl.easy_setopt(easy, FLOW_CURLOPT_LOW_SPEED_TIME, request->idle_timeout_s);
    curl.easy_setopt(easy, FLOW_CURLOPT_TIMEOUT_MS, request->total_timeout_ms);
    curl.easy_setopt(easy, FLOW_CURLOPT_WRITEFUNCTION, on_body);
    curl.easy_setopt(easy, FLOW_CURLOPT_WRITEDATA, &t);
    curl.easy_setopt(easy, FLOW_CURLOPT_HEADERFUNCTION, on_header);
    curl.easy_setopt(easy, FLOW_CURLOPT_HEADERDATA, &t);
    curl.easy_setopt(easy, FLOW_CURLOPT_XFERINFOFUNCTION, on_progress);
    curl.easy_setopt(easy, FLOW_CURLOPT_XFERINFODATA, &t);
    curl.easy_setopt(easy, FLOW_CURLOPT_NOPROGRESS, 0L);
    flow_curlcode code = curl.easy_perform(easy);
    long status = 0;
    curl.easy_getinfo(easy, FLOW_CURLINFO_RESPONSE_CODE, &status);
    curl.easy_cleanup(easy);
    curl.slist_free_all(headers);
    out->status = status;
    if (code == FLOW_CURLE_OK) return 0;
    switch (code) {
    case FLOW_CURLE_ABORTED_BY_CALLBACK: out->error = FLOW_HTTP_CANCELLED; break;
    case FLOW_CURLE_OPERATION_TIMEDOUT: out->error = FLOW_HTTP_TIMED_OUT; break;
    case FLOW_CURLE_COULDNT_CONNECT: out->error = FLOW_HTTP_CANNOT_CONNECT; break;
    case FLOW_CURLE_COULDNT_RESOLVE_HOST: case FLOW_CURLE_COULDNT_RESOLVE_PROXY: out->error = FLOW_HTTP_HOST_NOT_FOUND; break;
    case FLOW_CURLE_SSL_CONNECT_ERROR: case FLOW_CURLE_PEER_FAILED_VERIFICATION: case FLOW_CURLE_SSL_CERTPROBLEM:
    case FLOW_CURLE_SSL_CIPHER: case FLOW_CURLE_SSL_CACERT_BADFILE: case FLOW_CURLE_SSL_ISSUER_ERROR:
        out->error = FLOW_HTTP_TLS_FAILED;
        break;
    case FLOW_CURLE_GOT_NOTHING: case FLOW_CURLE_RECV_ERROR: case FLOW_CURLE_SEND_ERROR: case FLOW_CURLE_PARTIAL_FILE:
        out->error = FLOW_HTTP_CONNECTION_DROPPED;
        break;
    case FLOW_CURLE_WRITE_ERROR:
        out->error = t.out_of_memory ? FLOW_HTTP_OUT_OF_MEMORY : FLOW_HTTP_FAILED;
        break;
    default: out->error = FLOW_HTTP_FAILED; break;
    }
    out->curl_code = (int)code;
    return -1;
}

void flow_http_cancel(struct flow_http_cancel_flag *flag) {
    __atomic_store_n(&flag->cancelled, 1, __ATOMIC_RELAXED);
}

void flow_http_response_free(struct flow_http_response *response) {
    free(response->body);
    response->body = NULL;
    response->body_length = 0;
}
