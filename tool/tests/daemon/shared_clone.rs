//! The start that copies no memory: with `Runtime::NoLibc` and a daemon that only executes
//! PROGRAM, the launcher makes the intermediate, and the intermediate the daemon, by
//! `clone(CLONE_VM | CLONE_VFORK)`; where such a clone is refused (`EINVAL`), they
//! fork. Through this binary re-executed as the `exec-nolibc` role (see roles.rs): strace shows
//! which clones were made, and the daemon's state in /proc is the same either way.

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use crate::{ensure, ensure_eq};

/// From here on (and in every child), `clone` with `CLONE_VM` but without `CLONE_THREAD`
/// fails with `EINVAL`, as qemu-user refuses it without `CLONE_VFORK`: a seccomp filter (`seccomp(2)`, classic BPF over
/// `struct seccomp_data`: `nr` at 0, `arch` at 4, the low half of `args[0]` at 16). Only
/// system calls on stack data: fit for a `pre_exec`.
pub fn refuse_shared_clones() -> std::io::Result<()> {
    #[cfg(target_arch = "x86_64")]
    const AUDIT_ARCH: u32 = 0xC000_003E;
    #[cfg(target_arch = "aarch64")]
    const AUDIT_ARCH: u32 = 0xC000_00B7;
    const LD_W_ABS: u16 = 0x20;
    const JEQ_K: u16 = 0x15;
    const JSET_K: u16 = 0x45;
    const RET_K: u16 = 0x06;
    const ALLOW: u32 = 0x7fff_0000;
    const ERRNO: u32 = 0x0005_0000;
    let op = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    let filter = [
        op(LD_W_ABS, 0, 0, 4),
        op(JEQ_K, 0, 5, AUDIT_ARCH),
        op(LD_W_ABS, 0, 0, 0),
        op(JEQ_K, 0, 3, libc::SYS_clone as u32),
        op(LD_W_ABS, 0, 0, 16),
        op(JSET_K, 0, 1, libc::CLONE_VM as u32),
        op(JSET_K, 0, 1, libc::CLONE_THREAD as u32),
        op(RET_K, 0, 0, ALLOW),
        op(RET_K, 0, 0, ERRNO | libc::EINVAL as u32),
    ];
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr().cast_mut(),
    };
    // SAFETY: `prog` points to the filter, both valid for the call.
    let installed = unsafe {
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
            && libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &prog as *const libc::sock_fprog,
            ) == 0
    };
    if installed {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// `clone` flags as strace shows them, for the clone that shares memory.
const SHARED: &str = "CLONE_VM|CLONE_VFORK|SIGCHLD";

/// The program at `name` on `PATH`.
fn which(name: &str) -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .ok_or(format!("no {name} on PATH"))
}

/// One clone as strace showed it: the process that made it, its flags, its result.
#[derive(Debug)]
struct Clone {
    by: i32,
    flags: String,
    result: String,
}

/// The `clone` calls and the successful `execve`s (pid, path) of a `strace -f` output, calls
/// that strace showed in two parts (`<unfinished ...>`, `<... clone resumed>`) joined.
fn clones_and_execs(trace: &str) -> (Vec<Clone>, Vec<(i32, String)>) {
    let mut clones = Vec::new();
    let mut execs = Vec::new();
    // Per process, the call strace left unfinished.
    let mut open: BTreeMap<i32, String> = BTreeMap::new();
    for line in trace.lines() {
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let Ok(pid) = pid.parse::<i32>() else {
            continue;
        };
        let rest = rest.trim_start();
        let whole = if let Some(head) = rest.strip_suffix(" <unfinished ...>") {
            open.insert(pid, head.to_string());
            continue;
        } else if let Some(tail) = rest.strip_prefix("<... ") {
            let tail = tail.split_once(" resumed>").map_or(tail, |(_, t)| t);
            format!("{}{tail}", open.remove(&pid).unwrap_or_default())
        } else {
            rest.to_string()
        };
        // strace pads a resumed call's result: `<... clone resumed>)      = 42`.
        let result = whole.rsplit_once(" = ").map(|(_, r)| r.trim().to_string());
        if let (Some(args), Some(result)) = (whole.strip_prefix("clone("), &result) {
            let flags = args
                .split_once("flags=")
                .map(|(_, f)| f.split([',', ')']).next().unwrap_or_default().to_string())
                .unwrap_or_default();
            clones.push(Clone {
                by: pid,
                flags,
                result: result.clone(),
            });
        } else if let (Some(args), Some("0")) = (whole.strip_prefix("execve(\""), result.as_deref())
        {
            execs.push((pid, args.split('"').next().unwrap_or_default().to_string()));
        }
    }
    (clones, execs)
}

