//! `--syslog` and `--kmsg`: PROGRAM's output as lines in a real log. The syslog daemon is
//! Debian's static busybox `syslogd`, run in a small chroot so that its `/dev/log` is a
//! private socket the tool reaches with `--log-socket`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::*;
use crate::{ensure, ensure_eq};

const BUSYBOX: &str = "/bin/busybox";

/// A running syslogd whose socket is `DIR/dev/log` and whose file is `DIR/log`.
struct Syslogd {
    dir: PathBuf,
    process: Option<Guard>,
}

impl Syslogd {
    fn start(dir: &Path) -> Result<Syslogd, String> {
        needs_root()?; // chroot
        if !Path::new(BUSYBOX).exists() {
            return Err(format!("skip: {BUSYBOX} (busybox-static) is not installed"));
        }
        fs::create_dir_all(dir.join("dev")).map_err(|e| e.to_string())?;
        fs::create_dir_all(dir.join("bin")).map_err(|e| e.to_string())?;
        if !dir.join("bin/busybox").exists() {
            fs::copy(BUSYBOX, dir.join("bin/busybox")).map_err(|e| e.to_string())?;
        }
        let mut d = Syslogd {
            dir: dir.to_path_buf(),
            process: None,
        };
        d.restart()?;
        Ok(d)
    }

    /// Starts (again) the daemon, and waits until its socket is there.
    fn restart(&mut self) -> TestResult {
        let socket = self.socket();
        let _ = fs::remove_file(&socket);
        let child = Command::new("chroot")
            .arg(&self.dir)
            .args(["/bin/busybox", "syslogd", "-n", "-O", "/log"])
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| format!("syslogd: {e}"))?;
        self.process = Some(Guard(child.id() as i32));
        ensure!(wait_until(|| socket.exists()), "syslogd made no socket");
        Ok(())
    }

    fn stop(&mut self) {
        self.process = None; // SIGKILL and reap
    }

    fn pid(&self) -> i32 {
        self.process.as_ref().map_or(0, |g| g.0)
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("dev/log")
    }

    /// The received lines without busybox's `Mmm dd hh:mm:ss host ` prefix:
    /// `facility.level tag[pid]: message`.
    fn lines(&self) -> Vec<String> {
        let text = fs::read_to_string(self.dir.join("log")).unwrap_or_default();
        text.lines()
            .map(|line| {
                let mut rest = line;
                for _ in 0..4 {
                    rest = rest.trim_start_matches(' ');
                    rest = rest.find(' ').map_or("", |i| &rest[i..]);
                }
                rest.trim_start_matches(' ').to_string()
            })
            .filter(|l| !l.starts_with("syslog."))
            .collect()
    }

    /// Waits until a received line ends with `suffix`.
    fn wait_for(&self, suffix: &str) -> TestResult {
        ensure!(
            wait_until(|| self.lines().iter().any(|l| l.ends_with(suffix))),
            "no line ending in {suffix:?}: {:?}",
            self.lines()
        );
        Ok(())
    }
}

/// Waits until only syslogd is left among our children (the program and its logger ended).
fn only_syslogd_left(syslogd: &Syslogd) -> TestResult {
    ensure!(
        wait_until(|| {
            reap_zombies();
            children() == vec![syslogd.pid()]
        }),
        "still running: {:?}",
        children()
    );
    Ok(())
}

fn logged(pid_file: &Path, args: &[&str], socket: &Path, script: &str) -> Command {
    let mut cmd = tool();
    cmd.arg("-p")
        .arg(pid_file)
        .args(args)
        .arg("--log-socket")
        .arg(socket)
        .args(["sh", "-c", script]);
    cmd
}

