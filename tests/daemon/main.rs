//! Starts real daemons (the `rawdaemon` tool, and this very binary re-executed as a small
//! program using the library) and proves from /proc what they became.
//!
//! `harness = false`: libtest's threads would break the single-thread precondition of the
//! library roles, and the test process must be a child subreaper reaping by pid. Run one
//! test with `cargo test --test daemon -- NAME`.

mod common;
mod control;
mod faults;
mod files;
mod hostile;
mod limits;
mod logging;
mod messages;
mod notify;
mod privileges;
mod respawn;
mod roles;
mod system;

use std::collections::BTreeMap;
use std::fs;
use std::io::Error as IoError;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use control::*;
use faults::*;
use files::*;
use hostile::*;
use limits::*;
use logging::*;
use messages::*;
use notify::*;
use privileges::*;
use respawn::*;
use system::*;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--role") {
        roles::run(&args[2..]);
    }
    common::run(tests![
        tool_daemon_is_detached_and_clean,
        tool_options_reach_the_daemon,
        tool_closes_1000_fds_up_to_the_limit,
        tool_with_closed_stdio_at_start,
        tool_with_closed_stdio_and_pid_file,
        tool_close_range_enosys_falls_back_to_proc,
        tool_close_range_eperm_falls_back_to_proc,
        tool_without_proc_falls_back_to_loop,
        fail_without_dev_null,
        tool_foreground_does_not_fork,
        tool_second_instance_is_refused,
        tool_64_simultaneous_starts,
        tool_stale_pid_file_is_reused,
        tool_restarts_after_sigkill,
        tool_path_search,
        fail_missing_chdir,
        fail_log_is_a_directory,
        fail_log_unwritable_for_user,
        fail_missing_program,
        fail_exec_not_executable,
        fail_keep_fd_not_open,
        fail_pid_file_is_symlink,
        fail_pid_file_is_fifo,
        fail_pid_file_is_directory,
        garbage_pid_files,
        fail_pid_file_hard_link,
        fail_pid_file_of_another_user,
        garbage_pid_files_never_signal,
        fail_usage,
        fail_option_not_in_this_build,
        fail_foreground_leaves_no_pid_file,
        tool_stop_and_status,
        tool_stop_with_signal,
        tool_stop_escalates_to_kill,
        tool_stop_spares_a_recycled_pid,
        tool_stop_races_a_natural_exit,
        tool_stale_pid_file_spares_a_stranger,
        tool_status_of_an_unidentified_holder,
        fail_stop_and_status_usage,
        start_stop_daemon_on_a_tool_daemon,
        tool_drops_privileges,
        tool_user_by_number_and_group_by_name,
        tool_chroot,
        fail_user_and_chroot,
        fail_user_without_privileges,
        fail_foreground_after_drop_empties_pid_file,
        tool_notify_socket,
        fail_notify_socket_hears_nothing,
        tool_notify_socket_foreground,
        tool_ready_fd_waits_for_the_line,
        fail_ready_fd_closed,
        tool_ready_fd_foreground_watcher,
        lib_notify_socket,
        tool_program_gets_only_its_descriptors,
        tool_ready_fd_foreground_without_listener,
        fail_ready_fd_closed_after_forking,
        tool_respawn_restarts_and_stops,
        tool_respawn_gives_up,
        tool_respawn_ends_with_a_clean_exit,
        tool_respawn_forwards_signals_and_reopens_logs,
        tool_respawn_reaps_orphans,
        tool_respawn_program_dies_with_supervisor,
        fail_respawn_first_start,
        tool_respawn_foreground,
        tool_respawn_stop_ends_the_program_group,
        tool_respawn_relative_chroot,
        tool_syslog_lines,
        tool_syslog_burst,
        tool_syslog_daemon_restarts,
        tool_syslog_respawn,
        tool_kmsg,
        tool_log_with_chroot_and_user,
        fault_table_covers_the_start_path,
        fault_injection_every_step,
        lib_daemon_is_detached_and_clean,
        lib_manual_ready,
        lib_init_failure_reaches_launcher,
        lib_exit_before_ready,
        lib_survives_launcher_death,
        lib_manual_ready_with_worker,
        lib_refuses_threads,
        lib_cannot_acquire_a_terminal,
        lib_makes_no_allocation,
        // Readiness and messages under hostile or unusual launchers.
        tool_ready_fd_survives_launcher_death,
        tool_ready_fd_foreground_passes_an_open_descriptor,
        s6_notification_fd_through_the_tool,
        tool_user_without_account_loses_root_env,
        tool_user_in_a_group_with_a_long_line,
        tool_under_a_small_stack_limit,
        tool_with_a_broken_stderr,
        fail_foreground_with_log_reports_on_stderr,
        fail_long_path_keeps_the_cause,
        tool_user_searches_path_as_the_user,
        // The -R supervisor's and the logger's signals and writes
        tool_respawn_logrotate_hup_spares_the_program,
        tool_respawn_logrotate_copytruncate,
        tool_respawn_survives_a_fifo_without_reader,
        tool_respawn_survives_the_file_size_limit,
        fail_pid_file_over_the_size_limit,
        tool_syslog_unread_socket_holds_no_one,
        tool_syslog_without_socket_warns,
        tool_respawn_under_runit_sv_stop,
        // Files opened, written and removed as root (pid file, logs, their removal).
        tool_program_cannot_rewrite_its_pid_file,
        tool_foreground_lock_is_read_only_without_daemon_flag,
        fail_log_is_a_planted_symlink,
        fail_log_through_a_foreign_directory_link,
        fail_log_hard_link_or_foreign_file,
        fail_log_is_a_fifo_without_reader,
        tool_log_paths_that_stay_allowed,
        tool_respawn_hup_refuses_a_planted_log_link,
        tool_respawn_end_spares_another_pid_file,
        fail_status_and_stop_on_a_fifo,
        fail_pid_file_through_a_foreign_directory_link,
        // stop, status and signal: the whole service, and nothing else
        tool_stop_ends_what_the_program_started,
        tool_refusal_names_the_real_holder,
        tool_stop_ends_the_marked_session,
        tool_stop_spares_the_foreground_session,
        tool_stop_after_kill_removes_the_pid_file,
        tool_signal_without_stop,
        tool_respawn_ends_what_earlier_runs_left,
        start_stop_daemon_on_a_forking_daemon,
        openrc_runs_the_shipped_script,
        tool_stop_spares_a_process_handed_the_lock,
        tool_respawn_stop_signals_the_program_once,
        tool_stop_ends_a_child_in_its_own_session,
        fail_control_on_another_users_pid_file,
        fail_pid_file_in_a_directory_another_user_may_write,
        tool_shared_lock_still_counts,
        fail_log_fifo_of_the_daemons_user,
        fail_ready_fd_program_exits_with_a_holder_left,
        tool_reused_pid_file_is_made_private,
        tool_control_spares_a_recycled_daemon_pid,
    ]);
}

