#define _GNU_SOURCE
#include <sys/prctl.h>
#include <spawn.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "CFlowSystem.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif


int flow_pidfd_open(int pid) {
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

int flow_epoll_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

int flow_epoll_add(int epfd, int fd) {
    struct epoll_event event = { .events = EPOLLIN, .data = { .fd = fd } };
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
}

int flow_pipe(int fds[2]) {
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    /* A task printing fast fills 64 KiB in microseconds; a bigger pipe means fewer wake-ups of the pump. */
    (void)fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
    return 0;
}

int flow_eventfd(void) {
    return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

int flow_epoll_wait_fds(int epfd, int *fds, int max, int timeout_ms) {
    struct epoll_event events[64];
    if (max > 64) max = 64;
    int n = epoll_wait(epfd, events, max, timeout_ms);
    for (int i = 0; i < n; i++) fds[i] = events[i].data.fd;
    return n;
}

int flow_child_exited(int pid) {
    siginfo_t info = {0};
    int r;
    do {
        r = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT | WNOHANG);
    } while (r != 0 && errno == EINTR);
    if (r != 0) return -1;
    return info.si_pid == pid ? 1 : 0;
}

int flow_is_sole_opener(int fd) {
    if (fcntl(fd, F_SETLEASE, F_WRLCK) != 0) return 0;
    fcntl(fd, F_SETLEASE, F_UNLCK);
    return 1;
}

int flow_set_child_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

int flow_spawn(const char *path, char *const argv[], char *const envp[], int output_fd, const char *dir,
               int search_path) {
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t actions;
    int r = posix_spawnattr_init(&attr);
    if (r != 0) return -r;
    r = posix_spawn_file_actions_init(&actions);
    if (r != 0) { posix_spawnattr_destroy(&attr); return -r; }
    /* The signals flow ignores go back to their defaults in the child (SETSIGDEF), so a task can be stopped
     * and a pipeline sees SIGPIPE; a signal flow handles goes back by itself (glibc resets every handled signal
     * in the child, as exec would); anything else inherited stays as flow got it. The mask is emptied. */
    sigset_t defaults, none;
    sigemptyset(&defaults);
    sigemptyset(&none);
    const int runner_ignores[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE };
    for (size_t i = 0; i < sizeof runner_ignores / sizeof runner_ignores[0]; i++) sigaddset(&defaults, runner_ignores[i]);
    /* Each call fails only for want of memory; the first failure is the one returned. */
    r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (r == 0) r = posix_spawnattr_setpgroup(&attr, 0);
    if (r == 0) r = posix_spawnattr_setsigmask(&attr, &none);
    if (r == 0) r = posix_spawnattr_setsigdefault(&attr, &defaults);
    if (r == 0) r = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    if (r == 0) r = posix_spawn_file_actions_adddup2(&actions, output_fd, 1);
    if (r == 0) r = posix_spawn_file_actions_adddup2(&actions, output_fd, 2);
    if (r == 0) r = posix_spawn_file_actions_addchdir_np(&actions, dir);
    /* No descriptor of the runner (state database, locks, other tasks' logs) leaks into a task. */
    if (r == 0) r = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    pid_t pid = 0;
    if (r == 0) r = search_path ? posix_spawnp(&pid, path, &actions, &attr, argv, envp)
                    : posix_spawn(&pid, path, &actions, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    return r == 0 ? pid : -r;
}
