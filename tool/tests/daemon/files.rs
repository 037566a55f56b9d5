//! The files rawdaemon opens, writes and removes as root, against a hostile user: the pid file
//! the program inherits cannot be rewritten by it, log paths through links or files another
//! user planted are refused (also when the respawn supervisor reopens them on SIGHUP), a pid
//! file is removed only while it is still the one locked, and `--status`/`--stop` never hang
//! on a FIFO.

use std::fs;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::{ensure, ensure_eq};

/// The user a daemon drops to, and who owns the hostile directories.
const NOBODY: u32 = 65534;
/// Another unprivileged user, neither root nor the daemon's.
const STRANGER: u32 = 12345;

/// A directory owned by `uid` inside `dir` (mode 0755): a user's own place.
fn owned_dir(dir: &TempDir, name: &str, uid: u32) -> Result<std::path::PathBuf, String> {
    let path = dir.path(name);
    fs::create_dir(&path).map_err(|e| e.to_string())?;
    std::os::unix::fs::chown(&path, Some(uid), Some(uid)).map_err(|e| e.to_string())?;
    Ok(path)
}

/// A symbolic link `link -> target` owned by `uid`, as that user would plant it.
fn planted_link(target: &Path, link: &Path, uid: u32) -> TestResult {
    std::os::unix::fs::symlink(target, link).map_err(|e| e.to_string())?;
    std::os::unix::fs::lchown(link, Some(uid), Some(uid)).map_err(|e| e.to_string())
}

/// root's file that must never be written.
fn secret(dir: &TempDir) -> Result<std::path::PathBuf, String> {
    let secret = dir.path("secret");
    fs::write(&secret, "root's secret\n").map_err(|e| e.to_string())?;
    Ok(secret)
}

/// `rawdaemon -u nobody -p PID -o LOG sleep 30` (without `-u` in a build without it: root
/// opens the log either way).
fn as_nobody(pid_file: &Path, log: &Path) -> std::process::Command {
    let mut cmd = tool();
    if needs_tool(&["tool-privileges"]).is_ok() {
        cmd.args(["-u", "nobody"]);
    }
    cmd.arg("-p")
        .arg(pid_file)
        .arg("-o")
        .arg(log)
        .args(["sleep", "30"]);
    cmd
}

/// Defect: PROGRAM inherited the pid file read-write and could write any pid into root's pid
/// file. Now the program gets the lock's read-only descriptor (and holds the lock through it):
/// writes through it, or by reopening it as `/proc/self/fd/N`, fail; the file still names the
/// daemon and `--status` finds it running. As root without `-u`, no write descriptor of the
/// pid file reaches the program either. The lock of a daemon-mode start carries O_NOATIME.
pub fn tool_program_cannot_rewrite_its_pid_file() -> TestResult {
    needs_root()?;
    needs_tool(&["tool-control", "tool-privileges"])?;
    let dir = TempDir::new("pid-readonly");
    let pid_file = dir.path("a.pid");
    // Through each inherited descriptor; as nobody also by reopening it through /proc (root
    // could open the path itself anyway).
    let script = |reopen: &str| {
        format!(
            "for n in 3 4 5 6 7 8 9; do printf '1\\n' >&$n; {reopen} done 2>/dev/null; \
             : > /tmp/.rawdaemon-tried-$$; exec sleep 600"
        )
    };
    for user in [Some("nobody"), None] {
        let script = match user {
            Some(_) => script("printf '1\\n' >/proc/self/fd/$n;"),
            None => script(""),
        };
        let mut cmd = tool();
        if let Some(user) = user {
            cmd.args(["-u", user]);
        }
        cmd.arg("-p").arg(&pid_file).args(["sh", "-c", &script]);
        let out = try_run(&mut cmd)?;
        ensure!(out.status.success(), "{user:?}: {}", describe(&out));
        let daemon = the_daemon()?;
        let tried = format!("/tmp/.rawdaemon-tried-{}", daemon.0);
        ensure!(
            wait_until(|| Path::new(&tried).exists()),
            "{user:?}: the program never got past its writes"
        );
        let _ = fs::remove_file(&tried);
        ensure!(
            wait_until(|| comm(daemon.0).as_deref() == Some("sleep")),
            "{user:?}: the program never executed sleep"
        );
        ensure_eq!(
            read_text(&pid_file)?,
            format!("{}\n", daemon.0),
            "{user:?}: the pid file names the daemon"
        );
        let on_pid_file = fds_on(daemon.0, &pid_file)?;
        ensure_eq!(on_pid_file.len(), 1, "{user:?}: {on_pid_file:?}");
        let (_, flags) = on_pid_file[0];
        ensure_eq!(
            flags & 0o3,
            0,
            "{user:?}: the program's descriptor is read-only ({flags:o})"
        );
        ensure!(
            flags & DAEMON_MARK != 0,
            "{user:?}: a daemon-mode lock carries O_NOATIME ({flags:o})"
        );
        let status = status(&pid_file);
        ensure_eq!(
            status.status.code(),
            Some(0),
            "{user:?}: the program holds the lock: {}",
            describe(&status)
        );
        let printed = String::from_utf8_lossy(&status.stdout).trim().to_string();
        ensure_eq!(printed, daemon.0.to_string());
        drop(daemon);
        ensure!(
            wait_until(|| !is_locked(&pid_file).unwrap_or(true)),
            "lock outlived the program"
        );
    }
    Ok(())
}

