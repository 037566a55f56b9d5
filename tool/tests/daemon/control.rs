//! `--stop` and `--status`: the daemon is found by its pid file's lock, signalled through a
//! pidfd, and a pid file that names a stranger never gets that stranger signalled. Also
//! Debian's `start-stop-daemon` on a daemon the tool started.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::*;
use crate::{ensure, ensure_eq};

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
    // Named: flock(1), or the sleep it started with the descriptor (this user's processes,
    // whoever runs the test).
    let named = stderr_of(&out);
    let named = named
        .strip_prefix(&format!(
            "rawdaemon: status {}: locked by pid ",
            pid_file.display()
        ))
        .and_then(|rest| rest.strip_suffix(", not by the pid written in it\n"))
        .and_then(|pid| pid.parse::<i32>().ok());
    ensure!(
        named.is_some_and(|pid| pid == holder.0 || stat(pid).is_ok_and(|s| s.ppid == holder.0)),
        "{}",
        describe(&out)
    );
    let out = stop(&pid_file, &["-t", "0"]);
    ensure_eq!(out.status.code(), Some(1), "{}", describe(&out));
    // The refusal names the holder too.
    let refused = stderr_of(&out);
    let refused = refused
        .strip_prefix(&format!(
            "rawdaemon: stop {}: locked by pid ",
            pid_file.display()
        ))
        .and_then(|rest| {
            rest.strip_suffix(", which it cannot prove the start created: nothing signalled\n")
        })
        .and_then(|pid| pid.parse::<i32>().ok());
    ensure!(
        refused.is_some_and(|pid| pid == holder.0 || stat(pid).is_ok_and(|s| s.ppid == holder.0)),
        "{}",
        describe(&out)
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
        "rawdaemon: --stop, --status and --signal need -p PIDFILE (try --help)\n"
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
    let (out, done, status_word) = ssd_stop(&pid_file, "5", daemon.0)?;
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

// ---------------------------------------------------------------------------------------
// The whole service: what the program started, and nothing else

/// The `flags:` (octal) of `pid`'s descriptor of `path` that carries the exclusive lock.
fn lock_flags(pid: i32, path: &Path) -> Option<u32> {
    for (fd, target) in fds(pid).ok()? {
        if Path::new(&target) != path {
            continue;
        }
        let info = fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).ok()?;
        let locked = info
            .lines()
            .any(|l| l.starts_with("lock:") && l.contains("FLOCK") && l.contains("WRITE"));
        let flags = info.lines().find_map(|l| l.strip_prefix("flags:"))?;
        if locked {
            return u32::from_str_radix(flags.trim(), 8).ok();
        }
    }
    None
}

/// A daemon whose program forks (a child in the background, or a wrapper script waiting for
/// its child): `--stop` ends both, removes the pid file, and the next start succeeds.
pub fn tool_stop_ends_what_the_program_started() -> TestResult {
    needs_tool(&["tool-control"])?;
    let dir = TempDir::new("stop-service");
    let pid_file = dir.path("d.pid");
    for script in ["sleep 300 & exec sleep 1000", "sleep 300; echo done"] {
        let out = run(tool().arg("-p").arg(&pid_file).args(["sh", "-c", script]));
        ensure!(out.status.success(), "{script}: {}", describe(&out));
        let daemon = the_daemon()?;
        let mut child = 0;
        ensure!(
            wait_until(|| {
                child = children_of(daemon.0).first().copied().unwrap_or(0);
                child != 0 && comm(child).as_deref() == Some("sleep")
            }),
            "{script}: no child"
        );
        let out = stop(&pid_file, &["-t", "5"]);
        ensure_eq!(out.status.code(), Some(0), "{script}: {}", describe(&out));
        ensure!(out.stderr.is_empty(), "{script}: {}", describe(&out));
        ensure!(!pid_file.exists(), "{script}: pid file left behind");
        std::mem::forget(daemon);
        no_process_left()?;
        let out = status(&pid_file);
        ensure_eq!(out.status.code(), Some(3), "{script}: {}", describe(&out));
        let out = run(&mut sleeper(&pid_file));
        ensure!(
            out.status.success(),
            "{script}: next start: {}",
            describe(&out)
        );
        let _next = the_daemon()?;
        let out = stop(&pid_file, &[]);
        ensure_eq!(out.status.code(), Some(0), "{script}: {}", describe(&out));
        std::mem::forget(_next);
        no_process_left()?;
    }
    Ok(())
}

