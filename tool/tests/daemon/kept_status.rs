//! `--notify-await`'s status file: PROGRAM's `STATUS=` kept beside the pid file
//! (`PIDFILE.status`) and shown by `--status` on stderr (stdout stays the pid), in daemon
//! mode (the last one before READY=1), under `-R` and with `-f` (the latest); removed by
//! `--stop` and by a failed start; a link another user planted at its name never followed.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::common::*;
use crate::{ensure, ensure_eq};

/// `"EXE" --role sd-notify`, PROGRAM's voice.
fn notifier() -> String {
    format!(
        "'{}' --role sd-notify",
        std::env::current_exe().expect("own path").display()
    )
}

/// The status file of `pid_file`.
fn kept(pid_file: &Path) -> PathBuf {
    let mut name = pid_file.as_os_str().to_owned();
    name.push(".status");
    PathBuf::from(name)
}

/// `--status`: its exit code, stdout and stderr.
fn asked(pid_file: &Path) -> (Option<i32>, String, String) {
    let out = status(pid_file);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code(), text, stderr_of(&out))
}

/// What `--status` prints on stderr for a kept `text`.
fn shown(pid_file: &Path, text: &str) -> String {
    format!("rawdaemon: status {}: {text}\n", pid_file.display())
}

/// PROGRAM `pid` holds no descriptor of the status file: only the start's side writes it.
fn program_lacks_it(pid: i32) -> TestResult {
    let open = fds(pid)?;
    ensure!(
        open.values().all(|target| !target.ends_with(".status")),
        "PROGRAM holds the status file: {open:?}"
    );
    Ok(())
}

/// `--stop`, then neither the pid file nor the status file is left.
fn stopped(pid_file: &Path) -> TestResult {
    let out = stop(pid_file, &[]);
    ensure!(out.status.success(), "--stop: {}", describe(&out));
    ensure!(!pid_file.exists(), "pid file left after --stop");
    ensure!(
        !kept(pid_file).exists(),
        "status file left after --stop: {:?}",
        std::fs::read_to_string(kept(pid_file))
    );
    no_process_left()
}

/// Daemon mode: the launcher keeps the last STATUS= before READY=1 (control characters as
/// `?`), not what PROGRAM says once it is ready; `--status` prints the pid alone on stdout
/// and the status on stderr; `--stop` removes the status file with the pid file.
pub fn tool_notify_await_status_kept() -> TestResult {
    needs_tool(&["tool-notify", "tool-control"])?;
    let dir = TempDir::new("kept");
    let pid_file = dir.path("d.pid");
    let script = format!(
        "{c} 'STATUS=starting'; {c} \"STATUS=loading $(printf '\\033')[2J 3 zones\"; \
         {c} READY=1; {c} 'STATUS=after ready'; exec sleep 30",
        c = notifier()
    );
    let out = run(tool()
        .arg("-p")
        .arg(&pid_file)
        .args(["--notify-await", "sh", "-c", &script]));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    ensure!(
        wait_until(|| comm(daemon.0).as_deref() == Some("sleep")),
        "program never reached its sleep"
    );
    program_lacks_it(daemon.0)?;
    let meta = std::fs::symlink_metadata(kept(&pid_file)).map_err(|e| e.to_string())?;
    ensure!(meta.file_type().is_file(), "not a regular file: {meta:?}");
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    ensure_eq!(meta.uid(), me);
    ensure_eq!(meta.permissions().mode() & 0o007, 0);
    let (code, stdout, stderr) = asked(&pid_file);
    ensure_eq!(code, Some(0));
    ensure_eq!(stdout, format!("{}\n", daemon.0));
    ensure_eq!(stderr, shown(&pid_file, "loading ?[2J 3 zones"));
    stopped(&pid_file)
}

