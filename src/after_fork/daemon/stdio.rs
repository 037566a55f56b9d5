//! The daemon's standard descriptors: /dev/null on stdin, and /dev/null, a log file or the
//! inherited descriptor on stdout and stderr.

use rustix::fd::OwnedFd;

use crate::config::{Daemon, Output};
use crate::error::{Detail, Error, Step};
use crate::launcher::prepare::Prepared;

/// `dup2` of the prepared descriptors onto 0, 1 and 2. Every source is 3 or above (see
/// [`prepare`](crate::launcher::prepare)), so no `dup2` overwrites a later one's source, and each clears
/// close-on-exec on its target.
///
/// # References
///  - [dup2(2)](https://man7.org/linux/man-pages/man2/dup2.2.html)
#[inline]
pub(super) fn redirect(cfg: &Daemon<'_>, prep: &Prepared) -> Result<(), Error> {
    rustix::stdio::dup2_stdin(&prep.devnull)
        .map_err(|e| Error::with_detail(Step::Dup2, e, Detail::Fd(0)))?;
    if let Some(fd) = source(cfg.stdout, 1, prep, prep.stdout.as_ref()) {
        rustix::stdio::dup2_stdout(fd)
            .map_err(|e| Error::with_detail(Step::Dup2, e, Detail::Fd(1)))?;
    }
    // stderr to the same file as stdout shares stdout's descriptor.
    let log = prep.stderr.as_ref().or(prep.stdout.as_ref());
    if let Some(fd) = source(cfg.stderr, 2, prep, log) {
        rustix::stdio::dup2_stderr(fd)
            .map_err(|e| Error::with_detail(Step::Dup2, e, Detail::Fd(2)))?;
    }
    Ok(())
}

/// The descriptor an output takes, `None` to leave `target` as inherited. An inherited
/// descriptor that is closed gets /dev/null, so that the first file the program opens does
/// not become its stdout or stderr.
#[inline]
fn source<'p>(
    out: Output<'_>,
    target: i32,
    prep: &'p Prepared,
    log: Option<&'p OwnedFd>,
) -> Option<&'p OwnedFd> {
    match out {
        Output::Null => Some(&prep.devnull),
        Output::Inherit if crate::sys::fd_is_open(target).is_err() => Some(&prep.devnull),
        Output::Inherit => None,
        Output::Append(_) => log,
    }
}
