//! [`Daemon`], the `Copy` description of one daemon start: pure data and defaults, no syscalls.
//!
//! Read by every process, after the fork too: it is plain data.

use core::ffi::CStr;

use crate::Runtime;
use crate::credentials::Credentials;
use crate::error::{Error, Step};
use crate::message::Message;

/// Where a standard output stream of the daemon goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output<'a> {
    /// `/dev/null` (the default).
    Null,
    /// Left as the launching process had it (useful in foreground mode under a supervisor).
    Inherit,
    /// Appended to this file, created with mode `0640` (less the umask at start) if missing.
    ///
    /// Opened safely for a launcher running as root in directories others own: a symbolic
    /// link on the way is followed only if root or the launching user owns it, the file itself
    /// is never a symbolic link, and an existing file must be a regular file with no other
    /// hard link (or a FIFO with a reader, or a character device) owned by root, the launching
    /// user or the [`user`](Daemon::user). The respawn supervisor's reopen on `SIGHUP` keeps
    /// the same rules (and the file it had open when they refuse the path).
    Append(&'a CStr),
}

/// Where [`Daemon::log_output`] sends the program's output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogTarget<'a> {
    /// The syslog socket at this path (`/dev/log`, or `@name` for an abstract socket).
    Syslog(&'a [u8]),
    /// The kernel log, `/dev/kmsg`.
    Kmsg,
}

/// The program's output as lines in the system log: see [`Daemon::log_output`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogOutput<'a> {
    /// The tag of every line (`TAG[PID]: ...`).
    pub tag: &'a str,
    /// The facility of every line.
    pub facility: crate::log::Facility,
    /// Where the lines go.
    pub target: LogTarget<'a>,
}

/// A program the daemon executes once every step is done (what the `rawdaemon` tool does).
///
/// Readiness then means "exec succeeded": the original process exits 0 only after `execve`
/// has replaced the daemon, and an exec failure is reported like any other step. The pid
/// file's locked descriptor is handed to the program, so the lock lives exactly as long as it.
#[derive(Clone, Copy, Debug)]
pub struct Exec<'a> {
    pub(crate) path: &'a CStr,
    pub(crate) argv: &'a [*const u8],
    pub(crate) envp: &'a [*const u8],
    /// The `PATH` to search for a name without a `/`, in the daemon.
    pub(crate) search: Option<&'a [u8]>,
    /// Socket activation: the `LISTEN_PID=` entry of `envp` to fill with the program's pid.
    pub(crate) listen_pid: Option<&'a crate::listen::ListenPid>,
}

impl<'a> Exec<'a> {
    /// `path` is executed as is (no PATH search) with the argument and environment vectors
    /// `argv` and `envp`, in the form `execve(2)` takes them.
    ///
    /// # Safety
    ///
    /// `argv` and `envp` must each end with a null pointer, and every other entry must point
    /// to a NUL-terminated string that lives as long as `'a`. Only the final null is checked
    /// (a missing one is refused with [`Step::Config`]); the strings are read by the kernel in
    /// the daemon, after the fork.
    ///
    /// # References
    ///  - [execve(2)](https://man7.org/linux/man-pages/man2/execve.2.html)
    #[allow(unsafe_code)] // the contract is the caller's: see `# Safety`
    pub const unsafe fn new(path: &'a CStr, argv: &'a [*const u8], envp: &'a [*const u8]) -> Self {
        Exec {
            path,
            argv,
            envp,
            search: None,
            listen_pid: None,
        }
    }

    /// Socket activation passed through (`sd_listen_fds(3)`): just before `execve`, in the
    /// program's own process, `slot` is filled with `LISTEN_PID=` and that process's pid (in
    /// daemon mode the daemon's, under [`respawn`](Daemon::respawn) each run's), so that the
    /// program accepts the descriptors `LISTEN_FDS` announces. `slot` should be one of the
    /// entries of `envp` ([`ListenPid::as_ptr`](crate::ListenPid::as_ptr)); the descriptors
    /// themselves go in [`keep_fds`](Daemon::keep_fds).
    #[must_use]
    pub const fn listen_pid(mut self, slot: &'a crate::listen::ListenPid) -> Self {
        self.listen_pid = Some(slot);
        self
    }

