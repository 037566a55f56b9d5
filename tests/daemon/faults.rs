//! Proven under faults: every system call on the tool's start path is made to fail, without
//! changing the code, by strace's fault injection (`-e inject=SYSCALL:error=ERRNO:when=N`),
//! and the outcome is checked: the launcher exits non-zero with the one line naming the step,
//! no process of the attempt survives, the pid file is absent or still names its previous
//! owner, and a log file the attempt created is gone. A few faults are absorbed by design (a
//! fallback takes over); their rows expect a clean start instead.
//!
//! [`ROWS`] is the list of injection points and [`NOT_INJECTED`] the calls that are not
//! injected, each with its reason. `fault_table_covers_the_start_path` traces a successful
//! start and fails on any call of the launcher, the intermediate or the daemon (up to its
//! `execve`) that neither lists: a new step without a row shows up there.
//!
//! Which call a row fails is found in a baseline trace of a successful start (the same
//! command, the same launch state): strace counts `when=` per system call and per traced
//! process, from the launcher's first call after its own `execve` and from a child's first
//! call. The trace of each faulted run is then read back to prove that exactly that call was
//! the one injected.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use crate::{ensure, ensure_eq};

/// The prefix of a skipped test's error (the runner's convention).
const SKIP: &str = "skip: ";

/// The contents of a stale pid file: a pid nobody holds the lock of.
const STALE_CONTENT: &str = "999999\n";

/// How long one traced start may take before strace is killed (it waits for every traced
/// process, so a process the attempt left behind keeps it running).
const DEADLINE: Duration = Duration::from_secs(10);

/// The three processes of a start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Proc {
    /// The process the user started; it reports the outcome.
    Launcher,
    /// Between the two forks: `setsid`, the second fork, `_exit`.
    Intermediate,
    /// The daemon, up to and including its `execve` of PROGRAM.
    Daemon,
    /// Any of the three (exemptions only).
    Any,
}

use Proc::{Any, Daemon, Intermediate, Launcher};

/// A pre-existing stale pid file (`999999\n`, no lock holder): afterwards it must be absent or
/// unchanged.
const STALE: bool = true;
/// No pid file before: none may exist after.
const FRESH: bool = false;