/// What [`traced_start`] saw: the clones, the execs (pid, path), the launcher's pid and the
/// daemon's (from the pid file).
type Traced = (Vec<Clone>, Vec<(i32, String)>, i32, i32);

/// Who starts the daemon: this binary as the `exec-nolibc` role (the library), or the tool.
#[derive(Clone, Copy, Debug)]
enum Launcher {
    Lib,
    Tool,
}

impl Launcher {
    /// The command that starts `program args` with the pid file `pid_file`; with `refuse`, the
    /// clone that copies nothing is refused (see [`refuse_shared_clones`]).
    fn command(self, refuse: bool, pid_file: &Path, program: &[&str]) -> Result<Command, String> {
        let pid_file = pid_file.display().to_string();
        let mut cmd = match self {
            Launcher::Lib => {
                let mut args = vec!["exec-nolibc"];
                if refuse {
                    args.push("refuse-vm");
                }
                args.push(&pid_file);
                args.extend(program);
                lib(&args)
            }
            Launcher::Tool => {
                if is_i386(tool().get_program().as_ref()) {
                    return Err(format!(
                        "{SKIP}the tool is built for i686, for which no clone that copies \
                         nothing is written: it always forks"
                    ));
                }
                if let Some(emulator) = emulator() {
                    return Err(format!(
                        "{SKIP}the tool runs in {emulator}, which makes a plain fork of the clone \
                         that copies nothing, and would be traced itself"
                    ));
                }
                let mut cmd = tool();
                cmd.args(["-p", &pid_file, "--"]).args(program);
                if refuse {
                    // SAFETY: only system calls on stack data between fork and exec.
                    unsafe { cmd.pre_exec(refuse_shared_clones) };
                }
                cmd
            }
        };
        cmd.env_remove("NOTIFY_SOCKET");
        Ok(cmd)
    }
}

/// A start of `true` under `strace -f`: the clones and the execs strace saw, the launcher's and
/// the daemon's pids. Skips without strace.
fn traced_start(launcher: Launcher, refuse: bool) -> Result<Traced, String> {
    let strace = which("strace").map_err(|e| format!("{SKIP}{e} (apt-get install strace)"))?;
    let program = which("true")?.display().to_string();
    let dir = TempDir::new("shared-clone");
    let pid_file = dir.path("d.pid");
    let trace = dir.path("trace");
    let start = launcher.command(refuse, &pid_file, &[&program])?;
    let mut cmd = Command::new(strace);
    cmd.args([
        "-f",
        "-qq",
        "-e",
        "trace=clone,clone3,fork,vfork,execve",
        "-o",
    ])
    .arg(&trace)
    .arg(start.get_program())
    .args(start.get_args());
    if refuse && matches!(launcher, Launcher::Tool) {
        // strace forks the tool without CLONE_VM: the filter can be strace's own.
        // SAFETY: only system calls on stack data between fork and exec.
        unsafe { cmd.pre_exec(refuse_shared_clones) };
    }
    cmd.env_remove("NOTIFY_SOCKET");
    // strace ends once every traced process has: `true` exits at once.
    let out = run(&mut cmd);
    let (clones, execs) = clones_and_execs(&read_text(&trace)?);
    let daemon = read_pid(&pid_file).unwrap_or(-1);
    reap_zombies();
    ensure!(out.status.success(), "{}", describe(&out));
    let launcher = execs.first().map_or(-1, |(pid, _)| *pid);
    ensure!(
        execs.contains(&(daemon, program)),
        "the daemon {daemon} executed PROGRAM: {execs:?}"
    );
    Ok((clones, execs, launcher, daemon))
}

