//! `-u USER[:GROUP]` and `--chroot`: the ids, groups, capabilities and root directory of the
//! real daemon, read from /proc; the files opened before the drop; the failures.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use crate::common::*;
use crate::{ensure, ensure_eq};

/// The `Uid:`/`Gid:` line of a process whose real, effective, saved and file-system ids are
/// all `id`.
fn all(id: u32) -> String {
    format!("{id}\t{id}\t{id}\t{id}")
}

/// The launcher starts as root with supplementary groups 0 to 3, which the daemon must lose.
fn with_groups(cmd: &mut Command) -> &mut Command {
    // SAFETY: setgroups is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            let groups: [libc::gid_t; 4] = [0, 1, 2, 3];
            if libc::setgroups(groups.len(), groups.as_ptr()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

/// Checks the ids, groups and capabilities of `pid`: root can never come back.
fn check_ids(pid: i32, uid: u32, gid: u32, groups: &str) -> TestResult {
    ensure_eq!(status_field(pid, "Uid")?, all(uid));
    ensure_eq!(status_field(pid, "Gid")?, all(gid));
    ensure_eq!(status_field(pid, "Groups")?, groups);
    for caps in ["CapPrm", "CapEff", "CapAmb"] {
        ensure_eq!(status_field(pid, caps)?, "0000000000000000", "{caps}");
    }
    Ok(())
}

/// `-u nobody`: every id is nobody's, the launcher's groups are gone, the pid file stays
/// root's, a new log file is nobody's, and --status and --stop (as root) still work.
pub fn tool_drops_privileges() -> TestResult {
    needs_tool(&["tool-control", "tool-privileges"])?;
    needs_root()?;
    let dir = TempDir::new("user");
    let pid_file = dir.path("d.pid");
    let log = dir.path("out.log");
    let out = run(with_groups(
        tool()
            .arg("-p")
            .arg(&pid_file)
            .arg("-o")
            .arg(&log)
            .args(["-u", "nobody", "sleep", "30"]),
    ));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    check_ids(daemon.0, 65534, 65534, "65534")?;
    // USER, LOGNAME and HOME as login sets them, from nobody's /etc/passwd entry.
    let environ = fs::read(format!("/proc/{}/environ", daemon.0)).map_err(|e| e.to_string())?;
    let account: Vec<String> = environ
        .split(|&b| b == 0)
        .map(|e| String::from_utf8_lossy(e).into_owned())
        .filter(|e| {
            ["USER=", "LOGNAME=", "HOME="]
                .iter()
                .any(|p| e.starts_with(p))
        })
        .collect();
    ensure_eq!(
        account,
        ["USER=nobody", "LOGNAME=nobody", "HOME=/nonexistent"]
    );
    let meta = fs::metadata(&pid_file).map_err(|e| e.to_string())?;
    ensure_eq!((meta.uid(), meta.gid()), (0, 0), "pid file owner");
    let meta = fs::metadata(&log).map_err(|e| e.to_string())?;
    ensure_eq!((meta.uid(), meta.gid()), (65534, 65534), "log file owner");
    let status = status(&pid_file);
    ensure_eq!(status.status.code(), Some(0), "{}", describe(&status));
    let stop = stop(&pid_file, &[]);
    ensure_eq!(stop.status.code(), Some(0), "{}", describe(&stop));
    no_process_left()
}

/// Numbers that are in no account file, and a group by name.
pub fn tool_user_by_number_and_group_by_name() -> TestResult {
    needs_tool(&["tool-privileges"])?;
    needs_root()?;
    let out = run(with_groups(tool().args(["-u", "4242:4343", "sleep", "30"])));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    check_ids(daemon.0, 4242, 4343, "4343")?;
    drop(daemon);
    // nobody in group `daemon` (gid 1 in Debian's base files), a member of no other group.
    let out = run(with_groups(tool().args([
        "-u",
        "nobody:daemon",
        "sleep",
        "30",
    ])));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    check_ids(daemon.0, 65534, 1, "1")?;
    Ok(())
}

/// `--chroot` with `-u`: the daemon's root and working directory are the jail, PROGRAM was
/// found inside it, the pid file outside.
pub fn tool_chroot() -> TestResult {
    needs_root()?;
    // With -u where the build has it; the root directory alone in the smallest build.
    let user: &[&str] = match needs_tool(&["tool-privileges"]) {
        Ok(()) => &["-u", "4242:4242"],
        Err(_) => &[],
    };
    let dir = TempDir::new("chroot");
    let root = dir.path("jail");
    jail(&root)?;
    let pid_file = dir.path("d.pid");
    let out = run(tool()
        .arg("-p")
        .arg(&pid_file)
        .arg("-r")
        .arg(&root)
        .args(user)
        .args(["-E", "PATH=/bin", "sleep", "30"]));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    let link = |what: &str| fs::read_link(format!("/proc/{}/{what}", daemon.0));
    ensure_eq!(link("root").map_err(|e| e.to_string())?, root);
    ensure_eq!(cwd(daemon.0)?, root);
    ensure_eq!(
        link("exe").map_err(|e| e.to_string())?,
        root.join("bin/sleep")
    );
    if user.is_empty() {
        ensure_eq!(
            status_field(daemon.0, "Uid")?,
            "0\t0\t0\t0",
            "the launcher's user"
        );
    } else {
        check_ids(daemon.0, 4242, 4242, "4242")?;
    }
    ensure_eq!(read_text(&pid_file)?, format!("{}\n", daemon.0));
    Ok(())
}

/// Unknown users and groups, a numeric user without a group, a missing root directory: a
/// message, status 1, nothing left.
pub fn fail_user_and_chroot() -> TestResult {
    needs_tool(&["tool-privileges"])?;
    let dir = TempDir::new("user-fail");
    let pid_file = dir.path("d.pid");
    let start = |extra: &[&str]| {
        let mut cmd = tool();
        cmd.arg("-p")
            .arg(&pid_file)
            .args(extra)
            .args(["sleep", "30"]);
        cmd
    };
    expect_failure(
        &mut start(&["-u", "no-such-user"]),
        1,
        "rawdaemon: user no-such-user: no such user",
        Some(&pid_file),
    )?;
    expect_failure(
        &mut start(&["-u", "nobody:no-such-group"]),
        1,
        "rawdaemon: user nobody:no-such-group: no such group",
        Some(&pid_file),
    )?;
    expect_failure(
        &mut start(&["-u", "4242"]),
        1,
        "rawdaemon: user 4242: not in /etc/passwd: give its group as USER:GROUP",
        Some(&pid_file),
    )?;
    expect_failure(
        &mut start(&["-r", "/nonexistent/jail"]),
        1,
        "rawdaemon: chroot /nonexistent/jail: No such file or directory",
        Some(&pid_file),
    )?;
    // Not found inside the root directory, though it exists outside.
    let out = run(&mut start(&[
        "-r",
        dir.0.to_str().ok_or("path")?,
        "-E",
        "PATH=/bin",
    ]));
    ensure_eq!(out.status.code(), Some(127), "{}", describe(&out));
    ensure_eq!(
        stderr_of(&out),
        "rawdaemon: exec sleep: No such file or directory\n"
    );
    ensure!(!pid_file.exists(), "pid file left behind");
    no_process_left()
}

/// An unprivileged launcher cannot become another user: the daemon reports setgroups'
/// EPERM, and nothing is left.
pub fn fail_user_without_privileges() -> TestResult {
    needs_tool(&["tool-privileges"])?;
    needs_root()?;
    let dir = TempDir::new("user-eperm");
    std::os::unix::fs::chown(&dir.0, Some(65534), Some(65534)).map_err(|e| e.to_string())?;
    let pid_file = dir.path("d.pid");
    let mut cmd = tool();
    cmd.arg("-p")
        .arg(&pid_file)
        .args(["-u", "daemon", "sleep", "30"])
        .uid(65534)
        .gid(65534);
    expect_failure(
        &mut cmd,
        1,
        "rawdaemon: setgroups: Operation not permitted",
        Some(&pid_file),
    )
}

/// Foreground with `-u`: a failure after the privilege drop cannot remove a pid file in a
/// directory only root may write, so the file is emptied: it names no process.
pub fn fail_foreground_after_drop_empties_pid_file() -> TestResult {
    needs_tool(&["tool-privileges"])?;
    needs_root()?;
    let dir = TempDir::new("fg-drop");
    let prog = dir.path("prog");
    fs::write(&prog, "#!/bin/sh\nexit 0\n").map_err(|e| e.to_string())?;
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&prog, fs::Permissions::from_mode(0o700)).map_err(|e| e.to_string())?;
    let pid_file = dir.path("fg.pid");
    let out = run(tool()
        .args(["-f", "-u", "nobody", "-p"])
        .arg(&pid_file)
        .arg(&prog));
    ensure_eq!(out.status.code(), Some(126), "{}", describe(&out));
    ensure_eq!(
        stderr_of(&out),
        format!("rawdaemon: exec {}: Permission denied\n", prog.display())
    );
    ensure!(
        !pid_file.exists() || read_text(&pid_file)?.is_empty(),
        "the pid file names a process: {:?}",
        read_text(&pid_file)
    );
    Ok(())
}

/// The environment variables of `pid`, from `/proc/PID/environ`.
fn environ(pid: i32) -> Result<Vec<String>, String> {
    let raw = fs::read(format!("/proc/{pid}/environ")).map_err(|e| e.to_string())?;
    Ok(raw
        .split(|&b| b == 0)
        .filter(|v| !v.is_empty())
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect())
}

/// `-u UID:GID` with no account entry: PROGRAM sees none of the launcher's `USER`,
/// `LOGNAME` and `HOME` (root's), and `-E` can still set them; with an account it sees the
/// account's.
pub fn tool_user_without_account_loses_root_env() -> TestResult {
    needs_tool(&["tool-privileges"])?;
    needs_root()?;
    let root_env = [("USER", "root"), ("LOGNAME", "root"), ("HOME", "/root")];
    let out = run(tool()
        .envs(root_env)
        .args(["-u", "4242:4242", "sleep", "30"]));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    let env = environ(daemon.0)?;
    for name in ["USER=", "LOGNAME=", "HOME="] {
        let found: Vec<&String> = env.iter().filter(|v| v.starts_with(name)).collect();
        ensure!(
            found.is_empty(),
            "reached a PROGRAM with no account: {found:?}"
        );
    }
    drop(daemon);
    let out =
        run(tool()
            .envs(root_env)
            .args(["-u", "4242:4242", "-E", "HOME=/srv", "sleep", "30"]));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    let env = environ(daemon.0)?;
    ensure!(env.contains(&"HOME=/srv".to_string()), "{env:?}");
    ensure!(!env.iter().any(|v| v.starts_with("USER=")), "{env:?}");
    drop(daemon);
    let out = run(tool().envs(root_env).args(["-u", "nobody", "sleep", "30"]));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    let env = environ(daemon.0)?;
    ensure!(env.contains(&"USER=nobody".to_string()), "{env:?}");
    ensure!(!env.contains(&"HOME=/root".to_string()), "{env:?}");
    Ok(())
}

/// `-u nobody` with an `/etc/group` (bind-mounted in a private mount namespace) whose line
/// listing nobody is longer than 4 KiB: the daemon still gets that group, as `id` would show.
pub fn tool_user_in_a_group_with_a_long_line() -> TestResult {
    needs_tool(&["tool-privileges"])?;
    needs_root()?;
    let dir = TempDir::new("long-group");
    let group = dir.path("group");
    let mut text = fs::read_to_string("/etc/group").map_err(|e| e.to_string())?;
    let members: Vec<String> = (0..1000).map(|i| format!("member{i}")).collect();
    let line = format!("crowd:x:4321:{},nobody,last\n", members.join(","));
    ensure!(line.len() > 8192, "the line is only {} bytes", line.len());
    text.push_str(&line);
    fs::write(&group, text).map_err(|e| e.to_string())?;
    let source = cstring(&group);
    let mut cmd = tool();
    cmd.args(["-u", "nobody", "sleep", "30"]);
    in_private_mounts(&mut cmd, move || {
        // SAFETY: mount in the child only, on paths that live as long as the closure.
        let mounted = unsafe {
            libc::mount(
                source.as_ptr(),
                c"/etc/group".as_ptr(),
                std::ptr::null(),
                libc::MS_BIND,
                std::ptr::null(),
            )
        };
        if mounted != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    });
    let out = match try_run(&mut cmd) {
        Ok(out) => out,
        Err(e) => return Err(format!("skip: no private mount namespace here: {e}")),
    };
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    let groups = status_field(daemon.0, "Groups")?;
    ensure!(
        groups.split_whitespace().any(|g| g == "4321"),
        "Groups: {groups:?}"
    );
    Ok(())
}

/// `-u nobody PROGRAM` looks PROGRAM up on PATH as nobody: a directory only root may enter
/// is skipped (the copy nobody can run is found, as with `chpst -u`); with nothing else on
/// PATH the status is 127, and a copy nobody may not execute gives 126.
pub fn tool_user_searches_path_as_the_user() -> TestResult {
    needs_tool(&["tool-privileges"])?;
    needs_root()?;
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("path-as-user");
    let script = |dir: &Path, seconds: u32, mode: u32| -> TestResult {
        fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let prog = dir.join("prog");
        fs::write(&prog, format!("#!/bin/sh\nexec sleep {seconds}\n"))
            .map_err(|e| e.to_string())?;
        fs::set_permissions(&prog, fs::Permissions::from_mode(mode)).map_err(|e| e.to_string())
    };
    let private = dir.path("root-only");
    let public = dir.path("public");
    let plain = dir.path("not-executable");
    script(&private, 31, 0o755)?;
    script(&public, 32, 0o755)?;
    script(&plain, 33, 0o644)?;
    fs::set_permissions(&private, fs::Permissions::from_mode(0o700)).map_err(|e| e.to_string())?;
    let path = format!("{}:{}:/usr/bin:/bin", private.display(), public.display());
    let out = run(tool().env("PATH", &path).args(["-u", "nobody", "prog"]));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    // execve names the process before its arguments are in place: wait for the arguments
    // themselves (an empty read was seen under qemu), not for the name.
    let cmdline = || fs::read(format!("/proc/{}/cmdline", daemon.0)).unwrap_or_default();
    ensure!(
        wait_until(|| cmdline().starts_with(b"sleep\x00")),
        "never reached sleep: {:?}",
        cmdline()
    );
    ensure_eq!(
        cmdline(),
        b"sleep\x0032\x00".to_vec(),
        "not the copy nobody may run"
    );
    ensure_eq!(status_field(daemon.0, "Uid")?, all(65534));
    drop(daemon);
    expect_failure(
        tool()
            .env("PATH", private.display().to_string())
            .args(["-u", "nobody", "prog"]),
        127,
        "rawdaemon: exec prog: No such file or directory",
        None,
    )?;
    expect_failure(
        tool()
            .env("PATH", format!("{}:{}", private.display(), plain.display()))
            .args(["-u", "nobody", "prog"]),
        126,
        "rawdaemon: exec prog: Permission denied",
        None,
    )
}
