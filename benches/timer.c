/*
 * timer: the clock and the process janitor behind benches/launch.sh.
 *
 *   timer bench NOFILE[,NOFILE]... ROUNDS  KEY KIND CMD... ---  KEY KIND CMD... ---  ...
 *       Runs every CMD once per round at each RLIMIT_NOFILE soft limit, in an order that
 *       rotates each round (so drift in machine state hits all launchers alike).
 *       Per KEY and limit it prints "KEY NOFILE EXIT_US EXEC_US READY_US FAILED READY_Q1
 *       READY_Q3" (medians of the good runs, and the quartiles of READY for the spread;
 *       " hung" appended if a launcher never exited):
 *         EXIT  start of the launcher until the launcher has exited;
 *         EXEC  start until a process it started completed its execve (KIND "exec");
 *         READY the later of the two. Most launchers exit before their daemon exists,
 *               so EXIT alone would reward not waiting. KIND "self" launchers are the
 *               daemon and report readiness themselves: READY = EXIT, EXEC = -1.
 *   timer run NOFILE CMD...
 *       Runs CMD once (e.g. strace wrapped around a launcher), waits until a process left
 *       behind idles in nanosleep, prints "idle PID VMRSS_KB" ("idle none" on timeout),
 *       then kills everything.
 *
 * The exit and execve moments come from the kernel's process-event connector, whose
 * timestamps are CLOCK_MONOTONIC: nothing polls, so the timer takes no CPU from the
 * launcher on a 2-core machine, and its own wake-up latency is in no figure. Without the
 * connector (no CAP_NET_ADMIN) it falls back to its own clock and to polling /proc for the
 * daemon's idle sleep, and says so (TIMER_POLL=1 forces that).
 *
 * TIMER_UNLINK=FILE[:FILE]... names files to remove after each run (pid files).
 *
 * No daemon may outlive a run: the timer is a child subreaper, so every orphan of a
 * launcher is re-parented to it, and after each run it kills and reaps its children by pid
 * until none is left.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>

#define MAXPIDS 256

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

/* 0-2 on /dev/null and nothing else open: no launcher inherits our terminal or output
 * pipe, and every launcher starts with the same three descriptors, whatever the shell that
 * started us leaked (a held pipe end would also stall a launcher that waits for EOF). */
static pid_t spawn(char **argv)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        int fd = open("/dev/null", O_RDWR);
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        close_range(3, ~0U, 0);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* Read a small /proc file; returns its length or -1. */
static int slurp(const char *path, char *buf, int size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int n = read(fd, buf, size - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = 0;
    return n;
}

/* Our children, found by ppid in /proc/PID/stat: re-parented orphans are not known to us
 * by any other means. */
static int children(pid_t *out)
{
    pid_t self = getpid();
    int n = 0;
    DIR *d = opendir("/proc");
    if (!d)
        die("/proc");
    struct dirent *e;
    while ((e = readdir(d)) && n < MAXPIDS) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        char path[300], buf[1024];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        if (slurp(path, buf, sizeof buf) < 0)
            continue;
        /* The command name may hold spaces and ')': the fields start after the last ')'. */
        char *p = strrchr(buf, ')');
        char state;
        int ppid;
        if (p && sscanf(p + 1, " %c %d", &state, &ppid) == 2 && ppid == self)
            out[n++] = atoi(e->d_name);
    }
    closedir(d);
    return n;
}

/* Kill and reap every child except `keep`. Killing an intermediate process can hand us its
 * own child at that moment, so scan again until a scan finds nobody. */
static void kill_children(pid_t keep)
{
    pid_t pids[MAXPIDS];
    for (;;) {
        int n = children(pids), killed = 0;
        for (int i = 0; i < n; i++) {
            if (pids[i] == keep)
                continue;
            kill(pids[i], SIGKILL);
            waitpid(pids[i], NULL, 0);
            killed++;
        }
        if (!killed)
            return;
    }
}

/* The state letter of a process (S sleeping, t stopped by a tracer, ...), or 0. */
static char state_of(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    char *p = slurp(path, buf, sizeof buf) < 0 ? NULL : strrchr(buf, ')');
    return p && p[1] ? p[2] : 0;
}

