//! Shared helpers of the daemon tests: a tiny single-threaded runner, /proc readers, and
//! process bookkeeping (the test process is a child subreaper, so every daemon re-parents to
//! it and is killed and reaped by pid).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub type TestResult = Result<(), String>;

/// A named test.
pub type Test = (&'static str, fn() -> TestResult);

/// `ensure!(cond, "format", args…)`: fail the test with the message unless `cond`.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!("{}:{}: {}", file!(), line!(), format!($($msg)+)));
        }
    };
}

/// `ensure_eq!(left, right)` or `ensure_eq!(left, right, "format", args…)`.
#[macro_export]
macro_rules! ensure_eq {
    ($left:expr, $right:expr) => {
        ensure_eq!($left, $right, "")
    };
    ($left:expr, $right:expr, $($msg:tt)+) => {{
        let (l, r) = (&$left, &$right);
        if l != r {
            return Err(format!("{}:{}: {:?} != {:?} {}", file!(), line!(), l, r, format!($($msg)+)));
        }
    }};
}

/// `tests![a, b]`: the test functions with their names.
#[macro_export]
macro_rules! tests {
    ($($name:ident),* $(,)?) => {
        &[$((stringify!($name), $name as fn() -> $crate::common::TestResult)),*]
    };
}

/// Runs the tests whose names contain one of the filters (all without filters), one after
/// another in this one thread, and prints `N passed, N failed`. After each test every child
/// still around is a failure of that test, then killed and reaped.
pub fn run(tests: &[Test]) -> ! {
    // SAFETY: plain prctl/alarm calls.
    unsafe {
        assert_eq!(
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0),
            0,
            "PR_SET_CHILD_SUBREAPER"
        );
        // A watchdog: a hung test kills the whole run instead of hanging CI.
        libc::alarm(600);
    }
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let emulated = emulator().map_or_else(Vec::new, |e| emulation(&e));
    for (name, test) in tests {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        if let Some((_, why)) = emulated.iter().find(|(part, _)| name.contains(part)) {
            skipped += 1;
            println!("test {name} ... skipped: {why}");
            continue;
        }
        let started = Instant::now();
        let mut result = test();
        let strays = sweep_children();
        if result.is_ok() && !strays.is_empty() {
            result = Err(format!("left processes behind: {strays:?}"));
        }
        match result {
            Err(e) if e.starts_with(SKIP) => {
                skipped += 1;
                println!("test {name} ... skipped: {}", &e[SKIP.len()..]);
            }
            Ok(()) => {
                passed += 1;
                println!("test {name} ... ok ({} ms)", started.elapsed().as_millis());
            }
            Err(e) => {
                failed += 1;
                println!("test {name} ... FAILED\n    {e}");
            }
        }
    }
    println!("\n{passed} passed, {failed} failed, {skipped} skipped");
    std::process::exit(if failed == 0 { 0 } else { 1 })
}

const SKIP: &str = "skip: ";

/// The emulator the tool under test runs in (`RAWDAEMON_EMULATOR`, such as
/// `qemu-aarch64-static`): `.ci/cross` sets it beside a `RAWDAEMON_BIN` wrapper that runs a
/// cross-built tool in it. This test process and the programs the daemons execute stay native.
pub fn emulator() -> Option<String> {
    std::env::var("RAWDAEMON_EMULATOR")
        .ok()
        .filter(|e| !e.is_empty())
}

/// Prepares this process for a run against an emulated tool and returns the tests that cannot
/// apply there (a part of their name, and why), after a probe of the emulator.
fn emulation(emulator: &str) -> Vec<(&'static str, String)> {
    println!("under emulation: the tool runs in {emulator}");
    // Signals 32 and 33 (glibc's own) arrive ignored in this process, as glibc's posix_spawn
    // leaves them in every program cargo starts. The tool resets all 64 before exec, but under
    // qemu-user the guest's signals 32 and up are the host's 34 and up: host signals 32 and 33
    // are out of the guest's reach and PROGRAM would inherit them ignored. Default them here.
    for sig in [32_i64, 33] {
        // A zeroed kernel `struct sigaction` is SIG_DFL.
        let act = [0_u64; 4];
        // SAFETY: rt_sigaction reads `act`, writes no old action; sigsetsize is 8.
        unsafe { libc::syscall(libc::SYS_rt_sigaction, sig, act.as_ptr(), 0_usize, 8_usize) };
    }
    let mut skips = vec![(
        "fault_",
        format!(
            "strace would trace {emulator}'s host system calls, not the tool's: its helper \
             thread is each process's first clone3 and its own calls shift every count"
        ),
    )];
    // The respawn supervisor is a child subreaper; qemu-user 7.2 refuses that prctl
    // (EINVAL). Its own system call log (QEMU_STRACE) tells whether that is the cause.
    let probe = tool()
        .env("QEMU_STRACE", "1")
        .args(["-f", "-R", "--", "true"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .output();
    reap_zombies();
    let log = probe.map(|o| o.stderr).unwrap_or_default();
    let log = String::from_utf8_lossy(&log);
    if let Some(line) = log
        .lines()
        .find(|l| l.contains(" prctl(36,") && l.contains("errno=22"))
    {
        println!(
            "probe `rawdaemon -f -R -- true` in {emulator}: {}",
            line.trim()
        );
        skips.push((
            "respawn",
            format!(
                "{emulator} refuses prctl(PR_SET_CHILD_SUBREAPER) with EINVAL (see the probe \
                 above), and the respawn supervisor is a child subreaper"
            ),
        ));
    }
    skips
}

/// Skips the calling test unless it runs as root (mount namespaces, other users' ids).
pub fn needs_root() -> TestResult {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        Ok(())
    } else {
        Err(format!("{SKIP}needs root"))
    }
}

/// Kills and reaps every child still alive; returns those that were alive (not zombies).
fn sweep_children() -> Vec<(i32, String)> {
    let alive: Vec<(i32, String)> = children()
        .into_iter()
        .map(|p| (p, comm(p).unwrap_or_default()))
        .collect();
    for &(pid, _) in &alive {
        kill_and_reap(pid);
    }
    reap_zombies();
    alive
}

/// Reaps every exited child without waiting.
pub fn reap_zombies() {
    // SAFETY: waitpid with WNOHANG on any child; the runner is single-threaded.
    while unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) } > 0 {}
}

