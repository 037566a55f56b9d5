//! `--notify-await`: PROGRAM's own sd_notify readiness on a socket of the start's, with a
//! client of this binary (`--role sd-notify`), systemd's `systemd-notify` and python3's
//! socket module as PROGRAM's voice; `--notify-timeout`, `MAINPID=`, the credentials check,
//! a fake systemd above rawdaemon, and `-R`'s first run and `--watchdog`.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use crate::{ensure, ensure_eq};

/// The role: sends its arguments, one line each, as one datagram to `$NOTIFY_SOCKET` (an
/// abstract `@name` or a path), as `sd_notify(3)` does, then waits until the receiver has
/// read it, as `sd_notify_barrier(3)` does (`BARRIER=1` with a pipe's write end, which the
/// receiver closes): the receiver checks the sender's credentials, so the sender must still
/// be there. With `--linger` first, no barrier: it sends the lines alone, then stays 2 s (so
/// that its datagram is the last one). Exits 0, or 1 if it could not send.
pub fn sd_notify(lines: &[String]) -> ! {
    let (linger, lines) = match lines.split_first() {
        Some((first, rest)) if first == "--linger" => (true, rest),
        _ => (false, lines),
    };
    let Ok(address) = std::env::var("NOTIFY_SOCKET") else {
        std::process::exit(1)
    };
    let socket = UnixDatagram::unbound().expect("socket");
    let addr = match address.strip_prefix('@') {
        Some(name) => SocketAddr::from_abstract_name(name.as_bytes()),
        None => SocketAddr::from_pathname(&address),
    }
    .expect("address");
    if socket.connect_addr(&addr).is_err() || socket.send(lines.join("\n").as_bytes()).is_err() {
        std::process::exit(1)
    }
    if linger {
        std::thread::sleep(Duration::from_secs(2));
    } else {
        barrier(&socket);
    }
    std::process::exit(0)
}

/// `sd_notify_barrier(3)`: `BARRIER=1` with a pipe's write end, then the wait (at most 5 s)
/// until the receiver has closed it.
fn barrier(socket: &UnixDatagram) {
    use std::os::fd::AsRawFd;
    let mut ends = [0; 2];
    // SAFETY: plain libc calls on descriptors of this process; the message points to stack
    // buffers that outlive the call.
    unsafe {
        if libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return;
        }
        let text = b"BARRIER=1";
        let mut iov = libc::iovec {
            iov_base: text.as_ptr() as *mut _,
            iov_len: text.len(),
        };
        let mut control = [0_u64; 4];
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = libc::CMSG_SPACE(4) as _;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(4) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<i32>(), ends[1]);
        let sent = libc::sendmsg(socket.as_raw_fd(), &msg, libc::MSG_NOSIGNAL);
        libc::close(ends[1]);
        if sent >= 0 {
            let mut fd = libc::pollfd {
                fd: ends[0],
                events: 0,
                revents: 0,
            };
            libc::poll(&mut fd, 1, 5000);
        }
        libc::close(ends[0]);
    }
}

/// `"EXE" --role sd-notify`, for PROGRAM's shell scripts.
fn client() -> String {
    format!(
        "'{}' --role sd-notify",
        std::env::current_exe().expect("own path").display()
    )
}

/// A fake systemd: a datagram socket on an abstract name of this test, and its
/// `NOTIFY_SOCKET` value.
fn manager(tag: &str) -> Result<(UnixDatagram, String), String> {
    let name = format!("rawdaemon-test-manager-{tag}-{}", std::process::id());
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).map_err(|e| e.to_string())?;
    let socket = UnixDatagram::bind_addr(&addr).map_err(|e| e.to_string())?;
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    Ok((socket, format!("@{name}")))
}

/// Every datagram waiting on `socket` now.
fn heard(socket: &UnixDatagram) -> Vec<String> {
    let _ = socket.set_nonblocking(true);
    let mut out = Vec::new();
    let mut buf = [0_u8; 4096];
    while let Ok(n) = socket.recv(&mut buf) {
        out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    out
}

/// The value of `name` in the environment of process `pid`.
fn environ(pid: i32, name: &str) -> Option<String> {
    let env = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    env.split(|&b| b == 0).find_map(|e| {
        let e = String::from_utf8_lossy(e);
        e.strip_prefix(&format!("{name}=")).map(str::to_string)
    })
}

/// Skips unless `program` runs (`program --version`).
fn needs_program(program: &str, package: &str) -> TestResult {
    match Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(_) => Ok(()),
        Err(_) => Err(format!(
            "{SKIP}{program} is not installed (Debian package {package})"
        )),
    }
}

