//! The original process before the first fork: everything that can be checked or opened
//! early is, so that most failures are reported before any process exists, and the children
//! only apply what was prepared.
//!
//! Every descriptor opened here is close-on-exec and numbered 3 or above, so that the daemon's
//! `dup2` onto 0, 1 and 2 never overwrites one of its own sources.

use core::ffi::CStr;

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{CWD, Mode, OFlags};
use rustix::io::Errno;
use rustix::net::{AddressFamily, SocketFlags, SocketType};

use crate::config::{Daemon, Output, output_path};
use crate::error::{Detail, Error, Step};
use crate::path::FileId;
use crate::pidfile::{self, PidFile};
use crate::procfs;

/// Mode of log files created by [`Output::Append`] (less the launcher's umask).
const LOG_MODE: u32 = 0o640;

/// What the children need, all opened in the original process.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub devnull: OwnedFd,
    pub stdout: Option<OwnedFd>,
    /// `None` with [`Output::Append`] to the same path as stdout: stdout's descriptor serves.
    pub stderr: Option<OwnedFd>,
    /// The pid file's read-write descriptor, through which the daemon writes its pid.
    pub pid_file: Option<OwnedFd>,
    /// The pid file's read-only descriptor that holds its lock (the program's, with
    /// [`Exec`](crate::Exec)).
    pub pid_lock: Option<OwnedFd>,
    /// The launcher's end, the daemon's end (a socket pair: both read and write); none in
    /// foreground mode.
    pub channel: Option<(OwnedFd, OwnedFd)>,
    /// Foreground mode with a relative pid file or log path: the launcher's working
    /// directory, to remove what a failure after `chdir` leaves behind.
    pub origin: Option<OwnedFd>,
    /// The [`chroot`](Daemon::chroot) directory, opened before anything moves (so that a
    /// relative path means the launcher's view), entered with `fchdir` + `chroot(".")`.
    pub root: Option<OwnedFd>,
    /// The socket `NOTIFY_SOCKET` names, connected.
    pub notify: Option<OwnedFd>,
    /// The program's readiness channel (read end, write end) for [`Daemon::ready_fd`]: a
    /// sequenced-packet socket pair; none in foreground mode when the descriptor is inherited
    /// open (it then goes to the program untouched).
    pub ready: Option<(OwnedFd, OwnedFd)>,
    /// Signals to reset to their default disposition (signal `n` is bit `n - 1`).
    pub signals: u64,
    /// Whether any signal is blocked.
    pub blocked: bool,
    /// The umask now, if `/proc` tells: the daemon leaves an equal one alone.
    pub umask: Option<u32>,
    /// The files this start created, which a failed start removes again.
    pub created: Created,
    /// Foreground mode with stderr redirected: the launcher's stderr, put back on a failure
    /// so that its message reaches the user.
    pub stderr_copy: Option<OwnedFd>,
    /// [`Daemon::notify_await`]'s socket, bound.
    pub awaited: Option<OwnedFd>,
    /// notify-await with a pid file: the status file's write descriptor (see `status_file`).
    pub status: Option<OwnedFd>,
}

/// The files a start created (rather than found): a failed start removes them again, each
/// only while its path still names it (the identities of the pid file, stdout's and stderr's
/// log files).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Created {
    pub pid_file: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub ids: [FileId; 3],
    /// notify-await: the status file this start created beside the pid file.
    pub status: Option<FileId>,
}

impl Created {
    /// Removes what a start that failed at `failed` leaves behind: the files it created, and
    /// the pid file if the daemon had written it (the process it names never became ready).
    /// Log files stay once the program's own code has run (`Init`, `ReadyFd`, and `NotReady`
    /// without an [`Exec`](crate::Exec)): they may hold why it failed. Relative paths are
    /// taken from `dir` if given (foreground mode after `chdir`). Called while the pid file's
    /// lock is still held.
    #[inline]
    pub(crate) fn remove(self, cfg: &Daemon<'_>, dir: Option<&OwnedFd>, failed: Step) {
        // The paths by value: the configuration's address must not escape into a call, or a
        // constant configuration no longer folds (every option's code would be linked).
        self.remove_paths(
            [
                cfg.pid_file,
                output_path(cfg.stdout),
                output_path(cfg.stderr),
            ],
            cfg.exec.is_some(),
            dir,
            failed,
        );
    }

