//! What the fuzz targets share: the library's private parsers (through `rawdaemon::fuzzing`)
//! and in-memory files.

use std::ffi::CString;
use std::sync::OnceLock;

use rustix::fd::OwnedFd;
use rustix::fs::{MemfdFlags, SeekFrom};

/// The logger's line splitter, through the library's fuzzing entry points.
pub mod logger {
    pub use rawdaemon::fuzzing::{LINE_MAX, Lines};
}

/// The `/proc/locks` helpers of `control.rs`, through the library's fuzzing entry points.
pub mod control {
    pub use rawdaemon::fuzzing::{has_words, parse_lock_id};
}

/// An in-memory file (a memfd) that holds `data`, with its offset at 0. One per `slot` and
/// per thread, reused from run to run.
pub fn memfile(slot: usize, data: &[u8]) -> &'static OwnedFd {
    thread_local! {
        static FILES: [OnceLock<&'static OwnedFd>; 4] = Default::default();
    }
    let fd: &'static OwnedFd = FILES.with(|f| {
        *f[slot].get_or_init(|| {
            let fd = rustix::fs::memfd_create(c"rawdaemon-fuzz", MemfdFlags::CLOEXEC).unwrap();
            Box::leak(Box::new(fd))
        })
    });
    rustix::fs::ftruncate(fd, 0).unwrap();
    let mut done = 0;
    while done < data.len() {
        done += rustix::io::pwrite(fd, &data[done..], done as u64).unwrap();
    }
    rustix::fs::seek(fd, SeekFrom::Start(0)).unwrap();
    fd
}

/// A path that opens a new description of `fd` (`/proc/self/fd/N`), offset 0.
pub fn proc_path(fd: &OwnedFd) -> CString {
    use rustix::fd::AsRawFd;
    CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap()
}
