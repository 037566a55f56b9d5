//! `--stop` and `--status`: the daemon is found by its pid file's lock, signalled through a
//! pidfd, and a pid file that names a stranger never gets that stranger signalled. Also
//! Debian's `start-stop-daemon` on a daemon the tool started.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::*;
use crate::{ensure, ensure_eq, run, sleeper, stderr_of};

/// `rawdaemon --status -p PID_FILE`.
pub(crate) fn status(pid_file: &Path) -> std::process::Output {
    run(tool().arg("--status").arg("-p").arg(pid_file))
}

/// `rawdaemon --stop -p PID_FILE EXTRA...`.
pub(crate) fn stop(pid_file: &Path, extra: &[&str]) -> std::process::Output {
    run(tool().arg("--stop").arg("-p").arg(pid_file).args(extra))
}

/// Waits for our child `pid` (a stopped daemon, re-parented to us) and returns its raw wait
/// status.
fn reap(pid: i32) -> Result<i32, String> {
    let mut status = 0;
    // SAFETY: waits for one pid, our own child.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    ensure_eq!(r, pid, "waitpid: {}", std::io::Error::last_os_error());
    Ok(status)
}

/// A child that does not hold any lock: what a recycled pid looks like.
fn stranger() -> Result<Guard, String> {
    let child = Command::new("sleep")
        .arg("30")
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    Ok(Guard(child.id() as i32))
}

fn alive(pid: i32) -> bool {
    stat(pid).is_ok_and(|s| s.state != 'Z')
}

/// Start, status (0, the pid on stdout), stop (0, SIGTERM delivered, pid file gone), then
/// status 3 and a second stop refused with 1.
pub fn tool_stop_and_status() -> TestResult {
    needs_tool(&["tool-control"])?;
    let dir = TempDir::new("stop");
    let pid_file = dir.path("d.pid");
    let out = run(&mut sleeper(&pid_file));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    let out = status(&pid_file);
    ensure_eq!(out.status.code(), Some(0), "{}", describe(&out));
    ensure_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{}\n", daemon.0)
    );
    ensure!(out.stderr.is_empty(), "{}", describe(&out));

    let out = stop(&pid_file, &[]);
    ensure_eq!(out.status.code(), Some(0), "{}", describe(&out));
    ensure!(
        out.stderr.is_empty() && out.stdout.is_empty(),
        "{}",
        describe(&out)
    );
    // It was signalled, not just found gone: the exit status is the signal's.
    let status_word = reap(daemon.0)?;
    std::mem::forget(daemon);
    ensure!(
        libc::WIFSIGNALED(status_word),
        "exit status {status_word:#x}"
    );
    ensure_eq!(libc::WTERMSIG(status_word), libc::SIGTERM);
    ensure!(!pid_file.exists(), "pid file left behind");

    let out = status(&pid_file);
    ensure_eq!(out.status.code(), Some(3), "{}", describe(&out));
    ensure_eq!(
        stderr_of(&out),
        format!("rawdaemon: status {}: not running\n", pid_file.display())
    );
    ensure!(out.stdout.is_empty(), "{}", describe(&out));
    let out = stop(&pid_file, &[]);
    ensure_eq!(out.status.code(), Some(1), "{}", describe(&out));
    ensure_eq!(
        stderr_of(&out),
        format!(
            "rawdaemon: stop {}: not running (no process holds its lock)\n",
            pid_file.display()
        )
    );
    ensure!(!pid_file.exists(), "stop created a pid file");
    no_process_left()
}

/// `--signal HUP` is the signal that arrives.
pub fn tool_stop_with_signal() -> TestResult {
    needs_tool(&["tool-control"])?;
    let dir = TempDir::new("stop-hup");
    let pid_file = dir.path("d.pid");
    let out = run(&mut sleeper(&pid_file));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    let out = stop(&pid_file, &["--signal", "SIGHUP"]);
    ensure_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let status_word = reap(daemon.0)?;
    std::mem::forget(daemon);
    ensure_eq!(libc::WTERMSIG(status_word), libc::SIGHUP);
    no_process_left()
}

/// A program that ignores SIGTERM is killed after the timeout, and the tool says so.
pub fn tool_stop_escalates_to_kill() -> TestResult {
    needs_tool(&["tool-control"])?;
    let dir = TempDir::new("stop-kill");
    let pid_file = dir.path("d.pid");
    let out =
        run(tool()
            .arg("-p")
            .arg(&pid_file)
            .args(["sh", "-c", "trap '' TERM; exec sleep 30"]));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    // The trap is in place once sh has exec'd sleep.
    ensure!(
        wait_until(|| comm(daemon.0).as_deref() == Some("sleep")),
        "sh never exec'd sleep"
    );
    let out = stop(&pid_file, &["-t", "1"]);
    ensure_eq!(out.status.code(), Some(0), "{}", describe(&out));
    ensure_eq!(
        stderr_of(&out),
        format!(
            "rawdaemon: stop: pid {} was still running after 1 s; sent SIGKILL\n",
            daemon.0
        )
    );
    let status_word = reap(daemon.0)?;
    std::mem::forget(daemon);
    ensure_eq!(libc::WTERMSIG(status_word), libc::SIGKILL);
    ensure!(!pid_file.exists(), "pid file left behind");
    no_process_left()
}

