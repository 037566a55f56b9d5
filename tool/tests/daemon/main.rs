//! Starts real daemons (the `rawdaemon` tool, and this very binary re-executed as a small
//! program using the library) and proves from /proc what they became.
//!
//! This file is the runner: every test registered, one family per module beside it, the
//! shared helpers in `common/`. `harness = false`: libtest's threads would break the
//! single-thread precondition of the library roles, and the test process must be a child
//! subreaper reaping by pid. Run one test with `cargo test --test daemon -- NAME`.

mod capabilities;
mod common;
mod control;
mod descriptors;
mod detach;
mod failures;
mod faults;
mod files;
mod hostile;
mod kept_status;
mod library;
mod limits;
mod logging;
mod messages;
mod notify;
mod notify_await;
mod options;
mod pid_file;
mod privileges;
mod readiness;
mod readme;
mod resources;
mod respawn;
mod roles;
mod rotate;
mod shared_clone;
mod system;

use std::time::Instant;

use capabilities::*;
use common::{SKIP, Test, emulation, emulator, sweep_children};
use control::*;
use descriptors::*;
use detach::*;
use failures::*;
use faults::*;
use files::*;
use hostile::*;
use kept_status::*;
use library::*;
use limits::*;
use logging::*;
use messages::*;
use notify::*;
use notify_await::*;
use options::*;
use pid_file::*;
use privileges::*;
use readiness::*;
use readme::*;
use resources::*;
use respawn::*;
use rotate::*;
use shared_clone::*;
use system::*;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--role") {
        roles::run(&args[2..]);
    }
    run_tests(tests![
        // readme.rs: the README's tool example, run as written
        readme_tool_example,
        // detach.rs: what every daemon must be
        tool_daemon_is_detached_and_clean,
        tool_foreground_does_not_fork,
        // descriptors.rs: the descriptors a daemon keeps, and the fallbacks that close the rest
        tool_closes_1000_fds_up_to_the_limit,
        tool_with_closed_stdio_at_start,
        tool_with_closed_stdio_and_pid_file,
        tool_close_range_enosys_falls_back_to_proc,
        tool_close_range_eperm_falls_back_to_proc,
        tool_without_proc_falls_back_to_loop,
        // options.rs: options, usage, and what a smaller build refuses
        tool_options_reach_the_daemon,
        tool_path_search,
        fail_keep_fd_not_open,
        fail_usage,
        fail_option_not_in_this_build,
        // pid_file.rs: one daemon per pid file; stale, garbage and planted ones
        tool_second_instance_is_refused,
        tool_64_simultaneous_starts,
        tool_stale_pid_file_is_reused,
        tool_restarts_after_sigkill,
        fail_pid_file_is_symlink,
        fail_pid_file_is_fifo,
        fail_pid_file_is_directory,
        garbage_pid_files,
        // hostile.rs: pid files in a directory others can write
        fail_pid_file_hard_link,
        fail_pid_file_of_another_user,
        garbage_pid_files_never_signal,
        // failures.rs: a start that fails leaves nothing behind
        fail_missing_chdir,
        fail_log_is_a_directory,
        fail_log_unwritable_for_user,
        fail_missing_program,
        fail_exec_not_executable,
        fail_foreground_leaves_no_pid_file,
        // messages.rs: failure messages reach the user whole
        fail_foreground_with_log_reports_on_stderr,
        fail_long_path_keeps_the_cause,
        // limits.rs: a small stack, a broken stderr
        tool_under_a_small_stack_limit,
        tool_with_a_broken_stderr,
        // system.rs: without /dev/null
        fail_without_dev_null,
        // files.rs: files opened, written and removed as root
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
        fail_control_on_another_users_pid_file,
        fail_pid_file_in_a_directory_another_user_may_write,
        tool_shared_lock_still_counts,
        fail_log_fifo_of_the_daemons_user,
        tool_reused_pid_file_is_made_private,
        // control.rs: --stop, --status and --signal: the whole service, and nothing else
        tool_stop_and_status,
        tool_stop_with_signal,
        tool_stop_escalates_to_kill,
        tool_stop_spares_a_recycled_pid,
        tool_stop_races_a_natural_exit,
        tool_stale_pid_file_spares_a_stranger,
        tool_status_of_an_unidentified_holder,
        fail_stop_and_status_usage,
        start_stop_daemon_on_a_tool_daemon,
        tool_stop_ends_what_the_program_started,
        tool_refusal_names_the_real_holder,
        tool_stop_ends_the_marked_session,
        tool_stop_spares_the_foreground_session,
        tool_stop_after_kill_removes_the_pid_file,
        tool_signal_without_stop,
        start_stop_daemon_on_a_forking_daemon,
        openrc_runs_the_shipped_script,
        tool_stop_spares_a_process_handed_the_lock,
        tool_stop_ends_a_child_in_its_own_session,
        tool_control_spares_a_recycled_daemon_pid,
        // privileges.rs: -u and --chroot
        tool_drops_privileges,
        tool_user_by_number_and_group_by_name,
        tool_chroot,
        fail_user_and_chroot,
        fail_user_without_privileges,
        fail_foreground_after_drop_empties_pid_file,
        tool_user_without_account_loses_root_env,
        tool_user_in_a_group_with_a_long_line,
        tool_user_searches_path_as_the_user,
        // capabilities.rs, resources.rs: least privilege and resources for PROGRAM
        tool_capabilities_keep_only_the_ambient_set,
        tool_no_new_privs_and_secure_bits,
        fail_capabilities,
        tool_capabilities_without_user_warn,
        tool_resource_limits_and_priorities,
        tool_respawn_limits_apply_to_each_run,
        fail_resource_limits,
        // notify.rs: readiness: NOTIFY_SOCKET, --ready-fd, s6
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
        tool_ready_fd_survives_launcher_death,
        tool_ready_fd_foreground_passes_an_open_descriptor,
        s6_notification_fd_through_the_tool,
        fail_ready_fd_program_exits_with_a_holder_left,
        // notify_await.rs: --notify-await, --notify-timeout, --watchdog (PROGRAM's sd_notify)
        tool_notify_await_waits_for_ready,
        tool_notify_await_real_clients,
        tool_notify_await_main_pid,
        fail_notify_await_ignores_strangers,
        fail_notify_await_every_mode,
        fail_notify_await_respawn_modes,
        tool_notify_await_extend_timeout,
        tool_notify_await_under_systemd,
        tool_notify_await_respawn_under_systemd,
        fail_notify_await_foreground,
        tool_respawn_watchdog_restarts,
        fail_notify_await_flood_keeps_the_timeout,
        tool_respawn_notify_flood_keeps_output_and_stop,
        tool_notify_await_name_kept_from_others,
        tool_respawn_watchdog_without_a_word,
        tool_notify_await_main_pid_in_its_own_session,
        fail_notify_await_usage,
        fail_notify_await_not_in_this_build,
        // kept_status.rs: --notify-await's STATUS= kept beside the pid file for --status
        tool_notify_await_status_kept,
        tool_respawn_status_kept,
        tool_notify_await_foreground_status_kept,
        fail_notify_await_status_not_left,
        fail_notify_await_status_planted,
        tool_status_of_an_earlier_start_not_shown,
        // respawn.rs: the -R supervisor
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
        tool_respawn_logrotate_hup_spares_the_program,
        tool_respawn_logrotate_copytruncate,
        tool_respawn_survives_a_fifo_without_reader,
        tool_respawn_survives_the_file_size_limit,
        fail_pid_file_over_the_size_limit,
        tool_respawn_under_runit_sv_stop,
        tool_respawn_ends_what_earlier_runs_left,
        tool_respawn_stop_signals_the_program_once,
        // logging.rs: --syslog and --kmsg
        tool_syslog_lines,
        tool_syslog_burst,
        tool_syslog_daemon_restarts,
        tool_syslog_respawn,
        tool_kmsg,
        tool_log_with_chroot_and_user,
        tool_syslog_unread_socket_holds_no_one,
        tool_syslog_without_socket_warns,
        tool_syslog_stop_keeps_the_shutdown_lines,
        // rotate.rs: --log-max-size, --log-keep, --log-timestamps
        tool_rotate_numbered_lines,
        tool_rotate_respawn_restarts_and_hup,
        tool_rotate_full_disk_drops_and_reports,
        tool_rotate_cuts_a_long_line,
        tool_log_timestamps,
        tool_rotate_follows_logrotate,
        tool_rotate_never_follows_planted_links,
        tool_rotate_stop_keeps_the_shutdown_lines,
        tool_rotate_planted_directories_stop_rotation,
        tool_rotate_planted_directory_at_the_new_name,
        tool_rotate_logger_keeps_its_oom_score,
        fail_rotate_options,
        // readiness.rs: --ready-when, socket activation passed through, --oknodo, --retry
        tool_ready_when_waits_for_the_listener,
        tool_respawn_ready_when_waits_for_the_listener,
        tool_ready_when_a_file_appears,
        tool_respawn_foreground_ready_when_notifies_after_the_file,
        fail_ready_when_program_exits_first,
        fail_respawn_ready_when_program_exits_first,
        fail_ready_when_times_out,
        fail_ready_when_ends_the_whole_service,
        fail_ready_when_unix_listener_of_another_user,
        fail_respawn_ready_when_times_out,
        fail_ready_when_usage,
        tool_socket_activation_passed_through,
        tool_respawn_socket_activation_passed_through,
        systemd_socket_activate_through_the_tool,
        tool_oknodo,
        tool_stop_retry_schedule,
        // library.rs: the library, through this binary in a role
        lib_daemon_is_detached_and_clean,
        lib_manual_ready,
        lib_init_failure_reaches_launcher,
        lib_exit_before_ready,
        lib_survives_launcher_death,
        lib_manual_ready_with_worker,
        lib_refuses_threads,
        lib_cannot_acquire_a_terminal,
        lib_makes_no_allocation,
        // shared_clone.rs: the start that copies no memory, and its fork fallback
        lib_nolibc_exec_clones_without_copying,
        lib_nolibc_exec_falls_back_to_fork,
        lib_nolibc_exec_daemon_as_with_fork,
        tool_clones_without_copying,
        tool_falls_back_to_fork_where_the_clone_is_refused,
        tool_daemon_without_copying_as_with_fork,
        tool_changing_user_forks,
        // faults/: every system call of the start path made to fail
        fault_table_covers_the_start_path,
        fault_injection_every_step,
    ]);
}

/// Runs the tests whose names contain one of the filters (all without filters), one after
/// another in this one thread, and prints `N passed, N failed`. After each test every child
/// still around is a failure of that test, then killed and reaped.
fn run_tests(tests: &[Test]) -> ! {
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
        common::let_holders_go();
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
