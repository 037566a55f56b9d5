//! `--respawn`: the supervisor the pid file names, its program child, restarts and giving up,
//! forwarded signals, log capture and reopening, orphans reaped, `--stop` of both.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use crate::common::*;
use crate::{check_detached, ensure, ensure_eq, expect_failure, read_pid, run};

/// `--stop` of the supervisor (which must succeed); the test's guard is dropped without a
/// kill, since the stop ended the process.
fn stop_supervisor(pid_file: &Path, supervisor: Guard) -> TestResult {
    let stop = crate::control::stop(pid_file, &[]);
    ensure_eq!(stop.status.code(), Some(0), "{}", describe(&stop));
    std::mem::forget(supervisor);
    Ok(())
}

/// The live children of `pid`.
fn children_of(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(p) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if stat(p).is_ok_and(|s| s.ppid == pid && s.state != 'Z') {
            out.push(p);
        }
    }
    out
}

/// The one program child of the supervisor once it runs `comm`.
fn program_of(supervisor: i32, comm_is: &str) -> Result<i32, String> {
    let mut found = None;
    let ok = wait_until(|| match children_of(supervisor).as_slice() {
        [p] if comm(*p).as_deref() == Some(comm_is) => {
            found = Some(*p);
            true
        }
        _ => false,
    });
    found.filter(|_| ok).ok_or(format!(
        "supervisor {supervisor} has no single {comm_is} child: {:?}",
        children_of(supervisor)
    ))
}

fn respawn(pid_file: &Path, log: &Path, extra: &[&str], script: &str) -> Command {
    let mut cmd = tool();
    cmd.arg("-R")
        .arg("-p")
        .arg(pid_file)
        .arg("-o")
        .arg(log)
        .arg("-e")
        .arg(log)
        .args(extra)
        .args(["sh", "-c", script]);
    cmd
}

/// The supervisor is the detached daemon the pid file names and blocks the signals it
/// handles; its program child starts clean; a killed program is started again; `--stop`
/// ends both and removes the pid file.
pub fn tool_respawn_restarts_and_stops() -> TestResult {
    needs_tool(&["tool-control", "tool-respawn"])?;
    let dir = TempDir::new("respawn");
    let pid_file = dir.path("d.pid");
    let log = dir.path("out.log");
    let out = run(&mut respawn(
        &pid_file,
        &log,
        &[],
        "echo run; exec sleep 30",
    ));
    ensure!(out.status.success(), "{}", describe(&out));
    let supervisor = the_daemon()?;
    ensure_eq!(read_pid(&pid_file)?, supervisor.0);
    check_detached(supervisor.0)?;
    // CHLD, TERM, INT, QUIT, HUP, USR1, USR2 wait in its signalfd.
    let handled: u64 = [17, 15, 2, 3, 1, 10, 12].iter().map(|s| 1 << (s - 1)).sum();
    ensure_eq!(sigset(supervisor.0, "SigBlk")?, handled);
    let first = program_of(supervisor.0, "sleep")?;
    ensure_eq!(sigset(first, "SigBlk")?, 0);
    ensure_eq!(sigset(first, "SigIgn")?, 0);
    // Its output goes to a pipe the supervisor copies into the log.
    let stdout = fs::read_link(format!("/proc/{first}/fd/1")).map_err(|e| e.to_string())?;
    ensure!(
        stdout.to_string_lossy().starts_with("pipe:"),
        "stdout {stdout:?}"
    );
    ensure!(
        wait_until(|| read_text(&log).is_ok_and(|t| t == "run\n")),
        "log: {:?}",
        read_text(&log)
    );
    // SAFETY: kill of the supervisor's child, whose pid we just read.
    unsafe { libc::kill(first, libc::SIGKILL) };
    let mut second = first;
    let restarted = wait_until(|| {
        second = program_of(supervisor.0, "sleep").unwrap_or(first);
        second != first
    });
    ensure!(restarted, "not restarted: {:?}", children_of(supervisor.0));
    ensure!(
        wait_until(|| read_text(&log)
            .is_ok_and(|t| t.contains("killed by signal 9; restarting in 100 ms"))),
        "log: {:?}",
        read_text(&log)
    );
    let stop = crate::control::stop(&pid_file, &[]);
    ensure_eq!(stop.status.code(), Some(0), "{}", describe(&stop));
    ensure!(!pid_file.exists(), "pid file left behind");
    std::mem::forget(supervisor);
    ensure!(
        wait_until(|| stat(second).is_err() || stat(second).is_ok_and(|s| s.state == 'Z')),
        "program {second} outlived the stop"
    );
    no_process_left()
}