    /// A `path` without a `/` is looked up in the directories of `search` (the value of
    /// `PATH`) by the daemon itself, after [`chroot`](Daemon::chroot) and the privilege drop
    /// of [`user`](Daemon::user), as `execvp(3)` would: so the program found is one the user
    /// may execute, and a directory it may not search is skipped (`chpst -u` and
    /// `s6-setuidgid` look it up the same way). Relative entries are skipped (the daemon has
    /// changed directory by then). Not found: [`Step::Exec`] with `ENOENT`; found only where
    /// it may not be executed: `EACCES`.
    #[must_use]
    pub const fn search_path(mut self, search: &'a [u8]) -> Self {
        self.search = Some(search);
        self
    }
}

/// One daemon start: what to do, built with `const fn` setters, then run by
/// [`start`](Daemon::start) or [`detach`](Daemon::detach).
///
/// | setting | default |
/// |---|---|
/// | [`pid_file`](Self::pid_file) | none |
/// | [`chdir`](Self::chdir) | `/` |
/// | [`umask`](Self::umask) | `0o022` |
/// | stdin | `/dev/null`, always |
/// | [`stdout`](Self::stdout), [`stderr`](Self::stderr) | [`Output::Null`] |
/// | [`keep_fds`](Self::keep_fds) | none: every descriptor above 2 is closed |
/// | [`foreground`](Self::foreground) | off: fork, setsid, fork |
/// | [`notify_manually`](Self::notify_manually) | off: ready as soon as the steps are done |
/// | thread check | on ([`skip_thread_check`](Self::skip_thread_check)) |
/// | [`user`](Self::user) | none: the daemon keeps the launcher's user and groups |
/// | [`chroot`](Self::chroot) | none |
/// | [`notify_socket`](Self::notify_socket) | none |
/// | [`ready_fd`](Self::ready_fd) | none: with [`Exec`], ready once the program is executed |
/// | [`respawn`](Self::respawn) | off |
/// | [`log_output`](Self::log_output) | off |
/// | [`name`](Self::name) | `rawdaemon`, the prefix of error messages |
/// | [`limits`](Self::limits): capabilities, secure bits, no-new-privs, resource limits, priorities | none: the launcher's |
/// | [`notify_await`](Self::notify_await), [`notify_timeout`](Self::notify_timeout) | off; 60 s |
/// | [`watchdog`](Self::watchdog) | off |
/// | [`log_rotation`](Self::log_rotation), [`log_timestamps`](Self::log_timestamps) | off |
///
/// ```
/// use rawdaemon::{Daemon, Output, Runtime};
/// const DAEMON: Daemon<'static> = Daemon::new(Runtime::Libc)
///     .pid_file(c"/run/agent.pid")
///     .stderr(Output::Append(c"/var/log/agent.err"))
///     .umask(0o027);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Daemon<'a> {
    // Log rotation (`log_rotation`, `log_timestamps`). First: placed last, they changed the
    // struct's layout so that the smallest tool no longer folded the options it leaves out
    // (some 8 KB more).
    pub(crate) log_rotation: Option<(u64, u32)>,
    pub(crate) log_timestamps: bool,
    pub(crate) runtime: Runtime,
    pub(crate) pid_file: Option<&'a CStr>,
    pub(crate) chdir: Option<&'a CStr>,
    pub(crate) umask: Option<u32>,
    pub(crate) stdout: Output<'a>,
    pub(crate) stderr: Output<'a>,
    pub(crate) keep_fds: &'a [i32],
    pub(crate) foreground: bool,
    pub(crate) manual_ready: bool,
    pub(crate) check_threads: bool,
    pub(crate) exec: Option<Exec<'a>>,
    pub(crate) user: Option<&'a Credentials>,
    pub(crate) chroot: Option<&'a CStr>,
    pub(crate) notify_socket: Option<&'a [u8]>,
    pub(crate) ready_fd: Option<i32>,
    pub(crate) respawn: Option<(u32, u32)>,
    pub(crate) log_output: Option<LogOutput<'a>>,
    pub(crate) name: &'a str,
    /// Readiness checks (`--ready-when`), behind one reference: a configuration without them
    /// folds their code away.
    pub(crate) ready_when: Option<&'a crate::probe::ReadyWhen<'a>>,
    /// Least privilege and resources for the program (one reference: see `crate::limits`).
    pub(crate) limits: Option<&'a crate::limits::Limits>,
    // notify-await: the program's own sd_notify readiness, on a socket of the start's.
    pub(crate) notify_await: Option<&'a [u8]>,
    /// Seconds.
    pub(crate) notify_timeout: u32,
    /// Seconds.
    pub(crate) watchdog: Option<u32>,
}