/// The launcher waits, blocked, while PROGRAM runs without READY=1; it prints PROGRAM's
/// STATUS= meanwhile, and exits 0 once READY=1 comes. PROGRAM's NOTIFY_SOCKET is the
/// start's own abstract socket (not the service manager's), which refuses what PROGRAM
/// sends once the launcher is gone.
pub fn tool_notify_await_waits_for_ready() -> TestResult {
    needs_tool(&["tool-notify"])?;
    let dir = TempDir::new("await");
    let pid_file = dir.path("d.pid");
    let go = dir.path("go");
    let script = format!(
        "{c} 'STATUS=warming up'; while [ ! -e {go} ]; do sleep 0.01; done; \
         {c} 'STATUS=serving' READY=1; exec sleep 30",
        c = client(),
        go = go.display()
    );
    let mut launcher = tool()
        .env("NOTIFY_SOCKET", "@not-this-one")
        .arg("-p")
        .arg(&pid_file)
        .args(["--notify-await", "sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let launcher_pid = launcher.id() as i32;
    let mut program = None;
    let started = wait_until(|| {
        program = children().into_iter().find(|&p| {
            p != launcher_pid
                && environ(p, "NOTIFY_SOCKET").is_some()
                && comm(p).as_deref() == Some("sh")
        });
        program.is_some()
    });
    let program = program.map(Guard);
    // Still waiting after a while: the exec alone is not ready.
    std::thread::sleep(Duration::from_millis(300));
    let waiting = launcher.try_wait().map_err(|e| e.to_string())?.is_none();
    if !started || !waiting {
        let _ = launcher.kill();
        let out = launcher.wait_with_output().map_err(|e| e.to_string())?;
        return Err(format!(
            "started {started}, waiting {waiting}: {}",
            describe(&out)
        ));
    }
    let program = program.ok_or("no program")?;
    let address = environ(program.0, "NOTIFY_SOCKET").unwrap_or_default();
    ensure!(
        address.starts_with("@rawdaemon/notify/"),
        "PROGRAM's NOTIFY_SOCKET: {address:?}"
    );
    std::fs::write(&go, "").map_err(|e| e.to_string())?;
    let out = launcher.wait_with_output().map_err(|e| e.to_string())?;
    ensure!(out.status.success(), "{}", describe(&out));
    ensure_eq!(
        stderr_of(&out),
        "rawdaemon: /usr/bin/sh: warming up\nrawdaemon: /usr/bin/sh: serving\n"
    );
    ensure_eq!(read_pid(&pid_file)?, program.0);
    ensure!(
        wait_until(|| comm(program.0).as_deref() == Some("sleep")),
        "program never reached its sleep"
    );
    // Nobody listens any more: a late notification is refused, not queued (the socket is
    // sealed; its holder keeps the name from others).
    let late = Command::new("sh")
        .arg("-c")
        .arg(format!("{} STATUS=late", client()))
        .env("NOTIFY_SOCKET", &address)
        .status()
        .map_err(|e| e.to_string())?;
    ensure!(!late.success(), "the socket outlived the launcher");
    Ok(())
}

/// Real clients as PROGRAM's voice: systemd's `systemd-notify --ready` (run by PROGRAM, no
/// systemd as PID 1 needed: it only reads NOTIFY_SOCKET) and python3's socket module.
pub fn tool_notify_await_real_clients() -> TestResult {
    needs_tool(&["tool-notify"])?;
    needs_program("systemd-notify", "systemd")?;
    needs_program("python3", "python3-minimal")?;
    let dir = TempDir::new("await-real");
    let pid_file = dir.path("d.pid");
    let python = "import os, socket, time\n\
                  a = os.environ['NOTIFY_SOCKET']\n\
                  a = '\\0' + a[1:] if a.startswith('@') else a\n\
                  s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n\
                  s.sendto(b'STATUS=python here\\nREADY=1', a)\n\
                  time.sleep(30)\n";
    for (program, expect) in [
        (
            vec![
                "sh",
                "-c",
                "systemd-notify --status='notify here' --ready; exec sleep 30",
            ],
            "rawdaemon: /usr/bin/sh: notify here\n",
        ),
        (vec!["python3", "-c", python], "python here\n"),
    ] {
        let out = run(tool()
            .arg("-p")
            .arg(&pid_file)
            .args(["--notify-await", "--notify-timeout", "10"])
            .args(&program));
        ensure!(out.status.success(), "{program:?}: {}", describe(&out));
        let daemon = Guard(read_pid(&pid_file)?);
        ensure!(
            stderr_of(&out).ends_with(expect),
            "{program:?}: {}",
            describe(&out)
        );
        ensure!(alive(daemon.0), "{program:?}: the daemon is not running");
        // Only the daemon is left (and the holder of its notification socket): the client
        // has exited.
        ensure!(
            wait_until(|| {
                reap_zombies();
                the_daemon_is(daemon.0)
            }),
            "{program:?}: processes: {:?}",
            children()
        );
        drop(daemon);
        no_process_left()?;
    }
    Ok(())
}

/// `MAINPID=` of a worker PROGRAM forked (PROGRAM then exits): the pid file names the
/// worker, `--status` reports it and `--stop` ends it. A `MAINPID=` naming a process that is
/// not PROGRAM's descendant (the test itself) is ignored.
pub fn tool_notify_await_main_pid() -> TestResult {
    needs_tool(&["tool-notify", "tool-control"])?;
    let dir = TempDir::new("await-mainpid");
    let pid_file = dir.path("d.pid");
    let script = format!("sleep 30 & {c} MAINPID=$! READY=1; exit 0", c = client());
    let out = run(tool()
        .arg("-p")
        .arg(&pid_file)
        .args(["--notify-await", "sh", "-c", &script]));
    ensure!(out.status.success(), "{}", describe(&out));
    let worker = read_pid(&pid_file)?;
    let _worker = Guard(worker);
    // `$!`: sh's child, about to execute sleep.
    ensure!(
        wait_until(|| comm(worker).as_deref() == Some("sleep")),
        "the pid file names {worker}, {:?}",
        comm(worker)
    );
    let st = status(&pid_file);
    ensure_eq!(st.status.code(), Some(0), "{}", describe(&st));
    ensure_eq!(String::from_utf8_lossy(&st.stdout), format!("{worker}\n"));
    let stopped = stop(&pid_file, &[]);
    ensure!(stopped.status.success(), "{}", describe(&stopped));
    ensure!(!pid_file.exists(), "pid file left after --stop");
    no_process_left()?;
    // A stranger's pid: not taken.
    let script = format!(
        "{c} MAINPID={me} READY=1; exec sleep 30",
        c = client(),
        me = std::process::id()
    );
    let out = run(tool()
        .arg("-p")
        .arg(&pid_file)
        .args(["--notify-await", "sh", "-c", &script]));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    ensure_eq!(read_pid(&pid_file)?, daemon.0);
    // The client has exited once PROGRAM reaches its sleep.
    ensure!(
        wait_until(|| comm(daemon.0).as_deref() == Some("sleep")),
        "never reached its sleep"
    );
    Ok(())
}

/// Only PROGRAM and its descendants are heard: READY=1 sent by the test process itself to
/// the start's socket does not end the wait, which times out.
pub fn fail_notify_await_ignores_strangers() -> TestResult {
    needs_tool(&["tool-notify"])?;
    let dir = TempDir::new("await-stranger");
    let pid_file = dir.path("d.pid");
    let launcher = tool()
        .arg("-p")
        .arg(&pid_file)
        .args(["--notify-await", "--notify-timeout", "2", "sleep", "30"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let launcher_pid = launcher.id() as i32;
    let mut address = None;
    wait_until(|| {
        address = children()
            .into_iter()
            .filter(|&p| p != launcher_pid)
            .find_map(|p| environ(p, "NOTIFY_SOCKET"));
        address.is_some()
    });
    let sent = address.as_ref().is_some_and(|a| {
        let name = a.trim_start_matches('@');
        let socket = UnixDatagram::unbound().expect("socket");
        SocketAddr::from_abstract_name(name.as_bytes())
            .and_then(|addr| socket.send_to_addr(b"READY=1", &addr))
            .is_ok()
    });
    let out = launcher.wait_with_output().map_err(|e| e.to_string())?;
    ensure!(sent, "could not send to the start's socket ({address:?})");
    ensure_eq!(out.status.code(), Some(1), "{}", describe(&out));
    ensure_eq!(
        stderr_of(&out),
        "rawdaemon: notify-await /usr/bin/sleep: no READY=1 within 2 s\n"
    );
    no_process_left()?;
    ensure!(!pid_file.exists(), "pid file left behind");
    Ok(())
}

/// Every way PROGRAM fails to become ready in daemon mode: no READY=1 within
/// `--notify-timeout` (PROGRAM and what it started killed), and an exit before READY=1
/// (with its ERRNO=, if it sent one): status 1, the cause named, no process and no pid file
/// left.
pub fn fail_notify_await_every_mode() -> TestResult {
    needs_tool(&["tool-notify"])?;
    fail_in_modes(&[&[]])
}

/// As [`fail_notify_await_every_mode`], with `-R` and with `-f -R` (the supervisor waits for
/// the first run).
pub fn fail_notify_await_respawn_modes() -> TestResult {
    needs_tool(&["tool-notify", "tool-respawn"])?;
    fail_in_modes(&[&["-R"], &["-f", "-R"]])
}

/// The failures of [`fail_notify_await_every_mode`] with each of `modes`' options.
fn fail_in_modes(modes: &[&[&str]]) -> TestResult {
    let dir = TempDir::new("await-fail");
    let pid_file = dir.path("d.pid");
    let errno = format!("{} ERRNO=98; exit 3", client());
    for &mode in modes {
        let started = Instant::now();
        expect_failure(
            tool()
                .arg("-p")
                .arg(&pid_file)
                .args(mode)
                .args(["--notify-await", "--notify-timeout", "1"])
                .args(["sh", "-c", "sleep 30 & exec sleep 30"]),
            1,
            "rawdaemon: notify-await /usr/bin/sh: no READY=1 within 1 s",
            Some(&pid_file),
        )
        .map_err(|e| format!("{mode:?}: {e}"))?;
        ensure!(
            started.elapsed() < Duration::from_secs(8),
            "{mode:?}: took {:?}",
            started.elapsed()
        );
        expect_failure(
            tool()
                .arg("-p")
                .arg(&pid_file)
                .args(mode)
                .args(["--notify-await", "sh", "-c", &errno]),
            1,
            "rawdaemon: notify-await /usr/bin/sh: exited before READY=1 \
             (ERRNO=98: Address already in use)",
            Some(&pid_file),
        )
        .map_err(|e| format!("{mode:?}: {e}"))?;
        expect_failure(
            tool().arg("-p").arg(&pid_file).args(mode).args([
                "--notify-await",
                "sh",
                "-c",
                "exit 0",
            ]),
            1,
            "rawdaemon: notify-await /usr/bin/sh: exited before READY=1",
            Some(&pid_file),
        )
        .map_err(|e| format!("{mode:?}: {e}"))?;
    }
    Ok(())
}

/// `EXTEND_TIMEOUT_USEC=` pushes the end of the wait: READY=1 after 1.5 s passes a
/// 1-second `--notify-timeout` extended by 3 s.
pub fn tool_notify_await_extend_timeout() -> TestResult {
    needs_tool(&["tool-notify"])?;
    let dir = TempDir::new("await-extend");
    let pid_file = dir.path("d.pid");
    let script = format!(
        "{c} EXTEND_TIMEOUT_USEC=3000000; sleep 1.5; {c} READY=1; exec sleep 30",
        c = client()
    );
    let out = run(tool().arg("-p").arg(&pid_file).args([
        "--notify-await",
        "--notify-timeout",
        "1",
        "sh",
        "-c",
        &script,
    ]));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    ensure_eq!(read_pid(&pid_file)?, daemon.0);
    // The client has exited once PROGRAM reaches its sleep.
    ensure!(
        wait_until(|| comm(daemon.0).as_deref() == Some("sleep")),
        "never reached its sleep"
    );
    Ok(())
}

/// rawdaemon under a (fake) systemd with `Type=notify`: PROGRAM's STATUS= reaches it, then
/// READY=1 with `MAINPID=` the daemon (the worker PROGRAM named; with `-f` the tool's own
/// process, which became PROGRAM), and only after PROGRAM's READY=1; with `-f`, what PROGRAM
/// says later too.
pub fn tool_notify_await_under_systemd() -> TestResult {
    needs_tool(&["tool-notify"])?;
    let dir = TempDir::new("await-systemd");
    let pid_file = dir.path("d.pid");
    let (manager, address) = manager("await")?;
    // Daemon mode, with a worker.
    let script = format!(
        "{c} STATUS=loading; sleep 0.2; sleep 30 & {c} MAINPID=$! READY=1; exit 0",
        c = client()
    );
    let out = run(tool()
        .env("NOTIFY_SOCKET", &address)
        .arg("-p")
        .arg(&pid_file)
        .args(["--notify-await", "sh", "-c", &script]));
    ensure!(out.status.success(), "{}", describe(&out));
    let worker = Guard(read_pid(&pid_file)?);
    ensure_eq!(
        heard(&manager),
        vec![
            "STATUS=loading".to_string(),
            format!("READY=1\nMAINPID={}\n", worker.0)
        ]
    );
    drop(worker);
    no_process_left()?;
    relayed_in_the_foreground(&manager, &address, &dir, &["-f"])
}

/// As [`tool_notify_await_under_systemd`] with `-R` (`MAINPID=` the supervisor, which the
/// pid file names) and `-f -R` (the tool's own process, which became the supervisor).
pub fn tool_notify_await_respawn_under_systemd() -> TestResult {
    needs_tool(&["tool-notify", "tool-respawn"])?;
    let dir = TempDir::new("await-systemd-R");
    let pid_file = dir.path("d.pid");
    let (manager, address) = manager("await-R")?;
    // -R: the supervisor is the main process.
    let script = format!("sleep 0.2; {c} READY=1; exec sleep 30", c = client());
    let out = run(tool()
        .env("NOTIFY_SOCKET", &address)
        .arg("-p")
        .arg(&pid_file)
        .args(["-R", "--notify-await", "sh", "-c", &script]));
    ensure!(out.status.success(), "{}", describe(&out));
    let supervisor = read_pid(&pid_file)?;
    let _guard = Guard(supervisor);
    ensure_eq!(
        heard(&manager),
        vec![format!("READY=1\nMAINPID={supervisor}\n")]
    );
    let stopped = stop(&pid_file, &[]);
    ensure!(stopped.status.success(), "{}", describe(&stopped));
    no_process_left()?;
    relayed_in_the_foreground(&manager, &address, &dir, &["-f", "-R"])
}

/// With `mode` (`-f` or `-f -R`): `READY=1` with `MAINPID=` this very process (PROGRAM, or
/// the supervisor), after PROGRAM's READY=1 only; what PROGRAM says later is passed on.
fn relayed_in_the_foreground(
    manager: &UnixDatagram,
    address: &str,
    dir: &TempDir,
    mode: &[&str],
) -> TestResult {
    {
        let go = dir.path("go");
        let _ = std::fs::remove_file(&go);
        let script = format!(
            "while [ ! -e {go} ]; do sleep 0.01; done; {c} READY=1; {c} STATUS=serving; \
             exec sleep 30",
            c = client(),
            go = go.display()
        );
        let child = tool()
            .env("NOTIFY_SOCKET", address)
            .args(mode)
            .args(["--notify-await", "sh", "-c", &script])
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        let fg = Guard(child.id() as i32);
        std::thread::sleep(Duration::from_millis(300));
        ensure_eq!(
            heard(manager),
            Vec::<String>::new(),
            "{mode:?}: notified before READY=1"
        );
        std::fs::write(&go, "").map_err(|e| e.to_string())?;
        manager.set_nonblocking(false).map_err(|e| e.to_string())?;
        let mut buf = [0_u8; 256];
        let mut next = || -> Result<String, String> {
            let n = manager
                .recv(&mut buf)
                .map_err(|e| format!("{mode:?}: nothing heard: {e}"))?;
            Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
        };
        ensure_eq!(next()?, format!("READY=1\nMAINPID={}\n", fg.0), "{mode:?}");
        ensure_eq!(next()?, "STATUS=serving\n", "{mode:?}");
        drop(fg);
        sweep_children();
    }
    Ok(())
}

/// `-f --notify-await` (no `-R`): this process becomes PROGRAM, so a small watcher waits.
/// No READY=1 in time: it says so, kills PROGRAM (the caller sees SIGKILL) and removes the
/// pid file. An exit before READY=1: it says so and removes the pid file (the exit status
/// is PROGRAM's own). A step that fails before PROGRAM runs is reported once, by the start.
/// Nothing is left either way.
pub fn fail_notify_await_foreground() -> TestResult {
    needs_tool(&["tool-notify"])?;
    use std::os::unix::process::ExitStatusExt;
    let dir = TempDir::new("await-fg");
    let pid_file = dir.path("d.pid");
    let started = Instant::now();
    let out = run(tool().arg("-p").arg(&pid_file).args([
        "-f",
        "--notify-await",
        "--notify-timeout",
        "1",
        "sleep",
        "30",
    ]));
    ensure_eq!(out.status.signal(), Some(9), "{}", describe(&out));
    ensure!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    ensure_eq!(
        stderr_of(&out),
        "rawdaemon: notify-await /usr/bin/sleep: no READY=1 within 1 s\n"
    );
    ensure!(wait_until(|| !pid_file.exists()), "pid file left behind");
    no_process_left()?;
    let errno = format!("{} ERRNO=2; exit 3", client());
    let out =
        run(tool()
            .arg("-p")
            .arg(&pid_file)
            .args(["-f", "--notify-await", "sh", "-c", &errno]));
    ensure_eq!(out.status.code(), Some(3), "{}", describe(&out));
    ensure!(wait_until(|| !pid_file.exists()), "pid file left behind");
    no_process_left()?;
    ensure_eq!(
        stderr_of(&out),
        "rawdaemon: notify-await /usr/bin/sh: exited before READY=1 \
         (ERRNO=2: No such file or directory)\n"
    );
    expect_failure(
        tool().arg("-p").arg(&pid_file).args([
            "-f",
            "--notify-await",
            "-c",
            "/nonexistent",
            "sleep",
            "1",
        ]),
        1,
        "rawdaemon: chdir /nonexistent: No such file or directory",
        Some(&pid_file),
    )
}

/// `-R --watchdog 1`: PROGRAM gets WATCHDOG_USEC; while it sends WATCHDOG=1 it runs on; once
/// it stops, the supervisor says so, kills it and restarts it.
pub fn tool_respawn_watchdog_restarts() -> TestResult {
    needs_tool(&["tool-notify", "tool-respawn"])?;
    let dir = TempDir::new("watchdog");
    let pid_file = dir.path("d.pid");
    let log = dir.path("err.log");
    let script = format!(
        "{c} READY=1; for i in 1 2 3; do sleep 0.5; {c} WATCHDOG=1; done; exec sleep 30",
        c = client()
    );
    let out = run(tool().arg("-p").arg(&pid_file).arg("-e").arg(&log).args([
        "-R",
        "--notify-await",
        "--watchdog",
        "1",
        "sh",
        "-c",
        &script,
    ]));
    ensure!(out.status.success(), "{}", describe(&out));
    let supervisor = read_pid(&pid_file)?;
    let _guard = Guard(supervisor);
    let first = children_of(supervisor);
    let [first] = first.as_slice() else {
        return Err(format!("children of the supervisor: {first:?}"));
    };
    let _first = Guard(*first);
    ensure_eq!(
        environ(*first, "WATCHDOG_USEC"),
        Some("1000000".to_string())
    );
    // Petted for 1.5 s, then silent: killed about a second later, not before.
    std::thread::sleep(Duration::from_millis(1700));
    ensure!(alive(*first), "killed while it sent WATCHDOG=1");
    let restarted = wait_until(|| {
        children_of(supervisor)
            .iter()
            .any(|&p| p != *first && comm(p).is_some())
    });
    let text = read_text(&log).unwrap_or_default();
    ensure!(restarted, "never restarted; log: {text:?}");
    ensure!(
        text.starts_with(
            "rawdaemon: respawn /usr/bin/sh: no WATCHDOG=1 within 1 s; killing it\n\
             rawdaemon: respawn /usr/bin/sh: killed by signal 9; restarting in 100 ms\n"
        ),
        "log: {text:?}"
    );
    let stopped = stop(&pid_file, &[]);
    ensure!(stopped.status.success(), "{}", describe(&stopped));
    Ok(())
}

/// Usage errors, before anything starts: `--notify-await` with `-f` and `--ready-fd` (two
/// would send READY=1), `--watchdog` without `-R` and `--notify-await`, timeouts that are not whole
/// seconds from 1 to 86400.
pub fn fail_notify_await_usage() -> TestResult {
    needs_tool(&["tool-notify"])?;
    for (args, message) in [
        (
            &["-f", "--notify-await", "--ready-fd", "3", "sleep", "1"][..],
            "--notify-await with -f cannot be used with --ready-fd",
        ),
        (
            &["--notify-await", "--watchdog", "5", "sleep", "1"],
            "--watchdog needs --notify-await and -R",
        ),
        (
            &["--notify-await", "--notify-timeout", "0", "sleep", "1"],
            "--notify-timeout needs whole seconds, 1 to 86400: 0",
        ),
    ] {
        let out = run(tool().args(args));
        ensure_eq!(out.status.code(), Some(2), "{args:?}: {}", describe(&out));
        ensure!(
            stderr_of(&out).contains(message),
            "{args:?}: {}",
            describe(&out)
        );
    }
    no_process_left()
}

/// A build without `tool-notify` (the smallest tool) refuses `--notify-await`,
/// `--notify-timeout` and `--watchdog` with a usage error before anything starts, and leaves
/// them out of `--help`; a build with it documents each (`--notify-timeout` once).
pub fn fail_notify_await_not_in_this_build() -> TestResult {
    let lacking = tool_lacks().iter().any(|l| l == "tool-notify");
    let help = String::from_utf8_lossy(&run(tool().arg("--help")).stdout).into_owned();
    // One entry for --notify-timeout, which bounds --notify-await and --ready-when alike.
    let timeout = !lacking || !tool_lacks().iter().any(|l| l == "tool-ready");
    ensure_eq!(
        help.matches("--notify-timeout SECS").count(),
        usize::from(timeout),
        "--notify-timeout entries in --help:\n{help}"
    );
    for (option, line, args) in [
        (
            "--notify-await",
            "\n      --notify-await   PROGRAM reports readiness with sd_notify",
            &["--notify-await", "/bin/true"][..],
        ),
        (
            "--notify-timeout",
            "\n      --notify-timeout SECS  how long",
            &["--notify-timeout", "5", "/bin/true"],
        ),
        (
            "--watchdog",
            "\n      --watchdog SECS  with -R",
            &["--watchdog", "5", "/bin/true"],
        ),
    ] {
        ensure_eq!(help.contains(option), !lacking, "{option} in --help");
        if !lacking {
            ensure!(help.contains(line), "--help has no line {line:?}:\n{help}");
            continue;
        }
        expect_failure(
            tool().args(args),
            2,
            &format!(
                "rawdaemon: option not in this build of rawdaemon (see --version): {option} \
                 (try --help)"
            ),
            None,
        )?;
    }
    Ok(())
}

/// This process as another user: uid and gid 4242 (no passwd entry), no supplementary
/// groups; exits 1 if it cannot.
fn become_another_user() {
    // SAFETY: plain libc calls with no pointers but a null group list of length 0.
    let failed = unsafe {
        libc::setgroups(0, std::ptr::null()) != 0
            || libc::setresgid(4242, 4242, 4242) != 0
            || libc::setresuid(4242, 4242, 4242) != 0
    };
    if failed {
        std::process::exit(1)
    }
}

/// The role `notify-flood ADDRESS DEPTH SECS`: another user floods the notification socket
/// ADDRESS (`@name`) from the bottom of a chain of DEPTH nested processes (the receiver walks
/// up a sender's parents in `/proc`, a read per generation): 6 threads send `STATUS=x` as
/// fast as the socket takes it, for SECS. The chain is a process group of its own, which
/// [`Flood`] kills (and each process dies with its parent too, `PR_SET_PDEATHSIG`).
pub fn flood(args: &[String]) -> ! {
    let [address, depth, secs] = args else {
        std::process::exit(2)
    };
    let (Ok(depth), Ok(secs)) = (depth.parse::<u32>(), secs.parse::<u64>()) else {
        std::process::exit(2)
    };
    let until = Instant::now() + Duration::from_secs(secs);
    // SAFETY: no pointers.
    unsafe { libc::setpgid(0, 0) };
    become_another_user();
    for _ in 0..depth {
        // SAFETY: this process has one thread; each child calls libc, then goes on to fork
        // its own child (or, at the bottom, to send).
        match unsafe { libc::fork() } {
            // SAFETY: no pointers.
            0 => unsafe {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            },
            // SAFETY: ends this process at once.
            -1 => unsafe { libc::_exit(1) },
            // SAFETY: waits for our own child (no status wanted), then ends this process.
            child => unsafe {
                libc::waitpid(child, std::ptr::null_mut(), 0);
                libc::_exit(0)
            },
        }
    }
    let name = address.trim_start_matches('@').to_string();
    let senders: Vec<_> = (0..6)
        .map(|_| {
            let name = name.clone();
            std::thread::spawn(move || {
                let socket = UnixDatagram::unbound().expect("socket");
                let _ = socket.set_write_timeout(Some(Duration::from_millis(100)));
                let addr = SocketAddr::from_abstract_name(name.as_bytes()).expect("address");
                while Instant::now() < until {
                    let _ = socket.send_to_addr(b"STATUS=x", &addr);
                }
            })
        })
        .collect();
    for sender in senders {
        let _ = sender.join();
    }
    // SAFETY: ends this process at once.
    unsafe { libc::_exit(0) }
}

/// The role `notify-squat ADDRESS SECS`: another user tries, every millisecond for SECS, to
/// bind the abstract name of ADDRESS (`@name`), as one who watches `/proc/net/unix` for it
/// to go would; once bound, prints `bound` and every datagram heard, until SECS are over.
pub fn squat(args: &[String]) -> ! {
    let [address, secs] = args else {
        std::process::exit(2)
    };
    let Ok(secs) = secs.parse::<u64>() else {
        std::process::exit(2)
    };
    let until = Instant::now() + Duration::from_secs(secs);
    become_another_user();
    let name = address.trim_start_matches('@');
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).expect("address");
    let socket = loop {
        if let Ok(socket) = UnixDatagram::bind_addr(&addr) {
            break socket;
        }
        if Instant::now() > until {
            std::process::exit(0)
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    println!("bound");
    let mut buf = [0_u8; 4096];
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        let _ = socket.set_read_timeout(Some(left.max(Duration::from_millis(1))));
        if let Ok(n) = socket.recv(&mut buf) {
            println!("heard {:?}", String::from_utf8_lossy(&buf[..n]));
        }
    }
    std::process::exit(0)
}

/// A flood (role `notify-flood`) on `address` for `secs`, killed with its whole chain (its
/// process group) when dropped.
struct Flood(i32);

impl Flood {
    fn start(address: &str, secs: &str) -> Result<Flood, String> {
        Ok(Flood(
            start_role("notify-flood", &[address, "200", secs])?.id() as i32,
        ))
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        // SAFETY: signals the flood's own process group (its pid is the group's id once it
        // runs; before, the signal goes to the process alone), then waits for our child.
        unsafe {
            libc::kill(-self.0, libc::SIGKILL);
            libc::kill(self.0, libc::SIGKILL);
            libc::waitpid(self.0, std::ptr::null_mut(), 0);
        }
    }
}

/// `EXE --role ROLE ARGS...`, started.
fn start_role(role: &str, args: &[&str]) -> Result<std::process::Child, String> {
    Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
        .args(["--role", role])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())
}

/// The notification socket of the child of this process other than `launcher` that has
/// one (PROGRAM, re-parented here).
fn program_socket(launcher: i32) -> Result<String, String> {
    let mut address = None;
    wait_until(|| {
        address = children()
            .into_iter()
            .filter(|&p| p != launcher)
            .find_map(|p| environ(p, "NOTIFY_SOCKET"));
        address.is_some()
    });
    address.ok_or_else(|| "PROGRAM's NOTIFY_SOCKET never showed".to_string())
}

/// Another user floods the start's socket from deep in a chain of processes (each datagram
/// costs the launcher `/proc` reads to place its sender): the 2 s `--notify-timeout` still
/// fails the start in about 2 s while the flood goes on for 20, with nothing left behind.
pub fn fail_notify_await_flood_keeps_the_timeout() -> TestResult {
    needs_tool(&["tool-notify"])?;
    needs_root()?;
    let dir = TempDir::new("await-flood");
    let pid_file = dir.path("d.pid");
    let started = Instant::now();
    let mut launcher = tool()
        .arg("-p")
        .arg(&pid_file)
        .args(["--notify-await", "--notify-timeout", "2", "sleep", "100"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let address = program_socket(launcher.id() as i32);
    let flood = match &address {
        Ok(address) => Some(Flood::start(address, "20")?),
        Err(_) => None,
    };
    let deadline = started + Duration::from_secs(30);
    while launcher.try_wait().map_err(|e| e.to_string())?.is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let took = started.elapsed();
    let flooding = flood.as_ref().is_some_and(|f| alive(f.0));
    drop(flood);
    let _ = launcher.kill();
    let out = launcher.wait_with_output().map_err(|e| e.to_string())?;
    address?;
    ensure!(
        took < Duration::from_secs(8) && flooding,
        "the start failed after {took:?} (the flood still on: {flooding}): {}",
        describe(&out)
    );
    ensure_eq!(out.status.code(), Some(1), "{}", describe(&out));
    ensure_eq!(
        stderr_of(&out),
        "rawdaemon: notify-await /usr/bin/sleep: no READY=1 within 2 s\n"
    );
    no_process_left()?;
    ensure!(!pid_file.exists(), "pid file left behind");
    Ok(())
}

/// `-R`: while another user floods the notification socket (as above), the supervisor goes
/// on copying PROGRAM's output to its log, and `--stop` with TERM alone (no SIGKILL in the
/// schedule) ends it.
pub fn tool_respawn_notify_flood_keeps_output_and_stop() -> TestResult {
    needs_tool(&["tool-notify", "tool-respawn", "tool-control"])?;
    needs_root()?;
    let dir = TempDir::new("await-flood-R");
    let pid_file = dir.path("d.pid");
    let log = dir.path("out.log");
    let script = format!(
        "{c} READY=1; while :; do echo tick; sleep 0.05; done",
        c = client()
    );
    let out = run(tool().arg("-p").arg(&pid_file).arg("-o").arg(&log).args([
        "-R",
        "--notify-await",
        "sh",
        "-c",
        &script,
    ]));
    ensure!(out.status.success(), "{}", describe(&out));
    let supervisor = Guard(read_pid(&pid_file)?);
    let runs = children_of(supervisor.0);
    let [program] = runs.as_slice() else {
        return Err(format!("children of the supervisor: {runs:?}"));
    };
    let address = environ(*program, "NOTIFY_SOCKET").ok_or("no NOTIFY_SOCKET")?;
    let flood = Flood::start(&address, "20")?;
    // The flood is on.
    std::thread::sleep(Duration::from_secs(1));
    let size = || std::fs::metadata(&log).map_or(0, |m| m.len());
    for round in 0..2 {
        let before = size();
        ensure!(
            wait_until(|| size() > before),
            "round {round}: no output copied during the flood ({before} bytes)"
        );
    }
    let started = Instant::now();
    let stopped = stop(&pid_file, &["--retry", "TERM/5"]);
    let took = started.elapsed();
    ensure!(alive(flood.0), "the flood was over before the stop");
    drop(flood);
    ensure!(
        stopped.status.success(),
        "after {took:?}: {}",
        describe(&stopped)
    );
    ensure!(!pid_file.exists(), "pid file left after --stop");
    drop(supervisor);
    no_process_left()
}

/// Once PROGRAM has sent READY=1, another user who takes the socket's name as soon as it is
/// free would hear what PROGRAM says later, descriptors included: the name stays bound
/// (daemon mode: by a small holder process, until the daemon exits; `-f` without a service
/// manager: by the watcher, until PROGRAM exits), so such a squatter never binds it and hears
/// nothing, while PROGRAM's later sends are refused.
pub fn tool_notify_await_name_kept_from_others() -> TestResult {
    needs_tool(&["tool-notify", "tool-control"])?;
    needs_root()?;
    let dir = TempDir::new("await-squat");
    let pid_file = dir.path("d.pid");
    let go = dir.path("go");
    let script = format!(
        "{c} READY=1; while [ ! -e {go} ]; do sleep 0.01; done; {c} STATUS=secret; \
         exec sleep 30",
        c = client(),
        go = go.display()
    );
    // Daemon mode: the launcher has exited.
    let out = run(tool()
        .env_remove("NOTIFY_SOCKET")
        .arg("-p")
        .arg(&pid_file)
        .args(["--notify-await", "sh", "-c", &script]));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = Guard(read_pid(&pid_file)?);
    let address = environ(daemon.0, "NOTIFY_SOCKET").ok_or("no NOTIFY_SOCKET")?;
    let heard = squat_after_ready(&address, &go, daemon.0)?;
    ensure_eq!(heard, "", "daemon mode: the squatter's output");
    let stopped = stop(&pid_file, &[]);
    ensure!(stopped.status.success(), "{}", describe(&stopped));
    drop(daemon);
    // The holder went with the daemon.
    no_process_left()?;
    let _ = std::fs::remove_file(&go);
    // -f, no service manager, no pid file: the watcher has nobody to tell.
    let child = tool()
        .env_remove("NOTIFY_SOCKET")
        .args(["-f", "--notify-await", "sh", "-c", &script])
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let program = Guard(child.id() as i32);
    ensure!(
        wait_until(|| environ(program.0, "NOTIFY_SOCKET").is_some()),
        "-f: PROGRAM never ran"
    );
    let address = environ(program.0, "NOTIFY_SOCKET").unwrap_or_default();
    let heard = squat_after_ready(&address, &go, program.0)?;
    ensure_eq!(heard, "", "-f: the squatter's output");
    drop(program);
    no_process_left()
}

/// Runs a squatter (role `notify-squat`) on `address` for 3 s; after it has tried for a
/// while, creates `go`, on which PROGRAM (`program`) sends `STATUS=secret` and goes to
/// sleep. What the squatter printed.
fn squat_after_ready(address: &str, go: &std::path::Path, program: i32) -> Result<String, String> {
    let squatter = start_role("notify-squat", &[address, "3"])?;
    std::thread::sleep(Duration::from_millis(500));
    std::fs::write(go, "").map_err(|e| e.to_string())?;
    let slept = wait_until(|| comm(program).as_deref() == Some("sleep"));
    let out = squatter.wait_with_output().map_err(|e| e.to_string())?;
    ensure!(slept, "PROGRAM never reached its sleep");
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `-R --watchdog 1` with a PROGRAM that sends READY=1 and then nothing at all (no
/// WATCHDOG=1, no other datagram, no output): the watchdog runs from each run's start all
/// the same, so the run is killed and restarted, and the next run too.
pub fn tool_respawn_watchdog_without_a_word() -> TestResult {
    needs_tool(&["tool-notify", "tool-respawn"])?;
    let dir = TempDir::new("watchdog-silent");
    let pid_file = dir.path("d.pid");
    let log = dir.path("err.log");
    let script = format!("{c} --linger READY=1; exec sleep 30", c = client());
    let out = run(tool().arg("-p").arg(&pid_file).arg("-e").arg(&log).args([
        "-R",
        "--notify-await",
        "--watchdog",
        "1",
        "sh",
        "-c",
        &script,
    ]));
    ensure!(out.status.success(), "{}", describe(&out));
    let supervisor = Guard(read_pid(&pid_file)?);
    let expired = "rawdaemon: respawn /usr/bin/sh: no WATCHDOG=1 within 1 s; killing it\n";
    let twice = wait_until(|| read_text(&log).unwrap_or_default().matches(expired).count() >= 2);
    let text = read_text(&log).unwrap_or_default();
    ensure!(twice, "log: {text:?}");
    ensure!(
        text.starts_with(&format!(
            "{expired}rawdaemon: respawn /usr/bin/sh: killed by signal 9; restarting in 100 ms\n"
        )),
        "log: {text:?}"
    );
    let stopped = stop(&pid_file, &[]);
    ensure!(stopped.status.success(), "{}", describe(&stopped));
    drop(supervisor);
    no_process_left()
}

/// `MAINPID=` naming a worker that left PROGRAM's session (`setsid`): the pid file records
/// the worker's session, so `--status` finds it running and `--stop` ends it.
pub fn tool_notify_await_main_pid_in_its_own_session() -> TestResult {
    needs_tool(&["tool-notify", "tool-control"])?;
    let dir = TempDir::new("await-mainpid-setsid");
    let pid_file = dir.path("d.pid");
    let script = format!(
        "setsid sleep 60 & w=$!; sleep 0.2; {c} MAINPID=$w READY=1; sleep 0.3",
        c = client()
    );
    let out = run(tool()
        .arg("-p")
        .arg(&pid_file)
        .args(["--notify-await", "sh", "-c", &script]));
    ensure!(out.status.success(), "{}", describe(&out));
    let worker = Guard(read_pid(&pid_file)?);
    ensure_eq!(comm(worker.0), Some("sleep".to_string()));
    // SAFETY: getsid has no pointers.
    let sid = unsafe { libc::getsid(worker.0) };
    ensure_eq!(sid, worker.0, "the worker leads a session of its own");
    // PROGRAM itself is gone by now.
    ensure!(
        wait_until(|| {
            reap_zombies();
            the_daemon_is(worker.0)
        }),
        "processes: {:?}",
        children()
    );
    let st = status(&pid_file);
    ensure_eq!(st.status.code(), Some(0), "{}", describe(&st));
    ensure_eq!(
        String::from_utf8_lossy(&st.stdout),
        format!("{}\n", worker.0)
    );
    let stopped = stop(&pid_file, &[]);
    ensure!(stopped.status.success(), "{}", describe(&stopped));
    ensure!(!alive(worker.0), "the worker runs on after --stop");
    ensure!(!pid_file.exists(), "pid file left after --stop");
    drop(worker);
    no_process_left()
}

/// Whether `pid` is the one child of this process, notify holders aside.
fn the_daemon_is(pid: i32) -> bool {
    children()
        .into_iter()
        .filter(|&p| comm(p).as_deref() != Some(HOLDER))
        .eq([pid])
}