/// stdout at info, stderr at err, the tag and PROGRAM's pid, a last line without a newline,
/// and a line longer than the buffer cut with `...` (its tail not logged as a line).
pub fn tool_syslog_lines() -> TestResult {
    needs_tool(&["tool-syslog"])?;
    let dir = TempDir::new("syslog");
    let syslogd = Syslogd::start(&dir.path("root"))?;
    let pid_file = dir.path("d.pid");
    let script = "echo hello out; echo hello err >&2; head -c 3000 /dev/zero | tr '\\0' x; \
                  echo; echo after; printf 'no newline'";
    let out = run(&mut logged(
        &pid_file,
        &["--syslog", "agent.local3"],
        &syslogd.socket(),
        script,
    ));
    ensure!(out.status.success(), "{}", describe(&out));
    let pid = read_pid(&pid_file)?;
    only_syslogd_left(&syslogd)?;
    syslogd.wait_for(": no newline")?;
    let lines = syslogd.lines();
    let tag = format!("agent[{pid}]: ");
    let stdout: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("local3.info "))
        .collect();
    let stderr: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("local3.err "))
        .collect();
    ensure_eq!(stdout.len() + stderr.len(), lines.len(), "{lines:?}");
    ensure_eq!(
        stderr.iter().map(|l| l.as_str()).collect::<Vec<_>>(),
        vec![format!("local3.err {tag}hello err")]
    );
    ensure_eq!(stdout.len(), 4, "{stdout:?}");
    ensure_eq!(*stdout[0], format!("local3.info {tag}hello out"));
    let long = stdout[1]
        .strip_prefix(&format!("local3.info {tag}"))
        .ok_or("long line tag")?;
    let xs = long.trim_end_matches("...");
    ensure!(
        long.ends_with("...") && xs.len() > 900 && xs.len() < 1024 && xs.bytes().all(|b| b == b'x'),
        "long line: {} bytes: {long:?}",
        long.len()
    );
    ensure_eq!(*stdout[2], format!("local3.info {tag}after"));
    ensure_eq!(*stdout[3], format!("local3.info {tag}no newline"));
    Ok(())
}

/// Parses `daemon.LEVEL tag[pid]: N` and the drop reports; returns the numbers received and
/// the total of lines reported lost.
fn received(lines: &[String], tag: &str) -> Result<(Vec<u32>, u32), String> {
    let mut numbers = Vec::new();
    let mut lost = 0;
    for line in lines {
        let msg = line
            .split_once(&format!(" {tag}["))
            .and_then(|(_, rest)| rest.split_once("]: "))
            .map(|(_, msg)| msg)
            .ok_or(format!("unexpected line {line:?}"))?;
        if let Some(n) = msg
            .strip_prefix("rawdaemon: ")
            .and_then(|m| m.split(' ').next())
        {
            ensure!(msg.contains("could not be delivered"), "{line:?}");
            lost += n.parse::<u32>().map_err(|e| format!("{line:?}: {e}"))?;
        } else {
            numbers.push(msg.parse().map_err(|e| format!("{line:?}: {e}"))?);
        }
    }
    Ok((numbers, lost))
}

/// A burst of 10,000 lines: every line is delivered in order, or counted as lost and
/// reported; PROGRAM is never blocked for good (it exits, the logger ends).
pub fn tool_syslog_burst() -> TestResult {
    needs_tool(&["tool-syslog"])?;
    let dir = TempDir::new("syslog-burst");
    let syslogd = Syslogd::start(&dir.path("root"))?;
    let pid_file = dir.path("d.pid");
    let out = run(&mut logged(
        &pid_file,
        &["--syslog", "burst"],
        &syslogd.socket(),
        "seq 1 10000",
    ));
    ensure!(out.status.success(), "{}", describe(&out));
    only_syslogd_left(&syslogd)?;
    // The logger has ended, so every line was sent or counted; syslogd writes what it got.
    wait_until(|| {
        let (numbers, lost) = received(&syslogd.lines(), "burst").unwrap_or_default();
        numbers.len() as u32 + lost == 10_000
    });
    let (numbers, lost) = received(&syslogd.lines(), "burst")?;
    ensure!(
        numbers.windows(2).all(|w| w[0] < w[1]),
        "out of order or repeated"
    );
    ensure_eq!(
        numbers.len() as u32 + lost,
        10_000,
        "{} received, {lost} reported lost",
        numbers.len()
    );
    println!("    ({} delivered, {lost} reported lost)", numbers.len());
    Ok(())
}

/// The log daemon restarts in the middle: the line sent while it is down is delivered or
/// counted and reported, and the next lines arrive again (the client reconnected).
pub fn tool_syslog_daemon_restarts() -> TestResult {
    needs_tool(&["tool-syslog"])?;
    let dir = TempDir::new("syslog-restart");
    let mut syslogd = Syslogd::start(&dir.path("root"))?;
    let pid_file = dir.path("d.pid");
    let (go1, go2) = (dir.path("go1"), dir.path("go2"));
    let script = format!(
        "echo one; while [ ! -e {g1} ]; do sleep 0.01; done; echo two; \
         while [ ! -e {g2} ]; do sleep 0.01; done; echo three",
        g1 = go1.display(),
        g2 = go2.display()
    );
    let out = run(&mut logged(
        &pid_file,
        &["--syslog", "restart"],
        &syslogd.socket(),
        &script,
    ));
    ensure!(out.status.success(), "{}", describe(&out));
    syslogd.wait_for(": one")?;
    syslogd.stop();
    fs::write(&go1, "").map_err(|e| e.to_string())?;
    // The program goes on to its second wait whatever happens to "two".
    let pid = read_pid(&pid_file)?;
    ensure!(
        wait_until(|| fs::read_to_string(format!("/proc/{pid}/cmdline")).is_ok()),
        "program gone"
    );
    syslogd.restart()?;
    fs::write(&go2, "").map_err(|e| e.to_string())?;
    syslogd.wait_for(": three")?;
    only_syslogd_left(&syslogd)?;
    let lines = syslogd.lines();
    let two = lines.iter().any(|l| l.ends_with(": two"));
    let reported = lines
        .iter()
        .any(|l| l.ends_with(": rawdaemon: 1 line could not be delivered to the log"));
    ensure!(
        two != reported,
        "\"two\" must be delivered or reported lost, once: {lines:?}"
    );
    Ok(())
}

