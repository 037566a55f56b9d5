/*
 * apue PROGRAM [ARG]...
 *
 * The classic daemonizer recipe (Stevens & Rago, "Advanced Programming in the UNIX
 * Environment", chapter 13), as a peer for benches/launch.sh. It is written the way that
 * recipe is usually copied: the parent reports success before the daemon exists, and every
 * descriptor up to RLIMIT_NOFILE is closed one close() at a time, so its cost grows with
 * the limit even though only three descriptors are open.
 *
 * Built with -DAPUE_IDLE (benches/apue_idle.c) the daemon idles instead of executing a
 * program, so its own resident size can be compared with the Rust example daemons.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;

    /* Files the daemon creates get exactly the modes it asks for. */
    umask(0);

    /* Read before forking so the close loop below knows how far to go. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 1;

    /* The caller's shell gets its exit status now: the recipe never reports whether the
     * daemon actually started. */
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid > 0)
        _exit(0);

    /* A new session: no controlling terminal, not in the caller's process group. */
    setsid();

    /* The session leader's exit below would send SIGHUP to the new session. */
    struct sigaction sa = { .sa_handler = SIG_IGN };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);

    /* No longer a session leader, so opening a terminal can never make it ours. */
    pid = fork();
    if (pid < 0)
        _exit(1);
    if (pid > 0)
        _exit(0);

    /* Do not keep a mounted file system busy. */
    chdir("/");

    /* The recipe does not know which descriptors are open, so it tries every possible
     * one: RLIMIT_NOFILE system calls, nearly all failing with EBADF. */
    rlim_t max = rl.rlim_cur == RLIM_INFINITY ? 1024 : rl.rlim_cur;
    for (rlim_t fd = 0; fd < max; fd++)
        close((int)fd);

    /* 0 is free now, so open() returns it; 1 and 2 follow from dup(). */
    int fd0 = open("/dev/null", O_RDWR);
    int fd1 = dup(0);
    int fd2 = dup(0);
    if (fd0 != 0 || fd1 != 1 || fd2 != 2)
        _exit(1);

#ifdef APUE_IDLE
    /* apue_idle SECONDS: be the daemon instead of starting one. */
    sleep((unsigned)strtoul(argv[1], NULL, 10));
    return 0;
#else
    execvp(argv[1], argv + 1);
    _exit(127);
#endif
}