/// In foreground mode the program also gets only the read-only lock descriptor, without the
/// daemon-mode flag.
pub fn tool_foreground_lock_is_read_only_without_daemon_flag() -> TestResult {
    let dir = TempDir::new("pid-foreground");
    let pid_file = dir.path("f.pid");
    let child = tool()
        .arg("-f")
        .arg("-p")
        .arg(&pid_file)
        .args(["sleep", "600"])
        .stdin(std::process::Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let guard = Guard(child.id() as i32);
    ensure_eq!(read_pid(&pid_file)?, guard.0);
    ensure!(
        wait_until(|| comm(guard.0).as_deref() == Some("sleep")),
        "never executed sleep"
    );
    let on_pid_file = fds_on(guard.0, &pid_file)?;
    ensure_eq!(on_pid_file.len(), 1, "{on_pid_file:?}");
    let (_, flags) = on_pid_file[0];
    ensure_eq!(flags & 0o3, 0, "read-only ({flags:o})");
    ensure_eq!(flags & DAEMON_MARK, 0, "no daemon-mode flag ({flags:o})");
    Ok(())
}

/// The log path is a symbolic link a user planted in a directory of theirs, to root's file:
/// refused, the file untouched, nothing left behind.
pub fn fail_log_is_a_planted_symlink() -> TestResult {
    needs_root()?;
    let dir = TempDir::new("log-symlink");
    let secret = secret(&dir)?;
    let theirs = owned_dir(&dir, "L", NOBODY)?;
    let log = theirs.join("out.log");
    planted_link(&secret, &log, NOBODY)?;
    let pid_file = dir.path("a.pid");
    expect_failure(
        &mut as_nobody(&pid_file, &log),
        1,
        &format!(
            "rawdaemon: open stdout {}: a symbolic link: not followed",
            log.display()
        ),
        Some(&pid_file),
    )?;
    ensure_eq!(read_text(&secret)?, "root's secret\n");
    ensure!(fs::symlink_metadata(&log).is_ok(), "their link was removed");
    Ok(())
}

/// A directory on the log's path is a symbolic link another user owns, to root's directory:
/// refused (it could lead anywhere), nothing created there.
pub fn fail_log_through_a_foreign_directory_link() -> TestResult {
    needs_root()?;
    let dir = TempDir::new("log-dirlink");
    let roots = dir.path("root-only");
    fs::create_dir(&roots).map_err(|e| e.to_string())?;
    let theirs = owned_dir(&dir, "x", NOBODY)?;
    planted_link(&roots, &theirs.join("L"), NOBODY)?;
    let log = theirs.join("L/out.log");
    let pid_file = dir.path("a.pid");
    expect_failure(
        &mut as_nobody(&pid_file, &log),
        1,
        &format!(
            "rawdaemon: open stdout {}: a symbolic link owned by another user is on the \
             path: not followed",
            log.display()
        ),
        Some(&pid_file),
    )?;
    ensure!(
        !roots.join("out.log").exists(),
        "a log was created in root's directory"
    );
    Ok(())
}

/// The log is a hard link to root's file, or a file a third user owns: refused, untouched.
pub fn fail_log_hard_link_or_foreign_file() -> TestResult {
    needs_root()?;
    let dir = TempDir::new("log-foreign");
    let secret = secret(&dir)?;
    let theirs = owned_dir(&dir, "L", NOBODY)?;
    let pid_file = dir.path("a.pid");
    let log = theirs.join("out.log");
    fs::hard_link(&secret, &log).map_err(|e| e.to_string())?;
    expect_failure(
        &mut as_nobody(&pid_file, &log),
        1,
        &format!(
            "rawdaemon: open stdout {}: has other hard links: not written",
            log.display()
        ),
        Some(&pid_file),
    )?;
    ensure_eq!(read_text(&secret)?, "root's secret\n");
    fs::remove_file(&log).map_err(|e| e.to_string())?;
    fs::write(&log, "theirs\n").map_err(|e| e.to_string())?;
    std::os::unix::fs::chown(&log, Some(STRANGER), Some(STRANGER)).map_err(|e| e.to_string())?;
    expect_failure(
        &mut as_nobody(&pid_file, &log),
        1,
        &format!(
            "rawdaemon: open stdout {}: owned by another user: not written",
            log.display()
        ),
        Some(&pid_file),
    )?;
    ensure_eq!(read_text(&log)?, "theirs\n");
    ensure_eq!(
        fs::metadata(&log).map_err(|e| e.to_string())?.uid(),
        STRANGER
    );
    Ok(())
}

/// A FIFO planted as the log with nobody reading it: the open does not wait for a reader (it
/// would hang root's start forever); it is refused at once (ENXIO).
pub fn fail_log_is_a_fifo_without_reader() -> TestResult {
    needs_root()?;
    let dir = TempDir::new("log-fifo");
    let theirs = owned_dir(&dir, "L", NOBODY)?;
    let fifo = theirs.join("out.log");
    // SAFETY: a NUL-terminated path.
    let r = unsafe { libc::mkfifo(cstring(&fifo).as_ptr(), 0o666) };
    ensure_eq!(r, 0, "mkfifo");
    std::os::unix::fs::chown(&fifo, Some(NOBODY), Some(NOBODY)).map_err(|e| e.to_string())?;
    let pid_file = dir.path("a.pid");
    let started = Instant::now();
    let mut cmd = tool();
    cmd.arg("-p")
        .arg(&pid_file)
        .arg("-o")
        .arg(&fifo)
        .args(["sleep", "30"]);
    // Opened without blocking: with no reader, ENXIO at once.
    expect_failure(
        &mut cmd,
        1,
        &format!(
            "rawdaemon: open stdout {}: No such device or address",
            fifo.display()
        ),
        Some(&pid_file),
    )?;
    ensure!(
        started.elapsed() < Duration::from_secs(10),
        "the start waited for a reader"
    );
    ensure!(fifo.exists(), "the FIFO was removed");
    Ok(())
}

/// What keeps working: a root-owned link to a directory on the path (as /var/run -> /run), an
/// existing log owned by the daemon's user, relative paths in foreground mode.
pub fn tool_log_paths_that_stay_allowed() -> TestResult {
    needs_root()?;
    needs_tool(&["tool-privileges"])?;
    let dir = TempDir::new("log-allowed");
    let real = dir.path("run");
    fs::create_dir(&real).map_err(|e| e.to_string())?;
    std::os::unix::fs::symlink("run", dir.path("var-run")).map_err(|e| e.to_string())?;
    let theirs = owned_dir(&dir, "L", NOBODY)?;
    let log = theirs.join("out.log");
    fs::write(&log, "before\n").map_err(|e| e.to_string())?;
    std::os::unix::fs::chown(&log, Some(NOBODY), Some(NOBODY)).map_err(|e| e.to_string())?;
    let pid_file = dir.path("var-run/a.pid");
    let mut cmd = tool();
    cmd.args(["-u", "nobody", "-p"])
        .arg(&pid_file)
        .arg("-o")
        .arg(&log)
        .arg("-e")
        .arg(dir.path("var-run/err.log"))
        .args(["sh", "-c", "echo out; echo err >&2; exec sleep 600"]);
    let out = try_run(&mut cmd)?;
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    ensure!(
        wait_until(|| read_text(&log).is_ok_and(|t| t == "before\nout\n")),
        "log: {:?}",
        read_text(&log)
    );
    ensure!(
        wait_until(|| read_text(&real.join("err.log")).is_ok_and(|t| t == "err\n")),
        "err.log: {:?}",
        read_text(&real.join("err.log"))
    );
    ensure_eq!(read_pid(&real.join("a.pid"))?, daemon.0);
    drop(daemon);
    // Relative paths in foreground mode, after a chdir elsewhere.
    let mut cmd = tool();
    cmd.current_dir(&real).args([
        "-f", "-p", "rel.pid", "-o", "rel.log", "-c", "/", "sh", "-c", "echo rel",
    ]);
    let out = try_run(&mut cmd)?;
    ensure!(out.status.success(), "{}", describe(&out));
    ensure_eq!(read_text(&real.join("rel.log"))?, "rel\n");
    ensure!(real.join("rel.pid").exists(), "relative pid file");
    Ok(())
}

/// `-R -o LOG`: logrotate moves the log away and (as root) sends SIGHUP; meanwhile the user
/// who owns the log's directory plants a symbolic link to root's file at the log's path.
/// The supervisor refuses to follow it: it keeps writing to the file it had open (the rotated
/// one), root's file is untouched, and it goes on supervising.
pub fn tool_respawn_hup_refuses_a_planted_log_link() -> TestResult {
    needs_root()?;
    needs_tool(&["tool-control", "tool-respawn", "tool-privileges"])?;
    let dir = TempDir::new("respawn-hup-link");
    let secret = secret(&dir)?;
    let theirs = owned_dir(&dir, "L", NOBODY)?;
    let log = theirs.join("out.log");
    let pid_file = dir.path("a.pid");
    let mut cmd = tool();
    cmd.args(["-R", "-u", "nobody", "-p"])
        .arg(&pid_file)
        .arg("-o")
        .arg(&log)
        .args(["sh", "-c", "while :; do echo tick; sleep 0.05; done"]);
    let out = try_run(&mut cmd)?;
    ensure!(out.status.success(), "{}", describe(&out));
    let supervisor = the_daemon()?;
    ensure!(
        wait_until(|| read_text(&log).is_ok_and(|t| t.contains("tick"))),
        "log: {:?}",
        read_text(&log)
    );
    let rotated = theirs.join("out.log.1");
    fs::rename(&log, &rotated).map_err(|e| e.to_string())?;
    planted_link(&secret, &log, NOBODY)?;
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(supervisor.0, libc::SIGHUP) };
    let grown = read_text(&rotated)?.len();
    ensure!(
        wait_until(|| read_text(&rotated).is_ok_and(|t| t.len() > grown + 20)),
        "the rotated log stopped growing"
    );
    ensure_eq!(read_text(&secret)?, "root's secret\n");
    ensure!(alive(supervisor.0), "the supervisor ended");
    ensure!(
        fs::symlink_metadata(&log).is_ok_and(|m| m.file_type().is_symlink()),
        "the planted link was replaced"
    );
    let stop = stop(&pid_file, &[]);
    ensure_eq!(stop.status.code(), Some(0), "{}", describe(&stop));
    std::mem::forget(supervisor);
    // The loop's last `sleep 0.05` ends on its own.
    no_process_left()
}