/// Respawn with --syslog: the supervisor logs PROGRAM's lines and its own messages.
pub fn tool_syslog_respawn() -> TestResult {
    needs_tool(&["tool-respawn", "tool-syslog"])?;
    let dir = TempDir::new("syslog-respawn");
    let syslogd = Syslogd::start(&dir.path("root"))?;
    let pid_file = dir.path("d.pid");
    let out = run(&mut logged(
        &pid_file,
        &["-R", "--max-restarts", "1", "--syslog", "sup.local1"],
        &syslogd.socket(),
        "echo try; exit 4",
    ));
    ensure!(out.status.success(), "{}", describe(&out));
    syslogd.wait_for("exited 2 times within 60 s; giving up")?;
    only_syslogd_left(&syslogd)?;
    let lines: Vec<String> = syslogd
        .lines()
        .into_iter()
        .map(|l| {
            // Drop the pids, which change with each start.
            let (head, rest) = l.split_once('[').unwrap_or((&l, ""));
            format!("{head}{}", rest.split_once(']').map_or("", |(_, r)| r))
        })
        .collect();
    let sh = "/usr/bin/sh";
    ensure_eq!(
        lines,
        vec![
            "local1.info sup: try".to_string(),
            format!(
                "local1.err sup: rawdaemon: respawn {sh}: exited with status 4; restarting in 100 ms"
            ),
            "local1.info sup: try".to_string(),
            format!("local1.err sup: rawdaemon: respawn {sh}: exited with status 4"),
            format!(
                "local1.err sup: rawdaemon: respawn {sh}: exited 2 times within 60 s; giving up"
            ),
        ]
    );
    ensure!(!pid_file.exists(), "pid file left");
    Ok(())
}

/// `--kmsg`: the lines are in the kernel log, read back from /dev/kmsg.
pub fn tool_kmsg() -> TestResult {
    needs_tool(&["tool-syslog"])?;
    use std::io::{Read, Seek, SeekFrom};
    use std::os::unix::fs::OpenOptionsExt;
    let mut kmsg = match fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open("/dev/kmsg")
    {
        Ok(f) => f,
        Err(e) => return Err(format!("skip: /dev/kmsg cannot be read here: {e}")),
    };
    kmsg.seek(SeekFrom::End(0)).map_err(|e| e.to_string())?;
    let dir = TempDir::new("kmsg");
    let pid_file = dir.path("d.pid");
    let tag = format!("rdtest{}", std::process::id());
    let out = run(tool().arg("-p").arg(&pid_file).args([
        "--kmsg",
        &format!("{tag}.daemon"),
        "sh",
        "-c",
        "echo to the kernel; echo oops >&2",
    ]));
    ensure!(out.status.success(), "{}", describe(&out));
    let pid = read_pid(&pid_file)?;
    no_process_left()?;
    // Each read returns one record: `PRI,SEQ,USEC,FLAGS;MESSAGE`.
    let mut records = Vec::new();
    let mut buf = [0_u8; 8192];
    let found = wait_until(|| {
        while let Ok(n) = kmsg.read(&mut buf) {
            let record = String::from_utf8_lossy(&buf[..n]).into_owned();
            if record.contains(&tag) {
                records.push(record);
            }
        }
        records.len() >= 2
    });
    if !found && records.is_empty() {
        return Err("skip: nothing of ours reached /dev/kmsg (rate limit?)".to_string());
    }
    let text: Vec<String> = records
        .iter()
        .map(|r| {
            let (head, msg) = r.trim_end().split_once(';').unwrap_or(("", ""));
            format!("{} {msg}", head.split(',').next().unwrap_or(""))
        })
        .collect();
    // daemon.info is 3*8+6 = 30, daemon.err 27.
    ensure_eq!(
        text,
        vec![
            format!("30 {tag}[{pid}]: to the kernel"),
            format!("27 {tag}[{pid}]: oops")
        ]
    );
    Ok(())
}

