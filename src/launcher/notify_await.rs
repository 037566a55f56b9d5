//! [`notify_await`](Daemon::notify_await) in the launcher (daemon mode): once the program is
//! executed (and past its `ready_fd` line), the wait for its `READY=1`; its `STATUS=` lines
//! printed meanwhile (and passed on to the service manager, and kept in the status file for
//! `--status`); a `MAINPID=` worker written to the pid file (with its session, if it left
//! the start's); then the socket sealed and left to a holder process.

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fd::OwnedFd;
use rustix::process::Pid;

use crate::config::Daemon;
use crate::error::Error;
use crate::launcher::prepare::Prepared;
use crate::message::Message;

impl Daemon<'_> {
    /// Whether the launcher waits for `READY=1` (daemon mode; under respawn the supervisor
    /// does). A test of the configuration itself, inlined, so that a constant configuration
    /// without it folds the wait away.
    #[inline(always)]
    pub(super) fn awaits_notify(&self) -> bool {
        self.notify_await.is_some() && self.respawn.is_none()
    }

    /// [`await_notify_now`](Self::await_notify_now) if the launcher waits for `READY=1`;
    /// else the program `pid` is the daemon.
    #[inline(always)]
    pub(super) fn await_notify(
        &self,
        prep: &Prepared,
        child: Pid,
        pid: u32,
        pidfd: Option<&OwnedFd>,
    ) -> Result<u32, Error> {
        if !self.awaits_notify() {
            return Ok(pid);
        }
        self.await_notify_now(prep, child, pid, pidfd)
    }

    /// With a notification socket, waits for the program `pid` (`pidfd`, if one could be
    /// opened) to send `READY=1`, and returns the daemon's pid: the program's, or the
    /// descendant its `MAINPID=` named (then written to the pid file). If it exits first or
    /// the time runs out, what the start created goes: the program's process group (the
    /// intermediate's pid, `child`, reserved while the group has members) and the program
    /// are killed, and the error is returned. Under [`respawn`](Daemon::respawn) the
    /// supervisor has waited already.
    fn await_notify_now(
        &self,
        prep: &Prepared,
        child: Pid,
        pid: u32,
        pidfd: Option<&OwnedFd>,
    ) -> Result<u32, Error> {
        let Some(socket) = prep.awaited.as_ref() else {
            return Ok(pid);
        };
        let upstream = prep
            .notify
            .as_ref()
            .filter(|_| self.notify_socket.is_some());
        let path = self.exec.map_or(&b""[..], |e| e.path.to_bytes());
        let mut status = |text: &[u8]| {
            let mut m = Message::new();
            m.push_str(self.name)
                .push_str(": ")
                .push_path(path, 256)
                .push_str(": ");
            // Kept for `--status`: the last one before READY=1.
            if let Some(fd) = &prep.status {
                crate::status_file::write(fd, text);
            }
            crate::sd_notify::push_printable(&mut m, text);
            m.write_line(crate::sys::stderr());
            if let Some(up) = upstream {
                crate::notify::status(up, text);
            }
        };
        let timeout = u64::from(self.notify_timeout) * 1000;
        match crate::sd_notify::await_ready(socket, (pid, pidfd), timeout, true, &mut status) {
            Ok((main, main_fd)) => {
                // Nobody reads the socket after READY=1: it is sealed (later notifications
                // are refused, what followed READY=1 is dropped), and a small process keeps
                // its name bound until the daemon exits, so that nobody else can take it and
                // hear what the daemon says later (see `after_fork::notify_holder`).
                crate::sd_notify::seal(socket);
                if let Some(daemon) = main_fd.as_ref().or(pidfd) {
                    // SAFETY: the launcher runs only inside `detach` or `start` (through
                    // `run` and `wait`), whose contract is one thread and the right runtime.
                    unsafe {
                        crate::after_fork::notify_holder::spawn(
                            self.runtime,
                            socket,
                            daemon,
                            &prep.devnull,
                        );
                    }
                }
                if main != pid {
                    if let Some(fd) = &prep.pid_file {
                        // The worker is the daemon now; the file names its session.
                        let _ = crate::pidfile::write_pid(fd, main, false);
                        let sid = session_of(main, main_fd.as_ref());
                        crate::pidfile::record_session(
                            fd,
                            sid.unwrap_or(child.as_raw_nonzero().get() as u32),
                        );
                    }
                    if let Some(fd) = &prep.status {
                        crate::status_file::touch(fd);
                    }
                }
                Ok(main)
            }
            Err(why) => {
                crate::control::end_start(child, pidfd);
                Err(crate::sd_notify::error(why))
            }
        }
    }
}

/// The session of the worker `main` (its pidfd `main_fd`) if it left the start's: a worker
/// that called `setsid` (or descends from one that did) leads a session of its own, and the
/// pid file must record that one, or `--stop` and `--status` refuse to take the worker for
/// the daemon. Such a session was created by a process of the start (the worker descends from
/// PROGRAM, and a process changes its session only by `setsid`, which makes it the leader of
/// a new one), and no other process can join it: what `--stop` requires of the session it
/// trusts. `None` if the worker is gone (its pid may then name another process) or `getsid`
/// fails: the start's session stays recorded.
///
/// # References
///  - [getsid(2)](https://man7.org/linux/man-pages/man2/getsid.2.html)
fn session_of(main: u32, main_fd: Option<&OwnedFd>) -> Option<u32> {
    let pid = Pid::from_raw(i32::try_from(main).ok()?)?;
    let sid = crate::sys::getsid(pid).ok()?;
    // Still running after the getsid: the pid named the worker.
    let mut probe = [PollFd::new(main_fd?, PollFlags::IN)];
    let zero = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    match rustix::event::poll(&mut probe, Some(&zero)) {
        Ok(0) => u32::try_from(sid).ok(),
        _ => None,
    }
}
