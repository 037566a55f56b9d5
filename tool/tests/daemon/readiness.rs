//! Readiness for programs that speak no protocol (`--ready-when`, bounded by
//! `--notify-timeout`), socket activation passed through (`LISTEN_FDS`, `LISTEN_PID`), and
//! the verbs init scripts expect (`--oknodo`, `--retry`).
//!
//! Ordering, never timing: a program that listens only after a delay writes a marker just
//! before it listens, so a launcher that exits before the marker exists did not wait.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixListener;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::*;
use crate::{ensure, ensure_eq};

/// Role `listen tcp|unix ADDRESS DELAY_MS MARKER`: after DELAY_MS writes MARKER, then listens
/// on ADDRESS (`127.0.0.1:PORT`, or a socket path) without ever accepting, and sleeps.
pub fn listen_role(args: &[String]) -> ! {
    std::thread::sleep(Duration::from_millis(args[2].parse().unwrap()));
    std::fs::write(&args[3], "").unwrap();
    let _held: Box<dyn std::any::Any> = match args[0].as_str() {
        "tcp" => Box::new(TcpListener::bind(&args[1]).unwrap()),
        _ => Box::new(UnixListener::bind(&args[1]).unwrap()),
    };
    std::thread::sleep(Duration::from_secs(30));
    std::process::exit(0)
}

/// Role `activated REPORT`: writes its pid and `LISTEN_PID`, `LISTEN_FDS`, `LISTEN_FDNAMES`
/// to REPORT, then accepts connections on descriptor 3 and writes `hello` to each.
pub fn activated_role(args: &[String]) -> ! {
    let var = |name| std::env::var(name).unwrap_or_default();
    let report = format!(
        "pid={} LISTEN_PID={} LISTEN_FDS={} LISTEN_FDNAMES={}",
        std::process::id(),
        var("LISTEN_PID"),
        var("LISTEN_FDS"),
        var("LISTEN_FDNAMES")
    );
    std::fs::write(&args[0], report).unwrap();
    // SAFETY: descriptor 3 is the listening socket passed through (checked by the test).
    let listener = unsafe { <TcpListener as std::os::fd::FromRawFd>::from_raw_fd(3) };
    for conn in listener.incoming().take(4).flatten() {
        let _ = (&conn).write_all(b"hello\n");
    }
    std::process::exit(0)
}

/// A TCP port on 127.0.0.1 that nothing listens on now.
fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

/// This test binary as PROGRAM in `role`.
fn role(cmd: &mut Command, role: &[&str]) {
    cmd.arg(std::env::current_exe().expect("own path"))
        .arg("--role")
        .args(role);
}

/// `rawdaemon [-R] -p PID_FILE` and the options.
fn start(respawn: bool, pid_file: &Path, options: &[&str]) -> Command {
    let mut cmd = tool();
    if respawn {
        cmd.arg("-R");
    }
    cmd.arg("-p").arg(pid_file).args(options);
    cmd
}

/// A program that listens (TCP, then a Unix socket) only after a delay: the launcher exits
/// only after it listens; a connection is then accepted.
pub fn tool_ready_when_waits_for_the_listener() -> TestResult {
    needs_tool(&["tool-ready"])?;
    late_listener(false)
}

/// As [`tool_ready_when_waits_for_the_listener`], under `-R` (the supervisor checks).
pub fn tool_respawn_ready_when_waits_for_the_listener() -> TestResult {
    needs_tool(&["tool-ready", "tool-respawn"])?;
    late_listener(true)
}