fn tool_close_range_enosys_falls_back_to_proc() -> TestResult {
    close_range_blocked(libc::ENOSYS)
}

fn tool_close_range_eperm_falls_back_to_proc() -> TestResult {
    close_range_blocked(libc::EPERM)
}

// ---------------------------------------------------------------------------------------
// Launching

/// Makes the launcher's start as dirty as real life: umask 077, SIGHUP and SIGPIPE ignored,
/// SIGUSR1 and SIGTERM blocked, and `extra` open descriptors that are not close-on-exec.
fn dirty(cmd: &mut Command, extra: usize) -> &mut Command {
    // SAFETY: only async-signal-safe libc calls run between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            libc::umask(0o077);
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            libc::signal(libc::SIGPIPE, libc::SIG_IGN);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGUSR1);
            libc::sigaddset(&mut set, libc::SIGTERM);
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            for _ in 0..extra {
                if libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY) < 0 {
                    return Err(IoError::last_os_error());
                }
            }
            Ok(())
        })
    }
}

/// Runs a launcher to its end; one that does not end within 20 s is killed (and the test
/// then fails on its status).
/// `rawdaemon -p PID_FILE sleep 30`, the start most tests make.
fn sleeper(pid_file: &Path) -> Command {
    let mut cmd = tool();
    cmd.arg("-p").arg(pid_file).args(["sleep", "30"]);
    cmd
}

fn run(cmd: &mut Command) -> Output {
    try_run(cmd).unwrap_or_else(|e| panic!("launcher did not start: {e}"))
}

/// As [`run`], with a launcher that could not be started as an error.
pub(crate) fn try_run(cmd: &mut Command) -> Result<Output, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().map_err(|e| e.to_string())?.is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child.wait_with_output().map_err(|e| e.to_string())
}

pub(crate) fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Waits until `path` holds a pid (a foreground start writes it after we spawn it).
pub(crate) fn read_pid(path: &Path) -> Result<i32, String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(text) = fs::read_to_string(path) {
            if let Some(line) = text.strip_suffix('\n') {
                return line.parse().map_err(|e| format!("pid file {text:?}: {e}"));
            }
        }
        if Instant::now() > deadline {
            return Err(format!("no pid in {}", path.display()));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

// ---------------------------------------------------------------------------------------
// What every daemon must be

/// Session, process group, parent, terminal: a detached daemon re-parented to us.
pub(crate) fn check_detached(pid: i32) -> Result<Stat, String> {
    let s = stat(pid)?;
    let me = std::process::id() as i32;
    // SAFETY: getsid(0) has no preconditions.
    let my_sid = unsafe { libc::getsid(0) };
    ensure_eq!(s.ppid, me, "daemon re-parented to the subreaper");
    ensure!(
        s.session != my_sid,
        "daemon still in the test's session {my_sid}"
    );
    ensure!(s.session != pid, "daemon {pid} is a session leader");
    ensure_eq!(s.pgrp, s.session, "process group is the new session's");
    ensure_eq!(s.tty_nr, 0, "no controlling terminal");
    // The session leader was the intermediate, reaped by the launcher: gone, not a zombie.
    ensure!(
        !Path::new(&format!("/proc/{}", s.session)).exists(),
        "intermediate {} still exists",
        s.session
    );
    Ok(s)
}

/// Signal mask empty and no signal ignored, except `allowed` (a libc's reserved signals).
fn check_signals(pid: i32, allowed: u64) -> TestResult {
    ensure_eq!(sigset(pid, "SigBlk")? & !allowed, 0, "SigBlk of {pid}");
    ensure_eq!(sigset(pid, "SigIgn")? & !allowed, 0, "SigIgn of {pid}");
    Ok(())
}

/// Exactly 0, 1, 2 on /dev/null (or what `expect` says) plus the listed others.
fn check_fds(pid: i32, expect: &[(i32, &str)]) -> TestResult {
    settled(pid)?;
    let got = fds(pid)?;
    let mut want: BTreeMap<i32, String> = (0..3).map(|fd| (fd, "/dev/null".to_string())).collect();
    for (fd, target) in expect {
        want.insert(*fd, (*target).to_string());
    }
    ensure_eq!(got, want, "open descriptors of {pid}");
    Ok(())
}

/// The descriptor of `pid` that points at `path`.
fn fd_of(pid: i32, path: &Path) -> Result<i32, String> {
    let target = path.display().to_string();
    fds(pid)?
        .into_iter()
        .find(|(_, t)| *t == target)
        .map(|(fd, _)| fd)
        .ok_or(format!("{pid} has no descriptor on {target}"))
}

// ---------------------------------------------------------------------------------------
// The tool

fn tool_daemon_is_detached_and_clean() -> TestResult {
    let dir = TempDir::new("clean");
    let pid_file = dir.path("d.pid");
    let out = run(dirty(&mut sleeper(&pid_file), 5));
    ensure!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        describe(&out)
    );
    let daemon = the_daemon()?;
    let pid = daemon.0;
    ensure_eq!(comm(pid), Some("sleep".to_string()), "PROGRAM runs");
    check_detached(pid)?;
    ensure_eq!(status_field(pid, "Umask")?, "0022", "default umask");
    ensure_eq!(cwd(pid)?, Path::new("/"), "default cwd");
    // The tool resets even the libc-reserved signals right before exec.
    check_signals(pid, 0)?;
    let lock_fd = fd_of(pid, &pid_file)?;
    check_fds(pid, &[(lock_fd, &pid_file.display().to_string())])?;
    ensure_eq!(read_text(&pid_file)?, format!("{pid}\n"));
    ensure!(
        is_locked(&pid_file)?,
        "pid file not locked while the daemon runs"
    );
    // The lock goes with PROGRAM.
    drop(daemon);
    ensure!(
        !is_locked(&pid_file)?,
        "pid file still locked after the daemon died"
    );
    Ok(())
}

