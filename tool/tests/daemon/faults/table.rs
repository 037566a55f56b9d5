//! The fault table: every injection point of the tool's start path ([`ROWS`]: the call, the
//! process that makes it, the fault, and the outcome it must have) and the calls of that path
//! that are not injected ([`NOT_INJECTED`], each with its reason).

/// The three processes of a start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Proc {
    /// The process the user started; it reports the outcome.
    Launcher,
    /// Between the two forks: `setsid`, the second fork, `_exit`.
    Intermediate,
    /// The daemon, up to and including its `execve` of PROGRAM.
    Daemon,
    /// Any of the three (exemptions only).
    Any,
}

pub(super) use Proc::{Any, Daemon, Intermediate, Launcher};

/// The contents of a stale pid file: a pid nobody holds the lock of.
pub(super) const STALE_CONTENT: &str = "999999\n";

/// A pre-existing stale pid file (`999999\n`, no lock holder): afterwards it must be absent or
/// unchanged.
pub(super) const STALE: bool = true;
/// No pid file before: none may exist after.
pub(super) const FRESH: bool = false;

/// One injection point.
#[derive(Debug)]
pub(super) struct Row {
    pub(super) id: &'static str,
    /// The system call as strace names it; alternatives (`clone|fork`) for builds that make
    /// the same step with different calls: the first one the baseline trace shows is used.
    pub(super) syscall: &'static str,
    /// The process whose call fails.
    pub(super) process: Proc,
    /// A pattern over the call's traced arguments (`*` matches anything; anchored at the
    /// start, open at the end). `{pid}`, `{log}`, `{sleep}`: the run's pid file, log file and
    /// PROGRAM's path; `{chan}`, `{status}`: the launcher's descriptors of the readiness
    /// channel and of `/proc/self/status`.
    pub(super) args: &'static str,
    /// Which of the calls matching `args` in `process` fails (1 = the first); strace's
    /// `when=` is computed from it.
    pub(super) nth: usize,
    /// What strace injects: `error=ERRNO` or `retval=N`.
    pub(super) fault: &'static str,
    /// A stale pid file exists before the start (else none does).
    pub(super) stale: bool,
    /// The launcher's exit status; 0 for a fault the start absorbs.
    pub(super) code: i32,
    /// The launcher's one line on stderr (same placeholders); empty when absorbed.
    pub(super) line: &'static str,
    /// The launcher's call of this system call is made once by a wrapper (perl) before it
    /// executes the tool, so that `when=1` fails the intermediate's call and not the
    /// launcher's: strace counts per process, and both make their fork as their first call.
    pub(super) wrapper: bool,
    /// The call fails from the chosen one on (`when=N+`), not just once: for calls the start
    /// tries again after a transient failure.
    pub(super) persistent: bool,
    /// The next calls of the same system call in the same process fail too, this many
    /// (`when=N..N+again`): the start's other way to the same step, the fork it makes where the
    /// clone that copies nothing is refused. With the wrapper, perl makes as many more calls
    /// before it executes the tool, so that the launcher's own call is spared still.
    pub(super) again: usize,
    /// Another system call that makes the same step in other builds, tried after
    /// [`Row::syscall`]'s: its name, its pattern in a successful start and its pattern when it
    /// fails (the first may look at the result). An `fstat` of a 32-bit build is a `statx`
    /// of the descriptor (see [`fstat_row`]).
    pub(super) alternative: Option<(&'static str, &'static str, &'static str)>,
}

#[allow(clippy::too_many_arguments)]
const fn row(
    id: &'static str,
    syscall: &'static str,
    process: Proc,
    args: &'static str,
    nth: usize,
    fault: &'static str,
    stale: bool,
    code: i32,
    line: &'static str,
) -> Row {
    Row {
        id,
        syscall,
        process,
        args,
        nth,
        fault,
        stale,
        code,
        line,
        wrapper: false,
        persistent: false,
        again: 0,
        alternative: None,
    }
}

/// A [`row`] whose call keeps failing (`when=N+`).
#[allow(clippy::too_many_arguments)]
const fn row_persistent(
    id: &'static str,
    syscall: &'static str,
    process: Proc,
    args: &'static str,
    nth: usize,
    fault: &'static str,
    stale: bool,
    code: i32,
    line: &'static str,
) -> Row {
    Row {
        persistent: true,
        ..row(id, syscall, process, args, nth, fault, stale, code, line)
    }
}

/// A [`row`] for the launcher's `fstat` (`nth` of them) of a file it opened. rustix makes
/// `fstat` on 32-bit CPUs (i686, armv7) as `statx(FD, "", AT_EMPTY_PATH)`, for times past
/// 2038: the same spelling as the checks of a path's directories, told apart here by the
/// regular file it reports.
const fn fstat_row(
    id: &'static str,
    nth: usize,
    fault: &'static str,
    stale: bool,
    code: i32,
    line: &'static str,
) -> Row {
    Row {
        alternative: Some((
            "statx",
            "*\"\", *AT_EMPTY_PATH*stx_mode=S_IFREG",
            "*\"\", *AT_EMPTY_PATH",
        )),
        ..row(id, "fstat", Launcher, "*", nth, fault, stale, code, line)
    }
}

/// Every injection point of `rawdaemon -p {pid} -o {log} sleep 30`, launched with SIGUSR1
/// blocked and SIGHUP ignored (so that the daemon has a signal mask to clear and a
/// disposition to reset), `PATH` set to sleep's directory alone, in the order the calls run.
#[rustfmt::skip]
pub(super) const ROWS: &[Row] = &[
    // The tool looks PROGRAM up on PATH before the library starts.
    row("path-access", "access", Launcher, "*\"{sleep}\", X_OK", 1, "error=EACCES", STALE, 126,
        "rawdaemon: exec sleep: Permission denied"),
    row("path-stat", "newfstatat|statx|stat", Launcher, "*\"{sleep}\"", 1, "error=EIO", FRESH, 126,
        "rawdaemon: exec sleep: Permission denied"),
    // /proc/self/status (thread count, signal dispositions): without it every signal is
    // reset and the mask cleared unconditionally, so the start goes on.
    row("status-open", "open|openat", Launcher, "*\"/proc/self/status\"", 1, "error=ENOENT", STALE, 0, ""),
    row("status-read", "read", Launcher, "{status}, ", 1, "error=EIO", FRESH, 0, ""),
    // The pid file, opened and locked before anything else: its directory resolved one
    // component at a time from `/` (the first component's open and check injected here), the
    // file opened in it for writing, then again read-only for the lock.
    row("pidfile-root", "openat", Launcher, "AT_FDCWD, \"/\", ", 1, "error=EACCES", FRESH, 1,
        "rawdaemon: pid file {pid}: Permission denied"),
    row("pidfile-dir", "openat", Launcher, "*O_NOFOLLOW*O_PATH", 1, "error=ENOMEM", STALE, 1,
        "rawdaemon: pid file {pid}: Cannot allocate memory"),
    row("pidfile-dir-stat", "newfstatat|statx", Launcher, "*\"\", *AT_EMPTY_PATH", 1, "error=EIO", STALE, 1,
        "rawdaemon: pid file {pid}: Input/output error"),
    row("pidfile-create", "open|openat", Launcher, "*\"d.pid\", O_RDWR|O_CREAT|O_EXCL", 1, "error=EACCES", FRESH, 1,
        "rawdaemon: pid file {pid}: Permission denied"),
    row("pidfile-reopen", "open|openat", Launcher, "*\"d.pid\", O_RDWR|O_NOCTTY", 1, "error=EACCES", STALE, 1,
        "rawdaemon: pid file {pid}: Permission denied"),
    fstat_row("pidfile-fstat", 1, "error=EIO", FRESH, 1,
        "rawdaemon: pid file {pid}: Input/output error"),
    // A stale pid file from before pid files were private (0644) is made 0640.
    row("pidfile-chmod", "fchmod", Launcher, "*", 1, "error=EPERM", STALE, 1,
        "rawdaemon: pid file {pid}: Operation not permitted"),
    row("pidfile-lock-open", "openat", Launcher, "*\"d.pid\", O_RDONLY", 1, "error=EACCES", FRESH, 1,
        "rawdaemon: pid file {pid}: Permission denied"),
    fstat_row("pidfile-lock-fstat", 2, "error=EIO", STALE, 1,
        "rawdaemon: pid file {pid}: Input/output error"),
    row("pidfile-flock", "flock", Launcher, "*", 1, "error=ENOLCK", FRESH, 1,
        "rawdaemon: pid file {pid}: No locks available"),
    row("pidfile-recheck", "newfstatat|statx", Launcher, "*\"d.pid\"", 1, "error=ENOMEM", FRESH, 1,
        "rawdaemon: pid file {pid}: Cannot allocate memory"),
    // The other descriptors the children need.
    row("devnull", "open|openat", Launcher, "*\"/dev/null\"", 1, "error=ENFILE", STALE, 1,
        "rawdaemon: open /dev/null: Too many open files in system"),
    row("log-root", "openat", Launcher, "AT_FDCWD, \"/\", ", 2, "error=EACCES", STALE, 1,
        "rawdaemon: open stdout {log}: Permission denied"),
    row("log", "open|openat", Launcher, "*\"d.log\"", 1, "error=EACCES", FRESH, 1,
        "rawdaemon: open stdout {log}: Permission denied"),
    fstat_row("log-fstat", 3, "error=EIO", FRESH, 1,
        "rawdaemon: open stdout {log}: Input/output error"),
    row("socketpair", "socketpair", Launcher, "*", 1, "error=EMFILE", STALE, 1,
        "rawdaemon: socketpair: Too many open files"),
    // Processes and the session. The clone that copies nothing (CLONE_VM|CLONE_VFORK) and the
    // fork the start falls back to both fail: the fork's error is reported.
    Row { again: 1, ..row("fork", "clone|fork|vfork|clone3", Launcher, "*", 1, "error=EAGAIN", FRESH, 1,
        "rawdaemon: fork: Resource temporarily unavailable") },
    row("setsid", "setsid", Intermediate, "*", 1, "error=EPERM", STALE, 1,
        "rawdaemon: setsid: Operation not permitted"),
    Row { wrapper: true, again: 1, ..row("fork2", "clone|fork|vfork|clone3", Intermediate, "*", 1, "error=EAGAIN", FRESH, 1,
        "rawdaemon: second fork: Resource temporarily unavailable") },
    // A refusal of the clone that copies nothing alone, which the start absorbs by forking,
    // cannot be injected here (strace counts per process: the intermediate's and the daemon's
    // first clone would fail with it): shared_clone.rs refuses it with a seccomp filter.
    // The daemon's steps.
    row("sigmask", "rt_sigprocmask", Daemon, "SIG_SETMASK, []", 1, "error=EINVAL", STALE, 1,
        "rawdaemon: sigprocmask: Invalid argument"),
    row("chdir", "chdir", Daemon, "\"/\"", 1, "error=EACCES", FRESH, 1,
        "rawdaemon: chdir /: Permission denied"),
    row("dup2-stdin", "dup2|dup3", Daemon, "*", 1, "error=EBUSY", STALE, 1,
        "rawdaemon: dup2 0: Device or resource busy"),
    row("dup2-stdout", "dup2|dup3", Daemon, "*", 2, "error=EINTR", FRESH, 1,
        "rawdaemon: dup2 1: Interrupted system call"),
    row("dup2-stderr", "dup2|dup3", Daemon, "*", 3, "error=EBADF", STALE, 1,
        "rawdaemon: dup2 2: Bad file descriptor"),
    row("close_range-1", "close_range", Daemon, "*", 1, "error=ENOMEM", FRESH, 1,
        "rawdaemon: close_range: Cannot allocate memory"),
    // ENOSYS (Linux before 5.9): the descriptors listed in /proc/self/fd are closed instead.
    row("close_range-enosys", "close_range", Daemon, "*", 1, "error=ENOSYS", FRESH, 0, ""),
    row("pidfile-cloexec", "fcntl|fcntl64", Daemon, "*, F_SETFD", 1, "error=EBADF", FRESH, 1,
        "rawdaemon: write pid file {pid}: Bad file descriptor"),
    row("pidfile-write", "pwrite64", Daemon, "*", 1, "error=ENOSPC", STALE, 1,
        "rawdaemon: write pid file {pid}: No space left on device"),
    row("pidfile-short-write", "pwrite64", Daemon, "*", 1, "retval=1", FRESH, 1,
        "rawdaemon: write pid file {pid}: No space left on device"),
    row("pidfile-truncate", "ftruncate|ftruncate64", Daemon, "*", 1, "error=EIO", STALE, 1,
        "rawdaemon: write pid file {pid}: Input/output error"),
    // The session's record in the pid file's modification time is an aid for --stop: a
    // failure of any of its calls leaves the file without it, and the start stands.
    row("session-getsid", "getsid", Daemon, "*", 1, "error=ESRCH", FRESH, 0, ""),
    row("session-record", "utimensat|utimensat_time64", Daemon, "*", 1, "error=EROFS", FRESH, 0, ""),
    // The daemon's record "about to exec" cannot be sent: the launcher sees end-of-file
    // without a record, so the daemon must not go on to run PROGRAM.
    // The daemon's report: a transient failure is tried again and the start stands; one that
    // lasts makes the daemon exit before exec, and the launcher says so.
    row("report-exec", "sendto|send", Daemon, "*", 1, "error=ENOBUFS", STALE, 0, ""),
    row_persistent("report-exec-lasting", "sendto|send", Daemon, "*", 1, "error=ENOBUFS",
        FRESH, 1, "rawdaemon: daemon: exited before it was ready"),
    row("exec", "execve", Daemon, "*", 1, "error=ENOEXEC", FRESH, 126,
        "rawdaemon: exec {sleep}: Exec format error"),
    // The launcher waiting for the verdict: the first read of the channel (the record), the
    // second (end-of-file, or the first one restarted after SIGCHLD interrupted it).
    // A failed read is tried again; one that lasts fails the start, and the launcher kills the
    // daemon's process group (the daemon's pid may be unknown yet).
    row("read-record", "read", Launcher, "{chan}, ", 1, "error=ECONNRESET", FRESH, 0, ""),
    row("read-eof", "read", Launcher, "{chan}, ", 2, "error=ECONNRESET", STALE, 0, ""),
    row_persistent("read-record-lasting", "read", Launcher, "{chan}, ", 1, "error=ECONNRESET",
        STALE, 1, "rawdaemon: read readiness channel: Connection reset by peer"),
    row_persistent("read-eof-lasting", "read", Launcher, "{chan}, ", 2, "error=ECONNRESET",
        FRESH, 1, "rawdaemon: read readiness channel: Connection reset by peer"),
    // Reaping the intermediate: its result is ignored (ECHILD is normal when SIGCHLD is
    // ignored), and the launcher exits right after, so the start stands.
    row("reap", "wait4", Launcher, "*", 1, "error=ECHILD", STALE, 0, ""),
];

/// Calls of the start path that are not injected: (system call, process, pattern as in
/// [`Row::args`], why).
///
/// Besides these, the C runtime's own start-up (the dynamic loader's `openat`, `mmap`,
/// `mprotect`... with glibc; `arch_prctl`, `set_tid_address` with musl) is not the tool's: it
/// is found as the calls `rawdaemon -V` makes before it prints, and left out.
#[rustfmt::skip]
pub(super) const NOT_INJECTED: &[(&str, Proc, &str, &str)] = &[
    ("getpid", Daemon, "*", "cannot fail: getpid(2) has no error return"),
    ("geteuid", Launcher, "*",
     "cannot fail: geteuid(2) has no error return (the owner check of an existing pid file)"),
    ("geteuid32", Launcher, "*", "cannot fail: geteuid's name on i686"),
    ("umask", Daemon, "*", "cannot fail: umask(2) always succeeds and returns the previous mask"),
    ("close", Launcher, "*",
     "the launcher's close of /proc/self/status and of its copy of the channel's write end: \
      the result is never acted on, and Linux releases the descriptor even when close \
      reports an error, whereas strace's injection skips the call altogether (a launcher \
      that kept the write end would wait for end-of-file forever), which no real failure does"),
    ("rt_sigaction", Daemon, "*",
     "resetting an ignored or caught signal to SIG_DFL: the kernel fails it only for an \
      invalid signal number, SIGKILL/SIGSTOP or a bad pointer, none of which the library \
      passes; the library ignores the result on purpose, because a C library's sigaction \
      refuses its reserved signals 32-34 (those are reset with the raw call before execve)"),
    ("rt_sigprocmask", Any, "SIG_BLOCK, ",
     "musl's fork() blocks every signal around the fork and ignores the result; the kernel \
      fails rt_sigprocmask only on bad arguments"),
    ("rt_sigprocmask", Launcher, "SIG_SETMASK, ~[",
     "every signal blocked before the clone that copies nothing: the kernel fails \
      rt_sigprocmask only on bad arguments, and a failure makes the start fork instead; not \
      injected, as strace counts per process and the daemon's own first rt_sigprocmask (row \
      sigmask) would fail with it"),
    ("rt_sigprocmask", Any, "SIG_SETMASK, ~[",
     "musl's fork() restoring its own full mask after the fork; result ignored by musl"),
    ("rt_sigprocmask", Launcher, "SIG_SETMASK, [USR1]",
     "the launcher's own mask (this launch blocks SIGUSR1) put back after the clone that \
      copies nothing; the result is ignored: the kernel fails rt_sigprocmask only on bad \
      arguments, and the launcher only waits for the verdict and exits (musl's fork() \
      restores it likewise, ignoring the result)"),
    ("set_robust_list", Any, "*", "glibc's fork() in the new child; glibc ignores the result"),
    ("set_tid_address", Any, "*", "musl's fork() in the new child; cannot fail"),
    ("read", Launcher, "{chan}, ",
     "reads of the channel after the first two (rows read-record and read-eof): a read \
      restarted after SIGCHLD interrupted it, so their number depends on timing; an error \
      in any of them takes the same path as in the first two"),
    ("exit_group", Any, "*", "cannot fail: the intermediate's _exit and the launcher's exit"),
    ("fstat", Daemon, "*",
     "the daemon's fstat of the pid file before it records its session there (rows \
      session-getsid and session-record show that a failed record leaves the start standing; \
      strace's per-process count cannot single out the daemon's first fstat, the launcher's \
      own makes the same call first)"),
    ("statx", Daemon, "*\"\", *AT_EMPTY_PATH",
     "the daemon's fstat of the pid file as a 32-bit build makes it (see the fstat entry)"),
    ("openat", Launcher, "*O_NOFOLLOW*O_PATH",
     "each directory of the pid file's and the log's paths is opened as the first one is \
      (row pidfile-dir): a failure of any takes the same path"),
    ("newfstatat", Launcher, "*\"\", *AT_EMPTY_PATH",
     "each directory of the pid file's and the log's paths is checked as the first one is \
      (row pidfile-dir-stat): a failure of any takes the same path"),
    ("statx", Launcher, "*\"\", *AT_EMPTY_PATH*stx_mode=S_IFDIR",
     "the checks of the paths' directories as a 32-bit build makes them (see the newfstatat \
      entry)"),
];