/// A late TCP, then Unix, listener awaited (under `-R` with `respawn`).
fn late_listener(respawn: bool) -> TestResult {
    let dir = TempDir::new("ready-when");
    {
        for unix in [false, true] {
            let pid_file = dir.path("d.pid");
            let mark = dir.path("listening");
            let _ = std::fs::remove_file(&mark);
            let socket = dir.path("s.sock");
            let _ = std::fs::remove_file(&socket);
            let (kind, address, check) = if unix {
                let path = socket.display().to_string();
                ("unix", path.clone(), format!("unix:{path}"))
            } else {
                let address = format!("127.0.0.1:{}", free_port()?);
                ("tcp", address.clone(), format!("tcp:{address}"))
            };
            let mut cmd = start(respawn, &pid_file, &["--ready-when", &check]);
            role(
                &mut cmd,
                &["listen", kind, &address, "300", &mark.display().to_string()],
            );
            let out = run(&mut cmd);
            ensure!(out.status.success(), "{check}: {}", describe(&out));
            ensure!(
                mark.exists(),
                "{check} (-R {respawn}): the launcher exited before the program listened"
            );
            let daemon = the_daemon()?;
            ensure_eq!(read_pid(&pid_file)?, daemon.0);
            let connected = if unix {
                std::os::unix::net::UnixStream::connect(&socket).map(drop)
            } else {
                TcpStream::connect(&address).map(drop)
            };
            ensure!(connected.is_ok(), "{check}: {connected:?}");
            let out = stop(&pid_file, &[]);
            ensure!(out.status.success(), "{}", describe(&out));
        }
    }
    Ok(())
}

/// PROGRAM writes the file `mark` after a delay, then sleeps.
fn late_file(mark: &Path) -> String {
    format!(
        "sleep 0.3; echo > {0}.tmp; mv {0}.tmp {0}; exec sleep 30",
        mark.display()
    )
}

/// A file that appears (written by PROGRAM after a delay): the launcher exits after it
/// exists; with `NOTIFY_SOCKET`, READY=1 comes after it too; with `--ready-fd`, after both
/// the line and the file.
pub fn tool_ready_when_a_file_appears() -> TestResult {
    needs_tool(&["tool-ready", "tool-notify"])?;
    let dir = TempDir::new("ready-file");
    let pid_file = dir.path("d.pid");
    let mark = dir.path("ready");
    let script = late_file(&mark);
    let check = format!("path:{}", mark.display());
    // Daemon mode, the launcher reporting to the service manager.
    let (socket, address) = notify_listener("ready-file")?;
    let out = run(start(false, &pid_file, &["--ready-when", &check])
        .env("NOTIFY_SOCKET", &address)
        .args(["sh", "-c", &script]));
    ensure!(out.status.success(), "{}", describe(&out));
    ensure!(mark.exists(), "the launcher exited before the file existed");
    let daemon = the_daemon()?;
    ensure_eq!(
        next_datagram(&socket)?,
        format!("READY=1\nMAINPID={}\n", daemon.0)
    );
    drop(daemon);
    // With --ready-fd too: the line, then the file.
    std::fs::remove_file(&mark).map_err(|e| e.to_string())?;
    let line_first = format!("echo >&5; {script}");
    let out = run(start(
        false,
        &pid_file,
        &["--ready-fd", "5", "--ready-when", &check],
    )
    .args(["sh", "-c", &line_first]));
    ensure!(out.status.success(), "{}", describe(&out));
    ensure!(
        mark.exists(),
        "--ready-fd: the launcher exited before the file existed"
    );
    drop(the_daemon()?);
    Ok(())
}

