//! Closing every inherited descriptor except the standard ones and a keep-list.
//!
//! `close_range(2)` closes each gap between kept descriptors in one system call whatever the
//! descriptor limit. Where it fails with `ENOSYS` (Linux before 5.9), `EPERM` (a seccomp
//! filter) or `EINVAL`, the open descriptors are read from `/proc/self/fd` into a stack buffer;
//! without `/proc`, a loop closes every number up to the descriptor limit.
//!
//! Called after their fork by the daemon (its close step), the logger and the watcher (which
//! keep only their own pipes).

use core::mem::MaybeUninit;

use rustix::fd::{AsRawFd, OwnedFd};
use rustix::fs::RawDir;
use rustix::io::Errno;
use rustix::process::Resource;

use crate::sys;

/// Highest number the last-resort loop closes when the descriptor limit is unlimited.
const LOOP_CEILING: u64 = 1 << 20;

/// Closes every descriptor from 3 up, except those in `keep` and `internal` (-1 entries of
/// `internal` are unused).
pub(super) fn close_all_except(keep: &[i32], internal: &[i32]) -> Result<(), Errno> {
    let kept = |fd: i32| keep.contains(&fd) || internal.contains(&fd);
    let mut first = 3;
    let ranged = loop {
        // The smallest kept descriptor at or above `first`: a plain loop, as the iterator
        // chain it replaces expanded to several times its size.
        let mut next = i32::MAX;
        for &k in keep.iter().chain(internal) {
            if k >= first && k < next {
                next = k;
            }
        }
        // Close first..next-1, or everything from `first` when nothing above it is kept.
        let last = if next == i32::MAX {
            u32::MAX
        } else {
            (next - 1) as u32
        };
        if next > first {
            if let Err(e) = sys::close_range(first as u32, last) {
                break Err(e);
            }
        }
        if next == i32::MAX {
            break Ok(());
        }
        first = next + 1;
    };
    match ranged {
        Ok(()) => Ok(()),
        Err(Errno::NOSYS | Errno::PERM | Errno::INVAL) => close_listed(&kept).or_else(|_| {
            close_loop(&kept);
            Ok(())
        }),
        Err(e) => Err(e),
    }
}

/// Closes the descriptors `/proc/self/fd` lists, reading it into a 1 KiB stack buffer.
fn close_listed(kept: &dyn Fn(i32) -> bool) -> Result<(), Errno> {
    let dir: OwnedFd = crate::sys::open_listing(c"/proc/self/fd")?;
    let own = dir.as_raw_fd();
    let mut buf = [MaybeUninit::<u8>::uninit(); 1024];
    let mut entries = RawDir::new(&dir, &mut buf);
    while let Some(entry) = entries.next() {
        let entry = entry?;
        let Some(fd) = crate::decimal::parse_pid(entry.file_name().to_bytes()) else {
            continue;
        };
        let fd = fd as i32;
        if fd > 2 && fd != own && !kept(fd) {
            sys::close_quietly(fd);
        }
    }
    Ok(())
}

/// Closes every number from 3 to the descriptor limit (capped at [`LOOP_CEILING`]).
fn close_loop(kept: &dyn Fn(i32) -> bool) {
    let limit = rustix::process::getrlimit(Resource::Nofile)
        .current
        .unwrap_or(LOOP_CEILING);
    let limit = limit.min(LOOP_CEILING) as i32;
    for fd in 3..limit {
        if !kept(fd) {
            sys::close_quietly(fd);
        }
    }
}
