//! Readers of `/proc/PID/...`: the fields of `stat` and `status`, open descriptors and their
//! flags, the working directory, the command name.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::read_text;

/// The fields of `/proc/PID/stat` the tests look at.
#[derive(Debug, Clone)]
pub struct Stat {
    pub state: char,
    pub ppid: i32,
    pub pgrp: i32,
    pub session: i32,
    pub tty_nr: i32,
}

/// Parses `/proc/PID/stat`; the command name may hold spaces and parentheses, so the fields
/// are read after the last `)`.
pub fn stat(pid: i32) -> Result<Stat, String> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("stat of {pid}: {e}"))?;
    let close = text.rfind(')').ok_or("no )")?;
    let rest: Vec<&str> = text[close + 2..].split(' ').collect();
    let num = |i: usize| {
        rest[i]
            .parse::<i32>()
            .map_err(|e| format!("field {i}: {e}"))
    };
    Ok(Stat {
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

/// `O_NOATIME` as `flags:` of `/proc/PID/fdinfo/N` shows it (octal): the mark of the lock's
/// descriptor in a daemon-mode start.
pub const DAEMON_MARK: u32 = libc::O_NOATIME as u32;

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

/// The descriptor of `pid` that points at `path`.
pub fn fd_of(pid: i32, path: &Path) -> Result<i32, String> {
    let target = path.display().to_string();
    fds(pid)?
        .into_iter()
        .find(|(_, t)| *t == target)
        .map(|(fd, _)| fd)
        .ok_or(format!("{pid} has no descriptor on {target}"))
}

/// The open-file flags (`flags:` of `/proc/PID/fdinfo/FD`, octal).
pub fn fd_flags(pid: i32, fd: i32) -> Result<u32, String> {
    let text = read_text(Path::new(&format!("/proc/{pid}/fdinfo/{fd}")))?;
    let flags = text
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .ok_or(format!("no flags in fdinfo {fd} of {pid}"))?;
    u32::from_str_radix(flags.trim(), 8).map_err(|e| e.to_string())
}

/// `pid`'s descriptors on `path`, with their open-file flags.
pub fn fds_on(pid: i32, path: &Path) -> Result<Vec<(i32, u32)>, String> {
    let target = path.display().to_string();
    fds(pid)?
        .into_iter()
        .filter(|(_, t)| *t == target)
        .map(|(fd, _)| Ok((fd, fd_flags(pid, fd)?)))
        .collect()
}

/// The working directory of `pid`.
pub fn cwd(pid: i32) -> Result<PathBuf, String> {
    fs::read_link(format!("/proc/{pid}/cwd")).map_err(|e| e.to_string())
}

/// Whether `pid` runs a 32-bit x86 program (`EM_386` in its executable's ELF header), such as
/// an i686 tool on an x86_64 kernel: `/proc/PID/syscall` then numbers its calls as i386 does.
pub fn runs_i386(pid: i32) -> bool {
    is_i386(format!("/proc/{pid}/exe").as_ref())
}

/// Whether the file at `path` is a 32-bit x86 ELF program (`e_machine` `EM_386`).
pub fn is_i386(path: &Path) -> bool {
    /// `e_machine` of a 32-bit x86 ELF file.
    const EM_386: u16 = 3;
    let mut header = [0_u8; 20];
    fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut header))
        .is_ok_and(|()| {
            header.starts_with(b"\x7fELF") && u16::from_le_bytes([header[18], header[19]]) == EM_386
        })
}

/// The command name of `pid`, while it exists.
pub fn comm(pid: i32) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_string())
}
