//! `--log-max-size`, `--log-keep`, `--log-timestamps`: the -o/-e files rotate themselves and
//! stamp their lines, through a logging process (with -R, the supervisor) that never blocks
//! PROGRAM. Proven on the files themselves: what is kept is contiguous, in order, within the
//! size; a full file system drops lines and says how many; planted links are never followed.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::*;
use crate::{ensure, ensure_eq};

/// 64K, the size of the proof.
const MAX: u64 = 64 * 1024;

/// Waits up to `secs` for `cond` (the logger works through megabytes: longer than
/// [`wait_until`]'s 5 s under a loaded debug build).
fn wait_long(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// Waits for every process of the start to end (the logger ends with PROGRAM's output).
fn all_ended() -> TestResult {
    ensure!(
        wait_long(120, || {
            reap_zombies();
            children().is_empty()
        }),
        "still running: {:?}",
        children()
    );
    no_process_left()
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    names.sort();
    Ok(names)
}

/// `FILE.keep` ... `FILE.1`, `FILE` (oldest first) are the only files `log` left in its
/// directory besides `others`; each within `max` (the rotated ones filled to within a line
/// of it); their lines, read in that order, numbers counting up by one to `last`.
fn check_rotated(log: &Path, keep: u32, max: u64, last: u64, others: &[&str]) -> TestResult {
    let dir = log.parent().ok_or("no directory")?;
    let name = log
        .file_name()
        .ok_or("no name")?
        .to_string_lossy()
        .into_owned();
    let mut expect: Vec<String> = (1..=keep).map(|n| format!("{name}.{n}")).collect();
    expect.push(name.clone());
    expect.extend(others.iter().map(|s| s.to_string()));
    expect.sort();
    ensure_eq!(names(dir)?, expect, "the files of {}", dir.display());
    let mut previous: Option<u64> = None;
    let files: Vec<PathBuf> = (1..=keep)
        .rev()
        .map(|n| dir.join(format!("{name}.{n}")))
        .chain([log.to_path_buf()])
        .collect();
    for file in &files {
        let size = fs::metadata(file).map_err(|e| e.to_string())?.len();
        ensure!(
            size <= max,
            "{} has {size} bytes, over {max}",
            file.display()
        );
        let text = read_text(file)?;
        ensure!(
            text.ends_with('\n'),
            "{} ends in a cut line",
            file.display()
        );
        let longest = text.lines().map(str::len).max().unwrap_or(0) as u64 + 1;
        if file != log {
            ensure!(
                size + longest > max,
                "{} rotated at {size} bytes, before it was full",
                file.display()
            );
        }
        for line in text.lines() {
            let n: u64 = line
                .parse()
                .map_err(|_| format!("{}: not a number: {line:?}", file.display()))?;
            if let Some(p) = previous {
                ensure_eq!(n, p + 1, "in {} after {p}", file.display());
            }
            previous = Some(n);
        }
    }
    ensure_eq!(previous, Some(last), "the last line kept");
    Ok(())
}

/// 4.9 MB of numbered lines through `--log-max-size 64K --log-keep 3`, as a daemon and with
/// -f: FILE and FILE.1 to FILE.3, nothing else, each within 64K, the kept lines contiguous
/// and in order up to the last one written.
pub fn tool_rotate_numbered_lines() -> TestResult {
    needs_tool(&["tool-rotate"])?;
    for foreground in [false, true] {
        let dir = TempDir::new("rotate-lines");
        let log = dir.path("out.log");
        let mut cmd = tool();
        if foreground {
            cmd.arg("-f");
        }
        cmd.args(["--log-max-size", "64K", "--log-keep", "3", "-o"])
            .arg(&log)
            .args(["seq", "-w", "1", "700000"]);
        let out = run(&mut cmd);
        ensure!(out.status.success(), "-f {foreground}: {}", describe(&out));
        all_ended()?;
        check_rotated(&log, 3, MAX, 700_000, &[])?;
    }
    Ok(())
}

/// The same under -R: PROGRAM runs four times (three restarts after status 1), each run
/// going on from the last number, and the supervisor gets a HUP in the middle: the kept
/// lines are contiguous across runs and the HUP's reopen.
pub fn tool_rotate_respawn_restarts_and_hup() -> TestResult {
    needs_tool(&["tool-rotate", "tool-respawn"])?;
    let dir = TempDir::new("rotate-respawn");
    let state = TempDir::new("rotate-respawn-state");
    let log = dir.path("out.log");
    let pid_file = state.path("d.pid");
    let counter = state.path("n");
    fs::write(&counter, "1\n").map_err(|e| e.to_string())?;
    let script = format!(
        "a=$(cat {n}); b=$((a+100000)); seq $a $((b-1)); echo $b > {n}; \
         [ $b -gt 400000 ] && exit 0; exit 1",
        n = counter.display()
    );
    let out = run(tool()
        .args(["-R", "--max-restarts", "10", "-p"])
        .arg(&pid_file)
        .args(["--log-max-size", "64K", "--log-keep", "3", "-o"])
        .arg(&log)
        .args(["sh", "-c", &script]));
    ensure!(out.status.success(), "{}", describe(&out));
    let supervisor = the_daemon()?;
    ensure!(
        wait_long(60, || dir.path("out.log.1").exists()),
        "no rotation: {:?}",
        names(&dir.0)
    );
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(supervisor.0, libc::SIGHUP) };
    std::mem::forget(supervisor);
    all_ended()?;
    ensure_eq!(read_text(&counter)?, "400001\n", "the runs");
    ensure!(!pid_file.exists(), "pid file left behind");
    check_rotated(&log, 3, MAX, 400_000, &[])
}

