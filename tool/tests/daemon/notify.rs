//! Readiness for service managers: `NOTIFY_SOCKET` receives `READY=1` and the right
//! `MAINPID`, and `--ready-fd` makes the launcher wait for the program's own line.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::*;
use crate::{ensure, ensure_eq};

/// A datagram socket like systemd's notification socket, bound to an abstract name unique to
/// this test; its `NOTIFY_SOCKET` value.
fn listener(tag: &str) -> Result<(UnixDatagram, String), String> {
    let name = format!("rawdaemon-test-{tag}-{}", std::process::id());
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).map_err(|e| e.to_string())?;
    let socket = UnixDatagram::bind_addr(&addr).map_err(|e| e.to_string())?;
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    Ok((socket, format!("@{name}")))
}

/// The next datagram on `socket`, waiting for it (up to the socket's read timeout).
fn next_notification(socket: &UnixDatagram) -> Result<String, String> {
    let mut buf = [0_u8; 256];
    let n = socket
        .recv(&mut buf)
        .map_err(|e| format!("no notification: {e}"))?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// The one datagram waiting on `socket` now, without waiting: it must have been sent before
/// the launcher exited.
fn sent_already(socket: &UnixDatagram) -> Result<String, String> {
    socket.set_nonblocking(true).map_err(|e| e.to_string())?;
    let mut buf = [0_u8; 256];
    let n = socket
        .recv(&mut buf)
        .map_err(|e| format!("no notification: {e}"))?;
    ensure!(socket.recv(&mut buf).is_err(), "more than one notification");
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// Daemon mode: the launcher sends READY=1 with the daemon's pid before it exits.
pub fn tool_notify_socket() -> TestResult {
    needs_tool(&["tool-notify"])?;
    let dir = TempDir::new("notify");
    let pid_file = dir.path("d.pid");
    let (socket, address) = listener("tool")?;
    let out = run(tool()
        .env("NOTIFY_SOCKET", &address)
        .arg("-p")
        .arg(&pid_file)
        .args(["sleep", "30"]));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    ensure_eq!(
        sent_already(&socket)?,
        format!("READY=1\nMAINPID={}\n", daemon.0)
    );
    ensure_eq!(read_text(&pid_file)?, format!("{}\n", daemon.0));
    Ok(())
}

/// A failed start sends nothing.
pub fn fail_notify_socket_hears_nothing() -> TestResult {
    needs_tool(&["tool-notify"])?;
    let (socket, address) = listener("fail")?;
    expect_failure(
        tool()
            .env("NOTIFY_SOCKET", &address)
            .args(["-c", "/nonexistent", "sleep", "30"]),
        1,
        "rawdaemon: chdir /nonexistent: No such file or directory",
        None,
    )?;
    ensure!(sent_already(&socket).is_err(), "a failed start notified");
    Ok(())
}

/// Foreground: the process itself (which becomes PROGRAM) sends READY=1 with its own pid,
/// just before exec.
pub fn tool_notify_socket_foreground() -> TestResult {
    needs_tool(&["tool-notify"])?;
    let (socket, address) = listener("fg")?;
    let child = tool()
        .env("NOTIFY_SOCKET", &address)
        .args(["-f", "sleep", "30"])
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let daemon = Guard(child.id() as i32);
    ensure_eq!(
        next_notification(&socket)?,
        format!("READY=1\nMAINPID={}\n", daemon.0)
    );
    ensure!(
        wait_until(|| comm(daemon.0).as_deref() == Some("sleep")),
        "never exec'd"
    );
    Ok(())
}

/// `--ready-fd 3`: the launcher is still waiting (blocked in poll) while PROGRAM runs
/// without having written its line; once it writes it, the launcher exits 0 and then
/// notifies. PROGRAM sees descriptor 3 as a socket (a sequenced-packet pair, so that a late
/// write after the launcher is gone fails with EPIPE instead of killing it by SIGPIPE).
pub fn tool_ready_fd_waits_for_the_line() -> TestResult {
    needs_tool(&["tool-notify"])?;
    let dir = TempDir::new("readyfd");
    let pid_file = dir.path("d.pid");
    let go = dir.path("go");
    let (socket, address) = listener("readyfd")?;
    let script = format!(
        "while [ ! -e {} ]; do sleep 0.01; done; echo >&3; exec 3>&-; exec sleep 30",
        go.display()
    );
    let mut launcher = tool()
        .env("NOTIFY_SOCKET", &address)
        .arg("-p")
        .arg(&pid_file)
        .args(["--ready-fd", "3", "sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let launcher_pid = launcher.id() as i32;
    // The program runs (exec'd: `sh` re-parented to us, its descriptor 3 a socket), and the
    // launcher sits in poll(2) on the readiness socket.
    let mut program = None;
    // Blocked in poll(2) on the readiness socket and the program's pidfd: poll or ppoll
    // (x86_64 7 and 271; aarch64 has only ppoll, 73; a 32-bit x86 launcher, on an x86_64
    // kernel: poll 168, ppoll 309 or ppoll_time64 414).
    let polls: &[&str] = if runs_i386(launcher_pid) {
        &["168", "309", "414"]
    } else {
        &["7", "271", "73"]
    };
    let waiting = wait_until(|| {
        let syscall =
            std::fs::read_to_string(format!("/proc/{launcher_pid}/syscall")).unwrap_or_default();
        program = children().into_iter().find(|&p| {
            p != launcher_pid
                && comm(p).as_deref() == Some("sh")
                && std::fs::read_link(format!("/proc/{p}/fd/3"))
                    .is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))
        });
        let nr = syscall.split(' ').next().unwrap_or("");
        program.is_some() && polls.contains(&nr)
    });
    let program = program.map(Guard);
    if !waiting {
        let _ = launcher.kill();
        let _ = launcher.wait();
        return Err("the launcher was not waiting in poll(2) for the line".into());
    }
    let program = program.ok_or("no program")?;
    ensure!(sent_already(&socket).is_err(), "notified before ready");
    std::fs::write(&go, "").map_err(|e| e.to_string())?;
    let out = launcher.wait_with_output().map_err(|e| e.to_string())?;
    ensure!(out.status.success(), "{}", describe(&out));
    ensure_eq!(
        sent_already(&socket)?,
        format!("READY=1\nMAINPID={}\n", program.0)
    );
    ensure!(
        wait_until(|| comm(program.0).as_deref() == Some("sleep")),
        "program never reached its sleep"
    );
    Ok(())
}

/// PROGRAM closes its descriptor without the line, or exits: status 1, the program killed,
/// no pid file left.
pub fn fail_ready_fd_closed() -> TestResult {
    needs_tool(&["tool-notify"])?;
    let dir = TempDir::new("readyfd-fail");
    let pid_file = dir.path("d.pid");
    for script in ["exec 3>&-; exec sleep 30", "exit 0"] {
        expect_failure(
            tool()
                .arg("-p")
                .arg(&pid_file)
                .args(["--ready-fd", "3", "sh", "-c", script]),
            1,
            "rawdaemon: exec /usr/bin/sh: exited or closed descriptor 3 before it was ready",
            Some(&pid_file),
        )?;
    }
    let out = run(tool().args(["--ready-fd", "2", "sleep", "1"]));
    ensure_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    Ok(())
}

/// Foreground with `--ready-fd`: a watcher sends READY=1 with PROGRAM's pid when the line
/// comes, and is gone after.
pub fn tool_ready_fd_foreground_watcher() -> TestResult {
    needs_tool(&["tool-notify"])?;
    let (socket, address) = listener("watcher")?;
    let child = tool()
        .env("NOTIFY_SOCKET", &address)
        .args([
            "-f",
            "--ready-fd",
            "5",
            "sh",
            "-c",
            "echo >&5; exec 5>&-; exec sleep 30",
        ])
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let daemon = Guard(child.id() as i32);
    ensure_eq!(
        next_notification(&socket)?,
        format!("READY=1\nMAINPID={}\n", daemon.0)
    );
    // The watcher exits after sending: only PROGRAM is left.
    ensure!(
        wait_until(|| {
            reap_zombies();
            children() == vec![daemon.0]
        }),
        "processes: {:?}",
        children()
    );
    Ok(())
}

/// The library in daemon mode with manual readiness: READY=1 only once the program calls
/// `notify`, with the daemon's pid; in foreground mode the process's own pid.
pub fn lib_notify_socket() -> TestResult {
    let dir = TempDir::new("lib-notify");
    let marker = dir.path("ready");
    let (socket, address) = listener("lib")?;
    let notify = format!("notify={address}");
    let manual = format!("manual=ok:{}", marker.display());
    let out = run(&mut lib(&["daemon", &notify, &manual]));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    ensure!(marker.exists(), "launcher exited before notify");
    ensure_eq!(
        sent_already(&socket)?,
        format!("READY=1\nMAINPID={}\n", daemon.0)
    );
    drop(daemon);
    let mut cmd: Command = lib(&["daemon", &notify, "fg"]);
    let child = cmd
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let fg = Guard(child.id() as i32);
    socket.set_nonblocking(false).map_err(|e| e.to_string())?;
    ensure_eq!(
        next_notification(&socket)?,
        format!("READY=1\nMAINPID={}\n", fg.0)
    );
    Ok(())
}

/// With every option that opens something for the start (pid file, NOTIFY_SOCKET, the
/// readiness pipe, syslog output), PROGRAM gets exactly: /dev/null on 0, the logger's pipes on
/// 1 and 2, the locked pid file, and the readiness pipe on its number until it closes it;
/// nothing else of the launcher's or the library's.
pub fn tool_program_gets_only_its_descriptors() -> TestResult {
    needs_tool(&["tool-notify", "tool-syslog"])?;
    let dir = TempDir::new("only-fds");
    let pid_file = dir.path("d.pid");
    let (_socket, address) = listener("fds")?;
    let out = run(tool()
        .env("NOTIFY_SOCKET", &address)
        .arg("-p")
        .arg(&pid_file)
        .args(["--syslog", "fds", "--log-socket", "/nonexistent/log"])
        .args([
            "--ready-fd",
            "7",
            "sh",
            "-c",
            "echo >&7; exec 7>&-; exec sleep 30",
        ]));
    ensure!(out.status.success(), "{}", describe(&out));
    let pid = read_pid(&pid_file)?;
    let _daemon = Guard(pid);
    ensure!(
        wait_until(|| comm(pid).as_deref() == Some("sleep")),
        "never reached sleep"
    );
    settled(pid)?;
    let fds = fds(pid)?;
    let described: Vec<String> = fds
        .iter()
        .map(|(fd, target)| {
            let kind = if target.starts_with("pipe:") {
                "pipe".to_string()
            } else {
                target.clone()
            };
            format!("{fd} {kind}")
        })
        .collect();
    let lock = fds
        .iter()
        .find(|(_, t)| **t == pid_file.display().to_string())
        .map(|(fd, _)| *fd)
        .ok_or(format!("no pid file descriptor: {described:?}"))?;
    ensure_eq!(
        described,
        vec![
            "0 /dev/null".to_string(),
            "1 pipe".to_string(),
            "2 pipe".to_string(),
            format!("{lock} {}", pid_file.display()),
        ]
    );
    // The logger beside it holds only the pipes' read ends (and 0 to 2).
    let logger = children()
        .into_iter()
        .find(|&p| p != pid)
        .ok_or("no logger process")?;
    let _logger = Guard(logger);
    let logger_fds: Vec<String> = crate::common::fds(logger)?
        .iter()
        .filter(|(fd, _)| **fd > 2)
        .map(|(_, t)| {
            if t.starts_with("pipe:") {
                "pipe".into()
            } else {
                t.clone()
            }
        })
        .collect();
    ensure_eq!(logger_fds, vec!["pipe".to_string(), "pipe".to_string()]);
    Ok(())
}

/// `-f --ready-fd` with nobody to notify: the descriptor stays closed, so the program's
/// write fails (EBADF) instead of killing it with SIGPIPE.
pub fn tool_ready_fd_foreground_without_listener() -> TestResult {
    needs_tool(&["tool-notify"])?;
    let dir = TempDir::new("readyfd-fg-alone");
    let marker = dir.path("after");
    let script = format!("echo >&5; echo $? > {}", marker.display());
    let out = run(tool().env_remove("NOTIFY_SOCKET").args([
        "-f",
        "--ready-fd",
        "5",
        "sh",
        "-c",
        &script,
    ]));
    ensure_eq!(out.status.code(), Some(0), "{}", describe(&out));
    ensure_eq!(
        read_text(&marker)?,
        "2\n",
        "the write failed, the program went on"
    );
    Ok(())
}

/// A program that closes its readiness descriptor and forks: the failed start kills what it
/// started too (its process group), so no stray holds the lock of a removed pid file and a
/// second instance cannot slip in beside it. (A child forked while the descriptor is still
/// open keeps it open, and the launcher waits for that child too: the s6 convention.)
pub fn fail_ready_fd_closed_after_forking() -> TestResult {
    needs_tool(&["tool-notify"])?;
    let dir = TempDir::new("readyfd-forked");
    let pid_file = dir.path("d.pid");
    expect_failure(
        tool().arg("-p").arg(&pid_file).args([
            "--ready-fd",
            "3",
            "sh",
            "-c",
            "exec 3>&-; sleep 30 & exec sleep 30",
        ]),
        1,
        "rawdaemon: exec /usr/bin/sh: exited or closed descriptor 3 before it was ready",
        Some(&pid_file),
    )
}

/// `--ready-fd` in daemon mode, the launcher killed before the program is ready: the
/// program's late line fails with an error (EPIPE), not a SIGPIPE that kills it, and the pid
/// file keeps naming the running program.
pub fn tool_ready_fd_survives_launcher_death() -> TestResult {
    needs_tool(&["tool-notify"])?;
    let dir = TempDir::new("readyfd-orphan");
    let pid_file = dir.path("d.pid");
    let go = dir.path("go");
    let marker = dir.path("wrote");
    let script = format!(
        "while [ ! -e {go} ]; do sleep 0.01; done; echo >&3; echo $? > {marker}; exec sleep 30",
        go = go.display(),
        marker = marker.display()
    );
    let mut launcher = tool()
        .arg("-p")
        .arg(&pid_file)
        .args(["--ready-fd", "3", "sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let launcher_pid = launcher.id() as i32;
    let mut program = None;
    let started = wait_until(|| {
        program = children()
            .into_iter()
            .find(|&p| p != launcher_pid && comm(p).as_deref() == Some("sh"));
        program.is_some()
    });
    let _ = launcher.kill();
    let _ = launcher.wait();
    let program = Guard(program.ok_or(format!("no program (started: {started})"))?);
    std::fs::write(&go, "").map_err(|e| e.to_string())?;
    ensure!(
        wait_until(|| comm(program.0).as_deref() == Some("sleep")),
        "the program did not survive its readiness line: {:?}",
        stat(program.0).map(|s| s.state)
    );
    let status = read_text(&marker)?;
    ensure!(
        status.trim() != "0",
        "the write to a gone launcher succeeded"
    );
    ensure_eq!(read_text(&pid_file)?, format!("{}\n", program.0));
    Ok(())
}

/// `-f --ready-fd N` with N open when the tool starts (a supervisor's notification
/// descriptor): N reaches the program untouched, the line goes to the supervisor, and no
/// watcher process is started.
pub fn tool_ready_fd_foreground_passes_an_open_descriptor() -> TestResult {
    needs_tool(&["tool-notify"])?;
    use std::io::Read;
    use std::os::fd::{AsRawFd, FromRawFd};
    use std::os::unix::process::CommandExt;
    let mut ends = [0; 2];
    // SAFETY: pipe2 fills two descriptors, owned right below.
    let made = unsafe { libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC) };
    ensure!(made == 0, "pipe2");
    // SAFETY: fresh descriptors from pipe2.
    let (mut read, write) = unsafe {
        (
            std::fs::File::from_raw_fd(ends[0]),
            std::fs::File::from_raw_fd(ends[1]),
        )
    };
    let inode = std::fs::read_link(format!("/proc/self/fd/{}", write.as_raw_fd()))
        .map_err(|e| e.to_string())?;
    let raw = write.as_raw_fd();
    let mut cmd = tool();
    cmd.env_remove("NOTIFY_SOCKET")
        .args([
            "-f",
            "--ready-fd",
            "5",
            "sh",
            "-c",
            "echo ready >&5; exec sleep 30",
        ])
        .stdin(Stdio::null());
    // SAFETY: dup2 in the child only.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(raw, 5) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().map_err(|e| e.to_string())?;
    let program = Guard(child.id() as i32);
    drop(write);
    // One line, or end-of-file if the program's copy was closed (the old behaviour).
    let mut line = Vec::new();
    let mut byte = [0_u8; 1];
    while !line.ends_with(b"\n") && read.read(&mut byte).map_err(|e| e.to_string())? == 1 {
        line.push(byte[0]);
    }
    ensure_eq!(
        String::from_utf8_lossy(&line),
        "ready\n",
        "the supervisor's descriptor never got the line"
    );
    ensure!(
        wait_until(|| comm(program.0).as_deref() == Some("sleep")),
        "never exec'd"
    );
    ensure_eq!(children(), vec![program.0], "a watcher or other process");
    // The program still holds the very descriptor we passed in.
    let held =
        std::fs::read_link(format!("/proc/{}/fd/5", program.0)).map_err(|e| e.to_string())?;
    ensure_eq!(held, inode);
    Ok(())
}

/// Under s6: a service whose `notification-fd` is 3 runs `rawdaemon -f --ready-fd 3 PROGRAM`;
/// PROGRAM's line reaches s6-supervise, `s6-svwait -U` returns, and bringing the scan
/// directory down leaves no process.
pub fn s6_notification_fd_through_the_tool() -> TestResult {
    needs_tool(&["tool-notify"])?;
    for bin in ["s6-svscan", "s6-svwait", "s6-svstat"] {
        if Command::new(bin).arg("-h").output().is_err() {
            return Err(format!("skip: {bin} is not installed (Debian package s6)"));
        }
    }
    let dir = TempDir::new("s6");
    let service = dir.path("scan/agent");
    std::fs::create_dir_all(&service).map_err(|e| e.to_string())?;
    let tool_path = tool().get_program().to_owned();
    let run_script = format!(
        "#!/bin/sh\nexec {} -f --ready-fd 3 sh -c 'sleep 0.2; echo >&3; exec sleep 600'\n",
        tool_path.to_string_lossy()
    );
    let run = service.join("run");
    std::fs::write(&run, run_script).map_err(|e| e.to_string())?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| e.to_string())?;
    std::fs::write(service.join("notification-fd"), "3\n").map_err(|e| e.to_string())?;
    let svscan = Command::new("s6-svscan")
        .arg(dir.path("scan"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let svscan = Guard(svscan.id() as i32);
    // s6-svwait needs the supervise directory s6-supervise creates.
    let ready = wait_until(|| service.join("supervise/status").exists())
        && Command::new("s6-svwait")
            .args(["-U", "-t", "10000"])
            .arg(&service)
            .status()
            .is_ok_and(|s| s.success());
    let svstat = Command::new("s6-svstat")
        .arg(&service)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    // Down: s6-svscan on SIGTERM brings every service and supervisor down, then exits.
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(svscan.0, libc::SIGTERM) };
    let gone = wait_until(|| {
        reap_zombies();
        children().is_empty()
    });
    drop(svscan);
    ensure!(
        ready,
        "s6-svwait -U never saw the service ready: {svstat:?}"
    );
    ensure!(svstat.contains("ready"), "s6-svstat: {svstat:?}");
    ensure!(
        gone,
        "processes left after s6-svscan went down: {:?}",
        children()
    );
    Ok(())
}

/// `--ready-fd` with a PROGRAM that exits while a process it started keeps the descriptor
/// open: the start fails at once (PROGRAM never became ready) instead of waiting for that
/// process, and nothing is left.
pub fn fail_ready_fd_program_exits_with_a_holder_left() -> TestResult {
    needs_tool(&["tool-notify"])?;
    let dir = TempDir::new("readyfd-exit-holder");
    let pid_file = dir.path("d.pid");
    expect_failure(
        tool()
            .arg("-p")
            .arg(&pid_file)
            .args(["--ready-fd", "5", "sh", "-c", "sleep 30 & exit 0"]),
        1,
        "rawdaemon: exec /usr/bin/sh: exited or closed descriptor 5 before it was ready",
        Some(&pid_file),
    )
}