    /// [`remove`](Self::remove) with the pid file and the two log paths.
    fn remove_paths(
        self,
        [pid_file, stdout, stderr]: [Option<&CStr>; 3],
        exec: bool,
        dir: Option<&OwnedFd>,
        failed: Step,
    ) {
        let start = dir.map_or(CWD, AsFd::as_fd);
        let [pid_id, stdout_id, stderr_id] = self.ids;
        let unlink = |path: &CStr, id| {
            crate::path::unlink_if(start, path, id);
        };
        let written = matches!(
            failed,
            Step::PidFileWrite
                | Step::Setgroups
                | Step::Setgid
                | Step::Setuid
                | Step::Exec
                | Step::Init
                | Step::NotReady
                | Step::ReadyFd
                | Step::ReadChannel
                | Step::ReadyWhen
                | Step::ExitedBeforeReady
                | Step::Capabilities
                | Step::Prctl
                | Step::Rlimit
                | Step::Priority
                | Step::NotifyAwait
        );
        if let Some(path) = pid_file.filter(|_| self.pid_file || written) {
            unlink(path, pid_id);
        }
        // notify-await's status file: this start's own, never left by a failed one.
        if let (Some(path), Some(id)) = (pid_file, self.status) {
            crate::status_file::remove(start, path, id);
        }
        // NotReady with a program to execute: the daemon died before `execve`, no program
        // code ran.
        let program_ran = match failed {
            Step::Init
            | Step::ReadyFd
            | Step::NotifyAwait
            | Step::ReadyWhen
            | Step::ExitedBeforeReady => true,
            Step::NotReady => !exec,
            _ => false,
        };
        if program_ran {
            return;
        }
        for (path, created, id) in [
            (stdout, self.stdout, stdout_id),
            (stderr, self.stderr, stderr_id),
        ] {
            if let Some(path) = path.filter(|_| created) {
                unlink(path, id);
            }
        }
    }
}

/// Checks the configuration and the process, takes the pid file's lock, opens everything.
///
/// On failure nothing is left open, and a pid file this call created is removed again.
#[inline]
pub(crate) fn prepare(cfg: &Daemon<'_>) -> Result<Prepared, Error> {
    check_exec(cfg)?;
    super::limits::check(cfg)?;
    super::rotation::check(cfg)?;
    // One read of /proc/self/status: the thread count and the signals to reset.
    let status = procfs::read_status();
    if cfg.check_threads {
        if let Some(s) = status.filter(|s| s.threads > 1) {
            return Err(Error::without_errno(
                Step::Threads,
                Detail::Threads(s.threads),
            ));
        }
    }
    for &fd in cfg.keep_fds {
        check_keep_fd(fd)?;
    }
    let root = match cfg.chroot {
        Some(dir) => Some(
            crate::sys::open_dir(dir)
                .and_then(|fd| above_stdio(fd, cfg.ready_fd))
                .map_err(|e| Error::new(Step::Chroot, e))?,
        ),
        None => None,
    };
    if let Some(fd) = cfg.ready_fd {
        if fd < 3 || cfg.exec.is_none() || cfg.keep_fds.contains(&fd) || cfg.respawn.is_some() {
            return Err(Error::with_detail(
                Step::Config,
                Errno::INVAL,
                Detail::Fd(fd),
            ));
        }
    }
    // Readiness checks: someone must wait for them (not foreground mode without respawn).
    if cfg.ready_when.is_some() && (cfg.exec.is_none() || (cfg.foreground && cfg.respawn.is_none()))
    {
        return Err(Error::new(Step::Config, Errno::INVAL));
    }
    if (cfg.respawn.is_some() || cfg.log_output.is_some()) && cfg.exec.is_none() {
        return Err(Error::new(Step::Config, Errno::INVAL));
    }
    // notify-await: with a program; in foreground mode its watcher is the one READY=1 sender.
    if (cfg.notify_await.is_some()
        && (cfg.exec.is_none() || (cfg.foreground && cfg.ready_fd.is_some())))
        || (cfg.watchdog.is_some() && (cfg.notify_await.is_none() || cfg.respawn.is_none()))
    {
        return Err(Error::new(Step::Config, Errno::INVAL));
    }
    let mut created = Created::default();
    let (pid_file, pid_lock) = match cfg.pid_file {
        Some(path) => {
            let PidFile {
                fd,
                lock,
                created: new,
                id,
            } = pidfile::lock(path, !cfg.foreground)?;
            created.pid_file = new;
            created.ids[0] = id;
            // A launcher started with 0, 1 or 2 closed gets the pid file there, where the
            // daemon's dup2 would replace it; the duplicate shares the lock.
            match above_stdio(fd, cfg.ready_fd)
                .and_then(|fd| Ok((fd, above_stdio(lock, cfg.ready_fd)?)))
            {
                Ok((fd, lock)) => (Some(fd), Some(lock)),
                Err(e) => {
                    created.remove(cfg, None, Step::PidFileOpen);
                    return Err(Error::new(Step::PidFileOpen, e));
                }
            }
        }
        None => (None, None),
    };
    let awaited = match cfg.notify_await {
        Some(address) => {
            match crate::sd_notify::listen(address).and_then(|fd| above_stdio(fd, cfg.ready_fd)) {
                Ok(fd) => Some(fd),
                Err(e) => {
                    created.remove(cfg, None, Step::NotifySocket);
                    return Err(Error::new(Step::NotifySocket, e));
                }
            }
        }
        None => None,
    };
    // notify-await: the status file beside the pid file (whose lock is held).
    let kept = match (cfg.notify_await, cfg.pid_file) {
        (Some(_), Some(path)) => crate::status_file::create(path).and_then(|(fd, id)| {
            created.status = Some(id);
            above_stdio(fd, cfg.ready_fd).ok()
        }),
        _ => None,
    };
    let opened = open_rest(cfg, &mut created).and_then(|rest| {
        let (_, stdout, stderr, ..) = &rest;
        let files = [stdout.as_ref(), stderr.as_ref()];
        super::rotation::check_files(cfg.log_rotation, files)?;
        Ok(rest)
    });
    match opened {
        Ok((devnull, stdout, stderr, channel, origin, ready)) => {
            // Without /proc: reset every signal and clear the mask unconditionally.
            let (signals, blocked, umask) = match status {
                Some(s) => (s.ignored | s.caught, s.blocked != 0, s.umask),
                None => (u64::MAX, true, None),
            };
            Ok(Prepared {
                devnull,
                stdout,
                stderr,
                pid_file,
                pid_lock,
                channel,
                origin,
                root,
                notify: cfg
                    .notify_socket
                    .and_then(crate::notify::connect)
                    .and_then(|fd| above_stdio(fd, cfg.ready_fd).ok()),
                ready,
                signals,
                blocked,
                umask,
                created,
                stderr_copy: if cfg.foreground
                    && (cfg.stderr != Output::Inherit || cfg.log_output.is_some())
                {
                    // A closed stderr has nothing to copy (EBADF): no copy.
                    let above = cfg.ready_fd.map_or(3, |n| n.max(2) + 1);
                    rustix::io::fcntl_dupfd_cloexec(crate::sys::stderr(), above).ok()
                } else {
                    None
                },
                awaited,
                status: kept,
            })
        }
        Err(e) => {
            created.remove(cfg, None, e.step());
            Err(e)
        }
    }
}