/// A file system that is full: the logger drops lines instead of blocking PROGRAM (which
/// writes 100,000 lines and goes on), and once there is room again it writes how many
/// were dropped, exactly the lines missing, before PROGRAM's next line.
pub fn tool_rotate_full_disk_drops_and_reports() -> TestResult {
    needs_tool(&["tool-rotate"])?;
    needs_root()?;
    let dir = TempDir::new("rotate-full");
    let small = dir.path("small");
    fs::create_dir(&small).map_err(|e| e.to_string())?;
    let log = small.join("out.log");
    let (wrote, go) = (dir.path("wrote"), dir.path("go"));
    let script = format!(
        "head -c 200000 /dev/zero > {small}/filler; seq 1 100000; touch {wrote}; \
         while [ ! -e {go} ]; do sleep 0.02; done; rm {small}/filler; echo after; exec sleep 30",
        small = small.display(),
        wrote = wrote.display(),
        go = go.display()
    );
    let target = cstring(&small);
    let pid_file = dir.path("d.pid");
    let mut cmd = tool();
    cmd.arg("-p")
        .arg(&pid_file)
        .args(["--log-max-size", "64K", "--log-keep", "3", "-o"])
        .arg(&log)
        .args(["sh", "-c", &script]);
    let out = run(in_private_mounts(&mut cmd, move || {
        // SAFETY: mount(2) with valid strings.
        let rc = unsafe {
            libc::mount(
                c"tmpfs".as_ptr(),
                target.as_ptr(),
                c"tmpfs".as_ptr(),
                0,
                c"size=256k".as_ptr().cast(),
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }));
    ensure!(out.status.success(), "{}", describe(&out));
    let program = Guard(read_pid(&pid_file)?);
    // PROGRAM is never held up by the full disk: all its lines are taken.
    ensure!(
        wait_long(60, || wrote.exists()),
        "PROGRAM stalled: {:?}",
        status_field(program.0, "State")
    );
    fs::write(&go, "").map_err(|e| e.to_string())?;
    // The logs as PROGRAM's mount namespace sees them (the tmpfs is only there), oldest
    // first: a rotation may have come after the room came back.
    let seen = PathBuf::from(format!("/proc/{}/root{}", program.0, small.display()));
    ensure!(
        wait_long(30, || read_text(&seen.join("out.log"))
            .is_ok_and(|t| t.ends_with("after\n"))),
        "{:?}",
        names(&seen)
    );
    let mut text = String::new();
    for name in ["out.log.3", "out.log.2", "out.log.1", "out.log"] {
        if let Ok(t) = read_text(&seen.join(name)) {
            text.push_str(&t);
        }
    }
    let lines: Vec<&str> = text.lines().collect();
    let report = lines
        .iter()
        .position(|l| l.contains("dropped"))
        .ok_or_else(|| format!("no report of the loss: {:?}", names(&seen)))?;
    // Lines from the first kept up to `next - 1`, then perhaps the one a write cut short,
    // then the report; then exactly the lines after those it counts.
    let first: u64 = lines[0].parse().map_err(|_| format!("{:?}", lines[0]))?;
    let mut next = first;
    for line in &lines[..report] {
        if line.parse::<u64>() == Ok(next) {
            next += 1;
        } else {
            ensure!(
                next.to_string().starts_with(line),
                "line after {}: {line:?}",
                next - 1
            );
        }
    }
    let dropped: u64 = lines[report]
        .strip_prefix("rawdaemon: dropped ")
        .and_then(|rest| rest.strip_suffix(" lines of output"))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("report: {:?}", lines[report]))?;
    ensure!(dropped > 0, "{:?}", lines[report]);
    let rest: Vec<String> = (next + dropped..=100_000)
        .map(|n| n.to_string())
        .chain(["after".to_string()])
        .collect();
    ensure_eq!(&lines[report + 1..], &rest[..], "after the report");
    drop(program);
    all_ended()
}

/// A line longer than the size is cut at the size and marked (`...`); the lines around it
/// are whole, and the one after it starts the next file. With -R as well.
pub fn tool_rotate_cuts_a_long_line() -> TestResult {
    needs_tool(&["tool-rotate", "tool-respawn"])?;
    for respawn in [false, true] {
        if respawn && !respawn_runs() {
            continue;
        }
        let dir = TempDir::new("rotate-long");
        let log = dir.path("out.log");
        let pid_file = dir.path("d.pid");
        let mut cmd = tool();
        if respawn {
            cmd.arg("-R").arg("-p").arg(&pid_file);
        }
        cmd.args(["--log-max-size", "4K", "--log-keep", "2", "-o"])
            .arg(&log)
            .args([
                "sh",
                "-c",
                "echo before; printf '%010000d\\n' 7; echo after",
            ]);
        let out = run(&mut cmd);
        ensure!(out.status.success(), "-R {respawn}: {}", describe(&out));
        all_ended()?;
        // The long line's length is not known when it starts: it joins "before" (the file
        // then passes the size by less than a line), and "after" starts the next file.
        let text = read_text(&dir.path("out.log.1"))?;
        let cut = text.strip_prefix("before\n").ok_or(format!("{text:?}"))?;
        ensure_eq!(cut.len(), 4096, "-R {respawn}");
        ensure!(
            cut.starts_with("000") && cut.ends_with("0...\n") && cut.lines().count() == 1,
            "{cut:?}"
        );
        ensure_eq!(read_text(&log)?, "after\n");
        ensure!(!dir.path("out.log.2").exists(), "{:?}", names(&dir.0));
    }
    Ok(())
}

/// `--log-timestamps`: each line starts with the UTC time it was read at, in microseconds.
pub fn tool_log_timestamps() -> TestResult {
    needs_tool(&["tool-rotate"])?;
    let dir = TempDir::new("rotate-stamps");
    let (out_log, err_log) = (dir.path("out.log"), dir.path("err.log"));
    let before = std::time::SystemTime::now();
    let out = run(tool()
        .arg("--log-timestamps")
        .arg("-o")
        .arg(&out_log)
        .arg("-e")
        .arg(&err_log)
        .args(["sh", "-c", "echo one; echo two >&2; echo three"]));
    ensure!(out.status.success(), "{}", describe(&out));
    all_ended()?;
    let after = std::time::SystemTime::now();
    let secs = |t: std::time::SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    };
    for (file, expect) in [(&out_log, &["one", "three"][..]), (&err_log, &["two"])] {
        let text = read_text(file)?;
        let lines: Vec<&str> = text.lines().collect();
        ensure_eq!(lines.len(), expect.len(), "{text:?}");
        for (line, word) in lines.iter().zip(expect) {
            let (stamp, rest) = line.split_once(' ').ok_or("no stamp")?;
            ensure_eq!(rest, *word);
            let t = parse_stamp(stamp).ok_or_else(|| format!("stamp {stamp:?}"))?;
            ensure!(
                t >= secs(before) && t <= secs(after),
                "{stamp} not between the start and the end"
            );
        }
    }
    Ok(())
}

