//! [`Kmsg`]: lines for the kernel's log, written to `/dev/kmsg`, for early boot (before any
//! log daemon runs) and for systems that have none.
//!
//! Each write(2) is one record of the kernel's log, so a line is written at once, as
//! `<PRI>TAG[PID]: MSG` and a newline (the kernel stamps the time itself). Records are at most
//! 992 bytes with the newline: older kernels refuse longer writes with `EINVAL`, so longer
//! messages are cut there. The kernel turns the `kern` facility into `user` for writes from
//! user space, and, unless booted with `printk.devkmsg=on`, silently drops what a process
//! writes beyond a burst of ten records in five seconds.

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use super::header::Header;
use super::{Facility, Line, Severity};

/// The most bytes of a record of the kernel's log, with its newline.
const RECORD_MAX: usize = 992;

/// A writer to the kernel's log: a value the application keeps.
#[derive(Debug)]
pub struct Kmsg<'a> {
    header: Header<'a>,
    path: &'a [u8],
    fd: Option<OwnedFd>,
}

impl<'a> Kmsg<'a> {
    /// The kernel's log device.
    pub const DEFAULT_PATH: &'static [u8] = b"/dev/kmsg";

    /// A writer for `tag` (the program's name) with this facility and pid (0 leaves the pid
    /// out), to [`DEFAULT_PATH`](Self::DEFAULT_PATH). Nothing is opened yet.
    pub const fn new(tag: &'a str, facility: Facility, pid: u32) -> Self {
        Kmsg {
            header: Header::new(tag, facility, pid),
            path: Self::DEFAULT_PATH,
            fd: None,
        }
    }

    /// Writes to this file instead of `/dev/kmsg` (a `/dev/kmsg` bound elsewhere in a
    /// container; tests). It must exist: it is not created.
    pub const fn path(mut self, path: &'a [u8]) -> Self {
        self.path = path;
        self
    }

    /// Sets the pid written in each line (0 leaves it out): the daemon's own after the start.
    pub fn set_pid(&mut self, pid: u32) {
        self.header.pid = pid;
    }

    /// Opens the device now (sending opens it lazily), replacing any descriptor.
    ///
    /// # Errors
    ///
    /// Those of open(2): `ENOENT` without `/dev` mounted, `EACCES` for a user that may not
    /// write the kernel's log (normally only root may).
    ///
    /// # References
    ///  - [open(2)](https://man7.org/linux/man-pages/man2/open.2.html)
    pub fn open(&mut self) -> Result<(), Errno> {
        self.fd = None;
        let flags = OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOCTTY;
        self.fd = Some(rustix::fs::open(self.path, flags, Mode::empty())?);
        Ok(())
    }

    /// Closes the descriptor, if any; the next message opens the device again.
    pub fn close(&mut self) {
        self.fd = None;
    }

