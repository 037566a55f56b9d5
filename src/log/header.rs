//! What [`Syslog`](super::Syslog) and [`Kmsg`](super::Kmsg) share: the tag, facility and pid
//! stamped on each line, and the `<PRI>` and `TAG[PID]: ` that lines start with.
//!
//! # References
//!  - [syslog(3)](https://man7.org/linux/man-pages/man3/syslog.3.html)
//!  - [RFC 3164, section 4.1](https://www.rfc-editor.org/rfc/rfc3164#section-4.1)

use super::{Facility, Line, Severity, priority};

/// The program's tag, the facility and the pid of a writer's lines.
#[derive(Clone, Copy, Debug)]
pub(super) struct Header<'a> {
    /// The program's name.
    pub(super) tag: &'a str,
    pub(super) facility: Facility,
    /// 0 leaves the pid out.
    pub(super) pid: u32,
}

impl<'a> Header<'a> {
    /// The header of a writer for `tag`, `facility` and `pid`.
    pub(super) const fn new(tag: &'a str, facility: Facility, pid: u32) -> Self {
        Header { tag, facility, pid }
    }

    /// `<PRI>`: the facility and `severity` in one number.
    pub(super) fn push_priority(&self, line: &mut Line, severity: Severity) {
        line.push_byte(b'<');
        line.push_number(u32::from(priority(self.facility, severity)), 0, b'0');
        line.push_byte(b'>');
    }

    /// `TAG[PID]: ` as syslog(3) writes it (without `[PID]` for pid 0): the tag of RFC 3164
    /// lines and of the kernel's log.
    pub(super) fn push_tag(&self, line: &mut Line) {
        line.push_token(self.tag.as_bytes(), usize::MAX, false);
        if self.pid != 0 {
            line.push_byte(b'[');
            line.push_number(self.pid, 0, b'0');
            line.push_byte(b']');
        }
        line.push(b": ");
    }
}

#[cfg(test)]
mod tests {
    use super::super::LINE_CAPACITY;
    use super::*;

    fn line_of(header: &Header<'_>, severity: Severity) -> std::vec::Vec<u8> {
        let mut line = Line::new(LINE_CAPACITY - 1);
        header.push_priority(&mut line, severity);
        header.push_tag(&mut line);
        std::vec::Vec::from(line.as_bytes())
    }

    #[test]
    fn priority_tag_and_pid() {
        let h = Header::new("agent", Facility::Daemon, 4242);
        assert_eq!(line_of(&h, Severity::Info), b"<30>agent[4242]: ");
        let h = Header::new("my agent\n", Facility::Local7, 0);
        assert_eq!(line_of(&h, Severity::Debug), b"<191>my_agent_: ");
        let h = Header::new("", Facility::Kern, 1);
        assert_eq!(line_of(&h, Severity::Emerg), b"<0>[1]: ");
    }
}