/// `YYYY-MM-DDThh:mm:ss.uuuuuuZ`: the Unix seconds.
fn parse_stamp(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 27 || b[4] != b'-' || b[10] != b'T' || b[19] != b'.' || b[26] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    num(20..26)?;
    // Days from the civil date (Howard Hinnant's days_from_civil).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// logrotate without a signal (a daemon's pid file names PROGRAM, which a HUP would kill):
/// it renames the file, and the logger notices at the next line and starts the file again;
/// the renamed one stops growing.
pub fn tool_rotate_follows_logrotate() -> TestResult {
    needs_tool(&["tool-rotate"])?;
    if !Path::new("/usr/sbin/logrotate").exists() {
        return Err("skip: logrotate (Debian package logrotate) is not installed".to_string());
    }
    let dir = TempDir::new("rotate-logrotate");
    let logs = dir.path("logs");
    fs::create_dir(&logs).map_err(|e| e.to_string())?;
    let log = logs.join("out.log");
    let pid_file = dir.path("d.pid");
    let out = run(tool()
        .arg("-p")
        .arg(&pid_file)
        .args(["--log-max-size", "1M", "-o"])
        .arg(&log)
        .args(["sh", "-c", "while :; do echo tick; sleep 0.02; done"]));
    ensure!(out.status.success(), "{}", describe(&out));
    let program = Guard(read_pid(&pid_file)?);
    ensure!(
        wait_until(|| read_text(&log).is_ok_and(|t| t.contains("tick\ntick\n"))),
        "{:?}",
        read_text(&log)
    );
    let config = dir.path("logrotate.conf");
    fs::write(&config, format!("{} {{\n    rotate 1\n}}\n", log.display()))
        .map_err(|e| e.to_string())?;
    let out = run(std::process::Command::new("/usr/sbin/logrotate")
        .arg("-f")
        .arg("-s")
        .arg(dir.path("logrotate.state"))
        .arg(&config));
    ensure!(out.status.success(), "logrotate: {}", describe(&out));
    let rotated = logs.join("out.log.1");
    ensure!(
        wait_until(|| read_text(&log).is_ok_and(|t| t.contains("tick\n"))),
        "no new file: {:?}",
        names(&logs)
    );
    std::thread::sleep(Duration::from_millis(100));
    let before = read_text(&rotated)?;
    std::thread::sleep(Duration::from_millis(200));
    ensure_eq!(read_text(&rotated)?, before, "the rotated log still grows");
    drop(program);
    all_ended()
}

/// Rotation as root in a directory another user owns: a symbolic link and a hard link to
/// root's file planted at the rotated names are moved or replaced, never written through;
/// and the directory swapped for a link to another after the start is not followed: the
/// rotation goes on in the directory opened before the fork.
pub fn tool_rotate_never_follows_planted_links() -> TestResult {
    needs_tool(&["tool-rotate"])?;
    needs_root()?;
    let dir = TempDir::new("rotate-links");
    let logs = dir.path("logs");
    fs::create_dir(&logs).map_err(|e| e.to_string())?;
    std::os::unix::fs::chown(&logs, Some(65534), Some(65534)).map_err(|e| e.to_string())?;
    let victim = dir.path("victim");
    fs::write(&victim, "root's own\n").map_err(|e| e.to_string())?;
    let elsewhere = dir.path("elsewhere");
    fs::create_dir(&elsewhere).map_err(|e| e.to_string())?;
    std::os::unix::fs::symlink(&victim, logs.join("out.log.1")).map_err(|e| e.to_string())?;
    fs::hard_link(&victim, logs.join("out.log.2")).map_err(|e| e.to_string())?;
    let log = logs.join("out.log");
    let go = dir.path("go");
    let script = format!(
        "seq 1 2000; while [ ! -e {go} ]; do sleep 0.02; done; seq 2001 30000",
        go = go.display()
    );
    let out = run(tool()
        .args(["--log-max-size", "4K", "--log-keep", "2", "-o"])
        .arg(&log)
        .args(["sh", "-c", &script]));
    ensure!(out.status.success(), "{}", describe(&out));
    // The first rotation has moved the planted names on.
    ensure!(
        wait_until(|| fs::symlink_metadata(logs.join("out.log.1")).is_ok_and(|m| m.is_file())),
        "{:?}",
        names(&logs)
    );
    // The directory moves away, and a link to another takes its name.
    let moved = dir.path("logs.old");
    fs::rename(&logs, &moved).map_err(|e| e.to_string())?;
    std::os::unix::fs::symlink(&elsewhere, &logs).map_err(|e| e.to_string())?;
    fs::write(&go, "").map_err(|e| e.to_string())?;
    all_ended()?;
    ensure_eq!(
        read_text(&victim)?,
        "root's own\n",
        "the victim was written"
    );
    ensure_eq!(fs::metadata(&victim).map_err(|e| e.to_string())?.nlink(), 1);
    ensure_eq!(
        names(&elsewhere)?,
        Vec::<String>::new(),
        "written through the link"
    );
    check_rotated(&moved.join("out.log"), 2, 4096, 30_000, &[])
}

/// The failures: bad values are usage errors (status 2) before anything starts; a log that
/// is a FIFO cannot rotate (status 1, the step and the path named), and a log file the
/// start created is removed again.
pub fn fail_rotate_options() -> TestResult {
    needs_tool(&["tool-rotate"])?;
    let dir = TempDir::new("rotate-fail");
    let log = dir.path("out.log");
    let usage = [
        (
            &["--log-max-size", "4095", "-o", "L"][..],
            "--log-max-size needs a size of 4096 bytes or more (such as 64K, 10M): 4095",
        ),
        (
            &["--log-max-size", "99999999999G", "-o", "L"],
            "--log-max-size is too large (at most nine digits, then K, M or G): 99999999999G",
        ),
        (
            &["--log-max-size", "64X", "-o", "L"],
            "--log-max-size needs a size of 4096 bytes or more (such as 64K, 10M): 64X",
        ),
        (
            &["--log-max-size", "64K", "--log-keep", "1000", "-o", "L"],
            "--log-keep needs a whole number, 0 to 999: 1000",
        ),
        (
            &["--log-keep", "3", "-o", "L"],
            "--log-keep needs --log-max-size",
        ),
        (
            &["--log-max-size", "64K"],
            "--log-max-size and --log-timestamps need -o or -e",
        ),
        (
            &["--log-timestamps"],
            "--log-max-size and --log-timestamps need -o or -e",
        ),
        (
            &["--log-timestamps=yes", "-o", "L"],
            "option takes no value: --log-timestamps=yes",
        ),
    ];
    for (args, message) in usage {
        let args: Vec<&str> = args
            .iter()
            .map(|&a| {
                if a == "L" {
                    log.to_str().unwrap_or("")
                } else {
                    a
                }
            })
            .collect();
        expect_failure(
            tool().args(&args).args(["sleep", "30"]),
            2,
            &format!("rawdaemon: {message} (try --help)"),
            None,
        )?;
        ensure!(!log.exists(), "{args:?} created the log");
    }
    // A FIFO with a reader (else the open itself fails with ENXIO).
    let fifo = dir.path("fifo");
    let c = cstring(&fifo);
    // SAFETY: mkfifo with a valid path.
    ensure_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let _reader = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .map_err(|e| e.to_string())?;
    let pid_file = dir.path("d.pid");
    expect_failure(
        tool()
            .arg("-p")
            .arg(&pid_file)
            .args(["--log-max-size", "64K", "-o"])
            .arg(&log)
            .arg("-e")
            .arg(&fifo)
            .args(["sleep", "30"]),
        1,
        &format!(
            "rawdaemon: open stderr {}: a FIFO or device cannot be rotated",
            fifo.display()
        ),
        Some(&pid_file),
    )?;
    ensure!(!log.exists(), "the log file the start created is left");
    Ok(())
}

/// PROGRAM that shuts down slowly on TERM: twenty lines 0.1 s apart, then `clean exit`.
pub const SLOW_STOP: &str = "trap 'for i in $(seq 1 20); do echo \"shutdown step $i\"; \
     sleep 0.1; done; echo \"clean exit\"; exit 0' TERM; echo started; \
     while :; do sleep 0.1; done";

/// `--stop` during PROGRAM's graceful shutdown: the TERM that reaches the whole session
/// spares the logging process, which writes every shutdown line and ends with PROGRAM's
/// output; the stop ends everything without SIGKILL.
pub fn tool_rotate_stop_keeps_the_shutdown_lines() -> TestResult {
    needs_tool(&["tool-rotate", "tool-control"])?;
    let dir = TempDir::new("rotate-stop");
    let log = dir.path("o.log");
    let pid_file = dir.path("r.pid");
    let out = run(tool()
        .arg("-p")
        .arg(&pid_file)
        .args(["--log-max-size", "64K", "-o"])
        .arg(&log)
        .args(["sh", "-c", SLOW_STOP]));
    ensure!(out.status.success(), "{}", describe(&out));
    ensure!(
        wait_until(|| read_text(&log).is_ok_and(|t| t.contains("started\n"))),
        "{:?}",
        read_text(&log)
    );
    let out = stop(&pid_file, &[]);
    ensure!(out.status.success(), "{}", describe(&out));
    ensure!(
        !stderr_of(&out).contains("KILL"),
        "the stop needed SIGKILL: {}",
        describe(&out)
    );
    all_ended()?;
    let mut want = vec!["started".to_string()];
    want.extend((1..=20).map(|i| format!("shutdown step {i}")));
    want.push("clean exit".to_string());
    let text = read_text(&log)?;
    ensure_eq!(text.lines().collect::<Vec<_>>(), want, "the log");
    Ok(())
}

/// Another user's directories (with a file in them, or empty) planted at the rotated names
/// in a shared sticky directory: root's log cannot rotate; it says so once, names the
/// obstacle, and grows no further than its size (the lines past it dropped and counted,
/// exactly those missing); the planted directories are left as they were.
pub fn tool_rotate_planted_directories_stop_rotation() -> TestResult {
    needs_tool(&["tool-rotate"])?;
    needs_root()?;
    use std::os::unix::fs::PermissionsExt;
    for filled in [true, false] {
        let dir = TempDir::new("rotate-sticky");
        let shared = dir.path("shared");
        fs::create_dir(&shared).map_err(|e| e.to_string())?;
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777))
            .map_err(|e| e.to_string())?;
        let fill = if filled {
            "&& touch app.log.1/x app.log.2/x"
        } else {
            ""
        };
        let plant = run(std::process::Command::new("setpriv")
            .args([
                "--reuid=4242",
                "--regid=4242",
                "--clear-groups",
                "sh",
                "-c",
                &format!("mkdir app.log.1 app.log.2 {fill}"),
            ])
            .current_dir(&shared));
        ensure!(plant.status.success(), "{}", describe(&plant));
        let planted = |n: u32| -> Result<(u64, u32, i64, Vec<String>), String> {
            let p = shared.join(format!("app.log.{n}"));
            let m = fs::symlink_metadata(&p).map_err(|e| e.to_string())?;
            ensure!(m.is_dir(), "app.log.{n} is no longer a directory");
            Ok((m.ino(), m.uid(), m.mtime_nsec(), names(&p)?))
        };
        let before = [planted(1)?, planted(2)?];
        let log = shared.join("app.log");
        let pid_file = dir.path("st.pid");
        let out = run(tool()
            .arg("-p")
            .arg(&pid_file)
            .args(["--log-max-size", "4K", "--log-keep", "2", "-o"])
            .arg(&log)
            .args(["seq", "1", "3000"]));
        ensure!(out.status.success(), "{}", describe(&out));
        all_ended()?;
        ensure_eq!(
            [planted(1)?, planted(2)?],
            before,
            "the planted directories"
        );
        ensure_eq!(
            names(&shared)?,
            ["app.log", "app.log.1", "app.log.2"],
            "filled {filled}"
        );
        let text = read_text(&log)?;
        let lines: Vec<&str> = text.lines().collect();
        // The numbers 1 to k, the reason, the count of the rest at the end.
        let k = lines
            .iter()
            .take_while(|l| l.parse::<u64>().is_ok())
            .count();
        ensure!(k > 100, "filled {filled}: {lines:?}");
        ensure_eq!(
            lines[..k]
                .iter()
                .map(|l| l.parse::<usize>().ok())
                .collect::<Vec<_>>(),
            (1..=k).map(Some).collect::<Vec<_>>()
        );
        ensure_eq!(
            &lines[k..],
            &[
                "rawdaemon: cannot rotate app.log: app.log.1 is not a plain file; lines past \
                 the size are dropped"
                    .to_string(),
                format!("rawdaemon: dropped {} lines of output", 3000 - k),
            ],
            "filled {filled}"
        );
        let size = fs::metadata(&log).map_err(|e| e.to_string())?.len();
        ensure!(
            size <= 4096 + (lines[k].len() + lines[k + 1].len() + 2) as u64,
            "app.log grew to {size} bytes"
        );
    }
    Ok(())
}

