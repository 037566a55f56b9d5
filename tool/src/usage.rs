//! The tool's `--help` and `--version` text, written to stdout by the launching process (the
//! tool never runs its own code after a fork: the library does).

use rawdaemon::Message;

use crate::output::{print, stdout};

/// `--help`, in parts: an option a `tool-*` feature leaves out is neither printed nor linked.
const USAGE: &[&str] = &[
    "\
Usage: rawdaemon [OPTIONS] [--] PROGRAM [ARG]...
",
    #[cfg(feature = "tool-control")]
    "       rawdaemon --stop -p PIDFILE [-s SIGNAL] [-t SECONDS | --retry SCHEDULE] [--oknodo]
       rawdaemon --status -p PIDFILE
       rawdaemon --signal SIGNAL -p PIDFILE [--oknodo]
",
    "       rawdaemon -h | -V
Start PROGRAM as a daemon: fork, setsid, fork, chdir, umask, stdio on /dev/null (or log
files), every other descriptor closed, signals reset, pid file written and locked. Exits 0
once PROGRAM has been executed, or non-zero with a message naming the step that failed.

  -p, --pidfile PATH   write the daemon's pid to PATH and hold its lock; refuse to start
                       while another process holds it
  -c, --chdir DIR      working directory (default /)
  -m, --umask OCTAL    file-creation mask (default 022)
  -o, --stdout PATH    append stdout to PATH (default /dev/null)
  -e, --stderr PATH    append stderr to PATH (default /dev/null)
  -k, --keep-fd N      leave descriptor N open for PROGRAM (repeatable)
  -E, --env NAME=VALUE set an environment variable for PROGRAM (repeatable)
  -f, --foreground     do not fork or start a session; stdout and stderr stay as they are
                       unless -o or -e is given
",
    #[cfg(feature = "tool-privileges")]
    "  -u, --user USER[:GROUP]
                       run as USER (a name in /etc/passwd or a number), in GROUP (default:
                       USER's) and USER's groups in /etc/group; the pid and log files are
                       opened first, new log files are given to USER
",
    "  -r, --chroot DIR     change the root directory to DIR; PROGRAM is looked up inside it
",
    #[cfg(feature = "tool-respawn")]
    "  -R, --respawn        stay as a supervisor (the pid file names it) that restarts PROGRAM
                       when it exits with a status other than 0 or is killed, after a
                       delay of 100 ms doubling to 60 s; forwards TERM INT QUIT HUP USR1
                       USR2; with -o/-e captures PROGRAM's output and reopens the files on
                       HUP; ends (removing the pid file) when PROGRAM exits 0 or is stopped.
                       While it captures output (-o/-e, --syslog, --kmsg), HUP is forwarded
                       only if PROGRAM catches or ignores SIGHUP: a log rotation never kills
                       a PROGRAM that leaves it at its default
      --max-restarts N     give up after N restarts within the period (default 5)
      --restart-period SECS  that period (default 60)
",
    #[cfg(feature = "tool-syslog")]
    "      --syslog TAG[.FACILITY]  send PROGRAM's stdout (info) and stderr (err) to syslog line by
                       line, as TAG[PID] (facility default daemon), through a small logging
                       process (with -R, the supervisor, which logs its own messages too)
      --kmsg TAG[.FACILITY]    the same into the kernel log, /dev/kmsg (default user)
      --log-socket PATH    the syslog socket (default /dev/log); if nothing listens on it
                       at start, a warning says so and PROGRAM starts anyway: lines are
                       dropped (and counted in the log) until the socket accepts them
",
    #[cfg(feature = "tool-limits")]
    "      --capabilities LIST  PROGRAM's capabilities, cap_iab(3) syntax: ^cap_x ambient (kept
                       as USER with -u, nothing more), %cap_x inheritable, !cap_x out of
                       the bounding set; e.g. --capabilities ^cap_net_bind_service
      --no-new-privs   PR_SET_NO_NEW_PRIVS: no privilege gained by executing
      --secbits N      secure bits (PR_SET_SECUREBITS), e.g. 3 = SECBIT_NOROOT, locked
      --rlimit NAME=SOFT[:HARD]  a resource limit as prlimit(1) names it (repeatable;
                       unlimited, SOFT: or :HARD leave the other), e.g. nofile=4096:8192
      --nicelevel N    add N (-20 to 19) to the nice value, e.g. 10
      --ionice CLASS[:LEVEL]  I/O class idle, best-effort or real-time (or 0-3), level
                       0-7 (default 4), e.g. idle or best-effort:7
      --procsched POLICY[:PRIORITY]  other, fifo, rr, batch or idle, priority 1-99 for
                       fifo and rr (default 1), e.g. rr:10
      --oom-score-adj N  OOM score adjustment, -1000 to 1000, e.g. -500
                       Set before -u drops privileges, inherited by PROGRAM; a refusal
                       by the kernel fails the start naming the step
",
    #[cfg(feature = "tool-rotate")]
    "      --log-max-size SIZE  rotate the -o/-e files: when one would grow past SIZE
                       (bytes, or 64K, 10M, 1G; 4K or more) it becomes FILE.1 (older
                       ones FILE.2 ...) at a line boundary and a new FILE starts. Output
                       goes through a logging process (with -R, the supervisor) that
                       never blocks PROGRAM: lines a full disk refuses are dropped and
                       counted in the file (s6-log s, svlogd s, supervisord
                       stdout_logfile_maxbytes)
      --log-keep N     keep N rotated files, 0 to 999 (default 5; s6-log n, svlogd n,
                       supervisord stdout_logfile_backups)
      --log-timestamps start each line of the -o/-e files with its UTC time,
                       2026-12-04T18:55:45.123456Z (s6-log T, svlogd -tt)
                       e.g. --log-max-size 10M --log-keep 3 --log-timestamps -o agent.log
",
    #[cfg(feature = "tool-notify")]
    "      --ready-fd N     PROGRAM reports readiness by writing a newline to descriptor N: exit
                       only then (and kill PROGRAM if it exits or closes N first)
      --notify-await   PROGRAM reports readiness with sd_notify: it gets NOTIFY_SOCKET of a
                       socket of this start's, and the start succeeds only once PROGRAM (or
                       a descendant) sends READY=1; STATUS= lines are printed meanwhile, a
                       descendant named by MAINPID= becomes the daemon (the pid file names
                       it). With -f a small watcher waits beside PROGRAM; with -R the
                       supervisor waits for the first run. With -p, STATUS= is kept in
                       PIDFILE.status (before READY=1; with -R or -f the latest), and
                       --status prints it on stderr after the pid
      --watchdog SECS  with -R and --notify-await: PROGRAM gets WATCHDOG_USEC, and is
                       killed and restarted when no WATCHDOG=1 comes for SECS
