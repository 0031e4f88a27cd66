/* The least a runner can do while keeping flow's checkpoint promise: spawn_baseline, plus one SQLite commit
 * per completion that records the task's end together with the starts it releases, before those start
 * (write-ahead), in flow's own state database with flow's statements (WAL, synchronous=NORMAL, statements
 * prepared once). No logs, outputs, environment, timeouts, retries or scheduling: whatever it costs above the
 * baseline, any durable runner pays too. With --resume it first reads the last run's task states, as a
 * resumed run must.
 *
 * With --logs DIR it also keeps flow's promises about a task's process and output, in the cheapest way C
 * allows: each attempt's stdout and stderr go to a file of its own (DIR/RUN/tK.1.log, in a folder per run like
 * flow's logs/RUN; a quiet task's empty log, once no other process holds it, is renamed aside and renamed into
 * place for the next task, as flow's LogRecycler does, which is cheaper than a new file and an unlink per
 * task), stdin is /dev/null, the task leads a process group of its own, and its environment adds
 * flow's FLOW_* variables, including an outputs file that is looked for after the task ends. No YAML, no
 * templates, fingerprints, timeouts or retries.
 *
 * Usage: durable_floor_runner [--resume] [--logs DIR] STATE_DB N P PROGRAM [ARGS...]
 * STATE_DB must already hold flow's schema (bench.py makes one with flow itself). */
#define _GNU_SOURCE /* F_SETLEASE */
#include <spawn.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static sqlite3 *db;
static sqlite3_stmt *begin_tx, *commit_tx, *finish_attempt, *delete_outputs, *finish_state, *insert_attempt,
    *start_state;
static long long run_id;
static const char *fingerprint = "0000000000000000000000000000000000000000000000000000000000000000";