/// strace shows the launcher's clone and the intermediate's, both with `CLONE_VM |
/// CLONE_VFORK` (nothing copied) and no other, and the daemon they made executing PROGRAM.
fn clones_without_copying(launcher: Launcher) -> TestResult {
    let (clones, _, launcher, daemon) = traced_start(launcher, false)?;
    ensure_eq!(clones.len(), 2, "two clones: {clones:?}");
    let by = |pid: i32| clones.iter().find(|c| c.by == pid);
    let first = by(launcher).ok_or(format!("no clone of the launcher: {clones:?}"))?;
    ensure_eq!(first.flags, SHARED, "the launcher's clone");
    let intermediate = first.result.parse().map_err(|_| format!("{first:?}"))?;
    let second = by(intermediate).ok_or(format!("no clone of the intermediate: {clones:?}"))?;
    ensure_eq!(second.flags, SHARED, "the intermediate's clone");
    ensure_eq!(second.result, daemon.to_string(), "the daemon");
    no_process_left()
}

/// Where that clone is refused (`EINVAL`, as an emulator or a sandbox may refuse `CLONE_VM`
/// without `CLONE_THREAD`), the launcher forks instead, and so does the intermediate; the start
/// succeeds.
fn falls_back_to_fork(launcher: Launcher) -> TestResult {
    let (clones, _, launcher, daemon) = traced_start(launcher, true)?;
    ensure_eq!(clones.len(), 3, "three clones: {clones:?}");
    let [refused, first] = [0, 1].map(|i| clones.iter().filter(|c| c.by == launcher).nth(i));
    let refused = refused.ok_or(format!("no clone of the launcher: {clones:?}"))?;
    ensure_eq!(refused.flags, SHARED);
    ensure!(refused.result.starts_with("-1 EINVAL"), "{refused:?}");
    let first = first.ok_or(format!("no fork of the launcher: {clones:?}"))?;
    ensure_eq!(first.flags, "SIGCHLD", "the launcher's fork");
    let intermediate: i32 = first.result.parse().map_err(|_| format!("{first:?}"))?;
    let second = clones
        .iter()
        .find(|c| c.by == intermediate)
        .ok_or(format!("no fork of the intermediate: {clones:?}"))?;
    ensure_eq!(second.flags, "SIGCHLD", "the intermediate's fork");
    ensure_eq!(second.result, daemon.to_string(), "the daemon");
    no_process_left()
}

/// What /proc shows of a daemon: its place (a session and group of its own, re-parented, no
/// terminal: [`check_detached`]), umask, working directory, descriptors, signal mask and
/// dispositions.
fn state(pid: i32, pid_file: &Path) -> Result<BTreeMap<&'static str, String>, String> {
    check_detached(pid)?;
    settled(pid)?;
    let fds: Vec<String> = fds(pid)?
        .into_iter()
        .map(|(fd, target)| {
            let target = target.replace(&pid_file.display().to_string(), "PIDFILE");
            format!("{fd}:{target}")
        })
        .collect();
    let mut s = BTreeMap::new();
    for key in ["Umask", "SigBlk", "SigIgn", "SigCgt", "Threads"] {
        s.insert(key, status_field(pid, key)?);
    }
    s.insert("cwd", cwd(pid)?.display().to_string());
    s.insert("fds", fds.join(" "));
    Ok(s)
}