fn tool_options_reach_the_daemon() -> TestResult {
    let dir = TempDir::new("opts");
    let (out_log, err_log) = (dir.path("out.log"), dir.path("err.log"));
    fs::write(&out_log, "old\n").map_err(|e| e.to_string())?;
    let work = dir.path("work");
    fs::create_dir(&work).map_err(|e| e.to_string())?;
    // Descriptor 9 is given to the launcher; -k 9 must keep it, and nothing else.
    let mut cmd = tool();
    cmd.args(["-c"])
        .arg(&work)
        .args(["--umask=027", "-o"])
        .arg(&out_log)
        .arg(format!("--stderr={}", err_log.display()));
    cmd.args([
        "-k",
        "9",
        "-E",
        "RAWDAEMON_TEST=a=b",
        "-E",
        "HOME=/nowhere",
        "--",
    ]);
    cmd.args(["sh", "-c", "echo to-out; echo to-err >&2; exec sleep 30"]);
    // SAFETY: dup2 in the child only.
    unsafe {
        cmd.pre_exec(|| {
            if libc::dup2(0, 9) != 9 {
                return Err(IoError::last_os_error());
            }
            Ok(())
        });
    }
    let out = run(dirty(&mut cmd, 3));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    let pid = daemon.0;
    // sh writes its two lines, then execs sleep.
    settled(pid)?;
    check_detached(pid)?;
    ensure_eq!(status_field(pid, "Umask")?, "0027");
    ensure_eq!(cwd(pid)?, work);
    let got = fds(pid)?;
    ensure_eq!(got.get(&1).cloned(), Some(out_log.display().to_string()));
    ensure_eq!(got.get(&2).cloned(), Some(err_log.display().to_string()));
    ensure_eq!(
        got.get(&9).cloned(),
        Some("/dev/null".to_string()),
        "kept fd 9"
    );
    ensure_eq!(got.len(), 4, "descriptors {got:?}");
    let environ = fs::read(format!("/proc/{pid}/environ")).map_err(|e| e.to_string())?;
    let vars: Vec<&[u8]> = environ.split(|&b| b == 0).collect();
    ensure!(
        vars.contains(&&b"RAWDAEMON_TEST=a=b"[..]),
        "environ lacks RAWDAEMON_TEST: {:?}",
        String::from_utf8_lossy(&environ)
    );
    ensure!(vars.contains(&&b"HOME=/nowhere"[..]), "HOME not replaced");
    ensure_eq!(
        vars.iter().filter(|v| v.starts_with(b"HOME=")).count(),
        1,
        "one HOME"
    );
    ensure!(
        vars.iter().any(|v| v.starts_with(b"PATH=")),
        "inherited PATH kept"
    );
    // Appended, not truncated.
    wait_until(|| !fs::read_to_string(&err_log).unwrap_or_default().is_empty());
    ensure_eq!(read_text(&out_log)?, "old\nto-out\n");
    ensure_eq!(read_text(&err_log)?, "to-err\n");
    Ok(())
}

fn tool_closes_1000_fds_up_to_the_limit() -> TestResult {
    let dir = TempDir::new("fds");
    let pid_file = dir.path("d.pid");
    let mut cmd = sleeper(&pid_file);
    // SAFETY: rlimit calls and dup2 in the child only.
    unsafe {
        cmd.pre_exec(move || {
            let mut rl: libc::rlimit = std::mem::zeroed();
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl);
            rl.rlim_cur = rl.rlim_max.min(1 << 20);
            libc::setrlimit(libc::RLIMIT_NOFILE, &rl);
            // Three just below the limit, the rest low.
            for below in 1..=3 {
                if libc::dup2(0, (rl.rlim_cur - below) as i32) < 0 {
                    return Err(IoError::last_os_error());
                }
            }
            Ok(())
        });
    }
    let out = run(dirty(&mut cmd, 997));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    let pid = daemon.0;
    let limit: u64 = status_limit(pid)?;
    ensure!(limit >= 1024, "the limit {limit} was raised");
    let lock_fd = fd_of(pid, &pid_file)?;
    check_fds(pid, &[(lock_fd, &pid_file.display().to_string())])?;
    check_detached(pid)?;
    Ok(())
}

/// The daemon's soft RLIMIT_NOFILE.
fn status_limit(pid: i32) -> Result<u64, String> {
    let text = fs::read_to_string(format!("/proc/{pid}/limits")).map_err(|e| e.to_string())?;
    let line = text
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .ok_or("no limit")?;
    line.split_whitespace()
        .nth(3)
        .ok_or("no field")?
        .parse()
        .map_err(|e| format!("{e}"))
}

fn tool_with_closed_stdio_at_start() -> TestResult {
    let mut cmd = tool();
    cmd.args(["sleep", "30"]);
    // SAFETY: close in the child only.
    unsafe {
        cmd.pre_exec(|| {
            libc::close(0);
            libc::close(2);
            Ok(())
        });
    }
    let status = cmd
        .stdout(Stdio::null())
        .status()
        .map_err(|e| e.to_string())?;
    ensure!(status.success(), "{status:?}");
    let daemon = the_daemon()?;
    check_fds(daemon.0, &[])?;
    Ok(())
}

