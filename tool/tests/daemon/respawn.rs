//! `--respawn`: the supervisor the pid file names, its program child, restarts and giving up,
//! forwarded signals, log capture and reopening, orphans reaped, `--stop` of both.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use crate::common::*;
use crate::{ensure, ensure_eq};

/// `--stop` of the supervisor (which must succeed); the test's guard is dropped without a
/// kill, since the stop ended the process.
fn stop_supervisor(pid_file: &Path, supervisor: Guard) -> TestResult {
    let stop = stop(pid_file, &[]);
    ensure_eq!(stop.status.code(), Some(0), "{}", describe(&stop));
    std::mem::forget(supervisor);
    Ok(())
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
    let stop = stop(&pid_file, &[]);
    ensure_eq!(stop.status.code(), Some(0), "{}", describe(&stop));
    ensure!(!pid_file.exists(), "pid file left behind");
    std::mem::forget(supervisor);
    ensure!(
        wait_until(|| !alive(second)),
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
        let stop = stop(&pid_file, &["-t", timeout]);
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
    jail(&dir.path("jail"))?;
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

// ---------------------------------------------------------------------------------------
// Log rotation, broken log targets, the file size limit

/// `logrotate -f -s STATE CONFIG` with a config for `log` whose body is `body`; must succeed.
fn logrotate(dir: &TempDir, log: &Path, body: &str) -> TestResult {
    if !Path::new("/usr/sbin/logrotate").exists() {
        return Err("skip: logrotate (Debian package logrotate) is not installed".to_string());
    }
    let config = dir.path("logrotate.conf");
    fs::write(
        &config,
        format!("{} {{\n    rotate 1\n{body}}}\n", log.display()),
    )
    .map_err(|e| e.to_string())?;
    let out = run(Command::new("/usr/sbin/logrotate")
        .arg("-f")
        .arg("-s")
        .arg(dir.path("logrotate.state"))
        .arg(&config));
    ensure!(out.status.success(), "logrotate: {}", describe(&out));
    Ok(())
}

/// logrotate's `postrotate kill -HUP $(cat PIDFILE)`: the supervisor reopens the log (the
/// rotated file gets no new lines, the new one does). A PROGRAM that leaves SIGHUP at its
/// default keeps running, the same process, instead of being killed and restarted at each
/// rotation; one that traps HUP still gets it.
pub fn tool_respawn_logrotate_hup_spares_the_program() -> TestResult {
    needs_tool(&["tool-control", "tool-respawn"])?;
    let dir = TempDir::new("respawn-logrotate");
    let pid_file = dir.path("d.pid");
    let log = dir.path("out.log");
    let rotated = dir.path("out.log.1");
    let postrotate = format!(
        "    postrotate\n        kill -HUP $(cat {})\n    endscript\n",
        pid_file.display()
    );
    // dash catches only INT and CHLD: HUP stays at its default, which kills.
    let plain = "echo start; while :; do echo tick; sleep 0.02; done";
    let trapping = "trap 'echo got HUP' HUP; echo start; while :; do echo tick; sleep 0.02; done";
    for (script, traps) in [(plain, false), (trapping, true)] {
        let _ = fs::remove_file(&rotated);
        let _ = fs::remove_file(&log);
        let out = run(&mut respawn(&pid_file, &log, &[], script));
        ensure!(out.status.success(), "{}", describe(&out));
        let supervisor = the_daemon()?;
        let program = program_of(supervisor.0, "sh")?;
        // The script's first line ran (its trap is set) once it has written "start".
        ensure!(
            wait_until(|| read_text(&log).is_ok_and(|t| t.contains("start\ntick\n"))),
            "log: {:?}",
            read_text(&log)
        );
        ensure_eq!(
            sigset(program, "SigCgt")? & 1,
            u64::from(traps),
            "HUP of {script:?}"
        );
        logrotate(&dir, &log, &postrotate)?;
        ensure!(
            wait_until(|| read_text(&log).is_ok_and(|t| t.contains("tick\n"))),
            "no new lines in the new log: {:?}",
            read_text(&log)
        );
        // Whatever was on its way before the HUP is in; nothing comes after.
        std::thread::sleep(std::time::Duration::from_millis(100));
        let before = read_text(&rotated)?;
        std::thread::sleep(std::time::Duration::from_millis(200));
        ensure_eq!(read_text(&rotated)?, before, "the rotated log still grows");
        ensure!(before.starts_with("start\ntick\n"), "rotated: {before:?}");
        ensure_eq!(
            program_of(supervisor.0, "sh")?,
            program,
            "the program was restarted: {:?}",
            read_text(&log)
        );
        let text = read_text(&log)?;
        ensure!(!text.contains("killed by signal"), "new log: {text:?}");
        if traps {
            ensure!(
                wait_until(|| read_text(&log).is_ok_and(|t| t.contains("got HUP\n"))),
                "the trap got no HUP: {:?}",
                read_text(&log)
            );
        }
        stop_supervisor(&pid_file, supervisor)?;
        ensure!(!pid_file.exists(), "pid file left behind");
        no_process_left()?;
    }
    Ok(())
}

/// logrotate's `copytruncate`: the log is copied and cut in place, no signal; the supervisor
/// appends, so the next lines start the cut file (no hole of zeros), and the program runs on.
pub fn tool_respawn_logrotate_copytruncate() -> TestResult {
    needs_tool(&["tool-control", "tool-respawn"])?;
    let dir = TempDir::new("respawn-copytruncate");
    let pid_file = dir.path("d.pid");
    let log = dir.path("out.log");
    let script = "echo start; while :; do echo tick; sleep 0.02; done";
    let out = run(&mut respawn(&pid_file, &log, &[], script));
    ensure!(out.status.success(), "{}", describe(&out));
    let supervisor = the_daemon()?;
    let program = program_of(supervisor.0, "sh")?;
    ensure!(
        wait_until(|| read_text(&log).is_ok_and(|t| t.contains("start\ntick\ntick\n"))),
        "log: {:?}",
        read_text(&log)
    );
    logrotate(&dir, &log, "    copytruncate\n")?;
    ensure!(
        read_text(&dir.path("out.log.1"))?.starts_with("start\ntick\n"),
        "rotated copy"
    );
    ensure!(
        wait_until(|| read_text(&log).is_ok_and(|t| t.starts_with("tick\n"))),
        "cut log: {:?}",
        read_text(&log)
    );
    ensure_eq!(program_of(supervisor.0, "sh")?, program);
    stop_supervisor(&pid_file, supervisor)?;
    ensure!(!pid_file.exists(), "pid file left behind");
    no_process_left()
}

/// `cat FIFO > out`, once it has the FIFO open.
fn fifo_reader(fifo: &Path, out: &Path) -> Result<Guard, String> {
    let file = fs::File::create(out).map_err(|e| e.to_string())?;
    let reader = Command::new("cat")
        .arg(fifo)
        .stdout(file)
        .stdin(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cat: {e}"))?;
    Ok(Guard(reader.id() as i32))
}

/// `-o FIFO` whose reader goes away: the supervisor's writes fail with EPIPE instead of
/// SIGPIPE killing it (and the program with it). It says so once on stderr, drops the output
/// meanwhile, and counts it for the next reader; PROGRAM starts with no signal ignored; the
/// stop still works and removes the pid file.
pub fn tool_respawn_survives_a_fifo_without_reader() -> TestResult {
    needs_tool(&["tool-control", "tool-respawn"])?;
    let dir = TempDir::new("respawn-fifo");
    let pid_file = dir.path("d.pid");
    let fifo = dir.path("out.fifo");
    let err_log = dir.path("err.log");
    let c = cstring(&fifo);
    // SAFETY: a NUL-terminated path.
    ensure!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) } == 0, "mkfifo");
    let first = dir.path("first.out");
    // The start opens the FIFO without waiting for a reader (one nobody reads is refused with
    // ENXIO rather than hanging root), and cat may not have reached its own open yet: the
    // test stands in as a reader until cat has the FIFO open.
    let standin = {
        use std::os::unix::fs::OpenOptionsExt;
        fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .map_err(|e| e.to_string())?
    };
    let reader = fifo_reader(&fifo, &first)?;
    let mut cmd = tool();
    cmd.arg("-R")
        .arg("-p")
        .arg(&pid_file)
        .arg("-o")
        .arg(&fifo)
        .arg("-e")
        .arg(&err_log)
        .args([
            "sh",
            "-c",
            "echo start; while :; do echo tick; sleep 0.02; done",
        ]);
    let out = run(&mut cmd);
    ensure!(out.status.success(), "{}", describe(&out));
    let supervisor = children()
        .into_iter()
        .find(|&p| p != reader.0)
        .map(Guard)
        .ok_or("no supervisor")?;
    ensure!(
        wait_until(|| fds(reader.0).is_ok_and(|f| f.values().any(|t| Path::new(t) == fifo))),
        "cat never opened the FIFO"
    );
    drop(standin);
    ensure_eq!(read_pid(&pid_file)?, supervisor.0);
    let program = program_of(supervisor.0, "sh")?;
    ensure_eq!(
        sigset(program, "SigIgn")? & !LIBC_RESERVED,
        0,
        "SigIgn of PROGRAM"
    );
    ensure!(
        wait_until(|| read_text(&first).is_ok_and(|t| t.starts_with("start\ntick\n"))),
        "first reader: {:?}",
        read_text(&first)
    );
    drop(reader); // SIGKILL and reap: the FIFO has no reader now
    let sh = "/usr/bin/sh";
    let said = format!(
        "rawdaemon: respawn {sh}: writing stdout: Broken pipe; output is dropped until a write succeeds\n"
    );
    ensure!(
        wait_until(|| read_text(&err_log).is_ok_and(|t| t == said)),
        "stderr: {:?}",
        read_text(&err_log)
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    ensure!(alive(supervisor.0), "the supervisor died");
    ensure_eq!(
        program_of(supervisor.0, "sh")?,
        program,
        "program restarted"
    );
    // Said once, not at every write.
    ensure_eq!(read_text(&err_log)?, said);
    // A new reader gets the count of what was dropped, then the output again.
    let second = dir.path("second.out");
    let reader = fifo_reader(&fifo, &second)?;
    let dropped = format!("rawdaemon: respawn {sh}: dropped ");
    ensure!(
        wait_until(|| read_text(&second).is_ok_and(|t| t
            .split_once(&dropped)
            .is_some_and(|(_, rest)| rest.contains(" bytes of output\ntick\n")))),
        "second reader: {:?}",
        read_text(&second)
    );
    stop_supervisor(&pid_file, supervisor)?;
    ensure!(!pid_file.exists(), "pid file left behind");
    // The reader sees the end of the FIFO once the supervisor is gone.
    let mut status = 0;
    // SAFETY: waits for our own child.
    unsafe { libc::waitpid(reader.0, &mut status, 0) };
    std::mem::forget(reader);
    no_process_left()
}

/// Sets `RLIMIT_FSIZE` (what `ulimit -f` sets) for the command, in bytes.
pub fn file_size_limit(cmd: &mut Command, bytes: u64) -> &mut Command {
    // SAFETY: setrlimit in the child only.
    unsafe {
        cmd.pre_exec(move || {
            let rl = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: libc::RLIM_INFINITY,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &rl) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

/// The log reaches the file size limit: the supervisor's write fails with EFBIG instead of
/// SIGXFSZ killing it (and the program with it); the rest is dropped, the program is not held
/// up, and the stop still works and removes the pid file.
pub fn tool_respawn_survives_the_file_size_limit() -> TestResult {
    needs_tool(&["tool-control", "tool-respawn"])?;
    let dir = TempDir::new("respawn-fsize");
    let pid_file = dir.path("d.pid");
    let log = dir.path("out.log");
    let line = "x".repeat(99);
    let count = dir.path("count");
    // Counts its lines in a file of its own, past the limit.
    let script = format!(
        "i=0; while :; do echo {line}; i=$((i+1)); echo $i > {}; sleep 0.005; done",
        count.display()
    );
    let out = run(file_size_limit(
        &mut respawn(&pid_file, &log, &[], &script),
        2000,
    ));
    ensure!(out.status.success(), "{}", describe(&out));
    let supervisor = the_daemon()?;
    let program = program_of(supervisor.0, "sh")?;
    ensure_eq!(
        sigset(program, "SigIgn")? & !LIBC_RESERVED,
        0,
        "SigIgn of PROGRAM"
    );
    ensure!(
        wait_until(|| fs::metadata(&log).is_ok_and(|m| m.len() == 2000)),
        "log size {:?}",
        fs::metadata(&log).map(|m| m.len())
    );
    // The program goes on writing (it is not held up) well past the limit.
    let lines = || {
        read_text(&count)
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok())
            .unwrap_or(0)
    };
    ensure!(
        wait_until(|| lines() > 60),
        "program stalled at {} lines",
        lines()
    );
    ensure!(alive(supervisor.0), "the supervisor died");
    ensure_eq!(
        program_of(supervisor.0, "sh")?,
        program,
        "program restarted"
    );
    ensure_eq!(fs::metadata(&log).map_err(|e| e.to_string())?.len(), 2000);
    stop_supervisor(&pid_file, supervisor)?;
    ensure!(!pid_file.exists(), "pid file left behind");
    no_process_left()
}

/// `ulimit -f 0` before the tool: writing the pid file fails the start cleanly with EFBIG
/// (detached, with -R, and in the foreground), instead of SIGXFSZ killing the daemon; nothing
/// is left.
pub fn fail_pid_file_over_the_size_limit() -> TestResult {
    let dir = TempDir::new("pid-fsize");
    let pid_file = dir.path("d.pid");
    let message = format!(
        "rawdaemon: write pid file {}: File too large",
        pid_file.display()
    );
    let mut modes: Vec<&[&str]> = vec![&[], &["-f"]];
    if needs_tool(&["tool-respawn"]).is_ok() {
        modes.push(&["-R"]);
    }
    for mode in modes {
        let mut cmd = tool();
        cmd.args(mode)
            .arg("-p")
            .arg(&pid_file)
            .args(["sleep", "30"]);
        expect_failure(file_size_limit(&mut cmd, 0), 1, &message, Some(&pid_file))
            .map_err(|e| format!("{mode:?}: {e}"))?;
    }
    Ok(())
}

/// runit's `runsv` over `rawdaemon -f -R` (the supervisor in the foreground, as runit
/// expects): `sv stop` ends the supervisor, PROGRAM and what PROGRAM started; the pid file is
/// removed and no process is left.
pub fn tool_respawn_under_runit_sv_stop() -> TestResult {
    needs_tool(&["tool-respawn"])?;
    for bin in ["/usr/bin/runsv", "/usr/bin/sv"] {
        if !Path::new(bin).exists() {
            return Err(format!(
                "skip: {bin} (Debian package runit) is not installed"
            ));
        }
    }
    let dir = TempDir::new("runit");
    let service = dir.path("agent");
    fs::create_dir(&service).map_err(|e| e.to_string())?;
    let pid_file = dir.path("d.pid");
    let tool = tool();
    let run_script = service.join("run");
    fs::write(
        &run_script,
        format!(
            "#!/bin/sh\nexec {} -f -R -p {} -- sh -c 'sleep 1000 & exec sleep 1001'\n",
            tool.get_program().to_string_lossy(),
            pid_file.display()
        ),
    )
    .map_err(|e| e.to_string())?;
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&run_script, fs::Permissions::from_mode(0o755))
        .map_err(|e| e.to_string())?;
    let runsv = Command::new("/usr/bin/runsv")
        .arg(&service)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("runsv: {e}"))?;
    let runsv = Guard(runsv.id() as i32);
    let supervisor = read_pid(&pid_file)?;
    ensure_eq!(stat(supervisor)?.ppid, runsv.0, "runsv runs the supervisor");
    let program = program_of(supervisor, "sleep")?;
    ensure!(
        wait_until(|| children_of(program).len() == 1),
        "PROGRAM's own child never started"
    );
    let grandchild = children_of(program)[0];
    let out = run(Command::new("/usr/bin/sv").arg("stop").arg(&service));
    ensure!(out.status.success(), "sv stop: {}", describe(&out));
    ensure!(
        String::from_utf8_lossy(&out.stdout).starts_with("ok: down"),
        "sv stop: {}",
        describe(&out)
    );
    ensure!(!pid_file.exists(), "pid file left behind");
    let gone = |pid: i32| !alive(pid);
    ensure!(
        wait_until(|| {
            reap_zombies();
            gone(supervisor) && gone(program) && gone(grandchild)
        }),
        "still running after sv stop: {:?}",
        children()
    );
    ensure!(
        wait_until(|| {
            reap_zombies();
            children() == vec![runsv.0]
        }),
        "left behind: {:?}",
        children()
    );
    drop(runsv);
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

/// One `--stop` of a respawn supervisor: its program gets SIGTERM once (the supervisor
/// forwards it), not a second time from the stopper, which a program may take for "quit now".
pub fn tool_respawn_stop_signals_the_program_once() -> TestResult {
    needs_tool(&["tool-control", "tool-respawn"])?;
    let dir = TempDir::new("respawn-term-once");
    let pid_file = dir.path("d.pid");
    let log = dir.path("out.log");
    let terms = dir.path("terms");
    let mut cmd = tool();
    cmd.arg("-R")
        .arg("-p")
        .arg(&pid_file)
        .arg("-o")
        .arg(&log)
        .arg(std::env::current_exe().map_err(|e| e.to_string())?)
        .args(["--role", "count-term"])
        .arg(&terms);
    let out = run(&mut cmd);
    ensure!(out.status.success(), "{}", describe(&out));
    let supervisor = the_daemon()?;
    ensure!(wait_until(|| terms.exists()), "the program never started");
    stop_supervisor(&pid_file, supervisor)?;
    ensure_eq!(read_text(&terms)?, "term\n", "SIGTERM count");
    no_process_left()
}
