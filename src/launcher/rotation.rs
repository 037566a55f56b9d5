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

/// With rotation: each log file's directory (`O_PATH`, resolved as the file was: no symbolic
/// link another user owns is followed), stdout's and stderr's (`None` for stderr's when
/// both append to one file). Each file must be a regular file (a FIFO or device has no size
/// to rotate at). Each descriptor is moved off the standard ones and `ready_fd`.
///
/// # References
///  - [openat(2)](https://man7.org/linux/man-pages/man2/openat.2.html)
///  - [fstat(2)](https://man7.org/linux/man-pages/man2/fstat.2.html)
#[inline(always)]
pub(super) fn open_dirs(
    rotation: Option<(u64, u32)>,
    outputs: [Output<'_>; 2],
    files: [Option<&OwnedFd>; 2],
    ready_fd: Option<i32>,
) -> Result<[Option<OwnedFd>; 2], Error> {
    let mut dirs = [None, None];
    if rotation.is_none() {
        return Ok(dirs);
    }
    let [stdout, stderr] = outputs;
    let outputs = [(stdout, Step::OpenStdout, 1), (stderr, Step::OpenStderr, 2)];
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
        *dir = Some(super::prepare::above_stdio(opened, ready_fd).map_err(failed)?);
    }
    Ok(dirs)
}