/// 0, 1 and 2 closed at start: the pid file must not land on one of them (where the
/// daemon's dup2 would replace it).
fn tool_with_closed_stdio_and_pid_file() -> TestResult {
    let dir = TempDir::new("closed-pid");
    let pid_file = dir.path("d.pid");
    let mut cmd = sleeper(&pid_file);
    // SAFETY: close in the child only.
    unsafe {
        cmd.pre_exec(|| {
            libc::close(0);
            libc::close(1);
            libc::close(2);
            Ok(())
        });
    }
    let status = cmd.status().map_err(|e| e.to_string())?;
    ensure!(status.success(), "{status:?}");
    let daemon = the_daemon()?;
    ensure_eq!(read_pid(&pid_file)?, daemon.0);
    ensure!(is_locked(&pid_file)?, "pid file not locked");
    let lock_fd = fd_of(daemon.0, &pid_file)?;
    ensure!(lock_fd > 2, "lock on standard descriptor {lock_fd}");
    check_fds(daemon.0, &[(lock_fd, &pid_file.display().to_string())])?;
    Ok(())
}

/// A seccomp filter that fails close_range with `errno`; the daemon must still end up with
/// only its own descriptors.
fn close_range_blocked(errno: i32) -> TestResult {
    let dir = TempDir::new("seccomp");
    let pid_file = dir.path("d.pid");
    let mut cmd = sleeper(&pid_file);
    // SAFETY: prctl calls in the child only.
    unsafe {
        cmd.pre_exec(move || deny_close_range(errno));
    }
    let out = run(dirty(&mut cmd, 50));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    let lock_fd = fd_of(daemon.0, &pid_file)?;
    check_fds(daemon.0, &[(lock_fd, &pid_file.display().to_string())])?;
    Ok(())
}

/// Installs a seccomp filter: close_range (436 on x86_64 and every newer architecture)
/// fails with `errno`, everything else is allowed.
fn deny_close_range(errno: i32) -> std::io::Result<()> {
    const NR_CLOSE_RANGE: u32 = 436;
    let filter = [
        // A = seccomp_data.nr
        libc::sock_filter {
            code: 0x20,
            jt: 0,
            jf: 0,
            k: 0,
        },
        // if A == close_range goto errno else goto allow
        libc::sock_filter {
            code: 0x15,
            jt: 0,
            jf: 1,
            k: NR_CLOSE_RANGE,
        },
        libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0x0005_0000 | errno as u32,
        },
        libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0x7fff_0000,
        },
    ];
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut _,
    };
    // SAFETY: the filter outlives the prctl call, which copies it.
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            || libc::prctl(
                libc::PR_SET_SECCOMP,
                2,
                &prog as *const libc::sock_fprog,
                0,
                0,
            ) != 0
        {
            return Err(IoError::last_os_error());
        }
    }
    Ok(())
}

/// No /proc in the launcher's mount namespace and close_range failing: the daemon closes
/// descriptors with a loop up to the limit, and resets every signal blind.
fn tool_without_proc_falls_back_to_loop() -> TestResult {
    needs_root()?;
    let mut cmd = tool();
    cmd.args(["/bin/sleep", "30"]);
    in_private_mounts(&mut cmd, || {
        // SAFETY: umount2 in the child only.
        if unsafe { libc::umount2(c"/proc".as_ptr(), libc::MNT_DETACH) } != 0 {
            return Err(IoError::last_os_error());
        }
        deny_close_range(libc::ENOSYS)
    });
    // Root without CAP_SYS_ADMIN (a default container) cannot make the namespace.
    let out = match try_run(dirty(&mut cmd, 20)) {
        Ok(out) => out,
        Err(e) => return Err(format!("skip: no private mount namespace here: {e}")),
    };
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    ensure!(
        !Path::new(&format!("/proc/{}/root/proc/self", daemon.0)).exists(),
        "daemon still sees /proc"
    );
    check_fds(daemon.0, &[])?;
    check_signals(daemon.0, 0)?;
    check_detached(daemon.0)?;
    Ok(())
}

fn tool_foreground_does_not_fork() -> TestResult {
    let dir = TempDir::new("fg");
    let pid_file = dir.path("fg.pid");
    let mut cmd = tool();
    cmd.args(["-f", "-p"])
        .arg(&pid_file)
        .args(["-c", "/tmp", "sleep", "30"]);
    let child = dirty(&mut cmd, 4)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let guard = Guard(child.id() as i32);
    let pid = read_pid(&pid_file)?;
    ensure_eq!(pid, guard.0, "the launched process itself is the daemon");
    wait_until(|| comm(pid).as_deref() == Some("sleep"));
    ensure_eq!(comm(pid), Some("sleep".to_string()));
    let s = stat(pid)?;
    // SAFETY: getsid(0) has no preconditions.
    let my_sid = unsafe { libc::getsid(0) };
    ensure_eq!(s.session, my_sid, "foreground keeps the session");
    ensure_eq!(cwd(pid)?, Path::new("/tmp"));
    ensure_eq!(status_field(pid, "Umask")?, "0022");
    check_signals(pid, 0)?;
    let lock_fd = fd_of(pid, &pid_file)?;
    check_fds(pid, &[(lock_fd, &pid_file.display().to_string())])?;
    Ok(())
}

fn tool_second_instance_is_refused() -> TestResult {
    let dir = TempDir::new("second");
    let pid_file = dir.path("d.pid");
    let first = run(&mut sleeper(&pid_file));
    ensure!(first.status.success(), "{}", describe(&first));
    let daemon = the_daemon()?;
    let before = fs::read(&pid_file).map_err(|e| e.to_string())?;
    let second = run(&mut sleeper(&pid_file));
    ensure_eq!(second.status.code(), Some(1), "{}", describe(&second));
    // The pid is named once /proc shows it holding the lock; the smallest build, without
    // that scan, names none rather than one it cannot prove.
    let holder = if tool_lacks().iter().any(|f| f == "tool-control") {
        "another process".to_string()
    } else {
        format!("running pid {}", daemon.0)
    };
    ensure_eq!(
        stderr_of(&second),
        format!(
            "rawdaemon: pid file {}: locked by {holder}\n",
            pid_file.display()
        )
    );
    ensure_eq!(
        fs::read(&pid_file).map_err(|e| e.to_string())?,
        before,
        "live pid file untouched"
    );
    ensure_eq!(children(), vec![daemon.0], "only the first daemon runs");
    Ok(())
}