/// Two instances on one pid path: the first's file removed by hand, a second instance starts
/// with a new file there; when the first (a respawn supervisor) ends, it must not remove the
/// second's pid file.
pub fn tool_respawn_end_spares_another_pid_file() -> TestResult {
    needs_tool(&["tool-respawn", "tool-control"])?;
    let dir = TempDir::new("respawn-other-pid");
    let pid_file = dir.path("a.pid");
    let out = try_run(
        tool()
            .arg("-R")
            .arg("-p")
            .arg(&pid_file)
            .args(["sleep", "600"]),
    )?;
    ensure!(out.status.success(), "{}", describe(&out));
    let first = the_daemon()?;
    ensure_eq!(read_pid(&pid_file)?, first.0);
    fs::remove_file(&pid_file).map_err(|e| e.to_string())?;
    let out = try_run(tool().arg("-p").arg(&pid_file).args(["sleep", "600"]))?;
    ensure!(out.status.success(), "{}", describe(&out));
    let second = read_pid(&pid_file)?;
    let second = Guard(second);
    ensure!(second.0 != first.0, "a second daemon");
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(first.0, libc::SIGTERM) };
    let mut status = 0;
    // SAFETY: waits for one pid, our own child.
    let r = unsafe { libc::waitpid(first.0, &mut status, 0) };
    ensure_eq!(r, first.0, "the first supervisor ended");
    std::mem::forget(first);
    ensure_eq!(
        read_text(&pid_file)?,
        format!("{}\n", second.0),
        "the second instance's pid file"
    );
    let status = crate::common::status(&pid_file);
    ensure_eq!(status.status.code(), Some(0), "{}", describe(&status));
    drop(second);
    reap_zombies();
    for pid in children() {
        kill_and_reap(pid);
    }
    Ok(())
}