/// The daemon of a start that copied nothing is what a forked one is: the same session,
/// group, parent and terminal (none), umask, working directory, descriptors, an empty
/// signal mask and every disposition reset: from a launcher with nothing blocked (the
/// library's also caught a signal), and one that also ignored and blocked some (`dirty`)
/// and had a umask of its own.
fn daemon_as_with_fork(launcher: Launcher) -> TestResult {
    let sleep = which("sleep")?.display().to_string();
    for dirty_launch in [false, true] {
        let mut states = Vec::new();
        for refuse in [false, true] {
            let dir = TempDir::new("shared-state");
            let pid_file = dir.path("d.pid");
            let mut cmd = launcher.command(refuse, &pid_file, &[&sleep, "30"])?;
            if dirty_launch {
                dirty(&mut cmd, 3);
            }
            let out = run(&mut cmd);
            ensure!(
                out.status.success() && out.stderr.is_empty(),
                "{}",
                describe(&out)
            );
            let daemon = the_daemon()?;
            let pid = daemon.0;
            let how = format!("{launcher:?}, refused {refuse}, dirty {dirty_launch}");
            ensure_eq!(read_pid(&pid_file)?, pid, "{how}");
            let lock_fd = fd_of(pid, &pid_file)?;
            check_fds(pid, &[(lock_fd, &pid_file.display().to_string())])?;
            check_signals(pid, 0).map_err(|e| format!("{how}: {e}"))?;
            ensure_eq!(status_field(pid, "SigCgt")?, format!("{:016x}", 0), "{how}");
            ensure_eq!(status_field(pid, "Umask")?, "0022", "{how}");
            ensure_eq!(cwd(pid)?, Path::new("/"), "{how}");
            states.push(state(pid, &pid_file)?);
        }
        ensure_eq!(
            states[0],
            states[1],
            "{launcher:?}: without copying (left) and forked (right), dirty {dirty_launch}"
        );
    }
    Ok(())
}

/// The library ([`Launcher::Lib`]): see [`clones_without_copying`].
pub fn lib_nolibc_exec_clones_without_copying() -> TestResult {
    clones_without_copying(Launcher::Lib)
}

/// The library: see [`falls_back_to_fork`].
pub fn lib_nolibc_exec_falls_back_to_fork() -> TestResult {
    falls_back_to_fork(Launcher::Lib)
}

/// The library: see [`daemon_as_with_fork`].
pub fn lib_nolibc_exec_daemon_as_with_fork() -> TestResult {
    daemon_as_with_fork(Launcher::Lib)
}

/// The tool, which has no C library: see [`clones_without_copying`].
pub fn tool_clones_without_copying() -> TestResult {
    clones_without_copying(Launcher::Tool)
}

/// The tool: see [`falls_back_to_fork`].
pub fn tool_falls_back_to_fork_where_the_clone_is_refused() -> TestResult {
    falls_back_to_fork(Launcher::Tool)
}

/// The tool: see [`daemon_as_with_fork`].
pub fn tool_daemon_without_copying_as_with_fork() -> TestResult {
    daemon_as_with_fork(Launcher::Tool)
}

/// A daemon that changes user (`-u`) is made by fork, never by the clone that shares memory:
/// from the change on, that user could stop it (SIGSTOP) before its `execve` and so hold
/// root's launcher in the clone's wait, which only SIGKILL ends, and could trace the memory it
/// shares with root's launcher where `fs.suid_dumpable` is 1.
pub fn tool_changing_user_forks() -> TestResult {
    needs_tool(&["tool-privileges"])?;
    needs_root()?;
    if let Some(emulator) = emulator() {
        return Err(format!(
            "{SKIP}the tool runs in {emulator}, which would be traced itself"
        ));
    }
    let strace = which("strace").map_err(|e| format!("{SKIP}{e} (apt-get install strace)"))?;
    let program = which("true")?.display().to_string();
    let dir = TempDir::new("shared-clone-user");
    let pid_file = dir.path("d.pid");
    let trace = dir.path("trace");
    let mut cmd = Command::new(strace);
    cmd.args([
        "-f",
        "-qq",
        "-e",
        "trace=clone,clone3,fork,vfork,execve",
        "-o",
    ])
    .arg(&trace)
    .arg(tool().get_program())
    .args(["-u", "nobody", "-p"])
    .arg(&pid_file)
    .args(["--", &program])
    .env_remove("NOTIFY_SOCKET");
    let out = run(&mut cmd);
    let (clones, execs) = clones_and_execs(&read_text(&trace)?);
    let daemon = read_pid(&pid_file).unwrap_or(-1);
    reap_zombies();
    ensure!(out.status.success(), "{}", describe(&out));
    ensure!(
        execs.contains(&(daemon, program)),
        "the daemon {daemon} executed PROGRAM: {execs:?}"
    );
    ensure_eq!(clones.len(), 2, "a fork and a second fork: {clones:?}");
    ensure!(
        clones.iter().all(|c| c.flags == "SIGCHLD"),
        "forks only: {clones:?}"
    );
    no_process_left()
}