/// 64 launchers started at once with one pid file: exactly one daemon, 63 clean refusals,
/// and the pid file names the one.
fn tool_64_simultaneous_starts() -> TestResult {
    let dir = TempDir::new("race");
    let pid_file = dir.path("d.pid");
    let launchers: Vec<_> = (0..64)
        .map(|_| {
            sleeper(&pid_file)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
        })
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let mut started = 0;
    for launcher in launchers {
        let out = launcher.wait_with_output().map_err(|e| e.to_string())?;
        match out.status.code() {
            Some(0) => started += 1,
            Some(1) => {
                let err = stderr_of(&out);
                ensure!(
                    err.starts_with(&format!(
                        "rawdaemon: pid file {}: locked by ",
                        pid_file.display()
                    )),
                    "unexpected refusal: {err:?}"
                );
            }
            _ => return Err(describe(&out)),
        }
    }
    ensure_eq!(started, 1, "launchers that succeeded");
    let daemon = the_daemon()?;
    ensure_eq!(read_pid(&pid_file)?, daemon.0);
    Ok(())
}

fn tool_stale_pid_file_is_reused() -> TestResult {
    let dir = TempDir::new("stale");
    let pid_file = dir.path("d.pid");
    // A long stale content: the new pid must replace it entirely.
    fs::write(&pid_file, "123456789\ngarbage\n").map_err(|e| e.to_string())?;
    let out = run(&mut sleeper(&pid_file));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    ensure_eq!(read_text(&pid_file)?, format!("{}\n", daemon.0));
    Ok(())
}

/// PROGRAM is looked up in PATH as `-E` sets it, skipping entries that cannot be used.
fn tool_path_search() -> TestResult {
    let dir = TempDir::new("path");
    let bin = dir.path("bin");
    fs::create_dir(&bin).map_err(|e| e.to_string())?;
    fs::copy("/bin/sleep", bin.join("only-here")).map_err(|e| e.to_string())?;
    let long = "x".repeat(5000);
    let path = format!("PATH={long}:/nonexistent:{}", bin.display());
    let out = run(tool().args(["-E", &path, "only-here", "30"]));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    ensure_eq!(comm(daemon.0), Some("only-here".to_string()));
    ensure_eq!(
        fs::read_link(format!("/proc/{}/exe", daemon.0)).map_err(|e| e.to_string())?,
        bin.join("only-here")
    );
    Ok(())
}

fn tool_restarts_after_sigkill() -> TestResult {
    let dir = TempDir::new("restart");
    let pid_file = dir.path("d.pid");
    let out = run(&mut sleeper(&pid_file));
    ensure!(out.status.success(), "{}", describe(&out));
    let first = the_daemon()?;
    let first_pid = first.0;
    drop(first); // SIGKILL and reap
    let out = run(&mut sleeper(&pid_file));
    ensure!(out.status.success(), "{}", describe(&out));
    let second = the_daemon()?;
    ensure!(second.0 != first_pid, "a new daemon");
    ensure_eq!(read_pid(&pid_file)?, second.0);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Failures: the right status and message, no process, no pid file left

/// Runs the tool, expects `code` and exactly `message` on stderr, no process left, and the
/// pid file (if any) absent.
pub(crate) fn expect_failure(
    cmd: &mut Command,
    code: i32,
    message: &str,
    pid_file: Option<&Path>,
) -> TestResult {
    let out = run(cmd);
    ensure_eq!(out.status.code(), Some(code), "{}", describe(&out));
    ensure_eq!(stderr_of(&out), format!("{message}\n"));
    ensure!(out.stdout.is_empty(), "stdout: {:?}", out.stdout);
    no_process_left()?;
    if let Some(p) = pid_file {
        ensure!(!p.exists(), "pid file {} left behind", p.display());
    }
    Ok(())
}

fn fail_missing_chdir() -> TestResult {
    let dir = TempDir::new("chdir");
    let pid_file = dir.path("d.pid");
    let new_log = dir.path("new.log");
    expect_failure(
        tool()
            .arg("-p")
            .arg(&pid_file)
            .arg("-o")
            .arg(&new_log)
            .args(["-c", "/nonexistent/dir", "sleep", "30"]),
        1,
        "rawdaemon: chdir /nonexistent/dir: No such file or directory",
        Some(&pid_file),
    )?;
    ensure!(
        !new_log.exists(),
        "a log file the failed start created is left"
    );
    Ok(())
}

fn fail_log_is_a_directory() -> TestResult {
    let dir = TempDir::new("logdir");
    let pid_file = dir.path("d.pid");
    expect_failure(
        tool()
            .arg("-p")
            .arg(&pid_file)
            .arg("-e")
            .arg(&dir.0)
            .args(["sleep", "30"]),
        1,
        &format!("rawdaemon: open stderr {}: Is a directory", dir.0.display()),
        Some(&pid_file),
    )
}

/// As an unprivileged user (uid/gid 65534), a root-owned 0600 log file cannot be opened.
fn fail_log_unwritable_for_user() -> TestResult {
    needs_root()?;
    let dir = TempDir::new("logperm");
    let log = dir.path("root-only.log");
    fs::write(&log, "").map_err(|e| e.to_string())?;
    std::os::unix::fs::chown(&dir.0, Some(65534), Some(65534)).map_err(|e| e.to_string())?;
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&log, fs::Permissions::from_mode(0o600)).map_err(|e| e.to_string())?;
    let pid_file = dir.path("d.pid");
    let mut cmd = tool();
    cmd.arg("-p")
        .arg(&pid_file)
        .arg("-o")
        .arg(&log)
        .args(["sleep", "30"]);
    cmd.uid(65534).gid(65534);
    expect_failure(
        &mut cmd,
        1,
        &format!(
            "rawdaemon: open stdout {}: Permission denied",
            log.display()
        ),
        Some(&pid_file),
    )
}

