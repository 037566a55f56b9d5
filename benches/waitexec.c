/*
 * waitexec PROGRAM [ARG]...
 *
 * The floor for a launcher that, like rawdaemon's, exits only once its daemon has executed
 * PROGRAM: a socket pair (close-on-exec) as the channel, fork, setsid, fork, 0-2 on
 * /dev/null, execv; the original process reaps the intermediate and reads the channel to
 * end-of-file, which comes when the exec succeeds. Nothing else: no pid file, no signal
 * reset, no chdir or umask, no descriptor closed, no report of a failure. A peer for
 * benches/launch.sh, to tell the cost of waiting from the cost of the rest.
 */
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return 1;
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        setsid();
        if (fork() != 0)
            _exit(0);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execv(argv[1], argv + 1);
        _exit(127);
    }
    close(sv[0]);
    waitpid(pid, NULL, 0);
    char buf[8];
    while (read(sv[1], buf, sizeof buf) > 0) {
    }
    _exit(0);
}
