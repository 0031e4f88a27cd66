/* Spawns a command N times with at most P in flight: the floor any runner's per-task cost sits on. */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: spawn_baseline N P PROGRAM [ARGS...]\n");
        return 2;
    }
    int n = atoi(argv[1]), p = atoi(argv[2]), started = 0, running = 0;
    while (started < n || running > 0) {
        while (running < p && started < n) {
            pid_t pid;
            if (posix_spawn(&pid, argv[3], NULL, NULL, &argv[3], environ) != 0) { perror("posix_spawn"); return 1; }
            started++;
            running++;
        }
        int status;
        if (wait(&status) > 0) running--;
    }
    return 0;
}