/// A program that keeps failing is given up after `--max-restarts` within the period: the
/// supervisor says so in the log, exits 1 and removes the pid file.
pub fn tool_respawn_gives_up() -> TestResult {
    needs_tool(&["tool-respawn"])?;
    let dir = TempDir::new("respawn-give-up");
    let pid_file = dir.path("d.pid");
    let log = dir.path("out.log");
    let out = run(&mut respawn(
        &pid_file,
        &log,
        &["--max-restarts", "2", "--restart-period", "60"],
        "echo try; exit 3",
    ));
    ensure!(out.status.success(), "{}", describe(&out));
    let supervisor = the_daemon()?;
    let mut status = 0;
    // SAFETY: waits for our own child (the supervisor, re-parented to us).
    let r = unsafe { libc::waitpid(supervisor.0, &mut status, 0) };
    std::mem::forget(supervisor);
    ensure!(r > 0 && libc::WIFEXITED(status), "status {status:#x}");
    ensure_eq!(libc::WEXITSTATUS(status), 1);
    let sh = "/usr/bin/sh";
    ensure_eq!(
        read_text(&log)?,
        format!(
            "try\nrawdaemon: respawn {sh}: exited with status 3; restarting in 100 ms\n\
             try\nrawdaemon: respawn {sh}: exited with status 3; restarting in 200 ms\n\
             try\nrawdaemon: respawn {sh}: exited with status 3\n\
             rawdaemon: respawn {sh}: exited 3 times within 60 s; giving up\n"
        )
    );
    ensure!(!pid_file.exists(), "pid file left behind");
    no_process_left()
}

/// A program that exits 0 has finished: the supervisor ends with it and removes the pid
/// file, with no restart.
pub fn tool_respawn_ends_with_a_clean_exit() -> TestResult {
    needs_tool(&["tool-respawn"])?;
    let dir = TempDir::new("respawn-done");
    let pid_file = dir.path("d.pid");
    let log = dir.path("out.log");
    let out = run(&mut respawn(&pid_file, &log, &[], "exit 0"));
    ensure!(out.status.success(), "{}", describe(&out));
    ensure!(wait_until(|| !pid_file.exists()), "pid file left behind");
    no_process_left()?;
    ensure_eq!(read_text(&log)?, "");
    Ok(())
}

/// HUP, USR1 and USR2 reach the program; HUP first reopens the log (rotation).
pub fn tool_respawn_forwards_signals_and_reopens_logs() -> TestResult {
    needs_tool(&["tool-control", "tool-respawn"])?;
    let dir = TempDir::new("respawn-hup");
    let pid_file = dir.path("d.pid");
    let log = dir.path("out.log");
    let script = "for s in HUP USR1 USR2; do trap \"echo got $s\" $s; done; echo up; \
                  while :; do sleep 0.01; done";
    let out = run(&mut respawn(&pid_file, &log, &[], script));
    ensure!(out.status.success(), "{}", describe(&out));
    let supervisor = the_daemon()?;
    ensure!(
        wait_until(|| read_text(&log).is_ok_and(|t| t == "up\n")),
        "log: {:?}",
        read_text(&log)
    );
    let rotated = dir.path("out.log.1");
    fs::rename(&log, &rotated).map_err(|e| e.to_string())?;
    for sig in [libc::SIGHUP, libc::SIGUSR1, libc::SIGUSR2] {
        // SAFETY: a signal to our own child.
        unsafe { libc::kill(supervisor.0, sig) };
        let line = match sig {
            libc::SIGHUP => "got HUP\n",
            libc::SIGUSR1 => "got HUP\ngot USR1\n",
            _ => "got HUP\ngot USR1\ngot USR2\n",
        };
        ensure!(
            wait_until(|| read_text(&log).is_ok_and(|t| t == line)),
            "new log: {:?}",
            read_text(&log)
        );
    }
    ensure_eq!(read_text(&rotated)?, "up\n");
    stop_supervisor(&pid_file, supervisor)?;
    // The loop's last `sleep 0.01` ends on its own.
    no_process_left()
}

