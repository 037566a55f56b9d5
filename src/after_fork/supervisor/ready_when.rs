//! The supervisor's readiness checks ([`Daemon::ready_when`](crate::Daemon::ready_when)):
//! after PROGRAM's first start, before the start is reported, the checks are polled while a
//! pidfd of PROGRAM (this process's unreaped child, so its pid is its own) shows it running.
//! PROGRAM's output is copied between two tries, so that a program that writes much while it
//! starts is not held up by a full pipe.

use rustix::process::{Pid, PidfdFlags, Signal};

use super::{Supervisor, children};
use crate::error::Error;

impl Supervisor<'_, '_> {
    /// `Ok` once every check holds. On a failure PROGRAM's group and every other child are
    /// killed and reaped and the pid file removed: the start then fails with the error.
    ///
    /// # References
    ///  - [pidfd_open(2)](https://man7.org/linux/man-pages/man2/pidfd_open.2.html)
    pub(super) fn probe(&mut self, program: Pid) -> Result<(), Error> {
        let cfg = self.cfg;
        let Some(ready) = cfg.ready_when else {
            return Ok(());
        };
        let pidfd = rustix::process::pidfd_open(program, PidfdFlags::empty()).ok();
        let result = ready.wait(pidfd.as_ref(), None, &mut || self.copy_output());
        if result.is_err() {
            self.copy_output();
            // Its own group (what it started goes with it), then every child left.
            let _ = rustix::process::kill_process_group(program, Signal::KILL);
            children::end_all(self.me);
            self.remove_pid_file();
        }
        result
    }
}
