//! Without the usual system: no `/dev/null` (early boot before devtmpfs), in a private
//! mount namespace.

use std::io::Error as IoError;

use crate::common::*;
use crate::ensure;

/// Runs `cmd` in a private mount namespace where an empty tmpfs hides `/dev`.
fn without_dev(cmd: &mut std::process::Command) -> &mut std::process::Command {
    in_private_mounts(cmd, || {
        // SAFETY: mount in the child only.
        let mounted = unsafe {
            libc::mount(
                c"none".as_ptr(),
                c"/dev".as_ptr(),
                c"tmpfs".as_ptr(),
                0,
                std::ptr::null(),
            )
        };
        if mounted != 0 {
            return Err(IoError::last_os_error());
        }
        Ok(())
    })
}

/// No `/dev/null`: a clear failure naming it, nothing left behind (the pid file the start
/// created is removed again).
pub fn fail_without_dev_null() -> TestResult {
    needs_root()?;
    let dir = TempDir::new("nodevnull");
    let pid_file = dir.path("d.pid");
    // Probe first: root without CAP_SYS_ADMIN (a default container) cannot make the namespace.
    let mut probe = tool();
    probe.arg("--version");
    if let Err(e) = try_run(without_dev(&mut probe)) {
        return Err(format!("skip: no private mount namespace here: {e}"));
    }
    let mut cmd = tool();
    cmd.arg("-p").arg(&pid_file).args(["/bin/sleep", "30"]);
    expect_failure(
        without_dev(&mut cmd),
        1,
        "rawdaemon: open /dev/null: No such file or directory",
        Some(&pid_file),
    )?;
    ensure!(!pid_file.exists(), "pid file left");
    Ok(())
}