/* A child (other than `keep`) blocked in nanosleep or clock_nanosleep: a daemon that has
 * reached its idle state. /proc/PID/syscall shows the number of a blocked system call.
 * State S as well: under strace the call also shows during the tracer's syscall-entry stop
 * (state t), before strace has logged it, and killing it then would lose that line. */
static pid_t find_idle(pid_t keep)
{
    pid_t pids[MAXPIDS];
    int n = children(pids);
    for (int i = 0; i < n; i++) {
        char path[64], buf[256];
        snprintf(path, sizeof path, "/proc/%d/syscall", pids[i]);
        if (pids[i] == keep || slurp(path, buf, sizeof buf) < 0)
            continue;
        int nr = atoi(buf);
        if (buf[0] >= '0' && buf[0] <= '9' && (nr == 35 || nr == 230) &&
            state_of(pids[i]) == 'S')
            return pids[i];
    }
    return 0;
}

static long rss_kb(pid_t pid)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    if (slurp(path, buf, sizeof buf) < 0)
        return -1;
    char *p = strstr(buf, "VmRSS:");
    return p ? atol(p + 6) : -1;
}

/* ---- process events: who descends from the launcher, when it exited, when one exec'd ---- */

static int cn = -1;

struct track {
    pid_t pids[64];  /* pids[0] is the launcher; the rest are its descendants */
    int n, need_exec;
    double exit_us;  /* kernel time of the launcher's exit, 0 until seen */
    double exec_us;  /* kernel time a descendant completed an execve, 0 until seen */
};

static int tracked(const struct track *t, pid_t p)
{
    for (int i = 0; i < t->n; i++)
        if (t->pids[i] == p)
            return 1;
    return 0;
}

/* Subscribe to fork/exec/exit events; then check that one really arrives, since the
 * subscription can fail silently (e.g. without CAP_NET_ADMIN). */
static int cn_open(void)
{
    int s = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
    if (s < 0)
        return -1;
    int big = 4 << 20; /* room for every event of a run, whatever else the system does */
    setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    struct sockaddr_nl a = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC };
    char buf[NLMSG_SPACE(sizeof(struct cn_msg) + sizeof(enum proc_cn_mcast_op))]
        __attribute__((aligned(8))) = { 0 };
    struct nlmsghdr *h = (void *)buf;
    struct cn_msg *c = NLMSG_DATA(h);
    h->nlmsg_len = NLMSG_LENGTH(sizeof *c + sizeof(enum proc_cn_mcast_op));
    h->nlmsg_type = NLMSG_DONE;
    c->id.idx = CN_IDX_PROC;
    c->id.val = CN_VAL_PROC;
    c->len = sizeof(enum proc_cn_mcast_op);
    *(enum proc_cn_mcast_op *)c->data = PROC_CN_MCAST_LISTEN;
    if (bind(s, (void *)&a, sizeof a) < 0 || send(s, buf, h->nlmsg_len, 0) < 0) {
        close(s);
        return -1;
    }
    pid_t probe = fork();
    if (probe == 0)
        _exit(0);
    waitpid(probe, NULL, 0);
    struct pollfd p = { s, POLLIN, 0 };
    if (poll(&p, 1, 1000) != 1) {
        close(s);
        return -1;
    }
    return s;
}

static int complete(const struct track *t)
{
    return t->exit_us && (t->exec_us || !t->need_exec);
}

/* Apply the queued events to `t`; with wait_ms > 0 keep waiting up to that long until the
 * launcher's exit (and the exec, if needed) have been seen: the exiting task sends its event
 * only after waking us, so it can arrive after waitpid has returned. */