/// The supervisor is a child subreaper: an orphan of the program is re-parented to it and
/// reaped when it exits.
pub fn tool_respawn_reaps_orphans() -> TestResult {
    needs_tool(&["tool-control", "tool-respawn"])?;
    let dir = TempDir::new("respawn-orphans");
    let pid_file = dir.path("d.pid");
    let log = dir.path("out.log");
    let marker = dir.path("orphan-done");
    // The outer subshell exits at once, orphaning the inner one.
    let script = format!("( (sleep 0.3; : > {}) & ); exec sleep 30", marker.display());
    let out = run(&mut respawn(&pid_file, &log, &[], &script));
    ensure!(out.status.success(), "{}", describe(&out));
    let supervisor = the_daemon()?;
    ensure!(
        wait_until(|| children_of(supervisor.0).len() == 2),
        "orphan not re-parented: {:?}",
        children_of(supervisor.0)
    );
    ensure!(wait_until(|| marker.exists()), "orphan never finished");
    // Exited and reaped: neither alive nor a zombie under the supervisor.
    ensure!(
        wait_until(|| {
            let zombies = fs::read_dir("/proc")
                .into_iter()
                .flatten()
                .flatten()
                .any(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .parse::<i32>()
                        .ok()
                        .and_then(|p| stat(p).ok())
                        .is_some_and(|s| s.ppid == supervisor.0 && s.state == 'Z')
                });
            !zombies && children_of(supervisor.0).len() == 1
        }),
        "orphan not reaped"
    );
    stop_supervisor(&pid_file, supervisor)?;
    no_process_left()
}

/// SIGKILL of the supervisor takes the program with it (its parent-death signal).
pub fn tool_respawn_program_dies_with_supervisor() -> TestResult {
    needs_tool(&["tool-respawn"])?;
    let dir = TempDir::new("respawn-pdeath");
    let pid_file = dir.path("d.pid");
    let log = dir.path("out.log");
    let out = run(&mut respawn(&pid_file, &log, &[], "exec sleep 30"));
    ensure!(out.status.success(), "{}", describe(&out));
    let supervisor = the_daemon()?;
    let program = program_of(supervisor.0, "sleep")?;
    drop(supervisor); // SIGKILL and reap
    ensure!(
        wait_until(|| {
            reap_zombies();
            stat(program).is_err()
        }),
        "program {program} outlived its supervisor"
    );
    Ok(())
}

/// A first start that fails in the program's process (here: an unprivileged launcher cannot
/// set groups) is reported by the launcher, and nothing is left.
pub fn fail_respawn_first_start() -> TestResult {
    needs_tool(&["tool-privileges", "tool-respawn"])?;
    needs_root()?;
    let dir = TempDir::new("respawn-fail");
    std::os::unix::fs::chown(&dir.0, Some(65534), Some(65534)).map_err(|e| e.to_string())?;
    let pid_file = dir.path("d.pid");
    let mut cmd = tool();
    cmd.arg("-R")
        .arg("-p")
        .arg(&pid_file)
        .args(["-u", "daemon", "sleep", "30"])
        .uid(65534)
        .gid(65534);
    expect_failure(
        &mut cmd,
        1,
        "rawdaemon: setgroups: Operation not permitted",
        Some(&pid_file),
    )
}

/// Foreground (a container's entrypoint): the process itself supervises; SIGTERM ends the
/// program and then the supervisor, with status 0.
pub fn tool_respawn_foreground() -> TestResult {
    needs_tool(&["tool-respawn"])?;
    let mut child = tool()
        .args(["-f", "-R", "sleep", "30"])
        .stdin(std::process::Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let supervisor = child.id() as i32;
    let program = program_of(supervisor, "sleep")?;
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(supervisor, libc::SIGTERM) };
    let status = child.wait().map_err(|e| e.to_string())?;
    ensure_eq!(status.code(), Some(0));
    ensure!(
        wait_until(|| {
            reap_zombies();
            stat(program).is_err()
        }),
        "program {program} outlived its supervisor"
    );
    Ok(())
}