/// The daemon died and left a child holding the lock: a start is refused naming that child
/// (not the dead pid written in the file), and `--status` names it too. With the daemon-mode
/// mark on the lock, `--stop` ends the child (status 1 before); without it (a start that did
/// not mark its lock) status is 4 and stop refuses.
pub fn tool_refusal_names_the_real_holder() -> TestResult {
    needs_tool(&["tool-control"])?;
    let dir = TempDir::new("refusal");
    let pid_file = dir.path("d.pid");
    let (daemon, child) = daemon_with_child(&pid_file)?;
    let flags = lock_flags(child, &pid_file).ok_or("the child holds no lock")?;
    ensure!(
        flags & DAEMON_MARK != 0,
        "a daemon-mode lock without the mark: {flags:o}"
    );
    let dead = daemon.0;
    drop(daemon); // SIGKILL and reap: the child (re-parented to us) holds the lock alone
    let holder = Guard(child);
    let out = run(&mut sleeper(&pid_file));
    ensure_eq!(out.status.code(), Some(1), "{}", describe(&out));
    ensure_eq!(
        stderr_of(&out),
        format!(
            "rawdaemon: pid file {}: locked by running pid {child}\n",
            pid_file.display()
        ),
        "(the file names {dead})"
    );
    let out = status(&pid_file);
    let p = pid_file.display();
    ensure_eq!(out.status.code(), Some(1), "{}", describe(&out));
    ensure_eq!(
        stderr_of(&out),
        format!(
            "rawdaemon: status {p}: the daemon is gone, but pid {child} it started still \
             holds its lock (--stop ends it)\n"
        )
    );
    let out = stop(&pid_file, &["-t", "5"]);
    ensure_eq!(out.status.code(), Some(0), "{}", describe(&out));
    ensure!(!pid_file.exists(), "pid file left behind");
    std::mem::forget(holder);
    no_process_left()
}

/// A stand-in for a start, with its lock and session made by hand: a new session whose first
/// process holds the pid file's lock through a descriptor opened with `O_NOATIME` and the
/// session recorded (`mark`, as a daemon-mode start does) or neither, and runs `script` (its
/// pid is the one in the file).
fn session_daemon(pid_file: &Path, mark: bool, script: &str) -> Result<Guard, String> {
    use std::os::unix::process::CommandExt;
    fs::write(pid_file, "").map_err(|e| e.to_string())?;
    let path = cstring(pid_file);
    let flags = libc::O_RDONLY | if mark { libc::O_NOATIME } else { 0 };
    let mut cmd = Command::new("sh");
    cmd.args(["-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let fd = libc::open(path.as_ptr(), flags);
            if libc::setsid() < 0
                || fd < 0
                || libc::flock(fd, libc::LOCK_EX | libc::LOCK_NB) != 0
                || libc::dup2(fd, 3) != 3
            {
                return Err(std::io::Error::last_os_error());
            }
            if fd != 3 {
                libc::close(fd);
            }
            Ok(())
        });
    }
    let child = cmd.spawn().map_err(|e| e.to_string())?;
    let main = Guard(child.id() as i32);
    fs::write(pid_file, format!("{}\n", main.0)).map_err(|e| e.to_string())?;
    if mark {
        // As a daemon-mode start records its session: in the modification time's
        // nanoseconds (the session is main's own, made by setsid above).
        set_mtime(pid_file, 1_700_000_000, main.0.into())?;
    }
    Ok(main)
}