impl<'a> Daemon<'a> {
    /// The default umask: `0o022`, as systemd gives services (files `rw-r--r--`).
    pub const DEFAULT_UMASK: u32 = 0o022;

    /// The default [`notify_timeout`](Self::notify_timeout): 60 s.
    pub const DEFAULT_NOTIFY_TIMEOUT: core::time::Duration = core::time::Duration::from_secs(60);

    /// Whole seconds, a part of one counted as one, at most `u32::MAX`.
    const fn seconds(d: core::time::Duration) -> u32 {
        let secs = d.as_secs() + (d.subsec_nanos() > 0) as u64;
        if secs > u32::MAX as u64 {
            u32::MAX
        } else {
            secs as u32
        }
    }

    /// A start with every default (see the table above) and the given runtime.
    pub const fn new(runtime: Runtime) -> Self {
        Daemon {
            runtime,
            pid_file: None,
            chdir: Some(c"/"),
            umask: Some(Self::DEFAULT_UMASK),
            stdout: Output::Null,
            stderr: Output::Null,
            keep_fds: &[],
            foreground: false,
            manual_ready: false,
            check_threads: true,
            exec: None,
            user: None,
            chroot: None,
            notify_socket: None,
            ready_fd: None,
            respawn: None,
            log_output: None,
            name: "rawdaemon",
            ready_when: None,
            limits: None,
            notify_await: None,
            notify_timeout: const { Self::seconds(Self::DEFAULT_NOTIFY_TIMEOUT) },
            watchdog: None,
            log_rotation: None,
            log_timestamps: false,
        }
    }

    /// Writes the daemon's pid (and a newline) to this file and holds an exclusive `flock` on
    /// it for the daemon's whole life. The lock is taken before the first fork: a second start
    /// is refused there, naming the pid that holds it, and the live file is not touched. A
    /// stale file (no process holds its lock) is reused. Symbolic links are refused (on the
    /// way to the file, those neither root nor the launching user owns), and so is an existing
    /// file of another user or with other hard links, and a directory another user may change
    /// (unless it is sticky, as `/tmp` is): that user could swap in a file naming any pid. A
    /// new file is created `0640` (less the umask), so that no other user can lock it.
    ///
    /// With [`Exec`], the program inherits a read-only descriptor that holds the lock: it
    /// cannot rewrite the pid. The file is removed (on a failed start, by the respawn
    /// supervisor, by [`stop`](crate::control::stop)) only while its path still names the file locked.
    /// Outside foreground mode, the daemon records its session in the nanoseconds of the
    /// file's modification time, which only the file's owner can set: what [`stop`](crate::control::stop)
    /// trusts as the session the start created once the daemon is gone.
    #[must_use]
    pub const fn pid_file(mut self, path: &'a CStr) -> Self {
        self.pid_file = Some(path);
        self
    }

    /// The daemon's working directory (default `/`).
    #[must_use]
    pub const fn chdir(mut self, dir: &'a CStr) -> Self {
        self.chdir = Some(dir);
        self
    }

    /// Keeps the working directory of the launching process.
    #[must_use]
    pub const fn no_chdir(mut self) -> Self {
        self.chdir = None;
        self
    }

    /// The daemon's file-creation mask (default [`DEFAULT_UMASK`](Self::DEFAULT_UMASK)).
    #[must_use]
    pub const fn umask(mut self, mask: u32) -> Self {
        self.umask = Some(mask & 0o777);
        self
    }

    /// Keeps the umask of the launching process.
    #[must_use]
    pub const fn keep_umask(mut self) -> Self {
        self.umask = None;
        self
    }

