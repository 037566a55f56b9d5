//! The preparation of the log files that rotate themselves or stamp their lines
//! ([`Daemon::log_rotation`], [`Daemon::log_timestamps`]), in the launching process before
//! any fork: the settings and the files checked. (The files' directories are opened by the
//! daemon, before the logger's fork and any chroot or chdir: see
//! [`logfile::open_dirs`](crate::after_fork::logfile::open_dirs).)

use rustix::fd::OwnedFd;
use rustix::fs::FileType;
use rustix::io::Errno;

use crate::after_fork::logfile::MIN_SIZE;
use crate::config::{Daemon, Output};
use crate::error::{Detail, Error, Step};

/// The settings of `cfg` fit the start: a program to execute, a log file, no system log, a
/// size of at least [`MIN_SIZE`]. (The settings by value: the configuration's address must
/// not escape into a call, or a constant configuration no longer folds.)
#[inline(always)]
pub(super) fn check(cfg: &Daemon<'_>) -> Result<(), Error> {
    if !cfg.log_files_piped() {
        return Ok(());
    }
    check_settings(
        cfg.exec.is_some(),
        cfg.log_output.is_some(),
        [cfg.stdout, cfg.stderr],
        cfg.log_rotation,
    )
}

/// [`check`]'s settings.
fn check_settings(
    exec: bool,
    system_log: bool,
    [stdout, stderr]: [Output<'_>; 2],
    rotation: Option<(u64, u32)>,
) -> Result<(), Error> {
    let refuse = |detail| Err(Error::with_detail(Step::LogRotation, Errno::INVAL, detail));
    if !exec {
        return Err(Error::new(Step::Config, Errno::INVAL));
    }
    if system_log {
        return refuse(Detail::WithSystemLog);
    }
    if !matches!(stdout, Output::Append(_)) && !matches!(stderr, Output::Append(_)) {
        return refuse(Detail::NoLogFile);
    }
    if rotation.is_some_and(|(max, _)| max < MIN_SIZE) {
        return refuse(Detail::BelowMinimum);
    }
    Ok(())
}

/// With rotation: each log file (stdout's, stderr's) is a regular file (a FIFO or device has
/// no size to rotate at).
///
/// # References
///  - [fstat(2)](https://man7.org/linux/man-pages/man2/fstat.2.html)
#[inline(always)]
pub(super) fn check_files(
    rotation: Option<(u64, u32)>,
    files: [Option<&OwnedFd>; 2],
) -> Result<(), Error> {
    if rotation.is_none() {
        return Ok(());
    }
    for (file, step) in files.into_iter().zip([Step::OpenStdout, Step::OpenStderr]) {
        let Some(file) = file else { continue };
        let st = rustix::fs::fstat(file).map_err(|e| Error::new(step, e))?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(Error::with_detail(step, Errno::INVAL, Detail::NotRotatable));
        }
    }
    Ok(())
}