/// `--status` and `--stop` on a FIFO at the pid path return at once with an error (a start
/// already refused it), instead of waiting forever for a writer.
pub fn fail_status_and_stop_on_a_fifo() -> TestResult {
    needs_tool(&["tool-control"])?;
    let dir = TempDir::new("control-fifo");
    let fifo = dir.path("a.pid");
    // SAFETY: a NUL-terminated path.
    let r = unsafe { libc::mkfifo(cstring(&fifo).as_ptr(), 0o644) };
    ensure_eq!(r, 0, "mkfifo");
    let started = Instant::now();
    let status = try_run(tool().arg("--status").arg("-p").arg(&fifo))?;
    ensure_eq!(status.status.code(), Some(4), "{}", describe(&status));
    ensure_eq!(
        stderr_of(&status),
        format!("rawdaemon: status {}: not a regular file\n", fifo.display())
    );
    let stop = try_run(tool().arg("--stop").arg("-p").arg(&fifo))?;
    ensure_eq!(stop.status.code(), Some(1), "{}", describe(&stop));
    ensure_eq!(
        stderr_of(&stop),
        format!("rawdaemon: status {}: not a regular file\n", fifo.display())
    );
    ensure!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    ensure!(fifo.exists(), "the FIFO was removed");
    Ok(())
}