/// A foreground `-R` supervisor tells the service manager itself, after the file exists.
pub fn tool_respawn_foreground_ready_when_notifies_after_the_file() -> TestResult {
    needs_tool(&["tool-ready", "tool-notify", "tool-respawn"])?;
    let dir = TempDir::new("ready-file-fg");
    let pid_file = dir.path("d.pid");
    let mark = dir.path("ready");
    let script = late_file(&mark);
    let check = format!("path:{}", mark.display());
    let (socket, address) = notify_listener("ready-file-fg")?;
    let mut supervisor = start(true, &pid_file, &["-f", "--ready-when", &check])
        .env("NOTIFY_SOCKET", &address)
        .args(["sh", "-c", &script])
        .stdin(std::process::Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let guard = Guard(supervisor.id() as i32);
    let ready = next_datagram(&socket)?;
    ensure!(mark.exists(), "READY=1 came before the file existed");
    ensure_eq!(ready, format!("READY=1\nMAINPID={}\n", guard.0));
    let out = stop(&pid_file, &[]);
    ensure!(out.status.success(), "{}", describe(&out));
    let _ = supervisor.wait();
    // Reaped: the guard must not signal the pid again.
    std::mem::forget(guard);
    Ok(())
}

/// PROGRAM exits before the check holds: the start fails at once, naming what was awaited;
/// nothing is left.
pub fn fail_ready_when_program_exits_first() -> TestResult {
    needs_tool(&["tool-ready"])?;
    exits_first(&[&[]])
}

/// As [`fail_ready_when_program_exits_first`], under `-R` and a foreground `-R`.
pub fn fail_respawn_ready_when_program_exits_first() -> TestResult {
    needs_tool(&["tool-ready", "tool-respawn"])?;
    exits_first(&[&["-R"], &["-f", "-R"]])
}

/// PROGRAM exits before the check holds, with each of `modes`' options.
fn exits_first(modes: &[&[&str]]) -> TestResult {
    let dir = TempDir::new("ready-exit");
    let pid_file = dir.path("d.pid");
    let check = format!("tcp:127.0.0.1:{}", free_port()?);
    let message =
        format!("rawdaemon: ready-when {check}: the program exited before this check held");
    for options in modes {
        let mut cmd = start(false, &pid_file, options);
        cmd.args(["--ready-when", &check, "sh", "-c", "sleep 0.2; exit 3"]);
        expect_failure(&mut cmd, 1, &message, Some(&pid_file))
            .map_err(|e| format!("{options:?}: {e}"))?;
    }
    Ok(())
}

/// The check never holds: the start fails after `--notify-timeout`, naming the check and the
/// last try's error; PROGRAM's process group is killed (a child it started included) and
/// the pid file removed.
pub fn fail_ready_when_times_out() -> TestResult {
    needs_tool(&["tool-ready"])?;
    times_out(false)
}

/// As [`fail_ready_when_times_out`], under `-R` (the supervisor's program and its group).
pub fn fail_respawn_ready_when_times_out() -> TestResult {
    needs_tool(&["tool-ready", "tool-respawn"])?;
    times_out(true)
}

/// The check never holds (under `-R` with `respawn`).
fn times_out(respawn: bool) -> TestResult {
    let dir = TempDir::new("ready-timeout");
    let pid_file = dir.path("d.pid");
    let socket = dir.path("none.sock");
    let check = format!("unix:{}", socket.display());
    let message = format!(
        "rawdaemon: ready-when {check}: not ready before the timeout (--notify-timeout); \
         last try: No such file or directory"
    );
    {
        let mut cmd = start(respawn, &pid_file, &["--notify-timeout", "1"]);
        cmd.args(["--ready-when", "path:/", "--ready-when", &check]);
        cmd.args(["sh", "-c", "sleep 30 & exec sleep 30"]);
        expect_failure(&mut cmd, 1, &message, Some(&pid_file))
            .map_err(|e| format!("-R {respawn}: {e}"))?;
    }
    Ok(())
}

/// A failed start ends the whole service, as `--stop` does: a process PROGRAM started in a
/// session of its own (which its process group does not reach) goes too, so it does not keep
/// the lock of a removed pid file and a second start then runs alone. The same for
/// `--ready-when` timing out and `--notify-await` timing out.
pub fn fail_ready_when_ends_the_whole_service() -> TestResult {
    needs_tool(&["tool-ready", "tool-notify"])?;
    let dir = TempDir::new("ready-service");
    let pid_file = dir.path("d.pid");
    let never = dir.path("never");
    let check = format!("path:{}", never.display());
    for (options, message) in [
        (
            vec!["--ready-when", check.as_str()],
            format!(
                "rawdaemon: ready-when {check}: not ready before the timeout \
                 (--notify-timeout); last try: No such file or directory"
            ),
        ),
        (
            vec!["--notify-await"],
            String::from(": no READY=1 within 1 s"),
        ),
    ] {
        let mut cmd = start(false, &pid_file, &["--notify-timeout", "1"]);
        cmd.args(&options)
            .args(["sh", "-c", "setsid sleep 30 & exec sleep 30"]);
        let out = run(&mut cmd);
        let left = sweep_children();
        ensure_eq!(
            out.status.code(),
            Some(1),
            "{options:?}: {}",
            describe(&out)
        );
        ensure!(
            stderr_of(&out).contains(&message),
            "{options:?}: {}",
            describe(&out)
        );
        ensure!(
            left.is_empty(),
            "{options:?}: processes left behind: {left:?}"
        );
        ensure!(!pid_file.exists(), "{options:?}: pid file left behind");
        // A second start on the same pid file runs alone.
        let out = run(&mut sleeper(&pid_file));
        ensure!(out.status.success(), "{}", describe(&out));
        let daemon = the_daemon()?;
        let out = stop(&pid_file, &[]);
        ensure!(out.status.success(), "{}", describe(&out));
        drop(daemon);
        no_process_left()?;
    }
    Ok(())
}

/// A `unix:` listener counts only if it is the service's: another user listening on the
/// abstract name first does not make the start succeed (it times out, the last try refused);
/// a listener PROGRAM's child makes still does.
pub fn fail_ready_when_unix_listener_of_another_user() -> TestResult {
    needs_tool(&["tool-ready", "tool-privileges"])?;
    needs_root()?;
    let dir = TempDir::new("ready-peer");
    let pid_file = dir.path("d.pid");
    let name = format!("rawdaemon-rv-{}", std::process::id());
    let listener = listen_as(4242, &name)?;
    let check = format!("unix:@{name}");
    let mut cmd = start(false, &pid_file, &["--notify-timeout", "1", "-u", "nobody"]);
    cmd.args(["--ready-when", &check, "sleep", "30"]);
    let out = run(&mut cmd);
    kill_and_reap(listener);
    let left = sweep_children();
    ensure_eq!(out.status.code(), Some(1), "{}", describe(&out));
    ensure_eq!(
        stderr_of(&out),
        format!(
            "rawdaemon: ready-when {check}: not ready before the timeout (--notify-timeout); \
             last try: Permission denied\n"
        )
    );
    ensure!(left.is_empty(), "processes left behind: {left:?}");
    ensure!(!pid_file.exists(), "pid file left behind");
    // PROGRAM's own child listens: that counts.
    let socket = dir.path("s.sock");
    let mark = dir.path("listening");
    let check = format!("unix:{}", socket.display());
    let script = format!(
        "\"$0\" --role listen unix {} 100 {} & exec sleep 30",
        socket.display(),
        mark.display()
    );
    let mut cmd = start(false, &pid_file, &["--ready-when", &check]);
    cmd.arg("sh")
        .arg("-c")
        .arg(script)
        .arg(std::env::current_exe().map_err(|e| e.to_string())?);
    let out = run(&mut cmd);
    ensure!(out.status.success(), "{}", describe(&out));
    ensure!(
        mark.exists(),
        "the launcher exited before the child listened"
    );
    let out = stop(&pid_file, &[]);
    ensure!(out.status.success(), "{}", describe(&out));
    no_process_left()
}

/// A child of this process that listens on the abstract Unix socket `name` as `uid` (with
/// no groups), until killed; its pid.
fn listen_as(uid: u32, name: &str) -> Result<i32, String> {
    let addr =
        <std::os::unix::net::SocketAddr as std::os::linux::net::SocketAddrExt>::from_abstract_name(
            name.as_bytes(),
        )
        .map_err(|e| e.to_string())?;
    let (mut read, write) = std::os::unix::net::UnixStream::pair().map_err(|e| e.to_string())?;
    // SAFETY: the runner is single-threaded; the child only makes raw calls, then exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: plain system calls on values prepared before the fork.
        unsafe {
            let ok = libc::setgroups(0, std::ptr::null()) == 0
                && libc::setresgid(uid, uid, uid) == 0
                && libc::setresuid(uid, uid, uid) == 0;
            if ok {
                if let Ok(_listening) = std::os::unix::net::UnixListener::bind_addr(&addr) {
                    libc::write(write.as_raw_fd(), b"y".as_ptr().cast(), 1);
                    loop {
                        libc::pause();
                    }
                }
            }
            libc::_exit(1);
        }
    }
    drop(write);
    let mut byte = [0_u8; 1];
    if read.read(&mut byte).map_err(|e| e.to_string())? != 1 {
        kill_and_reap(pid);
        return Err(format!("uid {uid} could not listen on @{name}"));
    }
    Ok(pid)
}

