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
/// be there. Exits 0, or 1 if it could not send.
pub fn sd_notify(lines: &[String]) -> ! {
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
    barrier(&socket);
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
/// start's own abstract socket (not the service manager's), which is gone with the
/// launcher.
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
    // Nobody listens any more: a late notification is refused, not queued.
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
        // Only the daemon is left: the client has exited.
        ensure!(
            wait_until(|| {
                reap_zombies();
                children() == vec![daemon.0]
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
/// them out of `--help`; a build with it documents each.
pub fn fail_notify_await_not_in_this_build() -> TestResult {
    let lacking = tool_lacks().iter().any(|l| l == "tool-notify");
    let help = String::from_utf8_lossy(&run(tool().arg("--help")).stdout).into_owned();
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