/// The pid file's directory reached through a symbolic link another user owns: the start,
/// `--status` and `--stop` refuse it (nothing is created, read or removed through it).
pub fn fail_pid_file_through_a_foreign_directory_link() -> TestResult {
    needs_root()?;
    needs_tool(&["tool-control"])?;
    let dir = TempDir::new("pid-dirlink");
    let roots = dir.path("root-only");
    fs::create_dir(&roots).map_err(|e| e.to_string())?;
    let theirs = owned_dir(&dir, "x", NOBODY)?;
    planted_link(&roots, &theirs.join("L"), NOBODY)?;
    let pid_file = theirs.join("L/a.pid");
    let refusal = "a symbolic link owned by another user is on the path: not followed";
    expect_failure(
        tool().arg("-p").arg(&pid_file).args(["sleep", "30"]),
        1,
        &format!("rawdaemon: pid file {}: {refusal}", pid_file.display()),
        None,
    )?;
    ensure!(
        !roots.join("a.pid").exists(),
        "a pid file was created in root's directory"
    );
    // A stale file of root's there: neither reported nor removed through their link.
    fs::write(roots.join("a.pid"), "999999\n").map_err(|e| e.to_string())?;
    let status = status(&pid_file);
    ensure_eq!(status.status.code(), Some(4), "{}", describe(&status));
    ensure_eq!(
        stderr_of(&status),
        format!("rawdaemon: status {}: {refusal}\n", pid_file.display())
    );
    let stop = stop(&pid_file, &[]);
    ensure_eq!(stop.status.code(), Some(1), "{}", describe(&stop));
    ensure_eq!(read_text(&roots.join("a.pid"))?, "999999\n");
    Ok(())
}

