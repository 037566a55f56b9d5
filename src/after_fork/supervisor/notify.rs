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
    pub(super) fn first_ready(
        &mut self,
        program: Pid,
        upstream: Option<&rustix::fd::OwnedFd>,
    ) -> Result<(), Error> {
        let Some(socket) = self.awaited else {
            return Ok(());
        };
        // The supervisor's own child, not reaped before this returns: the pid is its.
        let pidfd = rustix::process::pidfd_open(program, PidfdFlags::empty()).ok();
        let raw = program.as_raw_nonzero().get() as u32;
        let timeout = u64::from(self.cfg.notify_timeout) * 1000;
        let mut wait = Awaiting::new(raw, timeout, false);
        let outcome = loop {
            let Some(left) = wait.left() else {
                break Err(wait.give_up());
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
            // A turn reads a batch of datagrams at most, and the output is copied at each.
            self.copy_output();
            let kept = self.status;
            let mut status = |text: &[u8]| {
                if let Some(fd) = kept {
                    crate::status_file::write(fd, text);
                }
                if let Some(up) = upstream {
                    crate::notify::status(up, text);
                }
            };
            match wait.turn(socket, exited, &mut status) {
                Some(true) => break Ok(()),
                Some(false) => break Err(wait.give_up()),
                None => {}
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

    /// Arms the watchdog for the run `state` names, before each wait: a new run gets a
    /// deadline of its own from now (its first `WATCHDOG=1` is due within the period, even if
    /// it never sends a datagram or writes a line), a program that is not running none.
    pub(super) fn arm_watchdog(&mut self, state: State) {
        let running = match state {
            State::Running(pid) => Some(pid),
            _ => None,
        };
        if self.dog.pid != running {
            self.dog.pid = running;
            let period = self.cfg.watchdog.map_or(0, |secs| u64::from(secs) * 1000);
            self.dog.at = running
                .filter(|_| period > 0)
                .map(|_| crate::sys::monotonic_ms().saturating_add(period));
        }
    }

    /// Reads the notifications waiting, from any run, at most
    /// [`BATCH`](crate::sd_notify::BATCH) of them a turn: the socket must never fill up,
    /// and a flood of them must not keep the supervisor from PROGRAM's output and its
    /// signals (the next turn's poll finds the rest). A `WATCHDOG=1` from the running
    /// program (or a descendant) pushes its watchdog deadline on. What the running program
    /// says goes on to the service manager (foreground mode), as the supervisor's own word
    /// (it is the main process), `MAINPID=` left out; its `STATUS=` is kept in the status
    /// file.
    pub(super) fn notifications(&mut self, state: State) {
        let Some(socket) = self.awaited else {
            return;
        };
        let program = match state {
            State::Running(pid) => pid.as_raw_nonzero().get() as u32,
            _ => 0,
        };
        let period = self.cfg.watchdog.map_or(0, |secs| u64::from(secs) * 1000);
        let mut buf = [0_u8; crate::sd_notify::MESSAGE_MAX];
        for _ in 0..crate::sd_notify::BATCH {
            let Ok((len, sender)) =
                crate::sys::recv_with_sender(rustix::fd::AsFd::as_fd(socket), &mut buf)
            else {
                break;
            };
            let Some(message) = buf.get(..len) else {
                continue;
            };
            if !crate::sd_notify::from_service(sender, [program, program]) {
                continue;
            }
            let notice = crate::sd_notify::Notice::parse(message);
            if self.dog.at.is_some() && notice.watchdog {
                self.dog.at = Some(crate::sys::monotonic_ms().saturating_add(period));
            }
            if let (Some(fd), Some(text)) = (self.status, notice.status) {
                crate::status_file::write(fd, text);
            }
            if let Some(up) = &self.upstream {
                crate::notify::relay(up, message);
            }
        }
    }

    /// The running program `pid` sent no `WATCHDOG=1` in time: says so and kills its group;
    /// its end then restarts it as the policy says.
    pub(super) fn watchdog_expired(&mut self, pid: Pid) {
        self.dog.at = None;
        let secs = self.cfg.watchdog.unwrap_or(0);
        let mut m = self.line();
        m.push_str("no WATCHDOG=1 within ")
            .push_u32(secs)
            .push_str(" s; killing it");
        self.say(m);
        let _ = rustix::process::kill_process_group(pid, Signal::KILL);
    }
}

/// The watchdog of the running program ([`Daemon::watchdog`](crate::Daemon::watchdog)).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Watchdog {
    /// The run it watches.
    pid: Option<Pid>,
    /// When it expires (monotonic, ms); `None`: not armed.
    at: Option<u64>,
}

impl Watchdog {
    /// When it expires, if armed.
    pub(super) fn due(&self) -> Option<u64> {
        self.at
    }
}
