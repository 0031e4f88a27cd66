#ifndef CFLOWSYSTEM_H
#define CFLOWSYSTEM_H


/// pidfd_open(2): a descriptor that becomes readable when the process exits (Linux 5.3+). -1 and errno on failure.
int flow_pidfd_open(int pid);

/// epoll_create1(EPOLL_CLOEXEC).
int flow_epoll_create(void);

/// epoll_ctl(EPOLL_CTL_ADD) of `fd` for one readable event (EPOLLIN | EPOLLONESHOT); the event's data is `fd`.
/// Kept in C because `struct epoll_event` is packed on x86-64, which Swift does not import faithfully.
int flow_epoll_add_oneshot(int epfd, int fd);

/// epoll_ctl(EPOLL_CTL_ADD) of `fd` for readable events until it is closed (level-triggered); the event's data is `fd`.
int flow_epoll_add(int epfd, int fd);

/// eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK): a counter other threads write to wake an epoll loop.
int flow_eventfd(void);

/// epoll_wait(2) writing the ready descriptors (the data given to flow_epoll_add_oneshot) to `fds`.
int flow_epoll_wait_fds(int epfd, int *fds, int max, int timeout_ms);

/// Whether child `pid` has exited, without waiting or reaping it (waitid with WNOHANG | WNOWAIT): 1 yes, 0 not
/// yet, -1 and errno on failure.
int flow_child_exited(int pid);

/// 1 if no other open file description refers to `fd`'s file (in this process or any other), 0 if one does or
/// the filesystem cannot tell. Takes a write lease (F_SETLEASE), which the kernel grants only to a sole
/// opener, and releases it at once.
int flow_is_sole_opener(int fd);

/// Starts `path` (searched in PATH when `search_path` is set) like posix_spawn with the options flow uses:
/// a new process group, stdin from /dev/null, stdout and stderr on `output_fd`, working directory `dir`,
/// every other descriptor closed, an empty signal mask, and SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGPIPE
/// (plus any signal with a handler) back to their defaults. Returns the pid, or -errno.
///
/// Unlike glibc's posix_spawn it maps no stack for the child: the child runs on a buffer in this call's own
/// frame (as musl does), so no munmap — and no TLB shootdown across flow's threads — follows each spawn.
int flow_spawn(const char *path, char *const argv[], char *const envp[], int output_fd, const char *dir,
               int search_path);

#include <stddef.h>

/// Why flow_http_get failed.
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

/// Set from any thread to stop a flow_http_get in progress (within about a second).
struct flow_http_cancel_flag { int cancelled; };
void flow_http_cancel(struct flow_http_cancel_flag *flag);

/// An HTTP(S) GET through libcurl, loaded on first use (dlopen) rather than at every start of flow. Sends the
/// `authorization` header line as given, follows no redirect, gives up after `connect_timeout_ms` to connect,
/// `idle_timeout_s` without a byte, or `total_timeout_ms` in all. Blocks: call it on a thread of its own.
/// 0 on a complete response (whatever its status), -1 with `out->error` set otherwise.
int flow_http_get(const char *url, const char *authorization, const char *user_agent, long connect_timeout_ms,
                  long idle_timeout_s, long total_timeout_ms, const struct flow_http_cancel_flag *cancel,
                  struct flow_http_response *out);
void flow_http_response_free(struct flow_http_response *response);

#endif
