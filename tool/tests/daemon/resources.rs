//! `--rlimit`, `--nicelevel`, `--ionice`, `--procsched`, `--oom-score-adj`: the limits,
//! nice value, I/O priority, scheduling policy and OOM score of the real PROGRAM, read from
//! /proc and with util-linux's `prlimit`, `ionice` and `chrt`; under `-R` PROGRAM's alone;
//! the usage errors and the kernel's refusals.

use std::process::Command;

use crate::capabilities::{caps, needs_program, without_caps};
use crate::common::*;
use crate::{ensure, ensure_eq};

/// `CAP_SYS_NICE`, `CAP_SYS_RESOURCE`, `CAP_SYS_ADMIN`.
const SYS_NICE: u32 = 23;
const SYS_RESOURCE: u32 = 24;
const SYS_ADMIN: u32 = 21;

/// A line of `/proc/PID/limits` as (soft, hard), by its name (`Max open files`).
fn limit(pid: i32, name: &str) -> Result<(String, String), String> {
    let text = read_text(std::path::Path::new(&format!("/proc/{pid}/limits")))?;
    let line = text
        .lines()
        .find(|l| l.starts_with(name))
        .ok_or(format!("no {name} in /proc/{pid}/limits"))?;
    let mut fields = line[name.len()..].split_whitespace();
    match (fields.next(), fields.next()) {
        (Some(soft), Some(hard)) => Ok((soft.to_string(), hard.to_string())),
        _ => Err(format!("limits line {line:?}")),
    }
}

/// Field `n` (1-based, as proc_pid_stat(5) numbers them) of `/proc/PID/stat`.
fn stat_field(pid: i32, n: usize) -> Result<i64, String> {
    let text = read_text(std::path::Path::new(&format!("/proc/{pid}/stat")))?;
    let close = text.rfind(')').ok_or("no )")?;
    text[close + 2..]
        .split(' ')
        .nth(n - 3)
        .and_then(|f| f.trim().parse().ok())
        .ok_or(format!("stat field {n} of {pid}"))
}

/// The `policy` line of `/proc/PID/sched`.
fn sched_policy(pid: i32) -> Result<i64, String> {
    let text = read_text(std::path::Path::new(&format!("/proc/{pid}/sched")))?;
    text.lines()
        .find(|l| l.starts_with("policy "))
        .and_then(|l| l.rsplit(':').next())
        .and_then(|v| v.trim().parse().ok())
        .ok_or(format!("no policy in /proc/{pid}/sched"))
}