/// The daemon-mode mark on the lock: `--stop` also ends a process of the daemon's session
/// that closed its descriptor of the lock.
pub fn tool_stop_ends_the_marked_session() -> TestResult {
    needs_tool(&["tool-control"])?;
    let dir = TempDir::new("stop-session");
    let pid_file = dir.path("d.pid");
    let main = session_daemon(&pid_file, true, "sleep 300 3<&- & exec sleep 1000")?;
    let mut child = 0;
    ensure!(
        wait_until(|| {
            child = children_of(main.0).first().copied().unwrap_or(0);
            child != 0
                && comm(child).as_deref() == Some("sleep")
                && comm(main.0).as_deref() == Some("sleep")
        }),
        "no child"
    );
    ensure_eq!(
        lock_flags(child, &pid_file),
        None,
        "the child closed the lock"
    );
    ensure_eq!(stat(child)?.session, main.0);
    let out = stop(&pid_file, &["-t", "5"]);
    ensure_eq!(out.status.code(), Some(0), "{}", describe(&out));
    ensure!(!pid_file.exists(), "pid file left behind");
    std::mem::forget(main);
    no_process_left()?;

    // The daemon died, a child it started holds the marked lock: status 1 names the child,
    // --signal finds no daemon to signal, and --stop ends the child.
    let main = session_daemon(&pid_file, true, "sleep 300 & exec sleep 1000")?;
    let mut child = 0;
    ensure!(
        wait_until(|| {
            child = children_of(main.0).first().copied().unwrap_or(0);
            child != 0 && lock_flags(child, &pid_file).is_some_and(|f| f & DAEMON_MARK != 0)
        }),
        "no child holding the marked lock"
    );
    drop(main);
    let child = Guard(child);
    let out = status(&pid_file);
    ensure_eq!(out.status.code(), Some(1), "{}", describe(&out));
    ensure_eq!(
        stderr_of(&out),
        format!(
            "rawdaemon: status {}: the daemon is gone, but pid {} it started still holds its \
             lock (--stop ends it)\n",
            pid_file.display(),
            child.0
        )
    );
    let out = signal(&pid_file, "HUP");
    ensure_eq!(out.status.code(), Some(3), "{}", describe(&out));
    ensure_eq!(
        stderr_of(&out),
        format!(
            "rawdaemon: signal {}: the daemon is gone, but a process it started still holds \
             its lock (--stop ends it)\n",
            pid_file.display()
        )
    );
    // Not running for --oknodo either: its start fails as without it, naming the holder.
    let out = run(tool()
        .arg("--oknodo")
        .arg("-p")
        .arg(&pid_file)
        .args(["sleep", "30"]));
    ensure_eq!(out.status.code(), Some(1), "{}", describe(&out));
    ensure!(
        !stderr_of(&out).contains("nothing to do")
            && stderr_of(&out).contains(&format!("pid {}", child.0)),
        "{}",
        describe(&out)
    );
    ensure_eq!(children(), vec![child.0], "a second daemon started");
    let out = run(tool()
        .args(["--oknodo", "--signal", "HUP", "-p"])
        .arg(&pid_file));
    ensure_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let out = stop(&pid_file, &["-t", "5"]);
    ensure_eq!(out.status.code(), Some(0), "{}", describe(&out));
    ensure!(!pid_file.exists(), "pid file left behind");
    std::mem::forget(child);
    no_process_left()
}