    /// Where stdout goes.
    #[must_use]
    pub const fn stdout(mut self, out: Output<'a>) -> Self {
        self.stdout = out;
        self
    }

    /// Where stderr goes.
    #[must_use]
    pub const fn stderr(mut self, out: Output<'a>) -> Self {
        self.stderr = out;
        self
    }

    /// Descriptors (each 3 or above, and open) that stay open in the daemon; every other one
    /// above 2 is closed. Their close-on-exec flags are left as they are.
    ///
    /// Raw numbers rather than borrowed descriptors: they name what the daemon keeps after
    /// the fork, in a process where nothing of this one is borrowed any more. Each is checked
    /// to be open before the fork ([`Step::KeepFd`] otherwise); the caller keeps it open until
    /// [`start`](Self::start) or [`detach`](Self::detach) returns.
    #[must_use]
    pub const fn keep_fds(mut self, fds: &'a [i32]) -> Self {
        self.keep_fds = fds;
        self
    }

    /// Foreground mode: no fork and no new session; every other step runs in this process.
    /// For supervisors and containers, which want to keep the process they started.
    #[must_use]
    pub const fn foreground(mut self, on: bool) -> Self {
        self.foreground = on;
        self
    }

    /// The daemon reports readiness itself, with [`Ready::notify`](crate::Ready::notify) after
    /// its own initialization, so the launcher's exit status covers it.
    #[must_use]
    pub const fn notify_manually(mut self) -> Self {
        self.manual_ready = true;
        self
    }

    /// Does not read `/proc/self/status` to refuse a multi-threaded process. For programs that
    /// know they never start a thread before daemonizing, and under emulators (qemu-user adds
    /// a thread of its own to every guest process).
    #[must_use]
    pub const fn skip_thread_check(mut self) -> Self {
        self.check_threads = false;
        self
    }

    /// Executes a program once every step is done (see [`Exec`]).
    #[must_use]
    pub const fn exec(mut self, exec: Exec<'a>) -> Self {
        self.exec = Some(exec);
        self
    }

    /// Drops privileges to this user, its group and supplementary groups (see
    /// [`Credentials::lookup`]): the daemon's last step before it is ready (or executes the
    /// program), after the pid file and the log files were opened with the launcher's
    /// privileges. Log files this start creates are given to the user, so that it can reopen
    /// them; the pid file stays the launcher's. Root must not be regainable afterwards:
    /// that is checked.
    #[must_use]
    pub const fn user(mut self, user: &'a Credentials) -> Self {
        self.user = Some(user);
        self
    }

    /// Changes the daemon's root directory to `dir` (before [`chdir`](Self::chdir), which is
    /// then taken inside it). The pid file, the log files and /dev/null are opened before, from
    /// the launcher's view of the file system; an [`Exec`] path is taken inside `dir`.
    #[must_use]
    pub const fn chroot(mut self, dir: &'a CStr) -> Self {
        self.chroot = Some(dir);
        self
    }

    /// Tells a service manager when the daemon is ready, as `sd_notify(3)` does: `address` is
    /// the value of `NOTIFY_SOCKET` (a path, or `@name` for an abstract socket). The datagram
    /// `READY=1` with `MAINPID=` the daemon's pid is sent by the launching process once the
    /// daemon is ready, just before it exits (systemd's `Type=notify` then follows the
    /// daemon as its main process); in foreground mode by the process itself. An unreachable
    /// socket is ignored, as `sd_notify` ignores it.
    #[must_use]
    pub const fn notify_socket(mut self, address: &'a [u8]) -> Self {
        self.notify_socket = Some(address);
        self
    }

    /// With [`Exec`]: the program reports its own readiness by writing a newline to
    /// descriptor `fd` (the s6 convention), and the launcher waits for that line instead of
    /// exiting once the program is executed. If the program exits or closes `fd` first, the
    /// start fails with [`Step::ReadyFd`] and a program still running is killed. `fd` is one
    /// end of a sequenced-packet socket pair: a program that writes its line after the
    /// launcher is gone gets `EPIPE`, never a SIGPIPE, and runs on.
    ///
    /// In foreground mode, a descriptor `fd` that is already open when the start begins is
    /// the supervisor's (s6's `notification-fd`): it reaches the program untouched, and the
    /// line goes to the supervisor. Otherwise, in foreground mode with
    /// [`notify_socket`](Self::notify_socket), a small watcher process waits for the line
    /// and sends `READY=1` (so systemd needs `NotifyAccess=all`); without it, `fd` stays
    /// closed. `fd` must be 3 or above and not in [`keep_fds`](Self::keep_fds).
    #[must_use]
    pub const fn ready_fd(mut self, fd: i32) -> Self {
        self.ready_fd = Some(fd);
        self
    }