static void check(int rc, const char *what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

static void step(sqlite3_stmt *s, const char *what) {
    check(sqlite3_step(s), what);
    sqlite3_reset(s);
}

static sqlite3_stmt *prepare(const char *sql) {
    sqlite3_stmt *s;
    check(sqlite3_prepare_v2(db, sql, -1, &s, 0), sql);
    return s;
}

static long long record_start(int task) {
    char name[32];
    snprintf(name, sizeof name, "t%d", task);
    sqlite3_bind_int64(insert_attempt, 1, run_id);
    sqlite3_bind_text(insert_attempt, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert_attempt, 3, fingerprint, -1, SQLITE_STATIC);
    step(insert_attempt, "insert attempt");
    long long attempt = sqlite3_last_insert_rowid(db);
    sqlite3_bind_int64(start_state, 1, run_id);
    sqlite3_bind_text(start_state, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(start_state, 3, fingerprint, -1, SQLITE_STATIC);
    step(start_state, "start state");
    return attempt;
}

static void record_end(int task, long long attempt, int status) {
    char name[32];
    snprintf(name, sizeof name, "t%d", task);
    const char *outcome = status == 0 ? "succeeded" : "failed";
    sqlite3_bind_text(finish_attempt, 1, outcome, -1, SQLITE_STATIC);
    sqlite3_bind_int(finish_attempt, 2, status);
    sqlite3_bind_int64(finish_attempt, 3, attempt);
    step(finish_attempt, "finish attempt");
    sqlite3_bind_int64(delete_outputs, 1, run_id);
    sqlite3_bind_text(delete_outputs, 2, name, -1, SQLITE_TRANSIENT);
    step(delete_outputs, "delete outputs");
    sqlite3_bind_text(finish_state, 1, outcome, -1, SQLITE_STATIC);
    sqlite3_bind_int64(finish_state, 2, run_id);
    sqlite3_bind_text(finish_state, 3, name, -1, SQLITE_TRANSIENT);
    step(finish_state, "finish state");
}

int main(int argc, char **argv) {
    int resume = argc > 1 && strcmp(argv[1], "--resume") == 0;
    argv += resume;
    argc -= resume;
    const char *logs = NULL;
    if (argc > 2 && strcmp(argv[1], "--logs") == 0) {
        logs = argv[2];
        argv += 2;
        argc -= 2;
    }
    if (argc < 5) {
        fprintf(stderr, "usage: durable_floor_runner [--resume] [--logs DIR] STATE_DB N P PROGRAM [ARGS...]\n");
        return 2;
    }
    int n = atoi(argv[2]), p = atoi(argv[3]);
    check(sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE, 0), "open");
    check(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", 0, 0, 0),
          "pragmas");
    sqlite3_busy_timeout(db, 10000);
    if (resume) {
        sqlite3_stmt *states = prepare("SELECT task, status FROM task_states WHERE run_id = (SELECT max(id) FROM runs)");
        while (sqlite3_step(states) == SQLITE_ROW) {}
        sqlite3_finalize(states);
    }
    check(sqlite3_exec(db, "INSERT INTO runs(workflow, workflow_path, status, params_json, overrides_json, started_at,"
                           " created_at, updated_at) VALUES ('floor', 'floor', 'running', '{}', '{}', '', 0, 0)", 0, 0, 0),
          "insert run");
    run_id = sqlite3_last_insert_rowid(db);
    begin_tx = prepare("BEGIN IMMEDIATE");
    commit_tx = prepare("COMMIT");
    finish_attempt = prepare("UPDATE attempts SET status = ?, finished_at = 1, exit_code = ?, signal = NULL, error = NULL,"
                             " log_path = NULL WHERE id = ?");
    delete_outputs = prepare("DELETE FROM outputs WHERE run_id = ? AND task = ?");
    finish_state = prepare("UPDATE task_states SET status = ?, finished_at = 1, reason = NULL WHERE run_id = ? AND task = ?");
    insert_attempt = prepare("INSERT INTO attempts(run_id, task, attempt, status, fingerprint, started_at, log_path)"
                             " VALUES (?, ?, 1, 'running', ?, 0, 'log')");
    start_state = prepare("INSERT INTO task_states(run_id, task, status, fingerprint, attempts, reason, started_at,"
                          " finished_at) VALUES (?, ?, 'running', ?, 1, NULL, 0, NULL) ON CONFLICT(run_id, task) DO UPDATE"
                          " SET status = 'running', fingerprint = excluded.fingerprint, attempts = attempts + 1,"
                          " reason = NULL, started_at = excluded.started_at, finished_at = NULL");

    pid_t *pids = calloc(n, sizeof *pids);
    long long *attempts = calloc(n, sizeof *attempts);
    int *log_fds = calloc(n, sizeof *log_fds);
    static int spare_fds[64];
    static char spare_paths[64][4096];
    int spares = 0;
    /* The environment: flow's own, plus the task's FLOW_* variables in the first slots. */
    int inherited = 0;
    while (environ[inherited]) inherited++;
    char **env = calloc(inherited + 6, sizeof *env);
    for (int k = 0; k < inherited; k++) env[k + 5] = environ[k];
    char task_var[64], run_var[64], output_var[4200], checkpoint_var[4200], state_var[4200];
    env[0] = task_var, env[1] = run_var, env[2] = output_var, env[3] = checkpoint_var, env[4] = state_var;
    snprintf(state_var, sizeof state_var, "FLOW_STATE=%s", argv[1]);
    char run_logs[4000];
    if (logs) {
        snprintf(run_logs, sizeof run_logs, "%s/%lld", logs, run_id);
        if (mkdir(run_logs, 0777) != 0) {
            perror(run_logs);
            return 1;
        }
        logs = run_logs;
    }
    int started = 0, running = 0, ended = -1, ended_status = 0;
    for (;;) {
        step(begin_tx, "begin");
        if (ended >= 0) record_end(ended, attempts[ended], ended_status);
        int first = started;
        while (running < p && started < n) {
            attempts[started] = record_start(started);
            started++;
            running++;
        }
        step(commit_tx, "commit");
        for (int k = first; k < started; k++) {
            if (!logs) {
                if (posix_spawn(&pids[k], argv[4], NULL, NULL, &argv[4], environ) != 0) {
                    perror("posix_spawn");
                    return 1;
                }
                continue;
            }
            char path[4096];
            snprintf(path, sizeof path, "%s/t%d.1.log", logs, k);
            if (spares > 0 && rename(spare_paths[spares - 1], path) == 0) {
                log_fds[k] = spare_fds[--spares];
            } else {
                log_fds[k] = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
            }
            if (log_fds[k] < 0) {
                perror(path);
                return 1;
            }
            snprintf(task_var, sizeof task_var, "FLOW_TASK=t%d", k);
            snprintf(run_var, sizeof run_var, "FLOW_RUN_ID=%lld", run_id);
            snprintf(output_var, sizeof output_var, "FLOW_OUTPUT=%s/t%d.1.out", logs, k);
            snprintf(checkpoint_var, sizeof checkpoint_var, "FLOW_CHECKPOINT=%s/t%d.1.checkpoint", logs, k);
            posix_spawn_file_actions_t files;
            posix_spawn_file_actions_init(&files);
            posix_spawn_file_actions_addopen(&files, 0, "/dev/null", O_RDONLY, 0);
            posix_spawn_file_actions_adddup2(&files, log_fds[k], 1);
            posix_spawn_file_actions_adddup2(&files, log_fds[k], 2);
            posix_spawnattr_t attributes;
            posix_spawnattr_init(&attributes);
            posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
            posix_spawnattr_setpgroup(&attributes, 0);
            int failed = posix_spawn(&pids[k], argv[4], &files, &attributes, &argv[4], env);
            posix_spawn_file_actions_destroy(&files);
            posix_spawnattr_destroy(&attributes);
            if (failed) {
                perror("posix_spawn");
                return 1;
            }
        }
        if (running == 0) break;
        int status;
        pid_t done = wait(&status);
        if (done <= 0) {
            perror("wait");
            return 1;
        }
        running--;
        ended_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
        for (ended = 0; ended < started && pids[ended] != done; ended++) {}
        if (logs) {
            /* A quiet task keeps no log file: if nothing else holds it (a write lease is granted only to the sole
             * opener), its empty log becomes a spare. Its outputs file is read if it wrote one. */
            struct stat info;
            char path[4096];
            snprintf(path, sizeof path, "%s/t%d.1.log", logs, ended);
            int fd = log_fds[ended];
            if (spares < 64 && fstat(fd, &info) == 0 && info.st_size == 0 && fcntl(fd, F_SETLEASE, F_WRLCK) == 0) {
                fcntl(fd, F_SETLEASE, F_UNLCK);
                snprintf(spare_paths[spares], sizeof spare_paths[spares], "%s/.spare-%d.log", logs, spares);
                if (rename(path, spare_paths[spares]) == 0) {
                    spare_fds[spares++] = fd;
                } else {
                    close(fd);
                }
            } else {
                close(fd);
            }
            snprintf(path, sizeof path, "%s/t%d.1.out", logs, ended);
            int outputs = open(path, O_RDONLY | O_CLOEXEC);
            if (outputs >= 0) close(outputs);
        }
    }
    while (spares > 0) {
        spares--;
        close(spare_fds[spares]);
        unlink(spare_paths[spares]);
    }
    char end_run[96];
    snprintf(end_run, sizeof end_run, "UPDATE runs SET status = 'succeeded' WHERE id = %lld", run_id);
    check(sqlite3_exec(db, end_run, 0, 0, 0), "end run");
    /* Finalized first, so the close is a real one: like flow's, it checkpoints the WAL into the database (with
     * its syncs) and removes it. Left open, the next runner would recover and checkpoint this run's WAL. */
    sqlite3_stmt *all[] = {begin_tx, commit_tx, finish_attempt, delete_outputs, finish_state, insert_attempt, start_state};
    for (size_t k = 0; k < sizeof all / sizeof *all; k++) sqlite3_finalize(all[k]);
    check(sqlite3_close(db), "close");
    return 0;
}