/// Without the mark (a foreground start, which shares its caller's session) the session is
/// never signalled: under `setsid sh -c` whose leader has exited, an unrelated `sleep` of that
/// session survives `--stop -t 0` of a foreground daemon that ignores TERM.
pub fn tool_stop_spares_the_foreground_session() -> TestResult {
    needs_tool(&["tool-control"])?;
    let dir = TempDir::new("stop-fg-session");
    let pid_file = dir.path("d.pid");
    let unrelated_file = dir.path("unrelated");
    let script = "sleep 600 & echo $! > \"$1\"; \
                  \"$2\" -f -p \"$3\" -- sh -c \"trap '' TERM; exec sleep 1000\" & exit 0";
    let mut leader = Command::new("setsid")
        .args(["sh", "-c", script, "sh"])
        .arg(&unrelated_file)
        .arg(tool().get_program())
        .arg(&pid_file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    leader.wait().map_err(|e| e.to_string())?;
    let unrelated = Guard(
        read_text(&unrelated_file)?
            .trim()
            .parse()
            .map_err(|_| "pid")?,
    );
    let daemon = Guard(read_pid(&pid_file)?);
    ensure!(
        wait_until(|| comm(daemon.0).as_deref() == Some("sleep")),
        "the daemon never exec'd sleep"
    );
    ensure_eq!(stat(unrelated.0)?.session, stat(daemon.0)?.session);
    let out = stop(&pid_file, &["-t", "0"]);
    ensure_eq!(out.status.code(), Some(0), "{}", describe(&out));
    ensure_eq!(
        stderr_of(&out),
        format!(
            "rawdaemon: stop: pid {} was still running after 0 s; sent SIGKILL\n",
            daemon.0
        )
    );
    ensure!(!pid_file.exists(), "pid file left behind");
    ensure!(alive(unrelated.0), "the unrelated process was killed");
    // The mark alone decides: the same session unmarked, with a process that closed the lock
    // and is not the daemon's descendant (its parent, a subshell, has exited: it is ours now).
    let main = session_daemon(&pid_file, false, "(sleep 300 3<&- &); exec sleep 1000")?;
    let mut child = 0;
    ensure!(
        wait_until(|| {
            child = children()
                .into_iter()
                .find(|&p| {
                    p != main.0
                        && comm(p).as_deref() == Some("sleep")
                        && stat(p).is_ok_and(|s| s.session == main.0)
                })
                .unwrap_or(0);
            child != 0 && comm(main.0).as_deref() == Some("sleep")
        }),
        "no child"
    );
    let child = Guard(child);
    let out = stop(&pid_file, &["-t", "5"]);
    ensure_eq!(out.status.code(), Some(0), "{}", describe(&out));
    ensure!(
        alive(child.0),
        "a process of an unmarked session was signalled"
    );
    std::mem::forget(main);
    drop(child);
    drop(unrelated);
    reap_zombies();
    no_process_left()
}

/// After the fall-back to SIGKILL the stop waits until every killed process is gone and the
/// lock released: the pid file is removed every time, and status then says not running.
pub fn tool_stop_after_kill_removes_the_pid_file() -> TestResult {
    needs_tool(&["tool-control"])?;
    let dir = TempDir::new("stop-kill-loop");
    let pid_file = dir.path("d.pid");
    for round in 0..10 {
        let out = run(tool().arg("-p").arg(&pid_file).args([
            "sh",
            "-c",
            "trap '' TERM; sleep 1000 & exec sleep 1001",
        ]));
        ensure!(out.status.success(), "round {round}: {}", describe(&out));
        let daemon = the_daemon()?;
        ensure!(
            wait_until(
                || comm(daemon.0).as_deref() == Some("sleep") && children_of(daemon.0).len() == 1
            ),
            "round {round}: not ready"
        );
        let out = stop(&pid_file, &["-t", "0"]);
        ensure_eq!(
            out.status.code(),
            Some(0),
            "round {round}: {}",
            describe(&out)
        );
        std::mem::forget(daemon);
        ensure!(!pid_file.exists(), "round {round}: pid file left behind");
        let out = status(&pid_file);
        ensure_eq!(
            out.status.code(),
            Some(3),
            "round {round}: {}",
            describe(&out)
        );
        no_process_left()?;
    }
    Ok(())
}

/// `rawdaemon --signal SIGNAL -p PIDFILE`.
fn signal(pid_file: &Path, sig: &str) -> std::process::Output {
    run(tool().arg("--signal").arg(sig).arg("-p").arg(pid_file))
}

/// `--signal` alone delivers one signal to the daemon and returns at once, without stopping
/// it: 0 delivered, 3 nothing running, 4 a holder that is not the daemon, 1 a failure; `-t`
/// without `--stop`, and `--signal` with a program or with `--status`, are usage errors.
pub fn tool_signal_without_stop() -> TestResult {
    needs_tool(&["tool-control"])?;
    let dir = TempDir::new("signal");
    let pid_file = dir.path("d.pid");
    let got = dir.path("got");
    let out = run(tool()
        .arg("-p")
        .arg(&pid_file)
        .args([
            "sh",
            "-c",
            "trap 'echo hup >> \"$0\"' HUP; while :; do sleep 0.02; done",
        ])
        .arg(&got));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    ensure!(wait_until(|| children_of(daemon.0).len() == 1), "no loop");
    let started = std::time::Instant::now();
    let out = signal(&pid_file, "HUP");
    ensure_eq!(out.status.code(), Some(0), "{}", describe(&out));
    ensure!(
        out.stderr.is_empty() && out.stdout.is_empty(),
        "{}",
        describe(&out)
    );
    ensure!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "--signal waited"
    );
    ensure!(
        wait_until(|| read_text(&got).is_ok_and(|t| t == "hup\n")),
        "no HUP"
    );
    let out = run(tool().args(["-s", "USR1", "-p"]).arg(&pid_file));
    ensure_eq!(out.status.code(), Some(0), "{}", describe(&out));
    // USR1 is not trapped: the default action ends the daemon, and nothing else happened.
    let status_word = reap(daemon.0)?;
    std::mem::forget(daemon);
    ensure_eq!(libc::WTERMSIG(status_word), libc::SIGUSR1);
    ensure_eq!(read_text(&got)?, "hup\n");
    reap_zombies();
    no_process_left()?;
    // The loop's last sleep is gone; the file is left (the daemon died) and nobody holds it.
    let out = signal(&pid_file, "HUP");
    ensure_eq!(out.status.code(), Some(3), "{}", describe(&out));
    ensure_eq!(
        stderr_of(&out),
        format!(
            "rawdaemon: signal {}: not running (no process holds its lock)\n",
            pid_file.display()
        )
    );
    fs::remove_file(&pid_file).map_err(|e| e.to_string())?;
    let out = signal(&pid_file, "HUP");
    ensure_eq!(out.status.code(), Some(3), "{}", describe(&out));
    // A lock held by a process that is not the pid written in the file: neither is signalled.
    let stranger = stranger()?;
    fs::write(&pid_file, format!("{}\n", stranger.0)).map_err(|e| e.to_string())?;
    let holder = lock_holder(&pid_file)?;
    let out = signal(&pid_file, "TERM");
    ensure_eq!(out.status.code(), Some(4), "{}", describe(&out));
    ensure!(
        alive(stranger.0) && alive(holder.0),
        "a process was signalled"
    );
    drop(holder);
    drop(stranger);
    reap_zombies();
    for pid in children() {
        kill_and_reap(pid);
    }
    // A failure: the pid file is a directory.
    let out = signal(&dir.0, "HUP");
    ensure_eq!(out.status.code(), Some(1), "{}", describe(&out));
    for (args, message) in [
        (
            &["-t", "5", "-p", "/x.pid"][..],
            "rawdaemon: --timeout needs --stop (try --help)\n",
        ),
        (
            &["--signal", "HUP", "-p", "/x.pid", "sleep", "1"][..],
            "rawdaemon: --stop, --status and --signal take no program: sleep (try --help)\n",
        ),
        (
            &["--status", "-s", "HUP", "-p", "/x.pid"][..],
            "rawdaemon: --signal cannot be used with --status (try --help)\n",
        ),
        (
            &["-s", "HUP"][..],
            "rawdaemon: --stop, --status and --signal need -p PIDFILE (try --help)\n",
        ),
    ] {
        let out = run(tool().args(args));
        ensure_eq!(out.status.code(), Some(2), "{args:?}: {}", describe(&out));
        ensure_eq!(stderr_of(&out), message, "{args:?}");
    }
    let help = String::from_utf8_lossy(&run(tool().arg("--help")).stdout).into_owned();
    ensure!(
        help.contains("\n       rawdaemon --signal SIGNAL -p PIDFILE [--oknodo]\n"),
        "--help: {help}"
    );
    no_process_left()
}