fn fail_missing_program() -> TestResult {
    let dir = TempDir::new("noprog");
    let pid_file = dir.path("d.pid");
    // A PATH of its own: a directory of the caller's PATH that this user may not search
    // (root's ~/.cargo/bin for another user) makes the search fail with EACCES, 126.
    expect_failure(
        tool()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .arg("-p")
            .arg(&pid_file)
            .arg("no-such-program-here"),
        127,
        "rawdaemon: exec no-such-program-here: No such file or directory",
        Some(&pid_file),
    )?;
    expect_failure(
        tool().arg(""),
        127,
        "rawdaemon: exec : No such file or directory",
        None,
    )?;
    expect_failure(
        tool().arg("-p").arg(&pid_file).arg("/no/such/program"),
        127,
        "rawdaemon: exec /no/such/program: No such file or directory",
        Some(&pid_file),
    )
}

/// Found but not executable: the exec in the daemon fails and travels back.
fn fail_exec_not_executable() -> TestResult {
    let dir = TempDir::new("noexec");
    let pid_file = dir.path("d.pid");
    let script = dir.path("script");
    fs::write(&script, "#!/bin/sh\nsleep 30\n").map_err(|e| e.to_string())?;
    let old_log = dir.path("old.log");
    fs::write(&old_log, "kept\n").map_err(|e| e.to_string())?;
    expect_failure(
        tool()
            .arg("-p")
            .arg(&pid_file)
            .arg("-e")
            .arg(&old_log)
            .arg(&script),
        126,
        &format!("rawdaemon: exec {}: Permission denied", script.display()),
        Some(&pid_file),
    )?;
    ensure_eq!(
        read_text(&old_log)?,
        "kept\n",
        "an existing log file is kept"
    );
    Ok(())
}

fn fail_keep_fd_not_open() -> TestResult {
    expect_failure(
        tool().args(["-k", "77", "sleep", "30"]),
        1,
        "rawdaemon: keep fd 77: Bad file descriptor",
        None,
    )
}

fn fail_pid_file_is_symlink() -> TestResult {
    let dir = TempDir::new("symlink");
    let target = dir.path("target");
    fs::write(&target, "precious\n").map_err(|e| e.to_string())?;
    let link = dir.path("d.pid");
    std::os::unix::fs::symlink(&target, &link).map_err(|e| e.to_string())?;
    let out = run(tool().arg("-p").arg(&link).args(["sleep", "30"]));
    ensure_eq!(out.status.code(), Some(1), "{}", describe(&out));
    ensure_eq!(
        stderr_of(&out),
        format!(
            "rawdaemon: pid file {}: Too many levels of symbolic links\n",
            link.display()
        )
    );
    no_process_left()?;
    ensure_eq!(read_text(&target)?, "precious\n");
    Ok(())
}

/// Foreground failures after chdir, with a pid file path relative to the launch directory:
/// the file this start created is removed from the right directory.
fn fail_foreground_leaves_no_pid_file() -> TestResult {
    let dir = TempDir::new("fgfail");
    let pid_file = dir.path("rel.pid");
    let mut cmd = tool();
    cmd.current_dir(&dir.0).args([
        "-f",
        "-p",
        "rel.pid",
        "-o",
        "rel.log",
        "-c",
        "/nonexistent",
        "sleep",
        "30",
    ]);
    expect_failure(
        &mut cmd,
        1,
        "rawdaemon: chdir /nonexistent: No such file or directory",
        Some(&pid_file),
    )?;
    ensure!(
        !dir.path("rel.log").exists(),
        "foreground left its new log file"
    );
    let script = dir.path("script");
    fs::write(&script, "#!/bin/sh\n").map_err(|e| e.to_string())?;
    let mut cmd = tool();
    cmd.current_dir(&dir.0)
        .args(["-f", "-p", "rel.pid", "-c", "/tmp"])
        .arg(&script);
    expect_failure(
        &mut cmd,
        126,
        &format!("rawdaemon: exec {}: Permission denied", script.display()),
        Some(&pid_file),
    )
}

fn fail_pid_file_is_fifo() -> TestResult {
    let dir = TempDir::new("fifo");
    let fifo = dir.path("d.pid");
    // SAFETY: a NUL-terminated path.
    let r = unsafe { libc::mkfifo(cstring(&fifo).as_ptr(), 0o644) };
    ensure_eq!(r, 0, "mkfifo");
    expect_failure(
        tool().arg("-p").arg(&fifo).args(["sleep", "30"]),
        1,
        &format!("rawdaemon: pid file {}: not a regular file", fifo.display()),
        None,
    )?;
    ensure!(fifo.exists(), "the FIFO was removed");
    Ok(())
}

fn fail_pid_file_is_directory() -> TestResult {
    let dir = TempDir::new("piddir");
    let pid_dir = dir.path("d.pid");
    fs::create_dir(&pid_dir).map_err(|e| e.to_string())?;
    expect_failure(
        &mut sleeper(&pid_dir),
        1,
        &format!("rawdaemon: pid file {}: Is a directory", pid_dir.display()),
        None,
    )?;
    ensure!(pid_dir.is_dir(), "the directory was removed");
    Ok(())
}