/// Checks that cannot be made are usage errors: a name that needs DNS, a relative path, a
/// foreground start without `-R` (nothing would wait), a bad timeout.
pub fn fail_ready_when_usage() -> TestResult {
    needs_tool(&["tool-ready"])?;
    for (args, message) in [
        (
            &["--ready-when", "tcp:example.org:80"][..],
            "--ready-when tcp: needs an IP address or localhost (no name is looked up): tcp:example.org:80",
        ),
        (
            &["--ready-when", "tcp:127.0.0.1:0"],
            "--ready-when tcp: needs a port from 1 to 65535: tcp:127.0.0.1:0",
        ),
        (
            &["--ready-when", "path:run/x"],
            "--ready-when unix: and path: need an absolute path: path:run/x",
        ),
        (
            &["--ready-when", "http://x"],
            "--ready-when takes tcp:HOST:PORT, unix:PATH or path:PATH: http://x",
        ),
        (
            &["-f", "--ready-when", "path:/"],
            "--ready-when needs a process that waits: not with -f unless -R",
        ),
        (
            &["--notify-timeout", "soon"],
            "--notify-timeout needs whole seconds, 1 to 86400: soon",
        ),
    ] {
        expect_failure(
            tool().args(args).args(["sleep", "1"]),
            2,
            &format!("rawdaemon: {message} (try --help)"),
            None,
        )?;
    }
    Ok(())
}