    /// With [`Exec`]: the daemon stays as a small supervisor, the process the pid file names,
    /// and runs the program as its child. A program that exits with status 0 ends the
    /// supervisor; any other end restarts it after a delay that starts at 100 ms and doubles
    /// up to 60 s (back to 100 ms after a run of 10 s), at most `max_restarts` times per
    /// `period_secs` seconds, after which the supervisor gives up with status 1. SIGTERM,
    /// SIGINT and SIGQUIT are forwarded to the program's group and to every other child of
    /// the supervisor, and end the supervisor once the program has exited; SIGUSR1 and
    /// SIGUSR2 are forwarded to the program, and so is SIGHUP unless the supervisor captures
    /// the program's output (see below). Every orphan is reaped (child subreaper). The
    /// program gets SIGKILL if the supervisor dies. When the supervisor ends, every child
    /// left (what earlier runs left behind included) is killed and reaped, and the pid file
    /// is removed.
    ///
    /// With [`Output::Append`] the supervisor captures the program's stdout and stderr through
    /// pipes into the log files, and opens them again by path on SIGHUP (log rotation). While
    /// it captures the output (log files or [`log_output`](Self::log_output)), a SIGHUP is the
    /// supervisor's and is forwarded only to a program that catches or ignores SIGHUP (as its
    /// `/proc/PID/status` says; if that cannot be read, it is forwarded): a rotation never
    /// kills a program that leaves SIGHUP at its default. The supervisor ignores SIGPIPE and
    /// SIGXFSZ: a log it cannot write (a FIFO without a reader, a file at `RLIMIT_FSIZE`) makes
    /// it drop the output, say so once on its stderr and count what was dropped in the log
    /// once a write succeeds again; the program starts with both at their default.
    /// [`chroot`](Self::chroot) and [`user`](Self::user) apply to the program only: the
    /// supervisor keeps the launcher's privileges to reopen the logs and remove the pid file.
    #[must_use]
    pub const fn respawn(mut self, max_restarts: u32, period_secs: u32) -> Self {
        self.respawn = Some((max_restarts, period_secs));
        self
    }

    /// With [`Exec`]: the program's stdout and stderr become pipes whose lines go to the
    /// system log, stdout at `info` and stderr at `err`, tagged `TAG[PID]` with the program's
    /// pid. A small logging process beside the program reads them (detached by a double fork,
    /// holding nothing else) and ends when the program's output closes; in
    /// [`respawn`](Self::respawn) mode the supervisor reads them, and logs its own messages
    /// (restarts, giving up) the same way, at `err`. Lines the log cannot take at once are
    /// dropped, not buffered, and their number is logged as soon as a line gets through
    /// again. A line may wait for room in a full log daemon's queue, but all such waiting is
    /// held to a tenth of the time that passes (at most 100 ms at once): a log daemon that
    /// stopped reading holds the program up for at most about 10% of its time. Replaces
    /// [`stdout`](Self::stdout) and [`stderr`](Self::stderr).
    #[must_use]
    pub const fn log_output(mut self, out: LogOutput<'a>) -> Self {
        self.log_output = Some(out);
        self
    }

