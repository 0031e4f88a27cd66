/* The floor under any runner that keeps flow's promises, on this machine's disk: what one SQLite commit of a
 * task transition (WAL, synchronous=NORMAL, statements prepared once) and one new log file cost, in C with
 * nothing else around them. Usage: durability_floor DIR N */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void check(int rc, sqlite3 *db, const char *what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: durability_floor DIR N\n"); return 2; }
    if (chdir(argv[1]) != 0) { perror("chdir"); return 1; }
    int n = atoi(argv[2]);
    sqlite3 *db;
    check(sqlite3_open("floor.db", &db), db, "open");
    check(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
        "CREATE TABLE attempts(id INTEGER PRIMARY KEY, run_id INT, task TEXT, status TEXT, started_at REAL, finished_at REAL);"
        "CREATE INDEX attempts_by_task ON attempts(run_id, task);"
        "CREATE TABLE task_states(run_id INT, task TEXT, status TEXT, PRIMARY KEY(run_id, task)) WITHOUT ROWID;", 0, 0, 0), db, "schema");
    sqlite3_stmt *begin, *commit, *start, *state, *finish;
    check(sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin, 0), db, "prepare");
    check(sqlite3_prepare_v2(db, "COMMIT", -1, &commit, 0), db, "prepare");
    check(sqlite3_prepare_v2(db, "INSERT INTO attempts(run_id, task, status, started_at) VALUES (1, ?, 'running', 1)", -1, &start, 0), db, "prepare");
    check(sqlite3_prepare_v2(db, "INSERT INTO task_states VALUES (1, ?, ?) ON CONFLICT(run_id, task) DO UPDATE SET status = excluded.status", -1, &state, 0), db, "prepare");
    check(sqlite3_prepare_v2(db, "UPDATE attempts SET status = 'succeeded', finished_at = 2 WHERE id = ?", -1, &finish, 0), db, "prepare");
    char name[64];
    long long previous = 0;
    double t0 = now();
    for (int i = 0; i < n; i++) {
        /* One transaction per task, as flow commits it: the previous task's end with this task's start. */
        snprintf(name, sizeof name, "t%d", i);
        check(sqlite3_step(begin), db, "begin"); sqlite3_reset(begin);
        if (previous) {
            sqlite3_bind_int64(finish, 1, previous); check(sqlite3_step(finish), db, "finish"); sqlite3_reset(finish);
            snprintf(name, sizeof name, "t%d", i - 1);
            sqlite3_bind_text(state, 1, name, -1, SQLITE_TRANSIENT); sqlite3_bind_text(state, 2, "succeeded", -1, SQLITE_STATIC);
            check(sqlite3_step(state), db, "state"); sqlite3_reset(state);
            snprintf(name, sizeof name, "t%d", i);
        }
        sqlite3_bind_text(start, 1, name, -1, SQLITE_TRANSIENT); check(sqlite3_step(start), db, "start"); sqlite3_reset(start);
        previous = sqlite3_last_insert_rowid(db);
        sqlite3_bind_text(state, 1, name, -1, SQLITE_TRANSIENT); sqlite3_bind_text(state, 2, "running", -1, SQLITE_STATIC);
        check(sqlite3_step(state), db, "state"); sqlite3_reset(state);
        check(sqlite3_step(commit), db, "commit"); sqlite3_reset(commit);
    }
    double commits = (now() - t0) * 1e6 / n;
    mkdir("logs", 0755);
    t0 = now();
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "logs/t%d.1.log", i);
        int fd = open(name, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) { perror("open"); return 1; }
        close(fd);
    }
    double files = (now() - t0) * 1e6 / n;
    printf("%.1f %.1f\n", commits, files);
    return 0;
}