/// SIGKILL to `pid`, then wait for it.
pub fn kill_and_reap(pid: i32) {
    // SAFETY: signals and waits for one pid, our own child.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
}

/// A daemon that is killed and reaped when the test ends, however it ends.
pub struct Guard(pub i32);

impl Drop for Guard {
    fn drop(&mut self) {
        kill_and_reap(self.0);
    }
}

/// The fields of `/proc/PID/stat` the tests look at.
#[derive(Debug, Clone)]
pub struct Stat {
    pub comm: String,
    pub state: char,
    pub ppid: i32,
    pub pgrp: i32,
    pub session: i32,
    pub tty_nr: i32,
}

/// Parses `/proc/PID/stat`; the command name may hold spaces and parentheses, so the fields
/// start after the last `)`.
pub fn stat(pid: i32) -> Result<Stat, String> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("stat of {pid}: {e}"))?;
    let open = text.find('(').ok_or("no (")?;
    let close = text.rfind(')').ok_or("no )")?;
    let rest: Vec<&str> = text[close + 2..].split(' ').collect();
    let num = |i: usize| {
        rest[i]
            .parse::<i32>()
            .map_err(|e| format!("field {i}: {e}"))
    };
    Ok(Stat {
        comm: text[open + 1..close].to_string(),
        state: rest[0].chars().next().unwrap_or('?'),
        ppid: num(1)?,
        pgrp: num(2)?,
        session: num(3)?,
        tty_nr: num(4)?,
    })
}

/// One line of `/proc/PID/status`, such as `Umask` or `SigIgn`.
pub fn status_field(pid: i32, key: &str) -> Result<String, String> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    text.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(':')))
        .map(|v| v.trim().to_string())
        .ok_or(format!("no {key} in status of {pid}"))
}

/// A hexadecimal signal set from `/proc/PID/status`.
pub fn sigset(pid: i32, key: &str) -> Result<u64, String> {
    u64::from_str_radix(&status_field(pid, key)?, 16).map_err(|e| e.to_string())
}

/// Signals 32, 33 and 34: a C library keeps them for itself and refuses to reset them.
pub const LIBC_RESERVED: u64 = 0b111 << 31;

/// Every open descriptor of `pid` and what it points to.
pub fn fds(pid: i32) -> Result<BTreeMap<i32, String>, String> {
    let mut map = BTreeMap::new();
    for entry in fs::read_dir(format!("/proc/{pid}/fd")).map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        let fd: i32 = entry
            .file_name()
            .to_string_lossy()
            .parse()
            .map_err(|_| "fd name")?;
        let target = fs::read_link(entry.path())
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        map.insert(fd, target);
    }
    Ok(map)
}

pub fn cwd(pid: i32) -> Result<PathBuf, String> {
    fs::read_link(format!("/proc/{pid}/cwd")).map_err(|e| e.to_string())
}

pub fn comm(pid: i32) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_string())
}

/// Live (not zombie) children of `pid`.
pub fn children_of(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(p) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if stat(p).is_ok_and(|s| s.ppid == pid && s.state != 'Z') {
            out.push(p);
        }
    }
    out
}

/// Live (not zombie) children of this process.
pub fn children() -> Vec<i32> {
    children_of(std::process::id() as i32)
}

