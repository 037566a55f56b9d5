//! What every daemon must be, checked from /proc: detached, its signals reset, only the
//! descriptors it should have.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Stat, TestResult, fds, settled, sigset, stat};
use crate::{ensure, ensure_eq};

/// Session, process group, parent, terminal: a detached daemon re-parented to us.
pub fn check_detached(pid: i32) -> Result<Stat, String> {
    let s = stat(pid)?;
    let me = std::process::id() as i32;
    // SAFETY: getsid(0) has no preconditions.
    let my_sid = unsafe { libc::getsid(0) };
    ensure_eq!(s.ppid, me, "daemon re-parented to the subreaper");
    ensure!(
        s.session != my_sid,
        "daemon still in the test's session {my_sid}"
    );
    ensure!(s.session != pid, "daemon {pid} is a session leader");
    ensure_eq!(s.pgrp, s.session, "process group is the new session's");
    ensure_eq!(s.tty_nr, 0, "no controlling terminal");
    // The session leader was the intermediate, reaped by the launcher: gone, not a zombie.
    ensure!(
        !Path::new(&format!("/proc/{}", s.session)).exists(),
        "intermediate {} still exists",
        s.session
    );
    Ok(s)
}

/// Signal mask empty and no signal ignored, except `allowed` (a libc's reserved signals).
pub fn check_signals(pid: i32, allowed: u64) -> TestResult {
    ensure_eq!(sigset(pid, "SigBlk")? & !allowed, 0, "SigBlk of {pid}");
    ensure_eq!(sigset(pid, "SigIgn")? & !allowed, 0, "SigIgn of {pid}");
    Ok(())
}

/// Exactly 0, 1, 2 on /dev/null (or what `expect` says) plus the listed others.
pub fn check_fds(pid: i32, expect: &[(i32, &str)]) -> TestResult {
    settled(pid)?;
    let got = fds(pid)?;
    let mut want: BTreeMap<i32, String> = (0..3).map(|fd| (fd, "/dev/null".to_string())).collect();
    for (fd, target) in expect {
        want.insert(*fd, (*target).to_string());
    }
    ensure_eq!(got, want, "open descriptors of {pid}");
    Ok(())
}
