#ifndef CFLOWSYSTEM_H
#define CFLOWSYSTEM_H

#include <spawn.h>

/// glibc's posix_spawn_file_actions_addchdir_np, which Swift's Glibc module does not expose.
int flow_spawn_file_actions_addchdir(posix_spawn_file_actions_t *actions, const char *path);

/// glibc's posix_spawn_file_actions_addclosefrom_np (glibc 2.34+).
int flow_spawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int from);

/// pidfd_open(2): a descriptor that becomes readable when the process exits (Linux 5.3+). -1 and errno on failure.
int flow_pidfd_open(int pid);

/// epoll_create1(EPOLL_CLOEXEC).
int flow_epoll_create(void);

/// epoll_ctl(EPOLL_CTL_ADD) of `fd` for one readable event (EPOLLIN | EPOLLONESHOT); the event's data is `fd`.
/// Kept in C because `struct epoll_event` is packed on x86-64, which Swift does not import faithfully.
int flow_epoll_add_oneshot(int epfd, int fd);

/// epoll_wait(2) writing the ready descriptors (the data given to flow_epoll_add_oneshot) to `fds`.
int flow_epoll_wait_fds(int epfd, int *fds, int max, int timeout_ms);

/// 1 if no other open file description refers to `fd`'s file (in this process or any other), 0 if one does or
/// the filesystem cannot tell. Takes a write lease (F_SETLEASE), which the kernel grants only to a sole
/// opener, and releases it at once.
int flow_is_sole_opener(int fd);

#endif
