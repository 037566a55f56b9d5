//! **The launcher's readiness checks** ([`Daemon::ready_when`]) in daemon mode: once the
//! program is executed (and has written its `ready_fd` line, if asked to), the checks are
//! polled while a pidfd of the program shows it running; on a failure the program's process
//! group is killed before the start reports it. Under `respawn` the supervisor polls them
//! instead (see `after_fork::supervisor`).

use rustix::fd::OwnedFd;
use rustix::process::{Pid, Signal};

use crate::config::Daemon;
use crate::error::Error;

impl Daemon<'_> {
    /// Whether the launcher polls [`ready_when`](Daemon::ready_when)'s checks (daemon mode
    /// without `respawn`): the daemon then waits for the go-ahead after its Exec record, so
    /// that the launcher holds a pidfd of the very process that becomes the program.
    #[inline]
    pub(crate) fn launcher_probes(&self) -> bool {
        self.prober.is_some() && self.respawn.is_none() && !self.foreground
    }

    /// The checks, after the program was executed: `Ok` once all hold. On a failure the
    /// program's process group (`group`, the intermediate's pid, reserved while the group has
    /// members) and the program itself are killed, and the pid file is then removed by the
    /// caller's cleanup.
    #[inline]
    pub(super) fn probe_program(&self, group: Pid, program: Option<&OwnedFd>) -> Result<(), Error> {
        let Some(wait_all) = self.prober.filter(|_| self.launcher_probes()) else {
            return Ok(());
        };
        wait_all(self.ready_when, self.notify_timeout, program, &mut || {}).inspect_err(|_| {
            let _ = rustix::process::kill_process_group(group, Signal::KILL);
            if let Some(pidfd) = program {
                crate::control::kill(pidfd);
            }
        })
    }
}
