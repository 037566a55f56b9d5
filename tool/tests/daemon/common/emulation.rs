//! A run against a tool that executes in an emulator (`.ci/cross`): this process prepared for
//! it, and the tests that cannot apply there.

use super::{reap_zombies, tool};

/// The emulator the tool under test runs in (`RAWDAEMON_EMULATOR`, such as
/// `qemu-aarch64-static`): `.ci/cross` sets it beside a `RAWDAEMON_BIN` wrapper that runs a
/// cross-built tool in it. This test process and the programs the daemons execute stay native.
pub fn emulator() -> Option<String> {
    std::env::var("RAWDAEMON_EMULATOR")
        .ok()
        .filter(|e| !e.is_empty())
}

/// Prepares this process for a run against an emulated tool and returns the tests that cannot
/// apply there (a part of their name, and why), after a probe of the emulator.
pub fn emulation(emulator: &str) -> Vec<(&'static str, String)> {
    println!("under emulation: the tool runs in {emulator}");
    // Signals 32 and 33 (glibc's own) arrive ignored in this process, as glibc's posix_spawn
    // leaves them in every program cargo starts. The tool resets all 64 before exec, but under
    // qemu-user the guest's signals 32 and up are the host's 34 and up: host signals 32 and 33
    // are out of the guest's reach and PROGRAM would inherit them ignored. Default them here.
    for sig in [32_i64, 33] {
        // A zeroed kernel `struct sigaction` is SIG_DFL.
        let act = [0_u64; 4];
        // SAFETY: rt_sigaction reads `act`, writes no old action; sigsetsize is 8.
        unsafe { libc::syscall(libc::SYS_rt_sigaction, sig, act.as_ptr(), 0_usize, 8_usize) };
    }
    let mut skips = vec![(
        "fault_",
        format!(
            "strace would trace {emulator}'s host system calls, not the tool's: its helper \
             thread is each process's first clone3 and its own calls shift every count"
        ),
    )];
    // The respawn supervisor is a child subreaper; qemu-user 7.2 refuses that prctl
    // (EINVAL). Its own system call log (QEMU_STRACE) tells whether that is the cause.
    let probe = tool()
        .env("QEMU_STRACE", "1")
        .args(["-f", "-R", "--", "true"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .output();
    reap_zombies();
    let log = probe.map(|o| o.stderr).unwrap_or_default();
    let log = String::from_utf8_lossy(&log);
    if let Some(line) = log
        .lines()
        .find(|l| l.contains(" prctl(36,") && l.contains("errno=22"))
    {
        println!(
            "probe `rawdaemon -f -R -- true` in {emulator}: {}",
            line.trim()
        );
        skips.push((
            "respawn",
            format!(
                "{emulator} refuses prctl(PR_SET_CHILD_SUBREAPER) with EINVAL (see the probe \
                 above), and the respawn supervisor is a child subreaper"
            ),
        ));
    }
    // qemu-user 7.2 copies no nanoseconds into an s390x guest's `struct stat` (its linux-user
    // defines TARGET_STAT_HAVE_NSEC for other CPUs, not s390x): every file time the tool reads
    // there is whole seconds. These tests need the nanoseconds: the session a daemon-mode
    // start records in the pid file's (the orphan and session checks of --status and --stop),
    // and the kept status file's time against the daemon's start.
    if emulator.contains("s390x") {
        for name in STAT_NANOSECONDS {
            skips.push((
                name,
                format!(
                    "{emulator} gives an s390x guest's stat(2) no nanoseconds (qemu's \
                     linux-user has no TARGET_STAT_HAVE_NSEC for s390x), and this test reads \
                     the session recorded in the pid file's mtime nanoseconds, or the kept \
                     status file's time against the daemon's start, or the start of the pid \
                     written against the pid file's time"
                ),
            ));
        }
    }
    skips
}

/// The tests that need a file's time in nanoseconds as the tool reads it (see [`emulation`]).
const STAT_NANOSECONDS: [&str; 10] = [
    "tool_refusal_names_the_real_holder",
    "tool_stop_ends_the_marked_session",
    "tool_stop_spares_the_foreground_session",
    "start_stop_daemon_on_a_forking_daemon",
    "tool_control_spares_a_recycled_daemon_pid",
    "tool_notify_await_status_kept",
    "tool_notify_await_foreground_status_kept",
    "fail_notify_await_status_planted",
    "tool_status_of_an_earlier_start_not_shown",
    // Its last check: the pid written holds the lock and started before the file was written.
    "garbage_pid_files_never_signal",
];

/// Whether `-R` can run here: the tool has it, and no emulator refuses its child subreaper
/// (the tests named `respawn` are skipped there as a whole; this is for the `-R` rounds of
/// tests that cover several modes).
pub fn respawn_runs() -> bool {
    super::needs_tool(&["tool-respawn"]).is_ok() && emulator().is_none()
}
