//! **The launcher's readiness checks** ([`Daemon::ready_when`]) in daemon mode: once the
//! program is executed (and has written its `ready_fd` line, if asked to), the checks are
//! polled while a pidfd of the program shows it running; on a failure the program's service
//! (its session, its descendants) is killed before the start reports it. Under `respawn` the supervisor polls them
//! instead (see `after_fork::supervisor`).

use rustix::fd::OwnedFd;
use rustix::process::Pid;

use crate::config::Daemon;
use crate::error::Error;
use crate::probe::ReadyWhen;

impl<'a> Daemon<'a> {
    /// The checks the launcher polls: [`ready_when`](Daemon::ready_when)'s in daemon mode
    /// without `respawn`. The daemon then waits for the go-ahead after its Exec record, so
    /// that the launcher holds a pidfd of the very process that becomes the program.
    #[inline]
    pub(crate) fn launcher_probes(&self) -> Option<&'a ReadyWhen<'a>> {
        self.ready_when
            .filter(|_| self.respawn.is_none() && !self.foreground)
    }
}

/// The checks `ready` (if any), after the program was executed: `Ok` once all hold. On a
/// failure the service goes as `--stop` ends it ([`end_start`](crate::control::end_start)):
/// the session the start created (`group`, the intermediate's pid, reserved while the
/// session has members), the program and its descendants; the caller's cleanup then removes
/// the pid file.
///
/// A free function of the values it needs, not a method: the configuration's address must
/// not escape into a call, or a constant configuration no longer folds; and the polling is
/// one indirect call (see [`ReadyWhen`]), so that a start without checks carries nearly none
/// of it.
#[inline]
pub(super) fn probe_program(
    ready: Option<&ReadyWhen<'_>>,
    group: Pid,
    program: Option<&OwnedFd>,
) -> Result<(), Error> {
    match ready {
        Some(ready) => ready.wait(program, Some(group), &mut || {}),
        None => Ok(()),
    }
}