type Opened = (
    OwnedFd,
    Option<OwnedFd>,
    Option<OwnedFd>,
    Option<(OwnedFd, OwnedFd)>,
    Option<OwnedFd>,
    Option<(OwnedFd, OwnedFd)>,
);

/// The readiness channel, /dev/null, the log files, in foreground mode the working directory
/// that relative pid file and log paths are relative to, and the program's readiness socket.
#[inline]
fn open_rest(cfg: &Daemon<'_>, created: &mut Created) -> Result<Opened, Error> {
    // First, so that the daemon's end takes the lowest free number: every descriptor above it
    // is then closed by one `close_range` (in the usual start, with only 0 to 2 inherited).
    let channel = if cfg.foreground {
        None
    } else {
        // A socket pair rather than a pipe: the daemon sends with MSG_NOSIGNAL, so a launcher
        // that died (killed, timed out) does not take the daemon with it through SIGPIPE.
        let (daemon, launcher) = rustix::net::socketpair(
            AddressFamily::UNIX,
            SocketType::STREAM,
            SocketFlags::CLOEXEC,
            None,
        )
        .map_err(|e| Error::new(Step::Socketpair, e))?;
        let daemon =
            above_stdio(daemon, cfg.ready_fd).map_err(|e| Error::new(Step::Socketpair, e))?;
        let launcher =
            above_stdio(launcher, cfg.ready_fd).map_err(|e| Error::new(Step::Socketpair, e))?;
        Some((launcher, daemon))
    };
    let devnull = crate::sys::open(
        c"/dev/null",
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .and_then(|fd| above_stdio(fd, cfg.ready_fd))
    .map_err(|e| Error::new(Step::OpenDevNull, e))?;
    let [_, stdout_id, stderr_id] = &mut created.ids;
    let stdout = open_log(
        cfg,
        cfg.stdout,
        Step::OpenStdout,
        (&mut created.stdout, stdout_id),
    )?;
    let stderr = if cfg.same_output_file() {
        None
    } else {
        open_log(
            cfg,
            cfg.stderr,
            Step::OpenStderr,
            (&mut created.stderr, stderr_id),
        )?
    };
    let ready = match cfg.ready_fd {
        // Foreground mode with the descriptor already open: it is the supervisor's (s6's
        // notification-fd), and it reaches the program as it is.
        Some(fd) if cfg.foreground && crate::sys::fd_is_open(fd).is_ok() => None,
        Some(_) => {
            // A sequenced-packet socket pair rather than a pipe: a program that writes its line
            // after the launcher is gone (killed, timed out) gets EPIPE, never a SIGPIPE that
            // would kill it.
            let (r, w) = rustix::net::socketpair(
                AddressFamily::UNIX,
                SocketType::SEQPACKET,
                SocketFlags::CLOEXEC,
                None,
            )
            .map_err(|e| Error::new(Step::Socketpair, e))?;
            let r = above_stdio(r, cfg.ready_fd).map_err(|e| Error::new(Step::Socketpair, e))?;
            let w = above_stdio(w, cfg.ready_fd).map_err(|e| Error::new(Step::Socketpair, e))?;
            Some((r, w))
        }
        None => None,
    };
    let relative = |p: Option<&CStr>| p.is_some_and(|p| p.to_bytes().first() != Some(&b'/'));
    let relative = relative(cfg.pid_file)
        || relative(output_path(cfg.stdout))
        || relative(output_path(cfg.stderr));
    // The supervisor of respawn mode also needs it: it reopens the logs and removes the pid
    // file.
    let origin = if (cfg.foreground || cfg.respawn.is_some()) && relative && cfg.chdir.is_some() {
        let dir = crate::sys::open_dir(c".").and_then(|fd| above_stdio(fd, cfg.ready_fd));
        Some(dir.map_err(|e| Error::new(Step::PidFileOpen, e))?)
    } else {
        None
    };
    Ok((devnull, stdout, stderr, channel, origin, ready))
}

/// Opens a log file for appending, if the output is one, safely
/// ([`path::open_log`](crate::path::open_log): no symbolic link or file another user planted
/// is written); sets `created` if it did not exist, and `id` to the file's identity. A file
/// it creates for a daemon that drops privileges is given to that user.
#[inline]
fn open_log(
    cfg: &Daemon<'_>,
    out: Output<'_>,
    step: Step,
    (created, id): (&mut bool, &mut FileId),
) -> Result<Option<OwnedFd>, Error> {
    let Output::Append(path) = out else {
        return Ok(None);
    };
    let user = cfg.user.map(crate::Credentials::uid);
    let log = crate::path::open_log(CWD, path, Mode::from(LOG_MODE), user)
        .map_err(|(e, detail)| Error::with_detail(step, e, detail))?;
    *created = log.created;
    *id = log.id;
    let fd = match cfg.user {
        Some(user) if log.created => give(log.fd, user),
        _ => Ok(log.fd),
    };
    fd.and_then(|fd| above_stdio(fd, cfg.ready_fd))
        .map(Some)
        .map_err(|e| Error::new(step, e))
}

/// `fchown` of a new log file to the daemon's user and group.
///
/// # References
///  - [fchown(2)](https://man7.org/linux/man-pages/man2/fchown.2.html)
fn give(fd: OwnedFd, user: &crate::Credentials) -> Result<OwnedFd, Errno> {
    use rustix::fs::{Gid, Uid};
    rustix::fs::fchown(
        &fd,
        Some(Uid::from_raw(user.uid())),
        Some(Gid::from_raw(user.gid())),
    )?;
    Ok(fd)
}

/// Moves a descriptor that landed on 0, 1 or 2 (because the launcher started with one of
/// them closed) to 3 or above, leaving the standard slot closed again; with a
/// [`ready_fd`](Daemon::ready_fd) `avoid`, also one that landed on it, above it.
fn above_stdio(fd: OwnedFd, avoid: Option<i32>) -> Result<OwnedFd, Errno> {
    use rustix::fd::AsRawFd;
    let raw = fd.as_raw_fd();
    if raw > 2 && Some(raw) != avoid {
        return Ok(fd);
    }
    rustix::io::fcntl_dupfd_cloexec(&fd, avoid.map_or(3, |n| n.max(2) + 1))
}

/// A kept descriptor must be open and not a standard one.
fn check_keep_fd(fd: i32) -> Result<(), Error> {
    if fd < 3 {
        return Err(Error::with_detail(
            Step::KeepFd,
            Errno::INVAL,
            Detail::Fd(fd),
        ));
    }
    crate::sys::fd_is_open(fd).map_err(|e| Error::with_detail(Step::KeepFd, e, Detail::Fd(fd)))
}

/// `argv` and `envp` must be null-terminated, and `argv` must name the program.
#[inline]
fn check_exec(cfg: &Daemon<'_>) -> Result<(), Error> {
    let Some(exec) = cfg.exec else { return Ok(()) };
    let ok = |v: &[*const u8]| v.last().is_some_and(|p| p.is_null());
    if exec.argv.len() < 2 || !ok(exec.argv) || !ok(exec.envp) {
        return Err(Error::new(Step::Config, Errno::INVAL));
    }
    Ok(())
}