/// What `program ARGS` prints on stdout, trimmed.
fn output_of(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    ensure!(out.status.success(), "{program} {args:?}: {out:?}");
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The OOM score adjustment of `pid`.
fn oom_score_adj(pid: i32) -> Result<i64, String> {
    read_text(std::path::Path::new(&format!("/proc/{pid}/oom_score_adj")))?
        .trim()
        .parse()
        .map_err(|e| format!("oom_score_adj: {e}"))
}

/// The options of the first start, and what PROGRAM must show for them.
const AS_NOBODY: &[&str] = &[
    "-u",
    "nobody",
    "--rlimit",
    "nofile=64:128",
    "--rlimit",
    "core=0",
    "--rlimit",
    "stack=4194304:",
    "--rlimit",
    "nofile=100:200",
    "--nicelevel",
    "5",
    "--ionice",
    "idle",
    "--procsched",
    "batch",
    "--oom-score-adj",
    "300",
];

/// Checks a PROGRAM started with [`AS_NOBODY`] by a launcher like this test process.
fn check_as_nobody(pid: i32) -> TestResult {
    let own = std::process::id() as i32;
    ensure_eq!(status_field(pid, "Uid")?, "65534\t65534\t65534\t65534");
    // The last nofile given counts; stack keeps the launcher's hard limit.
    ensure_eq!(limit(pid, "Max open files")?, ("100".into(), "200".into()));
    ensure_eq!(limit(pid, "Max core file size")?, ("0".into(), "0".into()));
    let (_, stack_hard) = limit(own, "Max stack size")?;
    // qemu-user takes setrlimit of the stack (and of the address space and data) and does
    // not pass it on to the kernel: under emulation PROGRAM keeps the launcher's stack limit.
    let stack_soft = match emulator() {
        None => "4194304".to_string(),
        Some(_) => limit(own, "Max stack size")?.0,
    };
    ensure_eq!(limit(pid, "Max stack size")?, (stack_soft, stack_hard));
    let p = pid.to_string();
    // nice(2) adds to the launcher's value, within -20..=19.
    let nice = stat_field(own, 19)?;
    ensure_eq!(stat_field(pid, 19)?, (nice + 5).min(19), "nice");
    ensure_eq!(output_of("ionice", &["-p", &p])?, "idle");
    ensure_eq!(sched_policy(pid)?, 3, "SCHED_BATCH");
    ensure_eq!(stat_field(pid, 41)?, 3, "policy in stat");
    ensure!(
        output_of("chrt", &["-p", &p])?.contains("SCHED_BATCH"),
        "chrt -p {p}"
    );
    ensure_eq!(oom_score_adj(pid)?, 300);
    Ok(())
}

/// As nobody: resource limits (a repeated one replaced, a soft-only one keeping the hard
/// limit), nice + 5, idle I/O, SCHED_BATCH and an OOM score of 300, set before the drop and
/// inherited by PROGRAM. As root: SCHED_RR at 10, real-time I/O at level 2, nice - 5 (which
/// need privilege).
pub fn tool_resource_limits_and_priorities() -> TestResult {
    needs_tool(&["tool-privileges", "tool-limits"])?;
    needs_root()?;
    for p in ["prlimit", "ionice", "chrt"] {
        needs_program(p)?;
    }
    let dir = TempDir::new("rlimit");
    let pid_file = dir.path("d.pid");
    let out = run(tool()
        .arg("-p")
        .arg(&pid_file)
        .args(AS_NOBODY)
        .args(["sleep", "30"]));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    check_as_nobody(daemon.0)?;
    drop(daemon);
    reap_zombies();
    let out = run(tool().args([
        "--procsched",
        "rr:10",
        "--ionice",
        "real-time:2",
        "--nicelevel",
        "-5",
        "--rlimit",
        "nofile=1000:2000",
        "sleep",
        "30",
    ]));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    let p = daemon.0.to_string();
    ensure_eq!(sched_policy(daemon.0)?, 2, "SCHED_RR");
    ensure_eq!(stat_field(daemon.0, 40)?, 10, "rt_priority");
    let chrt = output_of("chrt", &["-p", &p])?;
    ensure!(
        chrt.contains("SCHED_RR") && chrt.contains("priority: 10"),
        "chrt: {chrt}"
    );
    ensure_eq!(output_of("ionice", &["-p", &p])?, "realtime: prio 2");
    let nice = stat_field(std::process::id() as i32, 19)?;
    ensure_eq!(stat_field(daemon.0, 19)?, (nice - 5).max(-20), "nice");
    // As prlimit(1) reads them (it may read a root process's limits).
    let prlimit = output_of(
        "prlimit",
        &["--pid", &p, "--nofile", "--noheadings", "-o", "SOFT,HARD"],
    )?;
    ensure_eq!(
        prlimit.split_whitespace().collect::<Vec<_>>(),
        ["1000", "2000"]
    );
    Ok(())
}

/// Under `-R` the supervisor keeps the launcher's limits, priorities, user and
/// capabilities; each run of PROGRAM gets them (checked on the first run and on a restart).
pub fn tool_respawn_limits_apply_to_each_run() -> TestResult {
    needs_tool(&[
        "tool-privileges",
        "tool-limits",
        "tool-respawn",
        "tool-control",
    ])?;
    needs_root()?;
    for p in ["ionice", "chrt"] {
        needs_program(p)?;
    }
    let dir = TempDir::new("rlimitR");
    let pid_file = dir.path("d.pid");
    let out = run(tool()
        .arg("-R")
        .arg("-p")
        .arg(&pid_file)
        .args(AS_NOBODY)
        .args(["--capabilities", "^cap_net_bind_service"])
        .args(["sleep", "30"]));
    ensure!(out.status.success(), "{}", describe(&out));
    let supervisor = the_daemon()?;
    let own = std::process::id() as i32;
    for run in 0..2 {
        let mut program = 0;
        ensure!(
            wait_until(|| {
                program = children_of(supervisor.0).first().copied().unwrap_or(0);
                program != 0 && comm(program).as_deref() == Some("sleep")
            }),
            "run {run}: no program"
        );
        check_as_nobody(program)?;
        ensure_eq!(caps(program, "CapAmb")?, 1 << 10, "run {run}");
        // The supervisor is the launcher's.
        ensure_eq!(status_field(supervisor.0, "Uid")?, "0\t0\t0\t0");
        ensure_eq!(
            limit(supervisor.0, "Max open files")?,
            limit(own, "Max open files")?
        );
        ensure_eq!(stat_field(supervisor.0, 19)?, stat_field(own, 19)?, "nice");
        ensure_eq!(sched_policy(supervisor.0)?, sched_policy(own)?);
        ensure_eq!(oom_score_adj(supervisor.0)?, oom_score_adj(own)?);
        ensure_eq!(caps(supervisor.0, "CapAmb")?, 0);
        // SIGKILL: the supervisor restarts it.
        // SAFETY: a signal to the program, the supervisor's child.
        unsafe { libc::kill(program, libc::SIGKILL) };
        ensure!(
            wait_until(|| children_of(supervisor.0).first() != Some(&program)),
            "run {run}: not restarted"
        );
    }
    let out = stop(&pid_file, &[]);
    ensure!(out.status.success(), "{}", describe(&out));
    reap_zombies();
    drop(supervisor);
    no_process_left()
}

/// Values out of range are usage errors (status 2) before anything starts; each refusal by
/// the kernel fails the start naming its step (a launcher without CAP_SYS_RESOURCE cannot
/// raise a hard limit or lower the OOM score; without CAP_SYS_NICE it cannot lower the nice
/// value or choose a real-time policy; without CAP_SYS_ADMIN and CAP_SYS_NICE a real-time
/// I/O class), in daemon, foreground and `-R` mode; nothing is left.
pub fn fail_resource_limits() -> TestResult {
    needs_tool(&["tool-limits"])?;
    needs_root()?;
    let usage: [(&[&str], &str); 12] = [
        (
            &["--rlimit", "nofile"],
            "--rlimit needs NAME=SOFT[:HARD]: nofile",
        ),
        (
            &["--rlimit", "files=10"],
            "--rlimit needs a resource prlimit(1) names (nofile, nproc, core, ...): files=10",
        ),
        (
            &["--rlimit", "nofile=20:10"],
            "--rlimit needs the soft limit at or below the hard one: nofile=20:10",
        ),
        (
            &["--rlimit", "nofile=-1"],
            "--rlimit needs each limit a number or unlimited: nofile=-1",
        ),
        (
            &["--nicelevel", "20"],
            "--nicelevel needs a number from -20 to 19: 20",
        ),
        (
            &["--nicelevel", "x"],
            "--nicelevel needs a number from -20 to 19: x",
        ),
        (
            &["--oom-score-adj", "-1001"],
            "--oom-score-adj needs a number from -1000 to 1000: -1001",
        ),
        (
            &["--ionice", "best-effort:8"],
            "--ionice needs a level from 0 to 7 (0 for class none): best-effort:8",
        ),
        (
            &["--ionice", "fast"],
            "--ionice needs a class: idle, best-effort, real-time, or 0 to 3: fast",
        ),
        (
            &["--procsched", "fifo:0"],
            "--procsched needs a priority from 1 to 99 for fifo and rr, 0 for the others: fifo:0",
        ),
        (
            &["--procsched", "deadline"],
            "--procsched needs a policy: other, fifo, rr, batch or idle: deadline",
        ),
        (
            &["--no-new-privs=1"],
            "option takes no value: --no-new-privs=1",
        ),
    ];
    let dir = TempDir::new("rlimitfail");
    let pid_file = dir.path("d.pid");
    for (args, message) in usage {
        expect_failure(
            tool()
                .arg("-p")
                .arg(&pid_file)
                .args(args)
                .args(["sleep", "30"]),
            2,
            &format!("rawdaemon: {message} (try --help)"),
            Some(&pid_file),
        )?;
    }
    let hard = limit(std::process::id() as i32, "Max open files")?.1;
    let above = format!(
        "nofile=1:{}",
        hard.parse::<u64>().map_err(|e| e.to_string())? + 1
    );
    let refusals: [(&[u32], &[&str], &str); 6] = [
        (
            &[SYS_RESOURCE],
            &["--rlimit", &above],
            "rlimit nofile: Operation not permitted",
        ),
        (
            &[SYS_RESOURCE],
            &["--oom-score-adj", "-1000"],
            "priority oom_score_adj: Permission denied",
        ),
        (
            &[SYS_NICE],
            &["--nicelevel", "-5"],
            "priority nice: Permission denied",
        ),
        (
            &[SYS_NICE],
            &["--procsched", "fifo:10"],
            "priority sched: Operation not permitted",
        ),
        (
            &[SYS_NICE, SYS_ADMIN],
            &["--ionice", "real-time"],
            "priority ionice: Operation not permitted",
        ),
        (
            &[SYS_RESOURCE],
            &["-u", "nobody", "--rlimit", &above],
            "rlimit nofile: Operation not permitted",
        ),
    ];
    let modes: [&[&str]; 3] = [&[], &["-f"], &["-R"]];
    for (drop, args, message) in refusals {
        for mode in modes {
            if mode == ["-R"] && !respawn_runs()
                || args.contains(&"-u") && needs_tool(&["tool-privileges"]).is_err()
            {
                continue;
            }
            let mut cmd = tool();
            cmd.arg("-p")
                .arg(&pid_file)
                .args(mode)
                .args(args)
                .args(["sleep", "30"]);
            expect_failure(
                without_caps(&mut cmd, drop),
                1,
                &format!("rawdaemon: {message}"),
                Some(&pid_file),
            )
            .map_err(|e| format!("{mode:?} {args:?}: {e}"))?;
        }
    }
    Ok(())
}
