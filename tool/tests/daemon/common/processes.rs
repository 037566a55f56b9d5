//! The test process's children: every daemon re-parents to it (it is a child subreaper), so a
//! test finds its daemon among them, and it is killed and reaped by pid when the test ends.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::{TestResult, comm, is_locked, stat, wait_until};

/// A daemon that is killed and reaped when the test ends, however it ends.
pub struct Guard(pub i32);

impl Drop for Guard {
    fn drop(&mut self) {
        kill_and_reap(self.0);
    }
}

/// SIGKILL to `pid`, then wait for it.
pub fn kill_and_reap(pid: i32) {
    // SAFETY: signals and waits for one pid, our own child.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
}

/// Reaps every exited child without waiting.
pub fn reap_zombies() {
    // SAFETY: waitpid with WNOHANG on any child; the runner is single-threaded.
    while unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) } > 0 {}
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

/// Whether `pid` runs: it exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    stat(pid).is_ok_and(|s| s.state != 'Z')
}

/// The name (`/proc/PID/comm`) of a notify holder: the process that keeps a daemon-mode
/// `--notify-await` start's socket bound once the launcher has exited, until the daemon exits.
pub const HOLDER: &str = "rawdaemon-hold";

/// Waits (up to 2 s) while notify holders are the only children left: each exits once its
/// daemon has, a moment after.
pub fn let_holders_go() {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        reap_zombies();
        let kids = children();
        if Instant::now() > deadline || !kids.iter().any(|&p| comm(p).as_deref() == Some(HOLDER)) {
            return;
        }
        if kids.iter().any(|&p| comm(p).as_deref() != Some(HOLDER)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The one live child after a launcher has exited: the daemon, re-parented to us (a notify
/// holder beside it is not the daemon).
pub fn the_daemon() -> Result<Guard, String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let kids: Vec<i32> = children()
            .into_iter()
            .filter(|&p| comm(p).as_deref() != Some(HOLDER))
            .collect();
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

/// Kills and reaps every child still alive; returns those that were alive (not zombies).
pub fn sweep_children() -> Vec<(i32, String)> {
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