/// One injection point.
#[derive(Debug)]
struct Row {
    id: &'static str,
    /// The system call as strace names it; alternatives (`clone|fork`) for builds that make
    /// the same step with different calls: the first one the baseline trace shows is used.
    syscall: &'static str,
    /// The process whose call fails.
    process: Proc,
    /// A pattern over the call's traced arguments (`*` matches anything; anchored at the
    /// start, open at the end). `{pid}`, `{log}`, `{sleep}`: the run's pid file, log file and
    /// PROGRAM's path; `{chan}`, `{status}`: the launcher's descriptors of the readiness
    /// channel and of `/proc/self/status`.
    args: &'static str,
    /// Which of the calls matching `args` in `process` fails (1 = the first); strace's
    /// `when=` is computed from it.
    nth: usize,
    /// What strace injects: `error=ERRNO` or `retval=N`.
    fault: &'static str,
    /// A stale pid file exists before the start (else none does).
    stale: bool,
    /// The launcher's exit status; 0 for a fault the start absorbs.
    code: i32,
    /// The launcher's one line on stderr (same placeholders); empty when absorbed.
    line: &'static str,
    /// The launcher's call of this system call is made once by a wrapper (perl) before it
    /// executes the tool, so that `when=1` fails the intermediate's call and not the
    /// launcher's: strace counts per process, and both make their fork as their first call.
    wrapper: bool,
    /// The call fails from the chosen one on (`when=N+`), not just once: for calls the start
    /// tries again after a transient failure.
    persistent: bool,
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

/// Every injection point of `rawdaemon -p {pid} -o {log} sleep 30`, launched with SIGUSR1
/// blocked and SIGHUP ignored (so that the daemon has a signal mask to clear and a
/// disposition to reset), `PATH` set to sleep's directory alone, in the order the calls run.
#[rustfmt::skip]
const ROWS: &[Row] = &[
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
    row("pidfile-fstat", "fstat", Launcher, "*", 1, "error=EIO", FRESH, 1,
        "rawdaemon: pid file {pid}: Input/output error"),
    // A stale pid file from before pid files were private (0644) is made 0640.
    row("pidfile-chmod", "fchmod", Launcher, "*", 1, "error=EPERM", STALE, 1,
        "rawdaemon: pid file {pid}: Operation not permitted"),
    row("pidfile-lock-open", "openat", Launcher, "*\"d.pid\", O_RDONLY", 1, "error=EACCES", FRESH, 1,
        "rawdaemon: pid file {pid}: Permission denied"),
    row("pidfile-lock-fstat", "fstat", Launcher, "*", 2, "error=EIO", STALE, 1,
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
    row("log-fstat", "fstat", Launcher, "*", 3, "error=EIO", FRESH, 1,
        "rawdaemon: open stdout {log}: Input/output error"),
    row("socketpair", "socketpair", Launcher, "*", 1, "error=EMFILE", STALE, 1,
        "rawdaemon: socketpair: Too many open files"),
    // Processes and the session (libc's fork: `clone` with glibc, `fork` with musl on x86_64).
    row("fork", "clone|fork|vfork|clone3", Launcher, "*", 1, "error=EAGAIN", FRESH, 1,
        "rawdaemon: fork: Resource temporarily unavailable"),
    row("setsid", "setsid", Intermediate, "*", 1, "error=EPERM", STALE, 1,
        "rawdaemon: setsid: Operation not permitted"),
    Row { wrapper: true, ..row("fork2", "clone|fork|vfork|clone3", Intermediate, "*", 1, "error=EAGAIN", FRESH, 1,
        "rawdaemon: second fork: Resource temporarily unavailable") },
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
    row("pidfile-truncate", "ftruncate", Daemon, "*", 1, "error=EIO", STALE, 1,
        "rawdaemon: write pid file {pid}: Input/output error"),
    // The session's record in the pid file's modification time is an aid for --stop: a
    // failure of any of its calls leaves the file without it, and the start stands.
    row("session-getsid", "getsid", Daemon, "*", 1, "error=ESRCH", FRESH, 0, ""),
    row("session-record", "utimensat", Daemon, "*", 1, "error=EROFS", FRESH, 0, ""),
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
const NOT_INJECTED: &[(&str, Proc, &str, &str)] = &[
    ("getpid", Daemon, "*", "cannot fail: getpid(2) has no error return"),
    ("geteuid", Launcher, "*",
     "cannot fail: geteuid(2) has no error return (the owner check of an existing pid file)"),
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
    ("rt_sigprocmask", Any, "SIG_SETMASK, ~[",
     "musl's fork() restoring its own full mask after the fork; result ignored by musl"),
    ("rt_sigprocmask", Any, "SIG_SETMASK, [USR1]",
     "musl's fork() restoring the caller's mask (this launch blocks SIGUSR1); result \
      ignored by musl"),
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
    ("openat", Launcher, "*O_NOFOLLOW*O_PATH",
     "each directory of the pid file's and the log's paths is opened as the first one is \
      (row pidfile-dir): a failure of any takes the same path"),
    ("newfstatat", Launcher, "*\"\", *AT_EMPTY_PATH",
     "each directory of the pid file's and the log's paths is checked as the first one is \
      (row pidfile-dir-stat): a failure of any takes the same path"),
];

// ---------------------------------------------------------------------------------------
// The tests

/// Every call of a successful start (fresh and stale pid file) is an injection point of
/// [`ROWS`] or listed in [`NOT_INJECTED`]; every row finds its call.
pub fn fault_table_covers_the_start_path() -> TestResult {
    let env = Env::find()?;
    let startup = env.startup()?;
    let mut problems = Vec::new();
    for stale in [FRESH, STALE] {
        let base = env.baseline(stale)?;
        let scenario = if stale {
            "stale pid file"
        } else {
            "no pid file"
        };
        // Which call each row fails in this baseline.
        let mut chosen: Vec<(Proc, usize)> = Vec::new();
        for r in ROWS {
            match r.resolve(&base.trace, &base.vars) {
                Some(c) => chosen.push((r.process, c.index)),
                None if r.stale == stale => problems.push(format!(
                    "row {}: no call {} #{} of {:?} matching {:?} in the baseline ({scenario})",
                    r.id, r.syscall, r.nth, r.process, r.args
                )),
                None => {}
            }
        }
        for process in [Launcher, Intermediate, Daemon] {
            let calls = base.trace.calls_of(process).unwrap_or(&[]);
            // The launcher's start-up by the C runtime is not the tool's.
            let first = if process == Launcher { startup } else { 0 };
            for (i, call) in calls.iter().enumerate().skip(first) {
                let in_rows = chosen.contains(&(process, i));
                let exempt = NOT_INJECTED.iter().any(|(name, p, args, _)| {
                    *name == call.name
                        && (*p == Any || *p == process)
                        && glob(&base.vars.fill(args), &call.text)
                });
                if !in_rows && !exempt {
                    problems.push(format!(
                        "{scenario}: {process:?} call {}({} is neither in ROWS nor in NOT_INJECTED",
                        call.name, call.text
                    ));
                }
            }
        }
    }
    ensure!(
        problems.is_empty(),
        "{} problem(s):\n    {}",
        problems.len(),
        problems.join("\n    ")
    );
    Ok(())
}

/// Each row of [`ROWS`]: the fault injected exactly where it says, then the outcome checked.
/// Every row runs, and the failures are listed together.
pub fn fault_injection_every_step() -> TestResult {
    let env = Env::find()?;
    let bases = [env.baseline(FRESH)?, env.baseline(STALE)?];
    let mut failed = Vec::new();
    for r in ROWS {
        let base = &bases[usize::from(r.stale)];
        let (how, mut problems) = env.run_row(r, base);
        // Whatever happened, the next row starts with no process of this one.
        let strays = kill_strays();
        if !strays.is_empty() {
            problems.push(format!("killed afterwards: {strays:?}"));
        }
        if problems.is_empty() {
            println!("    fault {} ({how}) ... ok", r.id);
        } else {
            println!("    fault {} ({how}) ... FAILED", r.id);
            failed.push(format!(
                "row {} ({how}):\n        {}",
                r.id,
                problems.join("\n        ")
            ));
        }
    }
    ensure!(
        failed.is_empty(),
        "{} of {} rows failed:\n    {}",
        failed.len(),
        ROWS.len(),
        failed.join("\n    ")
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Running the tool under strace

/// The programs involved.
struct Env {
    strace: PathBuf,
    perl: Option<PathBuf>,
    tool: OsString,
    /// PROGRAM as the tool finds it with `PATH` set to its directory alone.
    sleep: PathBuf,
}

/// One traced run.
struct Traced {
    /// The launcher's exit status.
    code: Option<i32>,
    stdout: String,
    /// The launcher's stderr, strace's own lines taken out.
    stderr: String,
    /// strace's own lines, if it had any to say.
    strace_said: Vec<String>,
    trace: Trace,
    /// The raw trace, for messages.
    raw: String,
    /// strace had to be killed at the deadline: some traced process outlived the launcher.
    timed_out: bool,
}

/// A successful traced start: its trace and the values its patterns use.
struct Baseline {
    trace: Trace,
    vars: Vars,
}

/// The values of the placeholders of [`Row::args`] and [`Row::line`].
#[derive(Clone, Debug, Default)]
struct Vars {
    pid: String,
    log: String,
    sleep: String,
    chan: String,
    status: String,
}

impl Vars {
    fn fill(&self, pattern: &str) -> String {
        pattern
            .replace("{pid}", &self.pid)
            .replace("{log}", &self.log)
            .replace("{sleep}", &self.sleep)
            .replace("{chan}", &self.chan)
            .replace("{status}", &self.status)
    }
}

/// The call a row fails: its system call, its index in the process's calls, strace's `when`.
#[derive(Debug)]
struct Chosen {
    name: &'static str,
    index: usize,
    when: usize,
}

impl Row {
    /// The call this row fails in `trace`.
    fn resolve(&self, trace: &Trace, vars: &Vars) -> Option<Chosen> {
        let calls = trace.calls_of(self.process)?;
        let pattern = vars.fill(self.args);
        for name in self.syscall.split('|') {
            let floor = floor(self.args, calls);
            let index = calls
                .iter()
                .enumerate()
                .filter(|(i, c)| counted(self.process, *i) && c.name == name)
                .filter(|(i, c)| *i >= floor && glob(&pattern, &c.text))
                .map(|(i, _)| i)
                .nth(self.nth - 1);
            if let Some(index) = index {
                let when = occurrence(self.process, calls, index);
                return Some(Chosen { name, index, when });
            }
        }
        None
    }
}

/// The first call a pattern with a descriptor placeholder can match: the one after the call
/// that made the descriptor (the loader's reads use the same number before); for a check of a
/// path's directory, the one after the resolution's open of `/`.
fn floor(pattern: &str, calls: &[Call]) -> usize {
    let maker = |made: &dyn Fn(&Call) -> bool| calls.iter().position(made).map_or(0, |i| i + 1);
    if pattern.contains("{status}") {
        maker(&|c| c.text.contains("\"/proc/self/status\""))
    } else if pattern.contains("{chan}") {
        maker(&|c| c.name == "socketpair")
    } else if pattern.contains("AT_EMPTY_PATH") {
        // A path's resolution from `/` (glibc's own fstat is such a call too, earlier).
        maker(&|c| c.name == "openat" && c.text.starts_with("AT_FDCWD, \"/\", "))
    } else {
        0
    }
}

/// Whether strace counts call `i` of `process` for `when=`: not the launcher's own `execve`
/// (strace injects nothing until that has returned).
fn counted(process: Proc, i: usize) -> bool {
    process != Launcher || i > 0
}

/// Which invocation of its system call `calls[index]` is, as strace counts for `when=`.
fn occurrence(process: Proc, calls: &[Call], index: usize) -> usize {
    let name = &calls[index].name;
    (0..=index)
        .filter(|&i| counted(process, i) && calls[i].name == *name)
        .count()
}

impl Env {
    /// strace and the rest, or a skip when strace is missing.
    fn find() -> Result<Env, String> {
        let Some(strace) = which("strace") else {
            return Err(format!(
                "{SKIP}strace is not installed (apt-get install strace; .ci/run installs it)"
            ));
        };
        let Some(sleep) = which("sleep") else {
            return Err("no sleep on PATH".into());
        };
        Ok(Env {
            strace,
            perl: which("perl"),
            tool: tool().get_program().to_owned(),
            sleep,
        })
    }

    /// How many of the launcher's first calls are the C runtime's start-up: the calls
    /// `rawdaemon -V` and a start have in common before either does anything of its own.
    fn startup(&self) -> Result<usize, String> {
        let dir = TempDir::new("fault-startup");
        let version = self.traced(&dir, None, &["-V".into()])?;
        ensure_eq!(version.code, Some(0), "rawdaemon -V: {}", version.stderr);
        let base = self.baseline(FRESH)?;
        let a = version.trace.calls_of(Launcher).unwrap_or(&[]);
        let b = base.trace.calls_of(Launcher).unwrap_or(&[]);
        Ok(a.iter()
            .zip(b)
            .take_while(|(x, y)| x.name == y.name)
            .count())
    }

    /// A successful traced start, its daemon killed again.
    fn baseline(&self, stale: bool) -> Result<Baseline, String> {
        let dir = TempDir::new("fault-base");
        let (pid_file, log) = (dir.path("d.pid"), dir.path("d.log"));
        if stale {
            fs::write(&pid_file, STALE_CONTENT).map_err(|e| e.to_string())?;
        }
        let out = self.traced(&dir, None, &start_args(&pid_file, &log))?;
        if out.code != Some(0) && out.strace_said.iter().any(|l| l.contains("ptrace")) {
            return Err(format!(
                "{SKIP}strace cannot trace here: {}",
                out.strace_said.join("; ")
            ));
        }
        ensure!(
            out.code == Some(0) && out.stderr.is_empty() && !out.timed_out,
            "baseline start failed: status {:?}, stderr {:?}, strace {:?}",
            out.code,
            out.stderr,
            out.strace_said
        );
        let daemon = the_daemon()?;
        ensure_eq!(read_text(&pid_file)?, format!("{}\n", daemon.0), "baseline");
        let trace = out.trace;
        ensure_eq!(trace.pid_of(Daemon), Some(daemon.0), "baseline daemon");
        let launcher = trace.calls_of(Launcher).unwrap_or(&[]);
        let result_of = |name: &str, prefix: &str| {
            launcher
                .iter()
                .find(|c| c.name == name && c.text.contains(prefix))
                .map(|c| c.text.clone())
        };
        // socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0, [6, 7]) = 0: the launcher's end is
        // 7 (the daemon keeps the lower one).
        let chan = result_of("socketpair", "")
            .and_then(|t| {
                Some(
                    t.split_once('[')?
                        .1
                        .split_once(']')?
                        .0
                        .split_once(", ")?
                        .1
                        .to_string(),
                )
            })
            .ok_or("no socketpair in the baseline")?;
        let status = result_of("open", "\"/proc/self/status\"")
            .or_else(|| result_of("openat", "\"/proc/self/status\""))
            .and_then(|t| Some(t.rsplit_once("= ")?.1.trim().to_string()))
            .ok_or("no open of /proc/self/status in the baseline")?;
        let vars = Vars {
            chan,
            status,
            ..self.vars(&pid_file, &log)
        };
        drop(daemon);
        Ok(Baseline { trace, vars })
    }

    fn vars(&self, pid_file: &Path, log: &Path) -> Vars {
        Vars {
            pid: pid_file.display().to_string(),
            log: log.display().to_string(),
            sleep: self.sleep.display().to_string(),
            ..Vars::default()
        }
    }

    /// Runs `rawdaemon ARGS` under `strace -f`, launched with SIGUSR1 blocked and SIGHUP
    /// ignored and with sleep's directory as the whole `PATH`; with `inject`, one call fails.
    fn traced(
        &self,
        dir: &TempDir,
        inject: Option<(&Row, &Chosen)>,
        args: &[OsString],
    ) -> Result<Traced, String> {
        let trace_path = dir.path("strace.out");
        let (out_path, err_path) = (dir.path("stdout"), dir.path("stderr"));
        let mut cmd = Command::new(&self.strace);
        cmd.args(["-f", "-q", "-e", "signal=none", "-o"])
            .arg(&trace_path);
        let wrapper = inject.filter(|(r, _)| r.wrapper);
        if wrapper.is_none() {
            // Detach from the daemon at its execve: PROGRAM is not traced, and strace
            // returns with the launcher. (Not with the wrapper: its execve of the tool is the
            // launcher's.)
            cmd.args(["-b", "execve"]);
        }
        if let Some((r, c)) = inject {
            cmd.arg("-e").arg(format!(
                "inject={}:{}:when={}{}",
                c.name,
                r.fault,
                c.when,
                if r.persistent { "+" } else { "" }
            ));
        }
        cmd.arg("--");
        if let Some((r, c)) = wrapper {
            let perl = self
                .perl
                .as_ref()
                .ok_or(format!("row {} needs perl, which is not installed", r.id))?;
            let (nr, flags) =
                fork_syscall(c.name).ok_or(format!("no wrapper call for {}", c.name))?;
            cmd.arg(perl)
                .args(["-e", WRAPPER, &nr.to_string(), &flags.to_string()]);
        }
        cmd.arg(&self.tool).args(args);
        let path_dir = self.sleep.parent().unwrap_or(Path::new("/"));
        cmd.env("PATH", path_dir).env_remove("NOTIFY_SOCKET");
        // SAFETY: only async-signal-safe libc calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, libc::SIGUSR1);
                libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
                libc::signal(libc::SIGHUP, libc::SIG_IGN);
                Ok(())
            });
        }
        let file = |p: &Path| fs::File::create(p).map_err(|e| e.to_string());
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(file(&out_path)?)
            .stderr(file(&err_path)?)
            .spawn()
            .map_err(|e| format!("{}: {e}", self.strace.display()))?;
        let deadline = Instant::now() + DEADLINE;
        let mut timed_out = false;
        let status = loop {
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                break Some(status);
            }
            if Instant::now() > deadline {
                timed_out = true;
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let raw = fs::read_to_string(&trace_path).unwrap_or_default();
        let trace = Trace::parse(&raw);
        let stderr = fs::read_to_string(&err_path).unwrap_or_default();
        let (said, own): (Vec<&str>, Vec<&str>) =
            stderr.lines().partition(|l| l.starts_with("strace: "));
        let mut own = own.join("\n");
        if !own.is_empty() {
            own.push('\n');
        }
        Ok(Traced {
            code: status.and_then(|s| s.code()).or(trace.exit_code()),
            stdout: fs::read_to_string(&out_path).unwrap_or_default(),
            stderr: own,
            strace_said: said.into_iter().map(String::from).collect(),
            trace,
            raw,
            timed_out,
        })
    }

    /// One row: the injection made, and the row's problems (none if it holds).
    fn run_row(&self, r: &Row, base: &Baseline) -> (String, Vec<String>) {
        let Some(chosen) = r.resolve(&base.trace, &base.vars) else {
            let problem = format!(
                "no call {} #{} of {:?} matching {:?} in the baseline trace",
                r.syscall, r.nth, r.process, r.args
            );
            return ("not injected".into(), vec![problem]);
        };
        let how = format!(
            "{}:{}:when={} in the {:?}",
            chosen.name, r.fault, chosen.when, r.process
        );
        (how.clone(), self.run_injected(r, base, &chosen, &how))
    }

    /// One row's faulted run and its checks.
    fn run_injected(&self, r: &Row, base: &Baseline, chosen: &Chosen, how: &str) -> Vec<String> {
        let mut problems = Vec::new();
        let dir = TempDir::new("fault");
        let (pid_file, log) = (dir.path("d.pid"), dir.path("d.log"));
        if r.stale {
            if let Err(e) = fs::write(&pid_file, STALE_CONTENT) {
                problems.push(e.to_string());
                return problems;
            }
        }
        let vars = Vars {
            chan: base.vars.chan.clone(),
            status: base.vars.status.clone(),
            ..self.vars(&pid_file, &log)
        };
        let out = match self.traced(&dir, Some((r, chosen)), &start_args(&pid_file, &log)) {
            Ok(out) => out,
            Err(e) => {
                problems.push(format!("{how}: {e}"));
                return problems;
            }
        };
        // The fault hit the call the row names, and nothing else of the start path.
        let hit = out.trace.calls_of(r.process).and_then(|calls| {
            let index = (0..calls.len()).find(|&i| {
                counted(r.process, i)
                    && calls[i].name == chosen.name
                    && occurrence(r.process, calls, i) == chosen.when
            })?;
            Some((&calls[index], index >= floor(r.args, calls)))
        });
        match hit {
            None => problems.push(format!(
                "{how}: the call was never made (the {:?} made fewer)",
                r.process
            )),
            Some((call, _)) if !call.text.contains("(INJECTED)") => {
                problems.push(format!("{how}: not injected: {}({}", call.name, call.text));
            }
            Some((call, above)) if !above || !glob(&vars.fill(r.args), &call.text) => problems
                .push(format!(
                    "{how}: the wrong call failed: {}({}",
                    call.name, call.text
                )),
            Some(_) => {}
        }
        if out.timed_out {
            problems.push(format!(
                "strace still ran after {} s: a traced process outlived the launcher",
                DEADLINE.as_secs()
            ));
        }
        if !out.strace_said.is_empty() {
            problems.push(format!("strace said: {:?}", out.strace_said));
        }
        let expected = if r.line.is_empty() {
            String::new()
        } else {
            format!("{}\n", vars.fill(r.line))
        };
        if out.code != Some(r.code) || out.stderr != expected {
            problems.push(format!(
                "{how}: status {:?} and stderr {:?}, expected {} and {:?}",
                out.code, out.stderr, r.code, expected
            ));
        }
        if !out.stdout.is_empty() {
            problems.push(format!("stdout: {:?}", out.stdout));
        }
        let outcome = if r.code == 0 {
            absorbed(&pid_file, &log)
        } else {
            failed(r, &pid_file, &log)
        };
        problems.extend(outcome);
        if !problems.is_empty() {
            let tail: Vec<&str> = out.raw.lines().rev().take(12).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            problems.push(format!(
                "trace ends:\n          {}",
                tail.join("\n          ")
            ));
        }
        problems
    }
}

/// A failed start: nothing of it runs, the pid file is absent or unchanged, the new log
/// file is gone.
fn failed(r: &Row, pid_file: &Path, log: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let strays = describe_children();
    if let Err(e) = no_process_left() {
        problems.push(format!("{e}: {strays}"));
    }
    match (fs::read_to_string(pid_file), r.stale) {
        (Err(_), _) => {}
        (Ok(text), true) if text == STALE_CONTENT => {}
        (Ok(text), true) => problems.push(format!(
            "the stale pid file was replaced by {text:?} and left behind"
        )),
        (Ok(text), false) => {
            problems.push(format!("a pid file was left behind, holding {text:?}"));
        }
    }
    if log.exists() {
        problems.push("the log file this start created was left behind".into());
    }
    problems
}

/// An absorbed fault: the start went on and the daemon is what it must be.
fn absorbed(pid_file: &Path, log: &Path) -> Vec<String> {
    let check = || -> TestResult {
        let daemon = the_daemon()?;
        let pid = daemon.0;
        ensure_eq!(comm(pid), Some("sleep".to_string()), "PROGRAM runs");
        ensure_eq!(read_text(pid_file)?, format!("{pid}\n"), "pid file");
        ensure!(is_locked(pid_file)?, "pid file not locked");
        ensure_eq!(sigset(pid, "SigBlk")?, 0, "signal mask of the daemon");
        ensure_eq!(sigset(pid, "SigIgn")?, 0, "ignored signals of the daemon");
        settled(pid)?;
        let mut want: BTreeMap<i32, String> = BTreeMap::new();
        for fd in [0, 2] {
            want.insert(fd, "/dev/null".into());
        }
        want.insert(1, log.display().to_string());
        let got = fds(pid)?;
        let lock = got
            .iter()
            .find(|(_, t)| **t == pid_file.display().to_string())
            .map(|(fd, _)| *fd)
            .ok_or("the daemon has no descriptor on its pid file")?;
        want.insert(lock, pid_file.display().to_string());
        ensure_eq!(got, want, "descriptors of the daemon");
        Ok(())
    };
    check().err().into_iter().collect()
}

/// `-p PIDFILE -o LOG sleep 30`.
fn start_args(pid_file: &Path, log: &Path) -> Vec<OsString> {
    vec![
        "-p".into(),
        pid_file.into(),
        "-o".into(),
        log.into(),
        "sleep".into(),
        "30".into(),
    ]
}

/// The children still alive, with their command names, for messages.
fn describe_children() -> String {
    let kids: Vec<String> = children()
        .into_iter()
        .map(|p| format!("{p} ({})", comm(p).unwrap_or_default()))
        .collect();
    kids.join(", ")
}

/// Kills and reaps every child still alive; returns them.
fn kill_strays() -> Vec<i32> {
    let kids = children();
    for &pid in &kids {
        kill_and_reap(pid);
    }
    reap_zombies();
    kids
}

/// The wrapper: makes the raw call `$ARGV[0]` (a fork-like `clone(flags)` or `fork`) once,
/// which strace fails, then executes the tool. Should the call succeed after all, the copy
/// exits at once and is waited for.
const WRAPPER: &str = r#"use POSIX ();
my $nr = shift; my $flags = shift;
my $r = syscall($nr + 0, $flags + 0, 0, 0, 0, 0);
POSIX::_exit(0) if $r == 0;
waitpid($r, 0) if $r > 0;
exec { $ARGV[0] } @ARGV or die "exec $ARGV[0]: $!\n";"#;

/// The number and first argument of a fork-like system call for the wrapper.
fn fork_syscall(name: &str) -> Option<(i64, i64)> {
    match name {
        "clone" => Some((libc::SYS_clone, i64::from(libc::SIGCHLD))),
        #[cfg(target_arch = "x86_64")]
        "fork" => Some((libc::SYS_fork, 0)),
        #[cfg(target_arch = "x86_64")]
        "vfork" => Some((libc::SYS_fork, 0)),
        _ => None,
    }
}

/// `name` on the test's `PATH`, if it is an executable file.
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// `pattern` matches the start of `text`, each `*` standing for any run of characters.
fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    for part in parts {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

// ---------------------------------------------------------------------------------------
// Reading `strace -f -o` output

/// One system call as traced: its name and the text after `name(` (arguments and result,
/// with a call strace showed in two parts joined).
#[derive(Debug)]
struct Call {
    name: String,
    text: String,
    pending: bool,
}

/// The calls of every traced process in order, and how each ended.
#[derive(Debug, Default)]
struct Trace {
    /// The first process traced: the launcher (also when a wrapper executed it).
    launcher: i32,
    calls: BTreeMap<i32, Vec<Call>>,
    exits: BTreeMap<i32, String>,
}

impl Trace {
    fn parse(raw: &str) -> Trace {
        let mut t = Trace::default();
        for line in raw.lines() {
            let Some((pid, rest)) = line.split_once(' ') else {
                continue;
            };
            let Ok(pid) = pid.parse::<i32>() else {
                continue;
            };
            if t.launcher == 0 {
                t.launcher = pid;
            }
            let rest = rest.trim_start();
            let calls = t.calls.entry(pid).or_default();
            if let Some(resumed) = rest.strip_prefix("<... ") {
                let Some((name, tail)) = resumed.split_once(" resumed>") else {
                    continue;
                };
                if let Some(call) = calls.iter_mut().rev().find(|c| c.pending && c.name == name) {
                    call.text.push_str(tail);
                    call.pending = false;
                }
            } else if let Some(end) = rest.strip_prefix("+++ ") {
                t.exits
                    .insert(pid, end.trim_end_matches(" +++").to_string());
            } else if let Some((name, text)) = rest.split_once('(') {
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    continue;
                }
                let (text, pending) = match text.strip_suffix(" <unfinished ...>") {
                    Some(text) => (text, true),
                    None => (text, false),
                };
                calls.push(Call {
                    name: name.to_string(),
                    text: text.to_string(),
                    pending,
                });
            }
        }
        t
    }

    /// The pid of a process of the start.
    fn pid_of(&self, process: Proc) -> Option<i32> {
        match process {
            Launcher => (self.launcher != 0).then_some(self.launcher),
            Intermediate => self.child_of(self.pid_of(Launcher)?),
            Daemon => self.child_of(self.pid_of(Intermediate)?),
            Any => None,
        }
    }

    /// The child of `pid`'s first successful fork.
    fn child_of(&self, pid: i32) -> Option<i32> {
        self.calls.get(&pid)?.iter().find_map(|c| {
            if !matches!(c.name.as_str(), "clone" | "clone3" | "fork" | "vfork") {
                return None;
            }
            let child: i32 = c.text.rsplit_once("= ")?.1.trim().parse().ok()?;
            (child > 0).then_some(child)
        })
    }

    /// The calls of a process of the start; the daemon's up to its first `execve`.
    fn calls_of(&self, process: Proc) -> Option<&[Call]> {
        let calls = self.calls.get(&self.pid_of(process)?)?.as_slice();
        if process != Daemon {
            return Some(calls);
        }
        let end = calls
            .iter()
            .position(|c| c.name == "execve")
            .map_or(calls.len(), |i| i + 1);
        Some(&calls[..end])
    }

    /// The launcher's exit status from `+++ exited with N +++`.
    fn exit_code(&self) -> Option<i32> {
        self.exits
            .get(&self.launcher)?
            .strip_prefix("exited with ")?
            .parse()
            .ok()
    }
}