",
    #[cfg(feature = "tool-ready")]
    "      --ready-when CHECK  exit only once CHECK holds (repeatable: all must): tcp:HOST:PORT
                       accepts a connection (HOST an IP address, [IPv6] or localhost; no
                       name is looked up), unix:PATH (or unix:@NAME) accepts, path:PATH
                       exists; polled every 5 to 100 ms. If PROGRAM exits first, or on the
                       timeout, exit 1 and kill PROGRAM's process group (with -R the
                       supervisor checks before it reports). Example:
                       --ready-when tcp:127.0.0.1:8080 --ready-when path:/run/app/ready
",
    #[cfg(any(feature = "tool-notify", feature = "tool-ready"))]
    "      --notify-timeout SECS  how long --notify-await waits for READY=1, and how long
                       --ready-when waits for its checks (each, default 60); then, or if
                       PROGRAM exits first, the start fails and PROGRAM is killed
",
    "  -h, --help           print this help
  -V, --version        print the version

",
    #[cfg(feature = "tool-notify")]
    "\
With NOTIFY_SOCKET set (systemd Type=notify), READY=1 and MAINPID= are sent once PROGRAM
is ready: by this process just before it exits, or with -f just before exec (with -f and
--ready-fd, by a small watcher process: systemd then needs NotifyAccess=all). With
--notify-await, once PROGRAM sent READY=1, and its STATUS= lines are passed on.

",
    #[cfg(feature = "tool-ready")]
    "\
Socket activation (systemd, systemd-socket-activate, s6-fdholder): when LISTEN_PID names
this process, the LISTEN_FDS descriptors from 3 reach PROGRAM without -k, and LISTEN_PID
becomes PROGRAM's pid (with -R, each run's).

",
    #[cfg(feature = "tool-control")]
    "\
Stop, status and signal find the daemon by the pid file's lock, never by the number alone:
      --stop           send SIGNAL to the process holding PIDFILE's lock and to every
                       process it started (its descendants, those holding that lock and,
                       for a daemon, its session), each through a pidfd; wait for all to
                       exit, SIGKILL those left after the timeout, then remove PIDFILE
  -s, --signal NAME    the signal --stop sends (default TERM); without --stop, send NAME
                       to the process holding PIDFILE's lock only, and return at once
  -t, --timeout SECS   how long --stop waits before SIGKILL (default 10)
      --retry SCHEDULE --stop's signals and waits: TIMEOUT (TERM, wait, KILL, wait) or
                       SIGNAL/TIMEOUT/... pairs, e.g. --retry TERM/30/KILL/5 (-s and -t
                       are its short form: -s S -t T is S/T/KILL/5)
      --oknodo         exit 0 when a start finds the daemon running, or --stop or
                       --signal finds nothing running (saying so)
      --status         print the pid of the process holding PIDFILE's lock

",
    "\
Exit status: 0 started; 1 a step failed; 2 usage error; 126 PROGRAM could not be
executed; 127 PROGRAM not found.
",
    #[cfg(feature = "tool-control")]
    "\
--stop: 0 stopped, 1 nothing running or a failure. --status: 0 running, 1 dead but the
pid file is left (or still locked by a process the daemon started: --stop ends it), 3 not
running, 4 unknown. --signal: 0 delivered, 1 failure, 3 not running, 4 unknown holder.
",
];

/// The `tool-*` features, and whether this build has each (`--version` names those it lacks).
const FEATURES: &[(&str, bool)] = &[
    ("tool-control", cfg!(feature = "tool-control")),
    ("tool-notify", cfg!(feature = "tool-notify")),
    ("tool-privileges", cfg!(feature = "tool-privileges")),
    ("tool-ready", cfg!(feature = "tool-ready")),
    ("tool-respawn", cfg!(feature = "tool-respawn")),
    ("tool-syslog", cfg!(feature = "tool-syslog")),
    ("tool-limits", cfg!(feature = "tool-limits")),
    ("tool-rotate", cfg!(feature = "tool-rotate")),
];

/// `--help`: [`USAGE`] on stdout.
pub fn help() -> i32 {
    for part in USAGE {
        if !print(stdout(), part.as_bytes()) {
            return 1;
        }
    }
    0
}

/// `--version`: the version, and the `tool-*` features this build was made without.
pub fn version() -> i32 {
    let mut m = Message::new();
    m.push_str(concat!("rawdaemon ", env!("CARGO_PKG_VERSION")));
    let mut first = true;
    for &(feature, present) in FEATURES {
        if !present {
            m.push_str(if first { " (without " } else { ", " })
                .push_str(feature);
            first = false;
        }
    }
    if !first {
        m.push_str(")");
    }
    m.write_line(stdout());
    0
}