    /// With [`Exec`]: the program is ready once it sends `READY=1` the way `sd_notify(3)` does
    /// (start-stop-daemon's `--notify-await`). The start binds a datagram socket of its own to
    /// the abstract name `address` (`@name`; [`Step::NotifySocket`] if that fails) before any
    /// fork; **the caller gives the program `NOTIFY_SOCKET=` that address** in its
    /// environment. Only the program and its descendants are heard (the sender's
    /// `SCM_CREDENTIALS`). In daemon mode the launcher waits for `READY=1` after the `execve`,
    /// prints each `STATUS=` on its stderr meanwhile, and exits 0 only then; a `MAINPID=`
    /// naming a descendant of the program (a program that forks its real worker) makes that
    /// process the daemon: the pid file is rewritten to name it, and [`notify_socket`]'s
    /// `MAINPID=` names it too. `EXTEND_TIMEOUT_USEC=` extends the wait, `ERRNO=` is reported
    /// if the program then exits. If the program exits first, or no `READY=1` comes within
    /// [`notify_timeout`](Self::notify_timeout), the start fails with [`Step::NotifyAwait`],
    /// the program's process group is killed and the pid file removed. With a
    /// [`notify_socket`] (rawdaemon itself under systemd), each `STATUS=` is passed on and
    /// `READY=1` is sent with the daemon's `MAINPID=`. After `READY=1` the socket is sealed
    /// (later sends fail) and a small process forked by the launcher keeps its name bound
    /// until the daemon exits, so that nobody else can take it.
    ///
    /// With [`respawn`](Self::respawn), the supervisor keeps the socket: the first run must
    /// send `READY=1` before the start succeeds, `MAINPID=` is ignored (the supervisor is
    /// the daemon), and what later runs say goes on to the [`notify_socket`]. In foreground
    /// mode without `respawn`, a small watcher process (forked before the steps, holding
    /// only the socket) waits beside the program: it tells the [`notify_socket`], or on a
    /// timeout prints the error, kills the program and removes the pid file; with a
    /// [`ready_fd`](Self::ready_fd) there, [`Step::Config`].
    ///
    /// [`notify_socket`]: Self::notify_socket
    #[must_use]
    pub const fn notify_await(mut self, address: &'a [u8]) -> Self {
        self.notify_await = Some(address);
        self
    }

    /// How long [`notify_await`](Self::notify_await) waits for `READY=1` (default
    /// [`DEFAULT_NOTIFY_TIMEOUT`](Self::DEFAULT_NOTIFY_TIMEOUT)), in whole seconds (a part
    /// of one counts as one).
    #[must_use]
    pub const fn notify_timeout(mut self, timeout: core::time::Duration) -> Self {
        self.notify_timeout = Self::seconds(timeout);
        self
    }

    /// With [`respawn`](Self::respawn) and [`notify_await`](Self::notify_await): the
    /// supervisor kills the running program's process group (and so restarts it, as after
    /// any abnormal end, with a message) when no `WATCHDOG=1` has come from it for `period`
    /// (from its start, then from its last `WATCHDOG=1`; whole seconds, a part of one
    /// counted as one). The caller gives the program
    /// `WATCHDOG_USEC=` that period in its environment (`sd_watchdog_enabled(3)`). Without
    /// both, [`Step::Config`].
    #[must_use]
    pub const fn watchdog(mut self, period: core::time::Duration) -> Self {
        self.watchdog = Some(Self::seconds(period));
        self
    }

    /// With [`Exec`] and [`Output::Append`]: the log files rotate themselves. When a file would
    /// grow past `max_bytes` (4096 or more), it is renamed `FILE.1` at a line boundary (the
    /// older ones shift to `FILE.2` ... `FILE.keep`, the oldest is replaced; with `keep` 0
    /// the file is removed), and a new `FILE` is started; a line longer than `max_bytes` is
    /// cut there and ends in `...`. `keep` is at most 999 (more is taken as 999). Lines are
    /// buffered up to 480 bytes: a longer one is written in pieces, and may take the file it
    /// started in past `max_bytes`, by less than itself.
    ///
    /// The program's output then goes through a pipe to a small logging process (in
    /// [`respawn`](Self::respawn) mode, the supervisor), which writes whole lines and never
    /// waits for the disk: a line that cannot be written (a full file system) is dropped, and
    /// their number is written to the file (`NAME: dropped N lines of output`) once a line
    /// gets through again. The rotation works relative to the file's directory, opened
    /// safely before the program starts (a symbolic link planted there later is never followed): only
    /// the file still at `FILE` that is the one being written is renamed, and a new file is
    /// opened by the rules of [`Output::Append`]. A file that another tool renamed or
    /// removed (logrotate's `create`) is noticed at the next line and opened again by path.
    /// Only regular files rotate (a FIFO or device log is refused with
    /// [`Detail::NotRotatable`](crate::Detail::NotRotatable)). Like s6-log's `s`/`n`,
    /// svlogd's `s`/`n`, supervisord's `stdout_logfile_maxbytes`/`stdout_logfile_backups`.
    #[must_use]
    pub const fn log_rotation(mut self, max_bytes: u64, keep: u32) -> Self {
        self.log_rotation = Some((max_bytes, if keep > 999 { 999 } else { keep }));
        self
    }