/// A listening socket passed as descriptor 3 with `LISTEN_FDS=1` and `LISTEN_PID` naming
/// the launcher (as `systemd-socket-activate` does) reaches PROGRAM without `-k`, with
/// `LISTEN_PID` rewritten to PROGRAM's own pid (`sd_listen_fds` accepts it); PROGRAM
/// accepts on it. Variables naming another process are left alone, and so is the
/// descriptor: closed.
pub fn tool_socket_activation_passed_through() -> TestResult {
    needs_tool(&["tool-ready"])?;
    let dir = TempDir::new("activation");
    let pid_file = dir.path("d.pid");
    activated(false, &pid_file)?;
    // LISTEN_PID names another process (inherited from an ancestor): nothing is passed on.
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let mut cmd = activator(&listener, "1");
    let out = run(cmd.arg("-p").arg(&pid_file).args(["sleep", "30"]));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    settled(daemon.0)?;
    let open = fds(daemon.0)?;
    ensure!(!open.contains_key(&3), "descriptor 3 passed on: {open:?}");
    let environ =
        std::fs::read(format!("/proc/{}/environ", daemon.0)).map_err(|e| e.to_string())?;
    ensure!(
        environ.split(|&b| b == 0).any(|e| e == b"LISTEN_PID=1"),
        "another process's LISTEN_PID was changed"
    );
    Ok(())
}