/// A pid file left by a dead daemon names a pid that now belongs to an unrelated process:
/// status says dead (1), stop refuses (1), and the stranger is never signalled.
pub fn tool_stale_pid_file_spares_a_stranger() -> TestResult {
    needs_tool(&["tool-control"])?;
    let dir = TempDir::new("stranger");
    let pid_file = dir.path("d.pid");
    let stranger = stranger()?;
    fs::write(&pid_file, format!("{}\n", stranger.0)).map_err(|e| e.to_string())?;
    let out = status(&pid_file);
    ensure_eq!(out.status.code(), Some(1), "{}", describe(&out));
    ensure_eq!(
        stderr_of(&out),
        format!(
            "rawdaemon: status {}: not running; the pid file is left behind (it names pid {})\n",
            pid_file.display(),
            stranger.0
        )
    );
    let out = stop(&pid_file, &["-t", "0"]);
    ensure_eq!(out.status.code(), Some(1), "{}", describe(&out));
    ensure!(alive(stranger.0), "the stranger was signalled");
    ensure_eq!(
        read_text(&pid_file)?,
        format!("{}\n", stranger.0),
        "pid file untouched"
    );
    Ok(())
}

/// The lock is held by a process other than the pid written in the file: status 4, and stop
/// signals neither.
pub fn tool_status_of_an_unidentified_holder() -> TestResult {
    needs_tool(&["tool-control"])?;
    let dir = TempDir::new("unidentified");
    let pid_file = dir.path("d.pid");
    let stranger = stranger()?;
    fs::write(&pid_file, format!("{}\n", stranger.0)).map_err(|e| e.to_string())?;
    let holder = lock_holder(&pid_file)?;
    let out = status(&pid_file);
    ensure_eq!(out.status.code(), Some(4), "{}", describe(&out));
    ensure_eq!(
        stderr_of(&out),
        format!(
            "rawdaemon: status {}: locked by a process other than the pid written in it\n",
            pid_file.display()
        )
    );
    let out = stop(&pid_file, &["-t", "0"]);
    ensure_eq!(out.status.code(), Some(1), "{}", describe(&out));
    ensure_eq!(
        stderr_of(&out),
        format!(
            "rawdaemon: stop {}: locked by a process other than the pid written in it\n",
            pid_file.display()
        )
    );
    ensure!(
        alive(stranger.0) && alive(holder.0),
        "a process was signalled"
    );
    // flock(1) forks sleep: kill the sleeper too, by the lock it holds.
    drop(holder);
    reap_zombies();
    for pid in children() {
        if pid != stranger.0 {
            kill_and_reap(pid);
        }
    }
    Ok(())
}

/// Usage errors of the two actions, and a pid file that is not a regular file.
pub fn fail_stop_and_status_usage() -> TestResult {
    needs_tool(&["tool-control"])?;
    let dir = TempDir::new("stop-usage");
    let out = run(tool().arg("--stop"));
    ensure_eq!(out.status.code(), Some(2), "{}", describe(&out));
    ensure_eq!(
        stderr_of(&out),
        "rawdaemon: --stop and --status need -p PIDFILE (try --help)\n"
    );
    let out = run(tool().args(["--status", "-p", "/x.pid", "sleep", "1"]));
    ensure_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let out = run(tool().args(["--stop", "-p", "/x.pid", "-s", "NOPE"]));
    ensure_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let out = run(tool().args(["--stop", "-p", "/x.pid", "-t", "1.5"]));
    ensure_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let out = status(&dir.0);
    ensure_eq!(out.status.code(), Some(4), "{}", describe(&out));
    ensure_eq!(
        stderr_of(&out),
        format!(
            "rawdaemon: status {}: not a regular file\n",
            dir.0.display()
        )
    );
    no_process_left()
}

