/* The least a runner can do while keeping flow's checkpoint promise: spawn_baseline, plus one SQLite commit
 * per completion that records the task's end together with the starts it releases, before those start
 * (write-ahead), in flow's own state database with flow's statements (WAL, synchronous=NORMAL, statements
 * prepared once). No logs, outputs, environment, timeouts, retries or scheduling: whatever it costs above the
 * baseline, any durable runner pays too. With --resume it first reads the last run's task states, as a
 * resumed run must.
 *
 * Usage: durable_floor_runner [--resume] STATE_DB N P PROGRAM [ARGS...]
 * STATE_DB must already hold flow's schema (bench.py makes one with flow itself). */
#include <spawn.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

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
    if (argc < 5) {
        fprintf(stderr, "usage: durable_floor_runner [--resume] STATE_DB N P PROGRAM [ARGS...]\n");
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
            if (posix_spawn(&pids[k], argv[4], NULL, NULL, &argv[4], environ) != 0) {
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