    /// The open descriptor, if any (to keep it open across the start, see the module).
    pub fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.fd.as_ref().map(|fd| fd.as_fd())
    }

    /// Writes one message with this severity as one record; opens the device first if it is
    /// not open. Async-signal-safe.
    ///
    /// # Errors
    ///
    /// Those of [`open`](Self::open) and write(2).
    ///
    /// # References
    ///  - [write(2)](https://man7.org/linux/man-pages/man2/write.2.html)
    ///  - [/dev/kmsg](https://www.kernel.org/doc/Documentation/ABI/testing/dev-kmsg)
    pub fn send(&mut self, severity: Severity, msg: &[u8]) -> Result<(), Errno> {
        let mut line = Line::new(RECORD_MAX - 1);
        self.format(severity, msg, &mut line);
        if self.fd.is_none() {
            self.open()?;
        }
        let Some(fd) = &self.fd else {
            return Err(Errno::BADF);
        };
        rustix::io::retry_on_intr(|| rustix::io::write(fd, line.framed()))?;
        Ok(())
    }

    /// `<PRI>TAG[PID]: MSG` into `line` (without the newline).
    pub(crate) fn format(&self, severity: Severity, msg: &[u8], line: &mut Line) {
        self.header.push_priority(line, severity);
        self.header.push_tag(line);
        line.push_text(msg);
        line.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::super::{LINE_CAPACITY, Sink, Syslog};
    use super::*;
    use std::os::unix::ffi::OsStrExt;
    use std::path::PathBuf;
    use std::vec::Vec;

    fn line_of(kmsg: &Kmsg<'_>, severity: Severity, msg: &[u8]) -> Vec<u8> {
        let mut line = Line::new(RECORD_MAX - 1);
        kmsg.format(severity, msg, &mut line);
        line.framed().to_vec()
    }

    #[test]
    fn format() {
        let k = Kmsg::new("init", Facility::Daemon, 1);
        assert_eq!(
            line_of(&k, Severity::Notice, b"mounting /run\n"),
            b"<29>init[1]: mounting /run\n"
        );
        let k = Kmsg::new("early boot", Facility::Local7, 0);
        assert_eq!(
            line_of(&k, Severity::Debug, b"a\nb"),
            b"<191>early_boot: a b\n"
        );
        let long = line_of(&k, Severity::Debug, &[b'q'; LINE_CAPACITY]);
        assert_eq!(long.len(), RECORD_MAX);
        assert!(long.ends_with(b"q...\n"));
    }

    /// An empty file in the temporary directory.
    fn file(name: &str) -> PathBuf {
        let path =
            std::env::temp_dir().join(std::format!("rawdaemon-log-{}-{name}", std::process::id()));
        std::fs::write(&path, b"").unwrap();
        path
    }

    #[test]
    fn writes_one_record_per_message() {
        let path = file("kmsg");
        let mut k = Kmsg::new("agent", Facility::Daemon, 5).path(path.as_os_str().as_bytes());
        assert!(k.fd().is_none());
        k.send(Severity::Err, b"one").unwrap();
        assert!(k.fd().is_some());
        k.send(Severity::Info, b"two").unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"<27>agent[5]: one\n<30>agent[5]: two\n"
        );
        std::fs::remove_file(&path).unwrap();

        let mut missing = Kmsg::new("agent", Facility::Daemon, 5).path(b"/nonexistent/kmsg");
        assert_eq!(missing.send(Severity::Err, b"x"), Err(Errno::NOENT));
    }

    #[test]
    fn first_that_works() {
        use std::os::unix::net::UnixDatagram;
        let kmsg_path = file("first-kmsg");
        let kmsg_bytes = kmsg_path.as_os_str().as_bytes();
        let socket = std::env::temp_dir().join(std::format!(
            "rawdaemon-log-{}-first.sock",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&socket);
        let socket_bytes = socket.as_os_str().as_bytes();

        // No log daemon: the kernel's log.
        let syslog = Syslog::new("agent", Facility::Daemon, 1).path(socket_bytes);
        let kmsg = Kmsg::new("agent", Facility::Daemon, 1).path(kmsg_bytes);
        let mut sink = Sink::first_that_works(syslog, kmsg).unwrap();
        assert!(matches!(sink, Sink::Kmsg(_)));
        sink.set_pid(2);
        sink.send(Severity::Info, b"to kmsg").unwrap();
        assert_eq!(
            std::fs::read(&kmsg_path).unwrap(),
            b"<30>agent[2]: to kmsg\n"
        );

        // A log daemon: its socket.
        let rx = UnixDatagram::bind(&socket).unwrap();
        let syslog = Syslog::new("agent", Facility::Daemon, 1).path(socket_bytes);
        let kmsg = Kmsg::new("agent", Facility::Daemon, 1).path(kmsg_bytes);
        let mut sink = Sink::first_that_works(syslog, kmsg).unwrap();
        assert!(matches!(sink, Sink::Syslog(_)));
        sink.send(Severity::Info, b"to syslog").unwrap();
        let mut buf = [0_u8; 256];
        let n = rx.recv(&mut buf).unwrap();
        assert!(buf[..n].ends_with(b" agent[1]: to syslog"));

        // Neither: the error of the last.
        let syslog = Syslog::new("agent", Facility::Daemon, 1).path(b"/nonexistent/log");
        let kmsg = Kmsg::new("agent", Facility::Daemon, 1).path(b"/nonexistent/kmsg");
        assert_eq!(
            Sink::first_that_works(syslog, kmsg).err(),
            Some(Errno::NOENT)
        );
        std::fs::remove_file(&kmsg_path).unwrap();
        std::fs::remove_file(&socket).unwrap();
    }
}