/// `--status`, `--stop` and `--signal` trust only a pid file of this user's with no other
/// hard link, as a start does: another user's file, naming and locked by a root process of
/// their choosing (a cron job's lock file, say), or a hard link to it, is refused and
/// nothing is signalled.
pub fn fail_control_on_another_users_pid_file() -> TestResult {
    needs_root()?;
    needs_tool(&["tool-control"])?;
    let dir = TempDir::new("foreign-pidfile");
    let shared = dir.path("shared");
    fs::create_dir(&shared).map_err(|e| e.to_string())?;
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).map_err(|e| e.to_string())?;
    // A root job holding the lock of a file the stranger owns.
    let job_lock = shared.join("job.lock");
    fs::write(&job_lock, "").map_err(|e| e.to_string())?;
    std::os::unix::fs::chown(&job_lock, Some(STRANGER), Some(STRANGER))
        .map_err(|e| e.to_string())?;
    let job = lock_holder(&job_lock)?;
    fs::write(&job_lock, format!("{}\n", job.0)).map_err(|e| e.to_string())?;
    let linked = shared.join("app.pid");
    fs::hard_link(&job_lock, &linked).map_err(|e| e.to_string())?;
    for pid_file in [&job_lock, &linked] {
        let out = status(pid_file);
        ensure_eq!(out.status.code(), Some(4), "{}", describe(&out));
        ensure_eq!(
            stderr_of(&out),
            format!(
                "rawdaemon: status {}: another user's file, or one with other hard links: not \
                 trusted\n",
                pid_file.display()
            )
        );
        let out = stop(pid_file, &["-t", "0"]);
        ensure_eq!(out.status.code(), Some(1), "{}", describe(&out));
        let out = try_run(tool().args(["--signal", "HUP", "-p"]).arg(pid_file))?;
        ensure!(out.status.code() != Some(0), "{}", describe(&out));
        ensure!(
            alive(job.0),
            "the root job was signalled through {}",
            pid_file.display()
        );
    }
    drop(job);
    reap_zombies();
    for pid in children() {
        kill_and_reap(pid);
    }
    Ok(())
}