/// Debian's `start-stop-daemon --stop --retry TERM/5/KILL/5` on a daemon whose program forks:
/// it signals only the pid in the file, so the child stays with the lock. A start is then
/// refused naming that child, and with the daemon-mode mark on the lock `rawdaemon --stop`
/// ends it (status 1 before, 3 after) and the next start succeeds; without the mark status
/// names it (4).
pub fn start_stop_daemon_on_a_forking_daemon() -> TestResult {
    needs_tool(&["tool-control"])?;
    if !Path::new(SSD).exists() {
        return Err(format!("skip: {SSD} is not installed"));
    }
    let dir = TempDir::new("ssd-forking");
    let pid_file = dir.path("d.pid");
    let (daemon, child) = daemon_with_child(&pid_file)?;
    let child = Guard(child);
    let flags = lock_flags(child.0, &pid_file).ok_or("the child holds no lock")?;
    ensure!(
        flags & DAEMON_MARK != 0,
        "a daemon-mode lock without the mark: {flags:o}"
    );
    let (out, done, _) = ssd_stop(&pid_file, "TERM/5/KILL/5", daemon.0)?;
    ensure!(done, "start-stop-daemon did not end: {}", describe(&out));
    ensure_eq!(out.status.code(), Some(0), "--stop: {}", describe(&out));
    std::mem::forget(daemon);
    ensure!(
        alive(child.0),
        "start-stop-daemon knows only the pid in the file"
    );
    let out = run(&mut sleeper(&pid_file));
    ensure_eq!(out.status.code(), Some(1), "{}", describe(&out));
    ensure_eq!(
        stderr_of(&out),
        format!(
            "rawdaemon: pid file {}: locked by running pid {}\n",
            pid_file.display(),
            child.0
        )
    );
    let out = status(&pid_file);
    ensure_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let out = stop(&pid_file, &["-t", "5"]);
    ensure_eq!(out.status.code(), Some(0), "{}", describe(&out));
    std::mem::forget(child);
    no_process_left()?;
    ensure_eq!(status(&pid_file).status.code(), Some(3));
    let out = run(&mut sleeper(&pid_file));
    ensure!(out.status.success(), "next start: {}", describe(&out));
    let next = the_daemon()?;
    ensure_eq!(stop(&pid_file, &[]).status.code(), Some(0));
    std::mem::forget(next);
    no_process_left()
}