static void cn_read(struct track *t, int wait_ms)
{
    double deadline = now_us() + wait_ms * 1e3;
    for (;;) {
        int ms = 0;
        if (wait_ms > 0 && !complete(t)) {
            ms = (int)((deadline - now_us()) / 1e3);
            if (ms < 0)
                return;
        }
        struct pollfd p = { cn, POLLIN, 0 };
        if (poll(&p, 1, ms) != 1)
            return;
        char buf[16384] __attribute__((aligned(8)));
        int len = recv(cn, buf, sizeof buf, MSG_DONTWAIT);
        if (len <= 0)
            return; /* ENOBUFS: events lost; the run then counts as failed */
        for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
            struct proc_event *e = (void *)((struct cn_msg *)NLMSG_DATA(h))->data;
            double at = e->timestamp_ns / 1e3;
            if (!t->n)
                continue;
            if (e->what == PROC_EVENT_FORK) {
                pid_t child = e->event_data.fork.child_tgid;
                if (tracked(t, e->event_data.fork.parent_tgid) && !tracked(t, child) &&
                    t->n < 64)
                    t->pids[t->n++] = child;
            } else if (e->what == PROC_EVENT_EXEC && !t->exec_us) {
                pid_t p = e->event_data.exec.process_tgid;
                /* The launcher's own execve is its start, not the daemon's. */
                if (p != t->pids[0] && tracked(t, p))
                    t->exec_us = at;
            } else if (e->what == PROC_EVENT_EXIT &&
                       e->event_data.exit.process_pid == t->pids[0]) {
                t->exit_us = at;
            }
        }
    }
}

/* ---- modes ---- */

#define MAXROWS 16
#define MAXLIMITS 4

struct row {
    char *key, *kind, **argv;
    int hung;
};

/* The runs of one row at one limit. */
struct cell {
    double *exit_us, *exec_us, *ready_us;
    int good, failed;
};

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    if (!n)
        return -1;
    qsort(v, n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void set_nofile(unsigned long n)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = n;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        die("setrlimit RLIMIT_NOFILE");
}

static void on_alarm(int sig) { (void)sig; }

/* TIMER_UNLINK=FILE[:FILE]...: files removed after each run, such as the pid files of
 * daemons just killed, so that every launch starts as a first start does and none finds a
 * stale file. */
static void unlink_leftovers(void)
{
    const char *list = getenv("TIMER_UNLINK");
    char path[4096];
    while (list && *list) {
        const char *end = strchr(list, ':');
        size_t n = end ? (size_t)(end - list) : strlen(list);
        if (n && n < sizeof path) {
            memcpy(path, list, n);
            path[n] = 0;
            unlink(path);
        }
        list += n + (end != NULL);
    }
}

/* One launch of `r`: 1 and the three times (µs after t0) if it worked. With the connector
 * all three are kernel timestamps, so our own wake-up latency is in none of them. */
static int launch(struct row *r, double *exit_us, double *exec_us, double *ready_us)
{
    struct track t = { .n = 0, .need_exec = !strcmp(r->kind, "exec") };
    if (cn >= 0)
        cn_read(&t, 0); /* drop events left from the previous run */

    alarm(2); /* a launcher that never exits must not stall the whole benchmark */
    double t0 = now_us();
    pid_t l = spawn(r->argv);
    t.pids[0] = l;
    t.n = 1;
    int st;
    if (waitpid(l, &st, 0) < 0) { /* EINTR from the alarm */
        fprintf(stderr, "timer: %s still running after 2 s; row dropped\n", r->key);
        r->hung = 1;
        kill(l, SIGKILL);
        waitpid(l, &st, 0);
    }
    double t1 = now_us();
    alarm(0);
    int ok = !r->hung && WIFEXITED(st) && WEXITSTATUS(st) == 0;

    if (cn >= 0) {
        /* A failed launch is dropped anyway: waiting for an exec that never comes would cost
         * five seconds a run (start-stop-daemon fails at once while any sleep runs). */
        cn_read(&t, ok ? 5000 : 0);
        ok = ok && complete(&t);
    } else {
        /* No events: our own clock, and the daemon's idle sleep found by polling. */
        t.exit_us = t1;
        if (t.need_exec) {
            while (!find_idle(0) && now_us() - t0 < 5e6)
                ;
            t.exec_us = now_us();
            ok = ok && t.exec_us - t0 < 5e6;
        }
    }
    kill_children(0);
    unlink_leftovers();
    *exit_us = t.exit_us - t0;
    *exec_us = t.need_exec ? t.exec_us - t0 : -1;
    *ready_us = *exec_us > *exit_us ? *exec_us : *exit_us;
    return ok;
}

/* Both limits are interleaved too, not run one after the other: the machine's speed
 * drifts over seconds, and the per-descriptor cost is a difference across limits. */
