//! The helpers every test family shares, one concern per module; this file holds the
//! conventions of a test (its result, a skip, the `ensure!` macros) and re-exports the rest.
//!
//! - `processes`: the test process's children (it is a child subreaper), guards that kill
//!   and reap them, the daemon of a start;
//! - `procfs`: readers of `/proc/PID/...`;
//! - `checks`: what every daemon must be;
//! - `tool`: the programs under test and the commands most tests give them;
//! - `launch`: running a launcher and reading its outcome;
//! - `files`: temporary directories, pid files, locks, a root directory for `--chroot`;
//! - `emulation`: a run against a tool in an emulator.

mod checks;
mod emulation;
mod files;
mod launch;
mod processes;
mod procfs;
mod tool;

use std::time::{Duration, Instant};

pub use checks::*;
pub use emulation::*;
pub use files::*;
pub use launch::*;
pub use processes::*;
pub use procfs::*;
pub use tool::*;

pub type TestResult = Result<(), String>;

/// A named test.
pub type Test = (&'static str, fn() -> TestResult);

/// `ensure!(cond, "format", args…)`: fail the test with the message unless `cond`.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!("{}:{}: {}", file!(), line!(), format!($($msg)+)));
        }
    };
}

/// `ensure_eq!(left, right)` or `ensure_eq!(left, right, "format", args…)`.
#[macro_export]
macro_rules! ensure_eq {
    ($left:expr, $right:expr) => {
        ensure_eq!($left, $right, "")
    };
    ($left:expr, $right:expr, $($msg:tt)+) => {{
        let (l, r) = (&$left, &$right);
        if l != r {
            return Err(format!("{}:{}: {:?} != {:?} {}", file!(), line!(), l, r, format!($($msg)+)));
        }
    }};
}

/// `tests![a, b]`: the test functions with their names.
#[macro_export]
macro_rules! tests {
    ($($name:ident),* $(,)?) => {
        &[$((stringify!($name), $name as fn() -> $crate::common::TestResult)),*]
    };
}

/// The start of a skipped test's error: the runner counts it as skipped, with the rest as why.
pub const SKIP: &str = "skip: ";

/// Skips the calling test unless it runs as root (mount namespaces, other users' ids).
pub fn needs_root() -> TestResult {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        Ok(())
    } else {
        Err(format!("{SKIP}needs root"))
    }
}

/// Polls `cond` every 2 ms for up to 5 s; whether it came true.
pub fn wait_until(mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cond() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    true
}