/// OpenRC's `openrc-run` drives the shipped script `examples/init/openrc/agent` (its state in
/// a private mount namespace, on a tmpfs over /run/openrc) for a program that forks: start,
/// status (started), stop `[ ok ]` with no process left, start again, stop.
pub fn openrc_runs_the_shipped_script() -> TestResult {
    needs_tool(&["tool-control"])?;
    needs_root()?;
    if !Path::new("/sbin/openrc-run").exists() {
        return Err("skip: /sbin/openrc-run is not installed (Debian package openrc)".into());
    }
    let dir = TempDir::new("openrc");
    for sub in ["init.d", "conf.d", "run"] {
        fs::create_dir(dir.path(sub)).map_err(|e| e.to_string())?;
    }
    let script = dir.path("init.d/agent");
    fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/init/openrc/agent"),
        &script,
    )
    .map_err(|e| e.to_string())?;
    let agent = dir.path("agent.sh");
    // The sleeps' arguments are this run's own (.PID, a fraction of a second), so that the
    // check for leftovers below sees no other run's (.ci/cross runs two suites at once).
    let mark = std::process::id();
    fs::write(
        &agent,
        format!("#!/bin/sh\nsleep 300.{mark} &\nexec sleep 1000.{mark}\n"),
    )
    .map_err(|e| e.to_string())?;
    use std::os::unix::fs::PermissionsExt;
    for f in [&script, &agent] {
        fs::set_permissions(f, fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
    }
    let pid_file = dir.path("run/agent.pid");
    // openrc-run reads conf.d beside the script's init.d.
    fs::write(
        dir.path("conf.d/agent"),
        format!(
            "rawdaemon={}\ncommand={}\ncommand_args=\ncommand_user=\npidfile={}\n\
             output_log=\nerror_log=\nstop_timeout=5\n",
            tool().get_program().to_string_lossy(),
            agent.display(),
            pid_file.display()
        ),
    )
    .map_err(|e| e.to_string())?;
    let steps = format!(
        "for d in started starting stopping inactive failed exclusive daemons options \
                 scheduled wasinactive hotplugged tmp; do mkdir -p /run/openrc/$d; done; \
                 echo default > /run/openrc/softlevel; \
                 \"$1\" start; echo \"start=$?\"; \"$1\" status; echo \"status=$?\"; \
                 \"$1\" stop; echo \"stop=$?\"; \
                 if pgrep -f '^sleep (300|1000)[.]{mark}$' >/dev/null; then echo left; else echo none; fi; \
                 \"$1\" start; echo \"start2=$?\"; \"$1\" stop; echo \"stop2=$?\""
    );
    let mut cmd = Command::new("sh");
    cmd.args(["-c", &steps, "sh"]).arg(&script);
    in_private_mounts(&mut cmd, || {
        // SAFETY: mount in the child only.
        let mounted = unsafe {
            libc::mount(
                c"none".as_ptr(),
                c"/run/openrc".as_ptr(),
                c"tmpfs".as_ptr(),
                0,
                std::ptr::null(),
            )
        };
        if mounted != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    });
    let out = try_run(&mut cmd)?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "start=0", "status=0", "stop=0", "\nnone\n", "start2=0", "stop2=0",
    ] {
        ensure!(text.contains(line), "no {line:?} in:\n{text}");
    }
    ensure!(
        text.matches("Stopping agent ... [ ok ]").count() == 2,
        "stop not [ ok ]:\n{text}"
    );
    ensure!(text.contains("status: started"), "{text}");
    ensure!(!pid_file.exists(), "pid file left behind");
    no_process_left()
}

