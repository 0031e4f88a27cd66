#ifndef CFLOWSYSTEM_H
#define CFLOWSYSTEM_H


/// pidfd_open(2): a descriptor that becomes readable when the process exits (Linux 5.3+). -1 and errno on failure.
int flow_pidfd_open(int pid);

/// epoll_create1(EPOLL_CLOEXEC).
int flow_epoll_create(void);

/// epoll_ctl(EPOLL_CTL_ADD) of `fd` for readable events until it is closed (level-triggered); the event's data is `fd`.
/// Kept in C because `struct epoll_event` is packed on x86-64, which Swift does not import faithfully.
int flow_epoll_add(int epfd, int fd);

/// eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK): a counter other threads write to wake an epoll loop.
int flow_eventfd(void);

/* pipe2(fds, O_CLOEXEC); a larger buffer (1 MiB) where the kernel allows it. 0, or -1 with errno. */
int flow_pipe(int fds[2]);

/// epoll_wait(2) writing the ready descriptors (the data given to flow_epoll_add) to `fds`.
int flow_epoll_wait_fds(int epfd, int *fds, int max, int timeout_ms);

/// Whether child `pid` has exited, without waiting or reaping it (waitid with WNOHANG | WNOWAIT): 1 yes, 0 not
/// yet, -1 and errno on failure.
int flow_child_exited(int pid);

/// 1 if no other open file description refers to `fd`'s file (in this process or any other), 0 if one does or
/// the filesystem cannot tell. Takes a write lease (F_SETLEASE), which the kernel grants only to a sole
/// opener, and releases it at once.
int flow_is_sole_opener(int fd);

/// Starts `path` (searched in the caller's PATH when `search_path` is set) with glibc's posix_spawn: a new
/// process group (POSIX_SPAWN_SETPGROUP), stdin from /dev/null, stdout and stderr on `output_fd`, working
/// directory `dir` (addchdir_np), every other descriptor closed (addclosefrom_np), an empty signal mask, and
/// SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGPIPE (plus any signal with a handler) back to their defaults.
/// Returns the pid, or -errno (an exec failure too: glibc reports it).
int flow_spawn(const char *path, char *const argv[], char *const envp[], int output_fd, const char *dir,
               int search_path);

/// prctl(PR_SET_CHILD_SUBREAPER, 1): orphans among this process's descendants — a task's `setsid` daemon whose
/// parent ended — become its children instead of init's, so flow can find and stop them. 0, or -1 and errno.
int flow_set_child_subreaper(void);

#endif
