//! Foreground mode with [`notify_await`](crate::Daemon::notify_await) (without `respawn`):
//! the process itself becomes the program, so a small process beside it holds the
//! notification socket. It waits for the program's `READY=1` (printing each `STATUS=`), tells
//! the service manager (`READY=1` with the program's `MAINPID=`), then passes on what the
//! program says until it exits (with no service manager and no status file to tell, it
//! keeps the socket sealed until then, so that nobody else takes its name: see
//! [`notify_holder`](super::notify_holder)). If no `READY=1` comes in time it says so, kills the program
//! and removes the pid file; if the program exits first, it says so and removes the pid file.

use rustix::event::{PollFd, PollFlags};
use rustix::fd::{AsFd, AsRawFd, OwnedFd};
use rustix::process::PidfdFlags;

use crate::config::Daemon;
use crate::error::Step;
use crate::launcher::prepare::Created;
use crate::message::Message;
use crate::sys;

/// What the foreground process tells the watcher on its report descriptor when a step (or
/// the `execve`) failed: the failure is its own to report, and the watcher goes. A
/// successful `execve` closes the descriptor instead.
const FAILED: u8 = b'F';

/// [`notify_await`](crate::Daemon::notify_await)'s socket in the daemon, before its steps:
/// kept for the respawn supervisor; in foreground mode handed to a watcher (see [`spawn`]),
/// whose report descriptor is returned; in daemon mode given up (the launcher listens; the
/// closing of every other descriptor closes it).
///
/// # Safety
///
/// As for [`spawn`].
pub(super) unsafe fn in_daemon(
    cfg: &Daemon<'_>,
    socket: OwnedFd,
    foreground: bool,
    (upstream, created, status): (Option<&OwnedFd>, Created, Option<&OwnedFd>),
) -> Result<Option<OwnedFd>, crate::Error> {
    if cfg.respawn.is_some() {
        return Ok(Some(socket));
    }
    if !foreground {
        let _ = rustix::fd::IntoRawFd::into_raw_fd(socket);
        return Ok(None);
    }
    // SAFETY: the caller's contract.
    match unsafe { spawn(cfg, socket, (upstream, created, status)) } {
        Some(tell) => Ok(Some(tell)),
        None => Err(crate::Error::new(Step::Fork, rustix::io::Errno::AGAIN)),
    }
}

/// Starts the watcher, before the daemon's steps (so that it keeps the launcher's working
/// directory, root directory and privileges, to remove the pid file), detached by a double
/// fork so that the program never sees it as a child. Returns the report descriptor's write
/// end (close-on-exec): pass it to [`failed`] if the start fails. `None` if it could not be
/// started: the start fails then too (nobody would wait).
///
/// The watcher keeps only `socket`, `upstream`, the status file, a pidfd of this process and
/// the report's read end (and 0 to 2): the pid file's lock must not outlive the program because of it.
///
/// # Safety
///
/// The process has one thread, and the configuration's runtime matches it.
///
/// # References
///  - [fork(2)](https://man7.org/linux/man-pages/man2/fork.2.html)
///  - [pidfd_open(2)](https://man7.org/linux/man-pages/man2/pidfd_open.2.html)
pub(super) unsafe fn spawn(
    cfg: &Daemon<'_>,
    socket: OwnedFd,
    (upstream, created, status): (Option<&OwnedFd>, Created, Option<&OwnedFd>),
) -> Option<OwnedFd> {
    let me = rustix::process::getpid();
    let program = rustix::process::pidfd_open(me, PidfdFlags::empty()).ok()?;
    let (report, tell) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).ok()?;
    // SAFETY: the caller's contract.
    match unsafe { sys::fork(cfg.runtime) } {
        Ok(sys::Forked::Parent(child)) => {
            let _ = rustix::process::waitpid(Some(child), rustix::process::WaitOptions::empty());
            Some(tell)
        }
        Ok(sys::Forked::Child) => {
            let _guard = super::ExitOnUnwind::arm(cfg.runtime);
            drop(tell);
            // SAFETY: still one thread.
            if let Ok(sys::Forked::Child) = unsafe { sys::fork(cfg.runtime) } {
                let keep = [
                    socket.as_raw_fd(),
                    upstream.map_or(-1, AsRawFd::as_raw_fd),
                    program.as_raw_fd(),
                    report.as_raw_fd(),
                    status.map_or(-1, AsRawFd::as_raw_fd),
                ];
                if super::fds::close_all_except(&[], &keep).is_ok() {
                    let pid = me.as_raw_nonzero().get() as u32;
                    let ends = (&socket, upstream, status);
                    watch(cfg, ends, (pid, &program), &report, created);
                }
            }
            sys::exit(cfg.runtime, 0)
        }
        Err(_) => None,
    }
}