/// PROGRAM (as nobody) hands its descriptor of the lock to a process of another user that
/// accepts descriptors (as a message bus does): `--stop` as root never signals that process,
/// whether the daemon still runs or has exited; it fails naming it, since it holds the lock.
pub fn tool_stop_spares_a_process_handed_the_lock() -> TestResult {
    needs_tool(&["tool-control", "tool-privileges"])?;
    needs_root()?;
    use std::os::fd::{AsRawFd, OwnedFd};
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::net::UnixStream;
    use std::os::unix::process::CommandExt;
    let dir = TempDir::new("handed-lock");
    // A copy of this test binary that nobody and uid 12345 may run.
    let roles = dir.path("roles");
    fs::copy(std::env::current_exe().map_err(|e| e.to_string())?, &roles)
        .map_err(|e| e.to_string())?;
    fs::set_permissions(&roles, fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
    let pid_file = dir.path("d.pid");
    for exits in [false, true] {
        let (ours, theirs) = UnixStream::pair().map_err(|e| e.to_string())?;
        let (ours, theirs): (OwnedFd, OwnedFd) = (ours.into(), theirs.into());
        let theirs_raw = theirs.as_raw_fd();
        let mut victim = Command::new(&roles);
        victim
            .args(["--role", "hold-fds", "5"])
            .stdin(Stdio::null());
        // SAFETY: dup2, setgroups, setgid, setuid: async-signal-safe, in the child only.
        unsafe {
            victim.pre_exec(move || {
                if libc::dup2(theirs_raw, 5) != 5
                    || libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(12345) != 0
                    || libc::setuid(12345) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let victim = Guard(victim.spawn().map_err(|e| e.to_string())?.id() as i32);
        drop(theirs);
        let ours_raw = ours.as_raw_fd();
        let mut start = tool();
        start
            .arg("-p")
            .arg(&pid_file)
            .args(["-u", "nobody", "-k", "5", "--"])
            .arg(&roles)
            .args(["--role", "send-fds", "5"]);
        if exits {
            start.arg("exit");
        }
        // SAFETY: dup2 in the child only.
        unsafe {
            start.pre_exec(move || {
                if libc::dup2(ours_raw, 5) != 5 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let out = try_run(&mut start)?;
        drop(ours);
        ensure!(out.status.success(), "{}", describe(&out));
        let holds = || fds(victim.0).is_ok_and(|f| f.values().any(|t| Path::new(t) == pid_file));
        ensure!(
            wait_until(holds),
            "the other process never got the lock's descriptor"
        );
        if exits {
            ensure!(
                wait_until(|| {
                    reap_zombies();
                    children() == vec![victim.0]
                }),
                "the daemon did not exit: {:?}",
                children()
            );
        }
        let out = stop(&pid_file, &["-t", "1"]);
        ensure_eq!(out.status.code(), Some(1), "{}", describe(&out));
        ensure!(
            stderr_of(&out).contains(&format!("pid {}", victim.0)),
            "the refusal does not name the holder: {}",
            describe(&out)
        );
        ensure!(
            alive(victim.0),
            "--stop signalled a process the service did not start (exits: {exits})"
        );
        drop(victim);
        reap_zombies();
        let _ = fs::remove_file(&pid_file);
    }
    no_process_left()
}

/// A child of the daemon in a session of its own that closed its descriptor of the lock is
/// found as the daemon's descendant before the daemon is signalled, and `--stop` ends it too
/// once the daemon has exited (it would be neither a holder nor in the daemon's session then).
pub fn tool_stop_ends_a_child_in_its_own_session() -> TestResult {
    needs_tool(&["tool-control"])?;
    let dir = TempDir::new("stop-setsid-child");
    let pid_file = dir.path("d.pid");
    let out = run(tool().arg("-p").arg(&pid_file).args([
        "sh",
        "-c",
        "setsid sleep 300 3<&- 4<&- 5<&- 6<&- & exec sleep 1000",
    ]));
    ensure!(out.status.success(), "{}", describe(&out));
    let main = the_daemon()?;
    let mut child = 0;
    ensure!(
        wait_until(|| {
            child = children_of(main.0).first().copied().unwrap_or(0);
            child != 0
                && comm(child).as_deref() == Some("sleep")
                && stat(child).is_ok_and(|s| s.session == child)
                && comm(main.0).as_deref() == Some("sleep")
        }),
        "no child in a session of its own"
    );
    let out = stop(&pid_file, &["-t", "5"]);
    ensure_eq!(out.status.code(), Some(0), "{}", describe(&out));
    std::mem::forget(main);
    no_process_left()
}

/// Debian's start-stop-daemon (package dpkg).
const SSD: &str = "/usr/sbin/start-stop-daemon";

/// `start-stop-daemon --stop --retry RETRY --pidfile PID_FILE` against our child `daemon`,
/// which is reaped meanwhile (start-stop-daemon waits for the pid to vanish, and a zombie does
/// not): its output, whether both ended in time, and the daemon's wait status.
fn ssd_stop(
    pid_file: &Path,
    retry: &str,
    daemon: i32,
) -> Result<(std::process::Output, bool, i32), String> {
    let mut ssd = Command::new(SSD)
        .args(["--stop", "--retry", retry, "--pidfile"])
        .arg(pid_file)
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
            reaped = unsafe { libc::waitpid(daemon, &mut status_word, libc::WNOHANG) } == daemon;
        }
        reaped && ssd.try_wait().is_ok_and(|s| s.is_some())
    });
    if !done {
        let _ = ssd.kill();
    }
    let out = ssd.wait_with_output().map_err(|e| e.to_string())?;
    Ok((out, done, status_word))
}

/// Sets the pid file's modification time to `secs` seconds and `nanos` nanoseconds, keeping
/// its contents.
fn set_mtime(pid_file: &Path, secs: i64, nanos: i64) -> TestResult {
    let times = [
        libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
        libc::timespec {
            tv_sec: secs,
            tv_nsec: nanos,
        },
    ];
    let path = cstring(pid_file);
    // SAFETY: a valid path and two timespecs.
    let set = unsafe { libc::utimensat(libc::AT_FDCWD, path.as_ptr(), times.as_ptr(), 0) };
    ensure!(set == 0, "utimensat: {}", std::io::Error::last_os_error());
    Ok(())
}

/// The pid written in the file belongs, once the daemon is gone and its pid free again, to
/// another process that was handed the lock: it did not write the file, so it is not taken
/// for the daemon (status 4 naming it, stop and signal refused, nothing signalled). For a
/// foreground start's lock, the process started after the file was written; for a
/// daemon-mode one, it is not in the session the start recorded.
pub fn tool_control_spares_a_recycled_daemon_pid() -> TestResult {
    needs_tool(&["tool-control"])?;
    let dir = TempDir::new("recycled-daemon-pid");
    let pid_file = dir.path("d.pid");
    for mark in [false, true] {
        let holder = session_daemon(&pid_file, mark, "exec sleep 1000")?;
        ensure!(
            wait_until(|| comm(holder.0).as_deref() == Some("sleep")),
            "never reached sleep"
        );
        // Written an hour before it started / recorded as another session: ours, or where
        // that reads as no record (0 or 1: our session's leader is outside our pid
        // namespace, or is its init), a number that is not the holder's session.
        // SAFETY: getsid(0) has no preconditions.
        let ours = unsafe { libc::getsid(0) };
        let other = if ours > 1 { ours } else { holder.0 + 1 };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_secs() as i64;
        set_mtime(&pid_file, now - 3600, if mark { other.into() } else { 0 })?;
        let out = status(&pid_file);
        ensure_eq!(
            out.status.code(),
            Some(4),
            "mark {mark}: {}",
            describe(&out)
        );
        let out = stop(&pid_file, &["-t", "0"]);
        ensure_eq!(
            out.status.code(),
            Some(1),
            "mark {mark}: {}",
            describe(&out)
        );
        let out = run(tool().args(["--signal", "KILL", "-p"]).arg(&pid_file));
        ensure_eq!(
            out.status.code(),
            Some(4),
            "mark {mark}: {}",
            describe(&out)
        );
        ensure!(alive(holder.0), "mark {mark}: the holder was signalled");
        drop(holder);
        reap_zombies();
        let _ = fs::remove_file(&pid_file);
    }
    no_process_left()
}

/// `rawdaemon -p PID_FILE sh -c 'sleep 300 & exec sleep 1000'`: the daemon (re-parented to
/// us) and the child it started, which inherited the lock, once both run `sleep`.
fn daemon_with_child(pid_file: &Path) -> Result<(Guard, i32), String> {
    let out = run(tool()
        .arg("-p")
        .arg(pid_file)
        .args(["sh", "-c", "sleep 300 & exec sleep 1000"]));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    let mut child = 0;
    ensure!(
        wait_until(|| {
            child = children_of(daemon.0).first().copied().unwrap_or(0);
            child != 0 && comm(child).as_deref() == Some("sleep")
        }),
        "no child"
    );
    Ok((daemon, child))
}