/// `-R`: the supervisor keeps every STATUS= of the run, before READY=1 and after; a later run
/// replaces it; `--stop` (the supervisor's end) leaves no status file.
pub fn tool_respawn_status_kept() -> TestResult {
    needs_tool(&["tool-notify", "tool-control", "tool-respawn"])?;
    let dir = TempDir::new("kept-respawn");
    let pid_file = dir.path("d.pid");
    let go = dir.path("go");
    let script = format!(
        "{c} 'STATUS=loading'; {c} READY=1; while [ ! -e {go} ]; do sleep 0.01; done; \
         rm -f {go}; {c} 'STATUS=serving 7 clients'; exec sleep 30",
        c = notifier(),
        go = go.display()
    );
    let out =
        run(tool()
            .arg("-p")
            .arg(&pid_file)
            .args(["-R", "--notify-await", "sh", "-c", &script]));
    ensure!(out.status.success(), "{}", describe(&out));
    let supervisor = the_daemon()?;
    let (code, stdout, stderr) = asked(&pid_file);
    ensure_eq!(code, Some(0), "{stdout} {stderr}");
    ensure_eq!(stderr, shown(&pid_file, "loading"));
    std::fs::write(&go, "").map_err(|e| e.to_string())?;
    let latest = shown(&pid_file, "serving 7 clients");
    ensure!(
        wait_until(|| asked(&pid_file).2 == latest),
        "never kept the later STATUS=: {:?}",
        asked(&pid_file)
    );
    // A new run says "loading" again.
    let program = *children_of(supervisor.0).first().ok_or("no program")?;
    program_lacks_it(program)?;
    // SAFETY: a signal to the supervisor's child, which it reaps.
    unsafe { libc::kill(program, libc::SIGKILL) };
    let again = shown(&pid_file, "loading");
    ensure!(
        wait_until(|| asked(&pid_file).2 == again),
        "the next run's STATUS= not kept: {:?}",
        asked(&pid_file)
    );
    stopped(&pid_file)
}