/// Garbage in a pid file never crashes anything: unlocked, it is replaced by the new pid;
/// locked by a live holder that wrote garbage, the refusal names no pid.
fn garbage_pid_files() -> TestResult {
    let dir = TempDir::new("garbage");
    let pid_file = dir.path("d.pid");
    let digits = "9".repeat(64 * 1024);
    for garbage in [
        "",
        "\n",
        "-42\n",
        "abc\n",
        "0\n",
        "4294967296\n",
        digits.as_str(),
    ] {
        fs::write(&pid_file, garbage).map_err(|e| e.to_string())?;
        let out = run(&mut sleeper(&pid_file));
        ensure!(out.status.success(), "{garbage:.20?}: {}", describe(&out));
        let daemon = the_daemon()?;
        ensure_eq!(
            read_text(&pid_file)?,
            format!("{}\n", daemon.0),
            "{garbage:.20?}"
        );
    }
    // A holder that keeps garbage in the file (this test's own lock).
    fs::write(&pid_file, &digits).map_err(|e| e.to_string())?;
    let file = fs::File::open(&pid_file).map_err(|e| e.to_string())?;
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor we own.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    ensure_eq!(locked, 0);
    // The refusal names the process that really holds the lock (this one), not the garbage;
    // the smallest build, without the /proc scan, names none.
    let holder = if tool_lacks().iter().any(|f| f == "tool-control") {
        "another process".to_string()
    } else {
        format!("running pid {}", std::process::id())
    };
    expect_failure(
        &mut sleeper(&pid_file),
        1,
        &format!(
            "rawdaemon: pid file {}: locked by {holder}",
            pid_file.display(),
        ),
        None,
    )?;
    ensure_eq!(
        read_text(&pid_file)?,
        digits,
        "a locked file is not touched"
    );
    Ok(())
}

fn fail_usage() -> TestResult {
    expect_failure(
        tool().args(["--bogus", "sleep"]),
        2,
        "rawdaemon: unknown option: --bogus (try --help)",
        None,
    )?;
    expect_failure(
        tool().args(["-p"]),
        2,
        "rawdaemon: option needs a value: -p (try --help)",
        None,
    )?;
    expect_failure(
        tool().args(["-m", "999", "sleep"]),
        2,
        "rawdaemon: umask must be octal, 0 to 777: 999 (try --help)",
        None,
    )?;
    expect_failure(
        tool().args(["-f"]),
        2,
        "rawdaemon: no program given (try --help)",
        None,
    )?;
    let help = run(tool().arg("--help"));
    let text = String::from_utf8_lossy(&help.stdout);
    ensure!(
        help.status.success() && text.starts_with("Usage: rawdaemon [OPTIONS] [--] PROGRAM"),
        "{}",
        describe(&help)
    );
    // The options every build has, each line indented as the table is.
    for line in [
        "\n  -p, --pidfile PATH   write",
        "\n  -f, --foreground     do not",
        "\n  -r, --chroot DIR     change",
        "\n  -h, --help           print",
        "\n  -V, --version        print",
    ] {
        ensure!(text.contains(line), "--help has no line {line:?}:\n{text}");
    }
    let version = run(tool().arg("-V"));
    let lacks = tool_lacks();
    let without = if lacks.is_empty() {
        String::new()
    } else {
        format!(" (without {})", lacks.join(", "))
    };
    ensure_eq!(
        String::from_utf8_lossy(&version.stdout),
        format!("rawdaemon {}{without}\n", env!("CARGO_PKG_VERSION"))
    );
    Ok(())
}

/// Each `tool-*` feature: an option of it, the start of its line in `--help`, and a command
/// line using that option.
const FEATURE_OPTIONS: [(&str, &str, &str, &[&str]); 5] = [
    (
        "tool-control",
        "--status",
        "\n      --status         print",
        &["--status", "-p", "/nonexistent/x.pid"],
    ),
    (
        "tool-notify",
        "--ready-fd",
        "\n      --ready-fd N     PROGRAM",
        &["--ready-fd", "3", "/bin/true"],
    ),
    (
        "tool-privileges",
        "--user",
        "\n  -u, --user USER[:GROUP]\n",
        &["-u", "nobody", "/bin/true"],
    ),
    (
        "tool-respawn",
        "--respawn",
        "\n  -R, --respawn        stay",
        &["-R", "/bin/true"],
    ),
    (
        "tool-syslog",
        "--syslog",
        "\n      --syslog TAG[.FACILITY]  send",
        &["--syslog", "tag", "/bin/true"],
    ),
];

/// A build without some `tool-*` features (the smallest tool) refuses their options with a
/// usage error, before anything starts, leaves them out of `--help`, and warns that an
/// inherited NOTIFY_SOCKET goes unanswered; a build with them documents them all.
fn fail_option_not_in_this_build() -> TestResult {
    let lacks = tool_lacks();
    // Features are listed in order, each at most once.
    let order: Vec<&str> = TOOL_FEATURES
        .iter()
        .copied()
        .filter(|f| lacks.iter().any(|l| l == f))
        .collect();
    ensure_eq!(lacks.iter().map(String::as_str).collect::<Vec<_>>(), order);
    let help = String::from_utf8_lossy(&run(tool().arg("--help")).stdout).into_owned();
    for (feature, option, line, args) in FEATURE_OPTIONS {
        let lacking = lacks.iter().any(|l| l == feature);
        ensure_eq!(help.contains(option), !lacking, "{option} in --help");
        ensure!(
            lacking || help.contains(line),
            "--help has no line {line:?}:\n{help}"
        );
        if lacking {
            let shown = if args[0] == "-u" || args[0] == "-R" {
                args[0]
            } else {
                option
            };
            expect_failure(
                tool().args(args),
                2,
                &format!(
                    "rawdaemon: option not in this build of rawdaemon (see --version): {shown} \
                     (try --help)"
                ),
                None,
            )?;
        }
    }
    if lacks.iter().any(|l| l == "tool-notify") {
        // An inherited NOTIFY_SOCKET cannot be refused: the start goes on, with a warning.
        let dir = TempDir::new("nonotify");
        let pid_file = dir.path("d.pid");
        let out = run(sleeper(&pid_file).env("NOTIFY_SOCKET", dir.path("notify")));
        ensure!(out.status.success(), "{}", describe(&out));
        ensure_eq!(
            stderr_of(&out),
            "rawdaemon: warning: NOTIFY_SOCKET is set, but this build has no tool-notify: no \
             READY=1 is sent\n"
        );
        let daemon = the_daemon()?;
        ensure_eq!(comm(daemon.0), Some("sleep".to_string()));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The library, through this binary re-executed in a role (see roles.rs)

pub(crate) fn lib(args: &[&str]) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("own path"));
    cmd.arg("--role").args(args);
    cmd
}