static int bench(char *limit_list, int rounds, int argc, char **argv)
{
    unsigned long limits[MAXLIMITS];
    int nlimits = 0;
    for (char *p = strtok(limit_list, ","); p && nlimits < MAXLIMITS; p = strtok(NULL, ","))
        limits[nlimits++] = strtoul(p, NULL, 10);

    struct row rows[MAXROWS];
    struct cell cells[MAXROWS][MAXLIMITS];
    int nrows = 0;
    for (int i = 0; i + 2 < argc && nrows < MAXROWS;) {
        struct row *r = &rows[nrows];
        *r = (struct row){ .key = argv[i], .kind = argv[i + 1], .argv = argv + i + 2 };
        for (int k = 0; k < nlimits; k++) {
            struct cell *c = &cells[nrows][k];
            *c = (struct cell){ .good = 0 };
            c->exit_us = calloc(rounds, sizeof(double));
            c->exec_us = calloc(rounds, sizeof(double));
            c->ready_us = calloc(rounds, sizeof(double));
        }
        nrows++;
        for (i += 2; i < argc && strcmp(argv[i], "---"); i++)
            ;
        argv[i++] = NULL; /* the separator ends this command's argv */
    }
    /* No SA_RESTART: the alarm must interrupt waitpid. */
    struct sigaction sa = { .sa_handler = on_alarm };
    sigaction(SIGALRM, &sa, NULL);
    cn = getenv("TIMER_POLL") ? -1 : cn_open(); /* TIMER_POLL=1 tests the fallback */
    printf("# %s\n", cn >= 0 ? "kernel timestamps of the exit and exec events (proc connector)"
                             : "our clock; exec = daemon found idle by polling /proc");

    int n = nrows * nlimits;
    for (int round = 0; round < rounds; round++) {
        for (int j = 0; j < n; j++) {
            int slot = (j + round) % n, ri = slot % nrows, k = slot / nrows;
            struct row *r = &rows[ri];
            struct cell *c = &cells[ri][k];
            if (r->hung)
                continue;
            set_nofile(limits[k]); /* before the clock starts; the launcher inherits it */
            int g = c->good;
            if (launch(r, &c->exit_us[g], &c->exec_us[g], &c->ready_us[g]))
                c->good++;
            else if (!r->hung)
                c->failed++;
        }
    }
    for (int ri = 0; ri < nrows; ri++) {
        for (int k = 0; k < nlimits; k++) {
            struct cell *c = &cells[ri][k];
            double e = median(c->exit_us, c->good), x = median(c->exec_us, c->good);
            double r = median(c->ready_us, c->good); /* sorts ready_us */
            int g = c->good;
            printf("%s %lu %.1f %.1f %.1f %d %.1f %.1f%s\n", rows[ri].key, limits[k], e, x, r,
                   c->failed, g ? c->ready_us[g / 4] : -1, g ? c->ready_us[(3 * g) / 4] : -1,
                   rows[ri].hung ? " hung" : "");
        }
    }
    return 0;
}

static int run(char **cmd)
{
    pid_t l = spawn(cmd), d = 0;
    double t0 = now_us();
    /* Generous: a close loop of 20,000 descriptors under strace takes a while. */
    while (!(d = find_idle(l)) && now_us() - t0 < 60e6)
        usleep(2000);
    if (d)
        printf("idle %d %ld\n", d, rss_kb(d));
    else
        printf("idle none\n");
    kill_children(l);
    /* CMD is a launcher that has exited, or strace, which ends once its tracees are gone. */
    for (int i = 0; i < 1000 && waitpid(l, NULL, WNOHANG) == 0; i++)
        usleep(1000);
    kill(l, SIGKILL);
    waitpid(l, NULL, 0);
    kill_children(0);
    unlink_leftovers();
    return d ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: timer bench NOFILE[,NOFILE]... ROUNDS KEY KIND CMD... --- ...\n"
                        "       timer run NOFILE CMD...\n");
        return 2;
    }
    /* Orphans of the launchers come to us, not to pid 1, so we can time and kill them. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        die("PR_SET_CHILD_SUBREAPER");
    setvbuf(stdout, NULL, _IOLBF, 0);

    if (!strcmp(argv[1], "bench") && argc > 6)
        return bench(argv[2], atoi(argv[3]), argc - 4, argv + 4);
    if (!strcmp(argv[1], "run")) {
        set_nofile(strtoul(argv[2], NULL, 10));
        return run(argv + 3);
    }
    fprintf(stderr, "timer: unknown mode %s\n", argv[1]);
    return 2;
}
