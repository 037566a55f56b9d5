//! [`notify_await`](crate::Daemon::notify_await) in the supervisor: the first run's `READY=1`
//! awaited before the start is reported, and the notification socket read on every later
//! turn (so that a program's `sd_notify` never blocks on a full queue). Runs in the
//! supervisor.

use rustix::event::{PollFd, PollFlags};
use rustix::process::{Pid, PidfdFlags, Signal};

use super::{State, Supervisor};
use crate::error::Error;
use crate::sd_notify::Awaiting;

impl Supervisor<'_, '_> {
    /// With a notification socket: waits until the first run `program` sends `READY=1`,
    /// copying its output meanwhile. If it exits first or the time runs out, everything is
    /// ended (its group killed, every child reaped, the pid file removed) and the error is
    /// returned, for the daemon to report.
    ///
    /// # References
    ///  - [poll(2)](https://man7.org/linux/man-pages/man2/poll.2.html)
    ///  - [pidfd_open(2)](https://man7.org/linux/man-pages/man2/pidfd_open.2.html)
    pub(super) fn first_ready(&mut self, program: Pid) -> Result<(), Error> {
        let Some(socket) = self.awaited else {
            return Ok(());
        };
        // The supervisor's own child, not reaped before this returns: the pid is its.
        let pidfd = rustix::process::pidfd_open(program, PidfdFlags::empty()).ok();
        let raw = program.as_raw_nonzero().get() as u32;
        let timeout = self.cfg.notify_timeout.as_millis() as u64;
        let mut wait = Awaiting::new(raw, timeout, false);
        let outcome = loop {
            let Some(left) = wait.left() else {
                break Err(wait.give_up(false));
            };
            let mut fds = [
                PollFd::new(socket, PollFlags::IN),
                PollFd::new(pidfd.as_ref().unwrap_or(socket), PollFlags::IN),
                PollFd::new(socket, PollFlags::empty()),
                PollFd::new(socket, PollFlags::empty()),
            ];
            for (slot, read) in fds.iter_mut().skip(2).zip(self.output.read_ends()) {
                if let Some(fd) = read {
                    *slot = PollFd::new(fd, PollFlags::IN);
                }
            }
            let _ = rustix::event::poll(&mut fds, Some(&left));
            let exited = pidfd.is_some() && fds.get(1).is_some_and(|fd| !fd.revents().is_empty());
            self.copy_output();
            if wait.read(socket, &mut |_| {}) {
                break Ok(());
            }
            if exited {
                break Err(wait.give_up(true));
            }
        };
        outcome.map_err(|why| {
            let _ = rustix::process::kill_process_group(program, Signal::KILL);
            let (cfg, exec) = (self.cfg, self.exec);
            self.output.drain(&|| super::line(cfg, exec));
            super::children::end_all(self.me);
            self.remove_pid_file();
            crate::sd_notify::error(why)
        })
    }

    /// Reads every notification waiting, from any run: the socket must never fill up.
    pub(super) fn notifications(&mut self, _state: State) {
        if let Some(socket) = self.awaited {
            let mut buf = [0_u8; 64];
            while crate::sys::recv_with_sender(rustix::fd::AsFd::as_fd(socket), &mut buf).is_ok() {}
        }
    }
}