/// As [`tool_socket_activation_passed_through`] under `-R`: PROGRAM is the supervisor's
/// child, and `LISTEN_PID` is its pid, not the pid file's.
pub fn tool_respawn_socket_activation_passed_through() -> TestResult {
    needs_tool(&["tool-ready", "tool-respawn"])?;
    let dir = TempDir::new("activation-respawn");
    activated(true, &dir.path("d.pid"))
}

/// One socket-activated start (under `-R` with `respawn`), checked and stopped.
fn activated(respawn: bool, pid_file: &Path) -> TestResult {
    let dir = TempDir::new("activated");
    {
        let report = dir.path("report");
        let _ = std::fs::remove_file(&report);
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        let mut cmd = activator(&listener, "$$");
        if respawn {
            cmd.arg("-R");
        }
        cmd.arg("-p").arg(pid_file);
        role(&mut cmd, &["activated", &report.display().to_string()]);
        let out = run(&mut cmd);
        ensure!(out.status.success(), "{}", describe(&out));
        drop(listener);
        let daemon = the_daemon()?;
        let program = if respawn {
            let kids = children_of(daemon.0);
            ensure_eq!(kids.len(), 1, "the supervisor's children: {kids:?}");
            kids[0]
        } else {
            daemon.0
        };
        ensure!(wait_until(|| report.exists()), "the program never reported");
        let environ =
            std::fs::read(format!("/proc/{program}/environ")).map_err(|e| e.to_string())?;
        let environ: Vec<&[u8]> = environ.split(|&b| b == 0).collect();
        for entry in [
            format!("LISTEN_PID={program}"),
            "LISTEN_FDS=1".into(),
            "LISTEN_FDNAMES=web".into(),
        ] {
            ensure!(
                environ.contains(&entry.as_bytes()),
                "-R {respawn}: {entry} not in PROGRAM's environment"
            );
        }
        let fd3 = fds(program)?.get(&3).cloned().unwrap_or_default();
        ensure!(
            fd3.starts_with("socket:"),
            "PROGRAM's descriptor 3: {fd3:?}"
        );
        let mut conn = TcpStream::connect(address).map_err(|e| e.to_string())?;
        conn.set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(|e| e.to_string())?;
        let mut hello = String::new();
        let _ = conn.read_to_string(&mut hello);
        ensure_eq!(hello, "hello\n");
        ensure_eq!(
            read_text(&report)?,
            format!("pid={program} LISTEN_PID={program} LISTEN_FDS=1 LISTEN_FDNAMES=web")
        );
        let out = stop(pid_file, &[]);
        ensure!(out.status.success(), "{}", describe(&out));
    }
    Ok(())
}

/// The real activator: `systemd-socket-activate -l 127.0.0.1:PORT rawdaemon ...` listens,
/// execs the tool at the first connection with the socket as descriptor 3; PROGRAM (in
/// daemon mode, the pid file's pid) gets it with `LISTEN_PID` its own, and answers that
/// very first connection.
pub fn systemd_socket_activate_through_the_tool() -> TestResult {
    needs_tool(&["tool-ready"])?;
    if Command::new("systemd-socket-activate")
        .arg("--version")
        .output()
        .is_err()
    {
        return Err(format!("{SKIP}systemd-socket-activate is not installed"));
    }
    let dir = TempDir::new("socket-activate");
    let pid_file = dir.path("d.pid");
    let report = dir.path("report");
    let address = format!("127.0.0.1:{}", free_port()?);
    let mut cmd = Command::new("systemd-socket-activate");
    cmd.args(["-l", &address, "--fdname=web"])
        .arg(tool().get_program())
        .arg("-p")
        .arg(&pid_file);
    role(&mut cmd, &["activated", &report.display().to_string()]);
    let mut activator = cmd
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let launcher = Guard(activator.id() as i32);
    let mut conn = None;
    ensure!(
        wait_until(|| {
            conn = TcpStream::connect(&address).ok();
            conn.is_some()
        }),
        "systemd-socket-activate never listened on {address}"
    );
    let mut conn = conn.ok_or("no connection")?;
    conn.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    let mut hello = String::new();
    let _ = conn.read_to_string(&mut hello);
    ensure_eq!(hello, "hello\n");
    let status = activator.wait().map_err(|e| e.to_string())?;
    std::mem::forget(launcher);
    ensure!(
        status.success(),
        "the tool under systemd-socket-activate: {status:?}"
    );
    let daemon = the_daemon()?;
    ensure_eq!(read_pid(&pid_file)?, daemon.0);
    ensure_eq!(
        read_text(&report)?,
        format!(
            "pid={0} LISTEN_PID={0} LISTEN_FDS=1 LISTEN_FDNAMES=web",
            daemon.0
        )
    );
    Ok(())
}