/// Debian's `start-stop-daemon` reads and uses the pid file as init scripts do.
pub fn start_stop_daemon_on_a_tool_daemon() -> TestResult {
    needs_tool(&["tool-control"])?;
    const SSD: &str = "/usr/sbin/start-stop-daemon";
    if !Path::new(SSD).exists() {
        return Err(format!("skip: {SSD} is not installed"));
    }
    let dir = TempDir::new("ssd");
    let pid_file = dir.path("d.pid");
    let out = run(&mut sleeper(&pid_file));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    let out = run(Command::new(SSD)
        .arg("--status")
        .arg("--pidfile")
        .arg(&pid_file));
    ensure_eq!(out.status.code(), Some(0), "--status: {}", describe(&out));
    // start-stop-daemon waits for the pid to vanish, and a zombie does not: reap the daemon
    // while it runs.
    let mut ssd = Command::new(SSD)
        .args(["--stop", "--retry", "5", "--pidfile"])
        .arg(&pid_file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut status_word = 0;
    let mut reaped = false;
    let done = wait_until(|| {
        if !reaped {
            // SAFETY: waits for one pid, our own child, without blocking.
            reaped =
                unsafe { libc::waitpid(daemon.0, &mut status_word, libc::WNOHANG) } == daemon.0;
        }
        reaped && ssd.try_wait().is_ok_and(|s| s.is_some())
    });
    if !done {
        let _ = ssd.kill();
    }
    let out = ssd.wait_with_output().map_err(|e| e.to_string())?;
    ensure!(
        done,
        "start-stop-daemon --stop did not end: {}",
        describe(&out)
    );
    ensure_eq!(out.status.code(), Some(0), "--stop: {}", describe(&out));
    std::mem::forget(daemon);
    ensure_eq!(libc::WTERMSIG(status_word), libc::SIGTERM);
    // start-stop-daemon leaves the pid file; both tools then agree it is dead.
    let out = run(Command::new(SSD)
        .arg("--status")
        .arg("--pidfile")
        .arg(&pid_file));
    ensure_eq!(
        out.status.code(),
        Some(1),
        "--status after stop: {}",
        describe(&out)
    );
    ensure_eq!(status(&pid_file).status.code(), Some(1));
    no_process_left()
}

/// A child of the program inherited the lock: the stop ends the daemon, says that the pid
/// file is left, and status then reports an unidentified holder.
pub fn tool_stop_leaves_a_file_still_locked() -> TestResult {
    needs_tool(&["tool-control"])?;
    let dir = TempDir::new("stop-inherited");
    let pid_file = dir.path("d.pid");
    let out = run(tool()
        .arg("-p")
        .arg(&pid_file)
        .args(["sh", "-c", "sleep 30 & exec sleep 30"]));
    ensure!(out.status.success(), "{}", describe(&out));
    let mut daemon = 0;
    ensure!(
        wait_until(|| {
            daemon = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .unwrap_or(0);
            daemon != 0 && comm(daemon).as_deref() == Some("sleep")
        }),
        "no daemon"
    );
    let out = stop(&pid_file, &[]);
    ensure_eq!(out.status.code(), Some(0), "{}", describe(&out));
    ensure_eq!(
        stderr_of(&out),
        format!(
            "rawdaemon: stop: {} is left: another process holds its lock now\n",
            pid_file.display()
        )
    );
    ensure_eq!(reap(daemon)? & 0x7f, libc::SIGTERM);
    ensure_eq!(status(&pid_file).status.code(), Some(4));
    // The background sleep, re-parented to us, still holds it.
    let left = children();
    ensure_eq!(left.len(), 1, "{left:?}");
    kill_and_reap(left[0]);
    Ok(())
}

/// The daemon died and its pid now belongs to an unrelated process (forced with
/// `ns_last_pid`): `--status` says dead and `--stop` signals nothing.
pub fn tool_stop_spares_a_recycled_pid() -> TestResult {
    needs_tool(&["tool-control"])?;
    needs_root()?;
    let dir = TempDir::new("recycled");
    let pid_file = dir.path("d.pid");
    let out = run(&mut sleeper(&pid_file));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    let pid = daemon.0;
    drop(daemon); // SIGKILL and reap: the pid is free, the pid file still names it
    // The next pid the kernel hands out is the dead daemon's.
    if std::fs::write("/proc/sys/kernel/ns_last_pid", format!("{}", pid - 1)).is_err() {
        return Err("skip: /proc/sys/kernel/ns_last_pid cannot be written here".into());
    }
    let stranger = stranger()?;
    if stranger.0 != pid {
        return Err(format!(
            "skip: the pid was not recycled (got {} for {pid}): another process took it",
            stranger.0
        ));
    }
    let out = status(&pid_file);
    ensure_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let out = stop(&pid_file, &["-t", "0"]);
    ensure_eq!(out.status.code(), Some(1), "{}", describe(&out));
    ensure!(
        alive(stranger.0),
        "the process that took the pid was signalled"
    );
    Ok(())
}

/// `--stop` racing the daemon's own exit, many times: it ends with 0 (stopped) or 1 (the
/// daemon was gone already), never with an error or a hang, and leaves nothing behind. (That
/// a pid recycled meanwhile is never hit is [`tool_stop_spares_a_recycled_pid`]'s proof.)
pub fn tool_stop_races_a_natural_exit() -> TestResult {
    needs_tool(&["tool-control"])?;
    let dir = TempDir::new("stop-race");
    let pid_file = dir.path("d.pid");
    for round in 0..20 {
        let delay = format!("0.0{}", round % 10);
        let out = run(tool().arg("-p").arg(&pid_file).args(["sleep", &delay]));
        ensure!(out.status.success(), "{}", describe(&out));
        let out = stop(&pid_file, &["-t", "5"]);
        ensure!(
            matches!(out.status.code(), Some(0 | 1)),
            "round {round}: {}",
            describe(&out)
        );
        no_process_left()?;
        let _ = std::fs::remove_file(&pid_file);
    }
    Ok(())
}
