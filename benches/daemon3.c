/*
 * daemon3 PROGRAM [ARG]...
 *
 * The "libc daemon(3)" peer for benches/launch.sh: whatever the C library's daemon()
 * does (fork, setsid, chdir("/"), 0-2 on /dev/null; no descriptor closed, no signal
 * reset), then execute PROGRAM. Like the APUE recipe, the caller sees success as soon as
 * the first fork returns.
 */
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    if (daemon(0, 0) < 0)
        return 1;
    execvp(argv[1], argv + 1);
    _exit(127);
}