/// Waits until `pid` sits in its `sleep` (state S, in nanosleep or clock_nanosleep): a
/// dynamically linked PROGRAM briefly holds descriptors of its own while it starts.
pub fn settled(pid: i32) -> TestResult {
    #[cfg(target_arch = "x86_64")]
    const SLEEPS: [&str; 2] = ["35", "230"];
    #[cfg(target_arch = "aarch64")]
    const SLEEPS: [&str; 2] = ["101", "115"];
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let syscall = fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap_or_default();
        let nr = syscall.split(' ').next().unwrap_or("");
        if SLEEPS.contains(&nr) && stat(pid)?.state == 'S' {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{pid} never settled in its sleep: syscall {syscall:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The one live child after a launcher has exited: the daemon, re-parented to us.
pub fn the_daemon() -> Result<Guard, String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let kids = children();
        match kids.as_slice() {
            [pid] => return Ok(Guard(*pid)),
            [] if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let guards: Vec<Guard> = kids.iter().map(|&p| Guard(p)).collect();
                drop(guards);
                return Err(format!("expected exactly one daemon, found {kids:?}"));
            }
        }
    }
}

/// Checks that no child is alive, waiting a little for processes of a failed start that are
/// still on their way out (the launcher returns once their pipe end closes).
pub fn no_process_left() -> TestResult {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        reap_zombies();
        let kids = children();
        if kids.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("processes left behind: {kids:?}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A fresh directory under the system's temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("rawdaemon-{tag}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A file's text, with the path in the error.
pub fn read_text(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Polls `cond` every 2 ms for up to 5 s; whether it came true.
pub fn wait_until(mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cond() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    true
}

/// Whether some process holds an exclusive lock on the file (our probe is refused).
pub fn is_locked(path: &Path) -> Result<bool, String> {
    let file = fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor we own.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) };
    Ok(r != 0)
}

pub fn cstring(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).expect("no NUL in path")
}

/// The launcher's output as text, for messages.
pub fn describe(out: &Output) -> String {
    format!(
        "status {:?}, stdout {:?}, stderr {:?}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The tool under test: `RAWDAEMON_BIN` if set (the static musl build), else cargo's build.
pub fn tool() -> Command {
    Command::new(
        std::env::var_os("RAWDAEMON_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_rawdaemon").into()),
    )
}

/// The tool's optional parts, the `tool-*` cargo features, in the order `--version` names
/// those a build lacks.
pub const TOOL_FEATURES: [&str; 5] = [
    "tool-control",
    "tool-notify",
    "tool-privileges",
    "tool-respawn",
    "tool-syslog",
];

/// The `tool-*` features the tool under test was built without, from its `--version`
/// (`rawdaemon 0.1.0 (without tool-control, tool-syslog)`; nothing after the version when it
/// has them all). Asked once.
pub fn tool_lacks() -> &'static [String] {
    static LACKS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    LACKS.get_or_init(|| {
        let out = tool()
            .arg("--version")
            .output()
            .expect("rawdaemon --version");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let lacks: Vec<String> = text
            .trim_end()
            .split_once(" (without ")
            .and_then(|(_, rest)| rest.strip_suffix(')'))
            .map(|list| list.split(", ").map(str::to_string).collect())
            .unwrap_or_default();
        for f in &lacks {
            assert!(TOOL_FEATURES.contains(&f.as_str()), "--version: {text:?}");
        }
        lacks
    })
}

/// Skips the calling test unless the tool under test was built with every one of these
/// `tool-*` features (`cargo build --no-default-features --features libc` leaves them all
/// out, for the smallest tool).
pub fn needs_tool(features: &[&str]) -> TestResult {
    let lacks: Vec<&str> = features
        .iter()
        .copied()
        .filter(|f| tool_lacks().iter().any(|l| l == f))
        .collect();
    if lacks.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{SKIP}the tool was built without {}",
            lacks.join(", ")
        ))
    }
}

/// `flock -x PATH sleep 30`: a process (flock(1), and its child) holding the exclusive lock
/// on `path`, once it holds it.
pub fn lock_holder(path: &Path) -> Result<Guard, String> {
    let holder = Command::new("flock")
        .arg("-x")
        .arg(path)
        .args(["sleep", "30"])
        .stdin(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("flock(1): {e}"))?;
    let holder = Guard(holder.id() as i32);
    if !wait_until(|| is_locked(path).unwrap_or(false)) {
        return Err("flock(1) never took the lock".into());
    }
    Ok(holder)
}

/// In the child of `cmd`, before it executes: a private mount namespace (nothing it mounts
/// or unmounts is seen outside), then `then`.
pub fn in_private_mounts(
    cmd: &mut Command,
    then: impl FnMut() -> std::io::Result<()> + Send + Sync + 'static,
) -> &mut Command {
    use std::os::unix::process::CommandExt;
    let mut then = then;
    // SAFETY: unshare and mount (and `then`'s calls, which callers keep async-signal-safe)
    // in the child only.
    unsafe {
        cmd.pre_exec(move || {
            if libc::unshare(libc::CLONE_NEWNS) != 0
                || libc::mount(
                    std::ptr::null(),
                    c"/".as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            then()
        })
    }
}