/// `--oom-score-adj` is PROGRAM's: the rotation logger (running as root) keeps the score
/// the launcher had.
pub fn tool_rotate_logger_keeps_its_oom_score() -> TestResult {
    needs_tool(&["tool-rotate", "tool-limits"])?;
    needs_root()?;
    let dir = TempDir::new("rotate-oom");
    let log = dir.path("o.log");
    let pid_file = dir.path("d.pid");
    let out = run(tool()
        .arg("-p")
        .arg(&pid_file)
        .args(["--oom-score-adj", "500", "--log-max-size", "64K", "-o"])
        .arg(&log)
        .args(["sh", "-c", "echo started; exec sleep 30"]));
    ensure!(out.status.success(), "{}", describe(&out));
    let program = Guard(read_pid(&pid_file)?);
    // The logger: our other child (the tool's binary, reparented to this subreaper).
    let score = |pid: i32| read_text(Path::new(&format!("/proc/{pid}/oom_score_adj")));
    let loggers: Vec<i32> = children().into_iter().filter(|&p| p != program.0).collect();
    ensure_eq!(loggers.len(), 1, "{:?}", sweep_children());
    ensure_eq!(score(program.0)?, "500\n");
    ensure_eq!(
        score(loggers[0])?,
        score(std::process::id() as i32)?,
        "the logger's"
    );
    drop(program);
    all_ended()
}

