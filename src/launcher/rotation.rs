//! The preparation of the log files that rotate themselves or stamp their lines
//! ([`Daemon::log_rotation`], [`Daemon::log_timestamps`]), in the launching process before
//! any fork: the settings checked, and each rotating file's directory opened safely, so that
//! the logging process (or the `-R` supervisor) renames relative to it.

use rustix::fd::OwnedFd;
use rustix::fs::{CWD, FileType};
use rustix::io::Errno;

use crate::after_fork::logfile::MIN_SIZE;
use crate::config::{Daemon, Output, output_path};
use crate::error::{Detail, Error, Step};

/// The settings fit the start: a program to execute, a log file, no system log, a size of
/// at least [`MIN_SIZE`].
pub(super) fn check(cfg: &Daemon<'_>) -> Result<(), Error> {
    if !cfg.log_files_piped() {
        return Ok(());
    }
    let refuse = |detail| Err(Error::with_detail(Step::LogRotation, Errno::INVAL, detail));
    if cfg.exec.is_none() {
        return Err(Error::new(Step::Config, Errno::INVAL));
    }
    if cfg.log_output.is_some() {
        return refuse(Detail::WithSystemLog);
    }
    if !matches!(cfg.stdout, Output::Append(_)) && !matches!(cfg.stderr, Output::Append(_)) {
        return refuse(Detail::NoLogFile);
    }
    if cfg.log_rotation.is_some_and(|(max, _)| max < MIN_SIZE) {
        return refuse(Detail::BelowMinimum);
    }
    Ok(())
}

/// With rotation: each log file's directory (`O_PATH`, resolved as the file was: no symbolic
/// link another user owns is followed), stdout's and stderr's (`None` for stderr's when
/// both append to one file). Each file must be a regular file (a FIFO or device has no size
/// to rotate at). `above` moves a descriptor off the standard ones.
///
/// # References
///  - [openat(2)](https://man7.org/linux/man-pages/man2/openat.2.html)
///  - [fstat(2)](https://man7.org/linux/man-pages/man2/fstat.2.html)
pub(super) fn open_dirs(
    cfg: &Daemon<'_>,
    files: [Option<&OwnedFd>; 2],
    above: &dyn Fn(OwnedFd) -> Result<OwnedFd, Errno>,
) -> Result<[Option<OwnedFd>; 2], Error> {
    let mut dirs = [None, None];
    if cfg.log_rotation.is_none() {
        return Ok(dirs);
    }
    let outputs = [
        (cfg.stdout, Step::OpenStdout, 1),
        (cfg.stderr, Step::OpenStderr, 2),
    ];
    for ((dir, file), (out, step, n)) in dirs.iter_mut().zip(files).zip(outputs) {
        let (Some(path), Some(file)) = (output_path(out), file) else {
            continue;
        };
        let st = rustix::fs::fstat(file).map_err(|e| Error::new(step, e))?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(Error::with_detail(step, Errno::INVAL, Detail::NotRotatable));
        }
        let failed = |e| Error::with_detail(Step::LogDir, e, Detail::Fd(n));
        let (opened, _) = crate::path::parent(CWD, path).map_err(|(e, _)| failed(e))?;
        *dir = Some(above(opened).map_err(failed)?);
    }
    Ok(dirs)
}
