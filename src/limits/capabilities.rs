//! Capability names and numbers (one packed constant table, no allocation), and the
//! `cap_iab(3)` text form of [`Capabilities`].

use super::Capabilities;

/// The highest capability this table names (`CAP_CHECKPOINT_RESTORE`); a running kernel may
/// know fewer (its `/proc/sys/kernel/cap_last_cap`).
pub const LAST_CAPABILITY: u32 = 40;

/// The names without their `cap_` prefix, in number order, each ended by a NUL.
const NAMES: &[u8] = b"chown\0dac_override\0dac_read_search\0fowner\0fsetid\0kill\0setgid\0\
setuid\0setpcap\0linux_immutable\0net_bind_service\0net_broadcast\0net_admin\0net_raw\0\
ipc_lock\0ipc_owner\0sys_module\0sys_rawio\0sys_chroot\0sys_ptrace\0sys_pacct\0sys_admin\0\
sys_boot\0sys_nice\0sys_resource\0sys_time\0sys_tty_config\0mknod\0lease\0audit_write\0\
audit_control\0setfcap\0mac_override\0mac_admin\0syslog\0wake_alarm\0block_suspend\0\
audit_read\0perfmon\0bpf\0checkpoint_restore\0";

/// Capability `n`'s name without its `cap_` prefix (`net_bind_service` for 10), as
/// capabilities(7) names it in lower case; `None` past [`LAST_CAPABILITY`].
pub fn capability_name(n: u32) -> Option<&'static str> {
    core::str::from_utf8(name_of(n))
        .ok()
        .filter(|s| !s.is_empty())
}

/// Capability `n`'s name as bytes, empty past [`LAST_CAPABILITY`] (for messages: no UTF-8
/// check linked).
pub(super) fn name_of(n: u32) -> &'static [u8] {
    super::nth_name(NAMES, n)
}

/// The number of a capability named as `cap_iab(3)` and capabilities(7) do: `cap_` and
/// the name in any case (`cap_net_bind_service`, `CAP_NET_RAW`), or its number (0 to
/// [`LAST_CAPABILITY`]).
pub fn capability(name: &[u8]) -> Option<u32> {
    if let Some(n) = crate::decimal::parse_u64(name, 10, 2) {
        return (n <= u64::from(LAST_CAPABILITY)).then_some(n as u32);
    }
    let (prefix, rest) = name.split_at_checked(4)?;
    if !prefix.eq_ignore_ascii_case(b"cap_") || rest.is_empty() {
        return None;
    }
    NAMES
        .split(|&b| b == 0)
        .position(|known| known.eq_ignore_ascii_case(rest))
        .map(|n| n as u32)
}

impl Capabilities {
    /// Parses the `cap_iab(3)` text form that OpenRC's `--capabilities` takes: a
    /// comma-separated list of capabilities (see [`capability`]), each after prefixes that
    /// say where it goes: `^` ambient and inheritable, `%` (or none) inheritable only, `!`
    /// out of the bounding set (`!` combines with the others in the syntax, `!%cap_x`, but a
    /// start refuses a capability both kept and dropped: see
    /// [`Limits::capabilities`](super::Limits::capabilities)). An empty text sets nothing.
    ///
    /// # Errors
    ///
    /// The entry that is not a known capability.
    pub fn parse(text: &[u8]) -> Result<Capabilities, &[u8]> {
        let mut caps = Capabilities::default();
        if text.is_empty() {
            return Ok(caps);
        }
        for entry in text.split(|&b| b == b',') {
            let name = entry.trim_ascii_start_matches();
            let n = capability(name).ok_or(entry)?;
            let bit = 1_u64 << n;
            let prefixes = entry.get(..entry.len() - name.len()).unwrap_or_default();
            let (mut ambient, mut inheritable, mut bounding) = (false, false, false);
            for &p in prefixes {
                match p {
                    b'^' => ambient = true,
                    b'%' => inheritable = true,
                    _ => bounding = true,
                }
            }
            if ambient {
                caps.ambient |= bit;
            }
            if inheritable || (!ambient && !bounding) {
                caps.inheritable |= bit;
            }
            if bounding {
                caps.drop_bounding |= bit;
            }
        }
        Ok(caps)
    }
}

/// The entry without its prefixes.
trait Prefixes {
    fn trim_ascii_start_matches(&self) -> &[u8];
}

impl Prefixes for [u8] {
    fn trim_ascii_start_matches(&self) -> &[u8] {
        let at = self
            .iter()
            .position(|b| !matches!(b, b'^' | b'%' | b'!'))
            .unwrap_or(self.len());
        self.get(at..).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(capability(b"cap_chown"), Some(0));
        assert_eq!(capability(b"CAP_NET_BIND_SERVICE"), Some(10));
        assert_eq!(capability(b"cap_checkpoint_restore"), Some(40));
        assert_eq!(capability(b"12"), Some(12));
        assert_eq!(capability(b"41"), None);
        assert_eq!(capability(b"net_raw"), None);
        assert_eq!(capability(b"cap_"), None);
        assert_eq!(capability(b"cap_nope"), None);
        assert_eq!(capability_name(10), Some("net_bind_service"));
        assert_eq!(capability_name(40), Some("checkpoint_restore"));
        assert_eq!(capability_name(41), None);
        for n in 0..=LAST_CAPABILITY {
            let name = std::format!("cap_{}", capability_name(n).unwrap());
            assert_eq!(capability(name.as_bytes()), Some(n));
        }
    }

    #[test]
    fn iab_text() {
        let caps =
            Capabilities::parse(b"^cap_net_bind_service,%cap_kill,!cap_sys_module,cap_chown")
                .unwrap();
        assert_eq!(caps.ambient, 1 << 10);
        assert_eq!(caps.inheritable, 1 << 5 | 1);
        assert_eq!(caps.drop_bounding, 1 << 16);
        let caps = Capabilities::parse(b"!^cap_net_raw").unwrap();
        assert_eq!(
            (caps.ambient, caps.inheritable, caps.drop_bounding),
            (1 << 13, 0, 1 << 13)
        );
        assert_eq!(Capabilities::parse(b""), Ok(Capabilities::default()));
        assert_eq!(
            Capabilities::parse(b"^cap_net_raw,^cap_bogus"),
            Err(&b"^cap_bogus"[..])
        );
        assert_eq!(Capabilities::parse(b"^cap_net_raw,"), Err(&b""[..]));
        assert_eq!(Capabilities::parse(b"^"), Err(&b"^"[..]));
    }
}