/// `--stop` ends what the program started too (its process group), also when the program
/// ignores SIGTERM and the supervisor has to be killed.
pub fn tool_respawn_stop_ends_the_program_group() -> TestResult {
    needs_tool(&["tool-control", "tool-respawn"])?;
    let dir = TempDir::new("respawn-group");
    let pid_file = dir.path("d.pid");
    let log = dir.path("out.log");
    for (script, timeout) in [
        ("sleep 1001; true", "5"),
        ("trap '' TERM; sleep 1000 & wait; sleep 1000", "1"),
    ] {
        let out = run(&mut respawn(&pid_file, &log, &[], script));
        ensure!(out.status.success(), "{}", describe(&out));
        let supervisor = the_daemon()?;
        ensure!(
            wait_until(|| !children_of(supervisor.0).is_empty()),
            "no program"
        );
        let stop = crate::control::stop(&pid_file, &["-t", timeout]);
        ensure_eq!(stop.status.code(), Some(0), "{}", describe(&stop));
        std::mem::forget(supervisor);
        no_process_left()?;
    }
    Ok(())
}

/// `-R` with a relative `-r DIR`: the directory is the one the launcher saw.
pub fn tool_respawn_relative_chroot() -> TestResult {
    needs_tool(&["tool-control", "tool-respawn"])?;
    needs_root()?;
    let dir = TempDir::new("respawn-chroot");
    crate::privileges::jail(&dir.path("jail"))?;
    let pid_file = dir.path("d.pid");
    let out = run(tool()
        .current_dir(&dir.0)
        .arg("-R")
        .arg("-p")
        .arg(&pid_file)
        .args(["-r", "jail", "-E", "PATH=/bin", "sleep", "30"]));
    ensure!(out.status.success(), "{}", describe(&out));
    let supervisor = the_daemon()?;
    let program = program_of(supervisor.0, "sleep")?;
    ensure_eq!(
        fs::read_link(format!("/proc/{program}/root")).map_err(|e| e.to_string())?,
        dir.path("jail")
    );
    // The supervisor itself stays outside, in /.
    ensure_eq!(
        fs::read_link(format!("/proc/{}/root", supervisor.0)).map_err(|e| e.to_string())?,
        Path::new("/")
    );
    stop_supervisor(&pid_file, supervisor)?;
    no_process_left()
}

/// The `sleep 600` processes among the live children of `pid`.
fn long_sleeps_under(pid: i32) -> Vec<i32> {
    children_of(pid)
        .into_iter()
        .filter(|p| fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| c == b"sleep\x00600\x00"))
        .collect()
}

/// What earlier runs of the program left behind (re-parented to the supervisor, a child
/// subreaper) ends with the supervisor: on `--stop`, on TERM in the foreground, and when it
/// gives up.
pub fn tool_respawn_ends_what_earlier_runs_left() -> TestResult {
    needs_tool(&["tool-control", "tool-respawn"])?;
    let dir = TempDir::new("respawn-earlier");
    let pid_file = dir.path("d.pid");
    let log = dir.path("out.log");
    let script = "sleep 600 & sleep 0.3; exit 1";
    let out = run(&mut respawn(
        &pid_file,
        &log,
        &["--max-restarts", "100"],
        script,
    ));
    ensure!(out.status.success(), "{}", describe(&out));
    let supervisor = the_daemon()?;
    ensure!(
        wait_until(|| long_sleeps_under(supervisor.0).len() >= 2),
        "no earlier runs: {:?}",
        children_of(supervisor.0)
    );
    stop_supervisor(&pid_file, supervisor)?;
    no_process_left()?;

    // TERM to a foreground supervisor, no --stop involved.
    let mut child = tool()
        .args(["-f", "-R", "--max-restarts", "100", "sh", "-c", script])
        .stdin(std::process::Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let supervisor = child.id() as i32;
    ensure!(
        wait_until(|| long_sleeps_under(supervisor).len() >= 2),
        "no earlier runs: {:?}",
        children_of(supervisor)
    );
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(supervisor, libc::SIGTERM) };
    let status = child.wait().map_err(|e| e.to_string())?;
    ensure_eq!(status.code(), Some(0));
    no_process_left()?;

    // Giving up.
    let out = run(&mut respawn(
        &pid_file,
        &log,
        &["--max-restarts", "2"],
        "sleep 600 & exit 1",
    ));
    ensure!(out.status.success(), "{}", describe(&out));
    let supervisor = the_daemon()?;
    let mut status = 0;
    // SAFETY: waits for our own child (the supervisor, re-parented to us).
    let r = unsafe { libc::waitpid(supervisor.0, &mut status, 0) };
    std::mem::forget(supervisor);
    ensure!(r > 0 && libc::WIFEXITED(status), "status {status:#x}");
    ensure_eq!(libc::WEXITSTATUS(status), 1);
    ensure!(!pid_file.exists(), "pid file left behind");
    no_process_left()
}