/// The log renamed by another tool (as logrotate does) and another user's directory put at
/// its name in a shared sticky directory: the new file cannot be opened; the logger says so
/// once and goes on in the renamed file, which grows no further than its size; the planted
/// directory is left as it is.
pub fn tool_rotate_planted_directory_at_the_new_name() -> TestResult {
    needs_tool(&["tool-rotate"])?;
    needs_root()?;
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("rotate-sticky-new");
    let shared = dir.path("shared");
    fs::create_dir(&shared).map_err(|e| e.to_string())?;
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).map_err(|e| e.to_string())?;
    let log = shared.join("app.log");
    let go = dir.path("go");
    let script = format!(
        "seq 1 100; while [ ! -e {go} ]; do sleep 0.02; done; seq 101 3000",
        go = go.display()
    );
    let out = run(tool()
        .args(["--log-max-size", "4K", "--log-keep", "2", "-o"])
        .arg(&log)
        .args(["sh", "-c", &script]));
    ensure!(out.status.success(), "{}", describe(&out));
    ensure!(
        wait_until(|| read_text(&log).is_ok_and(|t| t.ends_with("\n100\n"))),
        "{:?}",
        read_text(&log)
    );
    let old = shared.join("app.log.old");
    fs::rename(&log, &old).map_err(|e| e.to_string())?;
    let plant = run(std::process::Command::new("setpriv")
        .args(["--reuid=4242", "--regid=4242", "--clear-groups", "mkdir"])
        .arg(&log));
    ensure!(plant.status.success(), "{}", describe(&plant));
    fs::write(&go, "").map_err(|e| e.to_string())?;
    all_ended()?;
    let m = fs::symlink_metadata(&log).map_err(|e| e.to_string())?;
    ensure!(m.is_dir() && m.uid() == 4242, "app.log: {m:?}");
    ensure_eq!(names(&log)?, Vec::<String>::new());
    ensure_eq!(names(&shared)?, ["app.log", "app.log.old"]);
    let text = read_text(&old)?;
    let lines: Vec<&str> = text.lines().collect();
    let notice = "rawdaemon: cannot open app.log again: Is a directory; lines past the size are \
                  dropped";
    ensure_eq!(
        lines.iter().filter(|l| **l == notice).count(),
        1,
        "{:?}",
        &lines[lines.len().saturating_sub(5)..]
    );
    let numbers: Vec<usize> = lines.iter().filter_map(|l| l.parse().ok()).collect();
    let k = numbers.len();
    ensure_eq!(numbers, (1..=k).collect::<Vec<_>>());
    ensure!(k > 100, "{k} lines");
    let report = format!("rawdaemon: dropped {} lines of output", 3000 - k);
    ensure_eq!(lines.last().copied(), Some(report.as_str()));
    let size = fs::metadata(&old).map_err(|e| e.to_string())?.len();
    ensure!(
        size <= 4096 + (notice.len() + report.len() + 2) as u64,
        "app.log.old grew to {size} bytes"
    );
    Ok(())
}