    /// With [`Exec`] and [`Output::Append`]: each line of the log files starts with the UTC
    /// time it was read at, `2026-12-04T18:55:45.123456Z ` (RFC 3339, in microseconds), as
    /// svlogd's `-tt` and s6-log's `T`. The output goes through the logging process, as
    /// with [`log_rotation`](Self::log_rotation).
    #[must_use]
    pub const fn log_timestamps(mut self, on: bool) -> Self {
        self.log_timestamps = on;
        self
    }

    /// The log files go through a logging process that rotates them or stamps their lines.
    #[inline(always)]
    pub(crate) const fn log_files_piped(&self) -> bool {
        self.log_rotation.is_some() || self.log_timestamps
    }

    /// With [`Exec`]: the start is ready only once every check of `ready` holds (a TCP port
    /// accepts, a Unix stream socket accepts, a file exists), polled in turn with a short
    /// backoff (5 ms doubling to 100 ms) for at most [`ReadyWhen::timeout`] seconds
    /// (default 60). In daemon mode the launcher polls them once the program is executed
    /// (and after its [`ready_fd`](Self::ready_fd) line, if any); under
    /// [`respawn`](Self::respawn) the supervisor polls them after the first start, before it
    /// reports. If the program exits first the start fails at once
    /// ([`Step::ExitedBeforeReady`]); if the time runs out it fails with
    /// [`Step::ReadyWhen`]; either way the program's process group is killed and the pid file
    /// removed. The service manager's `READY=1` follows the checks. Not in foreground mode
    /// without `respawn` (nothing would wait: [`Step::Config`]).
    ///
    /// [`ReadyWhen::timeout`]: crate::ReadyWhen::timeout
    #[must_use]
    pub const fn ready_when(mut self, ready: &'a crate::probe::ReadyWhen<'a>) -> Self {
        self.ready_when = Some(ready);
        self
    }

    /// The prefix of the error line [`start`](Self::start) prints (default `rawdaemon`).
    #[must_use]
    pub const fn name(mut self, name: &'a str) -> Self {
        self.name = name;
        self
    }

    /// The one-line message for `error` under this configuration, naming the path involved:
    /// `rawdaemon: chdir /nope: No such file or directory`.
    pub fn message(&self, error: &Error) -> Message {
        let subject = match error.step() {
            Step::Chdir => self.chdir,
            Step::Chroot => self.chroot,
            Step::OpenStdout => output_path(self.stdout),
            Step::OpenStderr => output_path(self.stderr),
            Step::LogDir if error.detail() == crate::Detail::Fd(2) => output_path(self.stderr),
            Step::LogDir => output_path(self.stdout),
            Step::PidFileOpen | Step::PidFileLock | Step::PidFileWrite => self.pid_file,
            Step::Exec | Step::ReadyFd | Step::NotifyAwait => self.exec.map(|e| e.path),
            Step::ReadyWhen | Step::ExitedBeforeReady => match error.detail() {
                crate::Detail::Check(i) => self
                    .ready_when
                    .and_then(|r| r.checks.get(i as usize))
                    .map(crate::probe::Check::spec),
                _ => None,
            },
            _ => None,
        };
        error.message(self.name, subject.map(CStr::to_bytes))
    }

    /// stdout and stderr append to the same file (one descriptor serves both).
    pub(crate) fn same_output_file(&self) -> bool {
        matches!((self.stdout, self.stderr), (Output::Append(a), Output::Append(b)) if a == b)
    }
}

/// The file an output appends to, if it is one.
pub(crate) fn output_path(out: Output<'_>) -> Option<&CStr> {
    match out {
        Output::Append(path) => Some(path),
        _ => None,
    }
}