/// Tells the watcher that the start failed (its own message says why).
pub(super) fn failed(tell: &OwnedFd) {
    let _ = rustix::io::write(tell, &[FAILED]);
}

/// The watcher's work; see the module.
fn watch(
    cfg: &Daemon<'_>,
    (socket, upstream, kept): (&OwnedFd, Option<&OwnedFd>, Option<&OwnedFd>),
    (pid, program): (u32, &OwnedFd),
    report: &OwnedFd,
    created: Created,
) {
    // End-of-file: the program was executed; a byte: the start failed.
    let mut byte = [0_u8; 1];
    if !matches!(
        rustix::io::retry_on_intr(|| rustix::io::read(report, &mut byte)),
        Ok(0)
    ) {
        return;
    }
    let path = cfg.exec.map_or(&b""[..], |e| e.path.to_bytes());
    let line = || {
        let mut m = Message::new();
        m.push_str(cfg.name).push_str(": ");
        m
    };
    let mut status = |text: &[u8]| {
        let mut m = line();
        m.push_path(path, 256).push_str(": ");
        crate::sd_notify::push_printable(&mut m, text);
        m.write_line(sys::stderr());
        if let Some(fd) = kept {
            crate::status_file::write(fd, text);
        }
        if let Some(up) = upstream {
            crate::notify::status(up, text);
        }
    };
    let timeout = u64::from(cfg.notify_timeout) * 1000;
    match crate::sd_notify::await_ready(socket, (pid, Some(program)), timeout, false, &mut status) {
        Ok((main, _)) => {
            if let Some(up) = upstream {
                crate::notify::ready(up, main);
            }
            if upstream.is_some() || kept.is_some() {
                relay(socket, (upstream, kept), (pid, program));
            } else {
                // Nobody to tell: the socket is sealed, and kept (its name with it, from
                // anyone else who would hear PROGRAM) until PROGRAM exits.
                crate::sd_notify::seal(socket);
                super::notify_holder::wait_for_end(program);
            }
        }
        Err(why) => {
            let mut m = line();
            crate::sd_notify::error(why).write_to(&mut m, Some(path));
            m.write_line(sys::stderr());
            crate::control::kill(program);
            // The lock goes with the program: the file is removed once it is gone.
            let mut gone = [PollFd::new(program, PollFlags::IN)];
            let wait = rustix::event::Timespec {
                tv_sec: 5,
                tv_nsec: 0,
            };
            let _ = rustix::event::poll(&mut gone, Some(&wait));
            created.remove(cfg, None, Step::NotifyAwait);
        }
    }
}

/// After `READY=1`: what the program (or a descendant) says goes on to the service manager,
/// and its `STATUS=` to the status file, until the program exits; at most
/// [`BATCH`](crate::sd_notify::BATCH) datagrams a turn, so that a flood never hides the
/// program's end.
fn relay(
    socket: &OwnedFd,
    (upstream, kept): (Option<&OwnedFd>, Option<&OwnedFd>),
    (pid, program): (u32, &OwnedFd),
) {
    let mut buf = [0_u8; crate::sd_notify::MESSAGE_MAX];
    loop {
        let mut fds = [
            PollFd::new(socket, PollFlags::IN),
            PollFd::new(program, PollFlags::IN),
        ];
        if rustix::event::poll(&mut fds, None).is_err() {
            return;
        }
        for _ in 0..crate::sd_notify::BATCH {
            let Ok((len, sender)) = sys::recv_with_sender(socket.as_fd(), &mut buf) else {
                break;
            };
            if let Some(message) = buf.get(..len) {
                if crate::sd_notify::from_service(sender, [pid, pid]) {
                    if let Some(up) = upstream {
                        crate::notify::relay(up, message);
                    }
                    let text = crate::sd_notify::Notice::parse(message).status;
                    if let (Some(fd), Some(text)) = (kept, text) {
                        crate::status_file::write(fd, text);
                    }
                }
            }
        }
        if fds.get(1).is_some_and(|fd| !fd.revents().is_empty()) {
            return;
        }
    }
}