fn lib_daemon_is_detached_and_clean() -> TestResult {
    let dir = TempDir::new("lib");
    let pid_file = dir.path("lib.pid");
    let pid_arg = format!("pid={}", pid_file.display());
    let out = run(dirty(
        &mut lib(&["daemon", &pid_arg, "chdir=/tmp", "umask=007"]),
        5,
    ));
    ensure!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        describe(&out)
    );
    let daemon = the_daemon()?;
    let pid = daemon.0;
    check_detached(pid)?;
    ensure_eq!(status_field(pid, "Umask")?, "0007");
    ensure_eq!(status_field(pid, "Threads")?, "1");
    ensure_eq!(cwd(pid)?, Path::new("/tmp"));
    check_signals(pid, LIBC_RESERVED)?;
    let lock_fd = fd_of(pid, &pid_file)?;
    check_fds(pid, &[(lock_fd, &pid_file.display().to_string())])?;
    ensure_eq!(read_pid(&pid_file)?, pid);
    ensure!(is_locked(&pid_file)?, "locked");
    Ok(())
}

fn lib_manual_ready() -> TestResult {
    let dir = TempDir::new("manual");
    let marker = dir.path("initialized");
    let arg = format!("manual=ok:{}", marker.display());
    let out = run(&mut lib(&["daemon", &arg]));
    ensure!(out.status.success(), "{}", describe(&out));
    // The launcher returned only after the daemon's own initialization.
    ensure!(
        marker.exists(),
        "launcher exited before the daemon initialized"
    );
    let _daemon = the_daemon()?;
    Ok(())
}

fn lib_init_failure_reaches_launcher() -> TestResult {
    let dir = TempDir::new("initfail");
    let pid_file = dir.path("d.pid");
    let pid_arg = format!("pid={}", pid_file.display());
    // The pid file of a daemon that never became ready is removed.
    expect_failure(
        &mut lib(&["daemon", &pid_arg, "manual=fail"]),
        1,
        "libdaemon: initialization: Address already in use",
        Some(&pid_file),
    )
}

fn lib_exit_before_ready() -> TestResult {
    expect_failure(
        &mut lib(&["daemon", "manual=drop"]),
        1,
        "libdaemon: daemon: exited before it was ready",
        None,
    )
}

/// The launcher is killed before the daemon reports ready: the daemon's report must not kill
/// it (no SIGPIPE), and it goes on.
fn lib_survives_launcher_death() -> TestResult {
    let dir = TempDir::new("orphan");
    let marker = dir.path("m");
    let arg = format!("manual=ok:{}", marker.display());
    let launcher = lib(&["daemon", &arg])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let started = dir.path("m.started");
    ensure!(wait_until(|| started.exists()), "daemon never started");
    kill_and_reap(launcher.id() as i32);
    let after = dir.path("m.after");
    ensure!(
        wait_until(|| after.exists()),
        "daemon died reporting ready to a dead launcher"
    );
    let _daemon = the_daemon()?;
    Ok(())
}

/// Manual readiness with a worker forked before `notify`: the launcher returns at `notify`,
/// not when the worker (which inherited the channel) exits.
fn lib_manual_ready_with_worker() -> TestResult {
    let out = run(&mut lib(&["daemon", "manual=worker"]));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    let children = format!("/proc/{0}/task/{0}/children", daemon.0);
    let workers: Vec<i32> = read_text(Path::new(&children))?
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    // The worker is the daemon's child: kill it and wait until the daemon has it as a zombie.
    for &w in &workers {
        // SAFETY: a signal to one pid we just read.
        unsafe { libc::kill(w, libc::SIGKILL) };
        wait_until(|| stat(w).map_or(true, |s| s.state == 'Z'));
    }
    ensure_eq!(
        workers.len(),
        1,
        "the worker is still running after the launcher returned"
    );
    Ok(())
}

/// The daemon opens a terminal without O_NOCTTY and still has no controlling terminal: it is
/// not a session leader.
fn lib_cannot_acquire_a_terminal() -> TestResult {
    let dir = TempDir::new("pty");
    let marker = dir.path("opened");
    let arg = format!("pty={}", marker.display());
    let out = run(&mut lib(&["daemon", &arg]));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    ensure!(
        wait_until(|| marker.exists()),
        "the daemon did not open a terminal"
    );
    ensure!(
        fds(daemon.0)?.values().any(|t| t.starts_with("/dev/pts/")),
        "no terminal open in the daemon"
    );
    ensure_eq!(stat(daemon.0)?.tty_nr, 0, "controlling terminal acquired");
    Ok(())
}

fn lib_refuses_threads() -> TestResult {
    let dir = TempDir::new("threads");
    let pid_file = dir.path("d.pid");
    let pid_arg = format!("pid={}", pid_file.display());
    // Refused before the pid file is even created.
    expect_failure(
        &mut lib(&["daemon", "threads", &pid_arg]),
        1,
        "libdaemon: thread check: the process runs 2 threads; daemonize before starting any",
        Some(&pid_file),
    )
}

fn lib_makes_no_allocation() -> TestResult {
    let dir = TempDir::new("alloc");
    let report = dir.path("daemon-allocations");
    let pid_file = dir.path("d.pid");
    let out = run(&mut lib(&[
        "alloc",
        &report.display().to_string(),
        &pid_file.display().to_string(),
    ]));
    ensure!(out.status.success(), "{}", describe(&out));
    ensure_eq!(
        String::from_utf8_lossy(&out.stdout),
        "parent allocations: 0\n"
    );
    let _daemon = the_daemon()?;
    wait_until(|| report.exists());
    ensure_eq!(read_text(&report)?, "daemon allocations: 0\n");
    Ok(())
}