/// `-f`: the watcher keeps each STATUS=, before READY=1 and after, while PROGRAM runs.
pub fn tool_notify_await_foreground_status_kept() -> TestResult {
    needs_tool(&["tool-notify", "tool-control"])?;
    let dir = TempDir::new("kept-fg");
    let pid_file = dir.path("d.pid");
    let script = format!(
        "{c} 'STATUS=loading'; {c} READY=1; {c} 'STATUS=serving'; exec sleep 30",
        c = notifier()
    );
    let launcher = tool()
        .arg("-f")
        .arg("-p")
        .arg(&pid_file)
        .args(["--notify-await", "sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let program = Guard(launcher.id() as i32);
    let latest = shown(&pid_file, "serving");
    ensure!(
        wait_until(|| asked(&pid_file).2 == latest),
        "never kept: {:?}",
        asked(&pid_file)
    );
    ensure_eq!(asked(&pid_file).1, format!("{}\n", program.0));
    stopped(&pid_file)
}

/// A start that fails after PROGRAM said something (it exits before READY=1) removes the
/// status file with the pid file, in daemon mode and under `-R`; while it waited, the status
/// was kept.
pub fn fail_notify_await_status_not_left() -> TestResult {
    needs_tool(&["tool-notify", "tool-respawn"])?;
    let dir = TempDir::new("kept-fail");
    let pid_file = dir.path("d.pid");
    let go = dir.path("go");
    let script = format!(
        "{c} 'STATUS=about to fail'; while [ ! -e {go} ]; do sleep 0.01; done; exit 3",
        c = notifier(),
        go = go.display()
    );
    for mode in [&[][..], &["-R"][..]] {
        if mode == ["-R"] && !respawn_runs() {
            continue;
        }
        let _ = std::fs::remove_file(&go);
        let launcher = tool()
            .arg("-p")
            .arg(&pid_file)
            .args(mode)
            .args(["--notify-await", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let during = wait_until(|| {
            std::fs::read_to_string(kept(&pid_file)).is_ok_and(|t| t == "about to fail\n")
        });
        std::fs::write(&go, "").map_err(|e| e.to_string())?;
        let out = launcher.wait_with_output().map_err(|e| e.to_string())?;
        ensure!(during, "{mode:?}: the status was not kept while waiting");
        ensure_eq!(out.status.code(), Some(1), "{mode:?}: {}", describe(&out));
        no_process_left()?;
        ensure!(!pid_file.exists(), "{mode:?}: pid file left");
        ensure!(!kept(&pid_file).exists(), "{mode:?}: status file left");
    }
    Ok(())
}

/// A symbolic link another user planted at the status file's name, pointing at a file of
/// root's: the start removes the link (never following it) and creates its own file there.
/// Another user's regular file at the name is neither written nor removed, and `--status`
/// does not show what it says.
pub fn fail_notify_await_status_planted() -> TestResult {
    needs_tool(&["tool-notify", "tool-control"])?;
    needs_root()?;
    let dir = TempDir::new("kept-planted");
    let pid_file = dir.path("d.pid");
    let secret = dir.path("secret");
    std::fs::write(&secret, "root's\n").map_err(|e| e.to_string())?;
    std::os::unix::fs::symlink(&secret, kept(&pid_file)).map_err(|e| e.to_string())?;
    std::os::unix::fs::lchown(kept(&pid_file), Some(65534), Some(65534))
        .map_err(|e| e.to_string())?;
    let script = format!("{c} 'STATUS=pwned' READY=1; exec sleep 30", c = notifier());
    let start = || {
        run(tool()
            .arg("-p")
            .arg(&pid_file)
            .args(["--notify-await", "sh", "-c", &script]))
    };
    let out = start();
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    ensure_eq!(read_text(&secret)?, "root's\n");
    let meta = std::fs::symlink_metadata(kept(&pid_file)).map_err(|e| e.to_string())?;
    ensure!(
        meta.file_type().is_file() && meta.uid() == 0,
        "the link was not replaced: {meta:?}"
    );
    ensure_eq!(asked(&pid_file).2, shown(&pid_file, "pwned"));
    stopped(&pid_file)?;
    drop(daemon);
    // Another user's file at the name: left as it is, and never shown.
    std::fs::write(kept(&pid_file), "theirs\n").map_err(|e| e.to_string())?;
    std::os::unix::fs::chown(kept(&pid_file), Some(65534), Some(65534))
        .map_err(|e| e.to_string())?;
    let out = start();
    ensure!(out.status.success(), "{}", describe(&out));
    let _daemon = the_daemon()?;
    ensure_eq!(read_text(&kept(&pid_file))?, "theirs\n");
    let (code, _, stderr) = asked(&pid_file);
    ensure_eq!(code, Some(0));
    ensure_eq!(stderr, "");
    let out = stop(&pid_file, &[]);
    ensure!(out.status.success(), "--stop: {}", describe(&out));
    ensure_eq!(read_text(&kept(&pid_file))?, "theirs\n");
    no_process_left()
}

/// A status file is shown only for the daemon that kept it: one an earlier start left beside
/// the pid file its daemon left behind (it exited) is not shown for a later start without
/// `--notify-await`, and `--stop` removes it; the worker a `MAINPID=` named is shown what
/// PROGRAM said before it started.
pub fn tool_status_of_an_earlier_start_not_shown() -> TestResult {
    needs_tool(&["tool-notify", "tool-control"])?;
    let dir = TempDir::new("kept-stale");
    let pid_file = dir.path("d.pid");
    let script = format!("{c} 'STATUS=old' READY=1; exit 0", c = notifier());
    let out = run(tool()
        .arg("-p")
        .arg(&pid_file)
        .args(["--notify-await", "sh", "-c", &script]));
    ensure!(out.status.success(), "{}", describe(&out));
    no_process_left()?;
    ensure_eq!(read_text(&kept(&pid_file))?, "old\n");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let mut start = sleeper(&pid_file);
    let out = run(&mut start);
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    let (code, stdout, stderr) = asked(&pid_file);
    ensure_eq!(code, Some(0));
    ensure_eq!(stdout, format!("{}\n", daemon.0));
    ensure_eq!(stderr, "", "an earlier start's status shown");
    stopped(&pid_file)?;
    drop(daemon);
    // MAINPID=: the worker started after the STATUS= was kept.
    let script = format!(
        "{c} 'STATUS=handing over'; sleep 0.2; sleep 30 & {c} \"MAINPID=$!\" READY=1; wait",
        c = notifier()
    );
    let out = run(tool()
        .arg("-p")
        .arg(&pid_file)
        .args(["--notify-await", "sh", "-c", &script]));
    ensure!(out.status.success(), "{}", describe(&out));
    let worker = read_pid(&pid_file)?;
    let name = comm(worker);
    ensure_eq!(name.as_deref(), Some("sleep"));
    let (code, stdout, stderr) = asked(&pid_file);
    ensure_eq!(code, Some(0));
    ensure_eq!(stdout, format!("{worker}\n"));
    ensure_eq!(stderr, shown(&pid_file, "handing over"));
    stopped(&pid_file)
}
