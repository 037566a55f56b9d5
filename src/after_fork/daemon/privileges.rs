//! **The privilege drop**, run after the fork by the daemon as its last step before
//! readiness or `execve`, and under `-R` by each PROGRAM process the supervisor forks, right
//! before its `execve` (the supervisor itself keeps its privileges); both call it through
//! [`limits::around_drop`](super::limits::around_drop), between the limits that need
//! privilege and the capabilities to keep. The process has exactly
//! one thread; the drop may call only what [`after_fork`](crate::after_fork) allows: here raw
//! system calls on the [`Credentials`] the application looked up before the fork.

use rustix::io::Errno;
use rustix::process::{getegid, geteuid, getgid, getuid};
use rustix::thread::{
    Gid, Uid, set_thread_gid, set_thread_groups, set_thread_res_gid, set_thread_res_uid,
    set_thread_uid,
};

use crate::credentials::{Credentials, MAX_GROUPS};
use crate::error::{Detail, Error, Step};

/// Drops the privileges of the calling process to `user`: the supplementary groups, then the
/// real, effective and saved gid, then the real, effective and saved uid. Then checks that the
/// ids are the target ones and, for a uid other than 0, that neither uid 0 nor (for a gid
/// other than 0) gid 0 can be regained.
///
/// The calls are the kernel's, which change the calling thread only: the process must have
/// exactly one thread (it runs after the fork). Raw system calls on stack data only:
/// async-signal-safe.
///
/// # Errors
///
/// [`Step::Setgroups`], [`Step::Setgid`] or [`Step::Setuid`] with the call's errno, or with
/// `EPERM` when an id read back is not the target one. [`Step::Setuid`] with `EPERM` and the
/// detail [`Detail::RegainedRoot`] if `setuid(0)` succeeds after the drop (the process is then
/// root again and must not go on); [`Step::Setgid`] with `EPERM` if `setgid(0)` does.
///
/// # References
///  - [setgroups(2)](https://man7.org/linux/man-pages/man2/setgroups.2.html)
///  - [setresgid(2)](https://man7.org/linux/man-pages/man2/setresgid.2.html)
///  - [setresuid(2)](https://man7.org/linux/man-pages/man2/setresuid.2.html)
///  - [setuid(2)](https://man7.org/linux/man-pages/man2/setuid.2.html)
///  - [getuid(2)](https://man7.org/linux/man-pages/man2/getuid.2.html)
pub(in crate::after_fork) fn drop_to(user: &Credentials) -> Result<(), Error> {
    let mut gids = [Gid::ROOT; MAX_GROUPS];
    for (slot, &g) in gids.iter_mut().zip(user.groups()) {
        *slot = Gid::from_raw_unchecked(g);
    }
    let gids = gids.get(..user.groups().len()).unwrap_or_default();
    set_thread_groups(gids).map_err(|e| Error::new(Step::Setgroups, e))?;

    let gid = Gid::from_raw_unchecked(user.gid());
    set_thread_res_gid(gid, gid, gid).map_err(|e| Error::new(Step::Setgid, e))?;
    let uid = Uid::from_raw_unchecked(user.uid());
    set_thread_res_uid(uid, uid, uid).map_err(|e| Error::new(Step::Setuid, e))?;

    if getgid() != gid || getegid() != gid {
        return Err(Error::new(Step::Setgid, Errno::PERM));
    }
    if getuid() != uid || geteuid() != uid {
        return Err(Error::new(Step::Setuid, Errno::PERM));
    }
    if !uid.is_root() {
        if set_thread_uid(Uid::ROOT).is_ok() {
            return Err(Error::with_detail(
                Step::Setuid,
                Errno::PERM,
                Detail::RegainedRoot,
            ));
        }
        if !gid.is_root() && set_thread_gid(Gid::ROOT).is_ok() {
            return Err(Error::new(Step::Setgid, Errno::PERM));
        }
    }
    Ok(())
}