/// The logger starts before the root directory and the user change: output reaches syslog
/// from a chroot, and the kernel log from a daemon running as `nobody`.
pub fn tool_log_with_chroot_and_user() -> TestResult {
    needs_tool(&["tool-privileges", "tool-syslog"])?;
    let dir = TempDir::new("syslog-jail");
    let syslogd = Syslogd::start(&dir.path("root"))?;
    let pid_file = dir.path("d.pid");
    let jail = dir.path("jail");
    crate::common::jail(&jail)?;
    let out = run(tool()
        .arg("-p")
        .arg(&pid_file)
        .args(["--syslog", "jailed", "--log-socket"])
        .arg(syslogd.socket())
        .arg("-r")
        .arg(&jail)
        .args(["-u", "nobody", "-E", "PATH=/bin", "sleep", "0"]));
    ensure!(out.status.success(), "{}", describe(&out));
    // `sleep 0` writes nothing: the logger ends silently; check with a program that talks.
    only_syslogd_left(&syslogd)?;
    let out = run(tool()
        .arg("-p")
        .arg(&pid_file)
        .args(["--syslog", "jailed", "--log-socket"])
        .arg(syslogd.socket())
        .arg("-r")
        .arg(&jail)
        .args([
            "-u",
            "nobody",
            "-E",
            "PATH=/bin",
            "sleep",
            "--no-such-option",
        ]));
    ensure!(out.status.success(), "{}", describe(&out));
    only_syslogd_left(&syslogd)?;
    syslogd.wait_for("Try 'sleep --help' for more information.")?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// A log daemon that does not read, or is not there

/// A log socket nobody reads (bound, never read: a stuck log daemon): 2,000 lines of 100
/// bytes (more than the pipe holds) do not hold PROGRAM up for seconds, as a wait of 100 ms
/// per lost line did; once the socket is read again, the count of lost lines arrives, and
/// every line is delivered or counted.
pub fn tool_syslog_unread_socket_holds_no_one() -> TestResult {
    needs_tool(&["tool-syslog"])?;
    use std::os::unix::net::UnixDatagram;
    let dir = TempDir::new("syslog-stuck");
    let socket = dir.path("log.sock");
    let rx = UnixDatagram::bind(&socket).map_err(|e| e.to_string())?;
    let pid_file = dir.path("d.pid");
    let (done, go) = (dir.path("done"), dir.path("go"));
    let pad = "x".repeat(90);
    let script = format!(
        "i=0; while [ $i -lt 2000 ]; do i=$((i+1)); echo \"$i {pad}\"; done; : > {done}; \
         while [ ! -e {go} ]; do sleep 0.01; done; echo after",
        done = done.display(),
        go = go.display()
    );
    let started = std::time::Instant::now();
    let out = run(&mut logged(
        &pid_file,
        &["--syslog", "stuck"],
        &socket,
        &script,
    ));
    ensure!(out.status.success(), "{}", describe(&out));
    ensure!(out.stderr.is_empty(), "{}", describe(&out));
    // A generous bound: with a wait per lost line this took minutes.
    ensure!(
        wait_until(|| done.exists()),
        "2,000 lines held the program up for over 5 s"
    );
    println!(
        "    (2,000 lines to a stuck socket in {} ms)",
        started.elapsed().as_millis()
    );
    // The log daemon reads again: what waits in the socket first.
    rx.set_nonblocking(true).map_err(|e| e.to_string())?;
    let mut lines = Vec::new();
    let mut buf = [0_u8; 2048];
    while let Ok(n) = rx.recv(&mut buf) {
        lines.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    rx.set_nonblocking(false).map_err(|e| e.to_string())?;
    rx.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    fs::write(&go, "").map_err(|e| e.to_string())?;
    loop {
        let n = rx
            .recv(&mut buf)
            .map_err(|e| format!("no \"after\": {e}; got {lines:?}"))?;
        let line = String::from_utf8_lossy(&buf[..n]).into_owned();
        let last = line.ends_with(": after");
        lines.push(line);
        if last {
            break;
        }
    }
    let mut numbers = Vec::new();
    let mut lost = Vec::new();
    for line in &lines[..lines.len() - 1] {
        let msg = line
            .split_once("]: ")
            .map(|(_, msg)| msg)
            .ok_or(format!("{line:?}"))?;
        match msg.strip_prefix("rawdaemon: ") {
            Some(report) => lost.push(
                report
                    .strip_suffix(" could not be delivered to the log")
                    .and_then(|n| n.split(' ').next())
                    .and_then(|n| n.parse::<u32>().ok())
                    .ok_or(format!("{line:?}"))?,
            ),
            None => numbers.push(
                msg.split(' ')
                    .next()
                    .and_then(|n| n.parse::<u32>().ok())
                    .ok_or(format!("{line:?}"))?,
            ),
        }
    }
    // Reports (as soon as the socket takes a line again; the queue may fill again while
    // this test is between its reads) of every line that did not arrive.
    let lost: u32 = lost.iter().sum();
    ensure!(lost > 0, "nothing reported lost");
    ensure!(numbers.windows(2).all(|w| w[0] < w[1]), "out of order");
    ensure_eq!(numbers.len() as u32 + lost, 2000, "{numbers:?}");
    println!("    ({} delivered, {lost} reported lost)", numbers.len());
    no_process_left()
}

/// `--syslog` with no socket to send to: one warning on stderr naming the socket and the
/// cause, and PROGRAM starts all the same (a log daemon may come up later in boot); with a
/// socket there, no warning.
pub fn tool_syslog_without_socket_warns() -> TestResult {
    needs_tool(&["tool-syslog"])?;
    let dir = TempDir::new("syslog-none");
    let pid_file = dir.path("d.pid");
    let socket = dir.path("log.sock");
    let warning = |cause: &str| {
        format!(
            "rawdaemon: warning: syslog socket {}: {cause}; lines are dropped until it accepts them\n",
            socket.display()
        )
    };
    let out = run(&mut logged(
        &pid_file,
        &["--syslog", "none"],
        &socket,
        "echo lost",
    ));
    ensure!(out.status.success(), "{}", describe(&out));
    ensure_eq!(stderr_of(&out), warning("No such file or directory"));
    no_process_left()?;
    // A socket file left by a log daemon that died.
    let rx = std::os::unix::net::UnixDatagram::bind(&socket).map_err(|e| e.to_string())?;
    drop(rx);
    let out = run(&mut logged(
        &pid_file,
        &["--syslog", "none"],
        &socket,
        "echo lost",
    ));
    ensure!(out.status.success(), "{}", describe(&out));
    ensure_eq!(stderr_of(&out), warning("Connection refused"));
    no_process_left()?;
    // A log daemon listening: no warning, and the line arrives.
    fs::remove_file(&socket).map_err(|e| e.to_string())?;
    let rx = std::os::unix::net::UnixDatagram::bind(&socket).map_err(|e| e.to_string())?;
    rx.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    let out = run(&mut logged(
        &pid_file,
        &["--syslog", "none"],
        &socket,
        "echo heard",
    ));
    ensure!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        describe(&out)
    );
    let mut buf = [0_u8; 2048];
    let n = rx.recv(&mut buf).map_err(|e| e.to_string())?;
    ensure!(
        buf[..n].ends_with(b": heard"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    no_process_left()
}

/// `--stop` during PROGRAM's graceful shutdown with `--syslog`: the TERM that reaches the
/// whole session spares the logging process, and every shutdown line and `clean exit` are
/// logged; the stop ends everything without SIGKILL.
pub fn tool_syslog_stop_keeps_the_shutdown_lines() -> TestResult {
    needs_tool(&["tool-syslog", "tool-control"])?;
    let dir = TempDir::new("syslog-stop");
    let syslogd = Syslogd::start(&dir.path("root"))?;
    let pid_file = dir.path("r.pid");
    let out = run(&mut logged(
        &pid_file,
        &["--syslog", "slow"],
        &syslogd.socket(),
        crate::rotate::SLOW_STOP,
    ));
    ensure!(out.status.success(), "{}", describe(&out));
    syslogd.wait_for(": started")?;
    let out = stop(&pid_file, &[]);
    ensure!(out.status.success(), "{}", describe(&out));
    ensure!(
        !stderr_of(&out).contains("KILL"),
        "the stop needed SIGKILL: {}",
        describe(&out)
    );
    only_syslogd_left(&syslogd)?;
    syslogd.wait_for(": clean exit")?;
    let said: Vec<String> = syslogd
        .lines()
        .iter()
        .filter_map(|l| l.split_once("]: ").map(|(_, text)| text.to_string()))
        .collect();
    let mut want = vec!["started".to_string()];
    want.extend((1..=20).map(|i| format!("shutdown step {i}")));
    want.push("clean exit".to_string());
    ensure_eq!(said, want, "{:?}", syslogd.lines());
    Ok(())
}
