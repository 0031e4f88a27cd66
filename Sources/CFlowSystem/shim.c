#define _GNU_SOURCE
#include <sys/prctl.h>
#include <errno.h>
#include <sched.h>
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

int flow_epoll_add_oneshot(int epfd, int fd) {
    struct epoll_event event = { .events = EPOLLIN | EPOLLONESHOT, .data = { .fd = fd } };
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
}

int flow_epoll_add(int epfd, int fd) {
    struct epoll_event event = { .events = EPOLLIN, .data = { .fd = fd } };
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
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

struct flow_spawn_args {
    const char *path;
    char *const *argv;
    char *const *envp;
    int output_fd;
    const char *dir;
    int search_path;
    int error;
};

/* Runs in the child, on the parent's memory, until exec: only async-signal-safe calls, no allocation. */
static int flow_spawn_child(void *raw) {
    struct flow_spawn_args *a = raw;
    /* All signals are blocked (the parent blocked them before clone). Put back defaults where the runner
     * ignores a signal or has a handler, so nothing of flow's runs in the child or leaks into the task. */
    for (int sig = 1; sig < _NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        struct sigaction current;
        if (sigaction(sig, NULL, &current) != 0) continue;
        int runner_ignores = sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT || sig == SIGPIPE;
        if (current.sa_handler != SIG_DFL && (current.sa_handler != SIG_IGN || runner_ignores)) {
            struct sigaction dfl = { .sa_handler = SIG_DFL };
            sigaction(sig, &dfl, NULL);
        }
    }
    if (setpgid(0, 0) != 0) goto fail;
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0) goto fail;
    if (dup2(null_fd, 0) < 0 || dup2(a->output_fd, 1) < 0 || dup2(a->output_fd, 2) < 0) goto fail;
    if (chdir(a->dir) != 0) goto fail;
    /* No descriptor of the runner (state database, locks, other tasks' logs) leaks into a task. */
    closefrom(3);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (a->search_path) {
        execvpe(a->path, a->argv, a->envp);
    } else {
        execve(a->path, a->argv, a->envp);
    }
fail:
    a->error = errno ? errno : EINVAL;
    _exit(127);
}

int flow_spawn(const char *path, char *const argv[], char *const envp[], int output_fd, const char *dir,
               int search_path) {
    struct flow_spawn_args args = { path, argv, envp, output_fd, dir, search_path, 0 };
    /* The child's stack: enough for the calls above (execvpe builds candidate paths on it). */
    char stack[32768] __attribute__((aligned(16)));
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    /* CLONE_VFORK: this thread waits until the child has called exec or exited, so `args` and `stack` stay
     * valid, and args.error is set by then. */
    int pid = clone(flow_spawn_child, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) return -clone_errno;
    if (args.error != 0) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        return -args.error;
    }
    return pid;
}

int flow_set_child_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}