/// A pid file in a directory another user may write (theirs, or open to all without the
/// sticky bit) is refused: they could replace it with one naming any pid, for
/// `kill $(cat PIDFILE)` and logrotate to signal. A sticky directory such as `/tmp` is fine;
/// a new pid file is readable by its owner and group only (no other user can lock it).
pub fn fail_pid_file_in_a_directory_another_user_may_write() -> TestResult {
    needs_root()?;
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("open-dir");
    let theirs = owned_dir(&dir, "theirs", NOBODY)?;
    let open = dir.path("open");
    fs::create_dir(&open).map_err(|e| e.to_string())?;
    fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).map_err(|e| e.to_string())?;
    for place in [&theirs, &open] {
        let pid_file = place.join("d.pid");
        expect_failure(
            tool().arg("-p").arg(&pid_file).args(["sleep", "30"]),
            1,
            &format!(
                "rawdaemon: pid file {}: its directory can be written by another user, who \
                 could replace it",
                pid_file.display()
            ),
            Some(&pid_file),
        )?;
    }
    let sticky = dir.path("sticky");
    fs::create_dir(&sticky).map_err(|e| e.to_string())?;
    fs::set_permissions(&sticky, fs::Permissions::from_mode(0o1777)).map_err(|e| e.to_string())?;
    let pid_file = sticky.join("d.pid");
    let out = try_run(tool().arg("-p").arg(&pid_file).args(["sleep", "30"]))?;
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    ensure_eq!(read_pid(&pid_file)?, daemon.0);
    let mode = fs::metadata(&pid_file).map_err(|e| e.to_string())?.mode() & 0o777;
    ensure_eq!(mode & 0o007, 0, "others may open the pid file: {mode:o}");
    Ok(())
}

/// The program turns its exclusive lock into a shared one (`flock -s` on the descriptor it
/// inherited): the daemon still counts as running, and a second start is still refused.
pub fn tool_shared_lock_still_counts() -> TestResult {
    needs_tool(&["tool-control"])?;
    let dir = TempDir::new("shared-lock");
    let pid_file = dir.path("d.pid");
    let script = "for n in 3 4 5 6 7 8 9; do flock -s -n $n 2>/dev/null; done; exec sleep 30";
    let out = try_run(tool().arg("-p").arg(&pid_file).args(["sh", "-c", script]))?;
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    ensure!(
        wait_until(|| comm(daemon.0).as_deref() == Some("sleep")),
        "never reached sleep"
    );
    let held = fds_on(daemon.0, &pid_file)?;
    ensure!(
        !held.is_empty(),
        "the program holds no descriptor of the pid file"
    );
    let out = status(&pid_file);
    ensure_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let out = try_run(tool().arg("-p").arg(&pid_file).args(["sleep", "30"]))?;
    ensure_eq!(out.status.code(), Some(1), "{}", describe(&out));
    Ok(())
}

/// A FIFO (or device) log may be owned by root or the launching user only, not by the
/// daemon's user, who could hold it open without reading and block a respawn supervisor.
pub fn fail_log_fifo_of_the_daemons_user() -> TestResult {
    needs_root()?;
    needs_tool(&["tool-privileges"])?;
    let dir = TempDir::new("user-fifo");
    let log = dir.path("out.log");
    let c = cstring(&log);
    // SAFETY: a valid path.
    ensure!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) } == 0, "mkfifo");
    std::os::unix::fs::chown(&log, Some(NOBODY), Some(NOBODY)).map_err(|e| e.to_string())?;
    // A reader, so that opening it for writing does not fail with ENXIO first.
    let _reader = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&log)
        .map_err(|e| e.to_string())?;
    let pid_file = dir.path("d.pid");
    expect_failure(
        &mut as_nobody(&pid_file, &log),
        1,
        &format!(
            "rawdaemon: open stdout {}: owned by another user: not written",
            log.display()
        ),
        Some(&pid_file),
    )
}

/// A stale pid file from before pid files were private (0644) is made 0640 when a start
/// reuses it: no other user can open it again, and so none can lock it once the daemon is
/// gone.
pub fn tool_reused_pid_file_is_made_private() -> TestResult {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("reused-mode");
    let pid_file = dir.path("d.pid");
    fs::write(&pid_file, "999999\n").map_err(|e| e.to_string())?;
    fs::set_permissions(&pid_file, fs::Permissions::from_mode(0o644)).map_err(|e| e.to_string())?;
    let out = try_run(tool().arg("-p").arg(&pid_file).args(["sleep", "30"]))?;
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    ensure_eq!(read_pid(&pid_file)?, daemon.0);
    let mode = fs::metadata(&pid_file).map_err(|e| e.to_string())?.mode() & 0o777;
    ensure_eq!(mode, 0o640, "mode {mode:o}");
    Ok(())
}