/// `sh -c 'LISTEN_PID=PID LISTEN_FDS=1 LISTEN_FDNAMES=web exec rawdaemon "$@"'` with
/// `listener` as descriptor 3 (`$$` is the shell's pid, which the tool keeps).
fn activator(listener: &TcpListener, pid: &str) -> Command {
    let tool_path = tool().get_program().to_owned();
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!(
            "LISTEN_PID={pid} LISTEN_FDS=1 LISTEN_FDNAMES=web exec \"$0\" \"$@\""
        ))
        .arg(tool_path);
    let fd = listener.as_raw_fd();
    // SAFETY: dup2 or fcntl only, in the child before it executes.
    unsafe {
        cmd.pre_exec(move || {
            // dup2 onto itself would keep close-on-exec: cleared then.
            let moved = if fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, 3)
            };
            if moved < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

/// `--oknodo`: a start while the daemon runs exits 0 and says so (the daemon untouched, no
/// second one); a stop or signal with nothing running exits 0.
pub fn tool_oknodo() -> TestResult {
    needs_tool(&["tool-control"])?;
    let dir = TempDir::new("oknodo");
    let pid_file = dir.path("d.pid");
    let path = pid_file.display();
    let out = run(&mut sleeper(&pid_file));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    let out = run(tool()
        .arg("--oknodo")
        .arg("-p")
        .arg(&pid_file)
        .args(["sleep", "30"]));
    ensure_eq!(out.status.code(), Some(0), "{}", describe(&out));
    ensure_eq!(
        stderr_of(&out),
        format!(
            "rawdaemon: already running as pid {} ({path}): nothing to do\n",
            daemon.0
        )
    );
    ensure_eq!(children(), vec![daemon.0], "a second daemon started");
    ensure_eq!(read_pid(&pid_file)?, daemon.0);
    let out = stop(&pid_file, &[]);
    ensure!(out.status.success(), "{}", describe(&out));
    drop(daemon);
    let out = stop(&pid_file, &[]);
    ensure_eq!(
        out.status.code(),
        Some(1),
        "without --oknodo: {}",
        describe(&out)
    );
    let out = stop(&pid_file, &["--oknodo"]);
    ensure_eq!(out.status.code(), Some(0), "{}", describe(&out));
    ensure!(
        stderr_of(&out).contains("not running"),
        "{}",
        describe(&out)
    );
    let out = run(tool()
        .args(["--signal", "HUP", "--oknodo", "-p"])
        .arg(&pid_file));
    ensure_eq!(out.status.code(), Some(0), "{}", describe(&out));
    Ok(())
}

/// `--retry SIGNAL/TIMEOUT/...`: each signal in turn after the previous one's time (a
/// program that ignores INT and TERM logs them, then SIGKILL ends it); a schedule without
/// SIGKILL that runs out fails and leaves the program; a plain TIMEOUT is TERM, then KILL.
pub fn tool_stop_retry_schedule() -> TestResult {
    needs_tool(&["tool-control"])?;
    let dir = TempDir::new("retry");
    let pid_file = dir.path("d.pid");
    let log = dir.path("signals");
    let script = format!(
        "trap 'echo INT >> {0}' INT; trap 'echo TERM >> {0}' TERM; \
         while :; do sleep 0.05; done",
        log.display()
    );
    let begin = |pid_file: &Path| -> Result<Guard, String> {
        let _ = std::fs::remove_file(&log);
        let out = run(tool().arg("-p").arg(pid_file).args(["sh", "-c", &script]));
        ensure!(out.status.success(), "{}", describe(&out));
        the_daemon()
    };
    let daemon = begin(&pid_file)?;
    let out = stop(&pid_file, &["--retry", "INT/1/TERM/1/KILL/5"]);
    ensure_eq!(out.status.code(), Some(0), "{}", describe(&out));
    ensure_eq!(read_text(&log)?, "INT\nTERM\n");
    ensure!(!alive(daemon.0), "still running");
    ensure!(
        stderr_of(&out).contains("was still running after 1 s; sent signal 15"),
        "{}",
        describe(&out)
    );
    ensure!(!pid_file.exists(), "pid file left");
    drop(daemon);
    // A schedule that ends without SIGKILL: the stop fails, the program runs on.
    let daemon = begin(&pid_file)?;
    let out = stop(&pid_file, &["--retry", "TERM/1"]);
    ensure_eq!(out.status.code(), Some(1), "{}", describe(&out));
    // It names the schedule's last signal: no SIGKILL was sent.
    ensure!(
        stderr_of(&out).contains(" still runs after signal 15, the last of the schedule\n")
            && !stderr_of(&out).contains("SIGKILL"),
        "{}",
        describe(&out)
    );
    ensure!(alive(daemon.0), "a schedule without KILL killed it");
    ensure_eq!(read_text(&log)?, "TERM\n");
    // TIMEOUT alone: TERM, then KILL.
    let out = stop(&pid_file, &["--retry", "1"]);
    ensure_eq!(out.status.code(), Some(0), "{}", describe(&out));
    ensure!(!alive(daemon.0), "still running");
    ensure!(
        stderr_of(&out).contains("sent SIGKILL"),
        "{}",
        describe(&out)
    );
    drop(daemon);
    for (args, message) in [
        (
            &["--stop", "--retry", "TERM/x"][..],
            "--retry needs TIMEOUT or SIGNAL/TIMEOUT pairs (TERM/30/KILL/5): TERM/x",
        ),
        (
            &["--stop", "--retry", "5", "-t", "3"],
            "--retry needs --stop, and replaces -s and -t",
        ),
        (
            &["--retry", "5"],
            "--retry needs --stop, and replaces -s and -t",
        ),
        (
            &["--stop", "-s", "HUP", "--retry", "5"],
            "--retry needs --stop, and replaces -s and -t",
        ),
    ] {
        expect_failure(
            tool().args(args).arg("-p").arg(&pid_file),
            2,
            &format!("rawdaemon: {message} (try --help)"),
            None,
        )?;
    }
    Ok(())
}

/// A datagram socket like systemd's notification socket, bound to an abstract name unique to
/// this test; its `NOTIFY_SOCKET` value.
fn notify_listener(tag: &str) -> Result<(std::os::unix::net::UnixDatagram, String), String> {
    use std::os::linux::net::SocketAddrExt;
    let name = format!("rawdaemon-test-{tag}-{}", std::process::id());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
        .map_err(|e| e.to_string())?;
    let socket = std::os::unix::net::UnixDatagram::bind_addr(&addr).map_err(|e| e.to_string())?;
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    Ok((socket, format!("@{name}")))
}

/// The next datagram on `socket`, waiting for it.
fn next_datagram(socket: &std::os::unix::net::UnixDatagram) -> Result<String, String> {
    let mut buf = [0_u8; 256];
    let n = socket
        .recv(&mut buf)
        .map_err(|e| format!("no notification: {e}"))?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}
