// SPDX-License-Identifier: GPL-2.0
//! Validation of the module parameters, shared by both modules.
//!
//! Pure, safe logic over byte strings: no kernel API, no allocation, no
//! `unsafe`. The file is also a crate root of its own for the unit tests,
//! which run in userspace without a kernel:
//!
//! ```text
//! rustc --edition 2021 --test qtfs-kmod/kbase/config.rs -o /tmp/qtfs-config-test && /tmp/qtfs-config-test
//! ```
//!
//! The C shim hands the raw parameter strings over (`kbase/param.rs`); this
//! file turns them into a [`Config`] or into [`ParamError`]s whose `Display`
//! is the message printed at load, e.g.
//! `invalid qtfs_server_port=70000: must be a decimal number 1-65535`.
#![forbid(unsafe_code)]

use core::fmt;

/// Name of the server address parameter.
pub(crate) const PARAM_IP: &str = "qtfs_server_ip";
/// Name of the server port parameter.
pub(crate) const PARAM_PORT: &str = "qtfs_server_port";
/// Name of the log level parameter.
pub(crate) const PARAM_LOG_LEVEL: &str = "qtfs_log_level";
/// Name of the server's pre-shared key parameter (hex, never shown).
pub(crate) const PARAM_AUTH_KEY: &str = "qtfs_auth_key";
/// Name of the server's export list parameter.
pub(crate) const PARAM_EXPORTS: &str = "qtfs_exports";
/// Most exports in `qtfs_exports`.
pub(crate) const MAX_EXPORTS: usize = 16;
/// Longest `qtfs_exports` value in bytes (what one sysfs write carries).
pub(crate) const EXPORTS_MAX_LEN: usize = 4095;
/// Bytes of the pre-shared key (`qtfs_auth_key` is twice as many hex digits).
pub(crate) const AUTH_KEY_LEN: usize = 32;
/// Longest export directory accepted, in bytes (PATH_MAX without the NUL).
pub(crate) const EXPORT_MAX: usize = 4095;
/// Port used when `qtfs_server_port` is not given.
pub(crate) const DEFAULT_PORT: u16 = 12345;
/// Level used when `qtfs_log_level` is not given.
pub(crate) const DEFAULT_LOG_LEVEL: LogLevel = LogLevel::Info;

/// Which module is validating: the rules differ only for `0.0.0.0`, which a
/// server may listen on (every local address) but a client cannot dial.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// `qtfs.ko`, on the DPU.
    Client,
    /// `qtfs_server.ko`, on the HOST.
    Server,
}

/// How much a module logs; each level includes the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub(crate) enum LogLevel {
    /// Nothing at all (invalid parameters at load are still reported).
    None = 0,
    /// Errors only.
    Error = 1,
    /// Errors and warnings.
    Warn = 2,
    /// Also connection and load/unload events (the default).
    Info = 3,
    /// Everything.
    Debug = 4,
}

impl LogLevel {
    /// All levels, in order.
    pub(crate) const ALL: [LogLevel; 5] = [
        LogLevel::None,
        LogLevel::Error,
        LogLevel::Warn,
        LogLevel::Info,
        LogLevel::Debug,
    ];

    /// The canonical (upper-case) name.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            LogLevel::None => "NONE",
            LogLevel::Error => "ERROR",
            LogLevel::Warn => "WARN",
            LogLevel::Info => "INFO",
            LogLevel::Debug => "DEBUG",
        }
    }

    /// The level stored as `self as u8`; out-of-range values saturate to `Debug`.
    pub(crate) const fn from_u8(v: u8) -> LogLevel {
        match v {
            0 => LogLevel::None,
            1 => LogLevel::Error,
            2 => LogLevel::Warn,
            3 => LogLevel::Info,
            _ => LogLevel::Debug,
        }
    }
}

/// An IPv4 address, octets in network order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ipv4(pub(crate) [u8; 4]);

impl Ipv4 {
    /// `0.0.0.0`.
    pub(crate) const UNSPECIFIED: Ipv4 = Ipv4([0, 0, 0, 0]);

    /// The address as a host-order integer (what the C shim takes).
    pub(crate) const fn to_u32(self) -> u32 {
        u32::from_be_bytes(self.0)
    }

    /// From a host-order integer (what the C shim returns).
    pub(crate) const fn from_u32(v: u32) -> Ipv4 {
        Ipv4(v.to_be_bytes())
    }
}

impl fmt::Display for Ipv4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.0;
        write!(f, "{a}.{b}.{c}.{d}")
    }
}

/// An IPv4 socket address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SockAddr {
    /// Address.
    pub(crate) ip: Ipv4,
    /// Port, host order.
    pub(crate) port: u16,
}

impl fmt::Display for SockAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.ip, self.port)
    }
}

/// The validated parameters of a module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Config {
    /// Where the server listens (server) or what to dial (client).
    pub(crate) server: SockAddr,
    /// How much to log.
    pub(crate) log_level: LogLevel,
}

/// Why a parameter value was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    /// The parameter is required and was missing or empty.
    Missing,
    /// Not a dotted quad of decimal octets 0-255.
    NotIpv4,
    /// `0.0.0.0` given to the client.
    Unspecified,
    /// Not a decimal number in 1-65535.
    BadPort,
    /// Not one of the level names.
    BadLevel,
    /// Not exactly 64 hex digits.
    BadKey,
    /// Not an absolute path of plain components.
    BadExport,
    /// An export option other than `ro` and `crossmnt`.
    BadExportOption,
    /// The same directory exported twice.
    DuplicateExport,
    /// More than [`MAX_EXPORTS`] exports, or a list longer than
    /// [`EXPORTS_MAX_LEN`].
    TooManyExports,
    /// An empty entry (`,,` or a leading or trailing comma).
    EmptyExportEntry,
}

/// A refused parameter: its name, the value as given, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ParamError<'a> {
    /// Parameter name.
    pub(crate) param: &'static str,
    /// The value as given (empty when missing).
    pub(crate) value: &'a [u8],
    /// Why it was refused.
    pub(crate) reason: Reason,
}

impl fmt::Display for ParamError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}={}: ", self.param, Shown(self.value))?;
        match self.reason {
            Reason::Missing => write!(f, "required, an IPv4 address such as 192.168.1.2"),
            Reason::NotIpv4 => write!(f, "must be an IPv4 address such as 192.168.1.2"),
            Reason::Unspecified => write!(f, "the client needs the server's own address"),
            Reason::BadPort => write!(f, "must be a decimal number 1-65535"),
            Reason::BadLevel => write!(f, "must be NONE, ERROR, WARN, INFO or DEBUG"),
            Reason::BadKey => write!(f, "must be exactly 64 hex digits (32 bytes)"),
            Reason::BadExport => write!(
                f,
                "must be an absolute path (at most 4095 bytes) without . or .. components"
            ),
            Reason::BadExportOption => {
                write!(f, "unknown export option (the options are ro and crossmnt)")
            }
            Reason::DuplicateExport => write!(f, "directory exported twice"),
            Reason::TooManyExports => write!(
                f,
                "at most {MAX_EXPORTS} exports and {EXPORTS_MAX_LEN} bytes"
            ),
            Reason::EmptyExportEntry => write!(f, "empty entry in the list"),
        }
    }
}

/// Longest part of a refused value that is echoed back in a message.
const SHOWN_MAX: usize = 64;

/// A parameter value, printable whatever its bytes: printable ASCII as is,
/// anything else as `\xNN`, cut after [`SHOWN_MAX`] bytes.
pub(crate) struct Shown<'a>(pub(crate) &'a [u8]);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cut = self.0.len() > SHOWN_MAX;
        let bytes = if cut { &self.0[..SHOWN_MAX] } else { self.0 };
        for &b in bytes {
            if (0x20..0x7f).contains(&b) && b != b'\\' {
                write!(f, "{}", b as char)?;
            } else {
                write!(f, "\\x{b:02x}")?;
            }
        }
        if cut {
            write!(f, "...")?;
        }
        Ok(())
    }
}

/// Parses a strict dotted quad: four decimal octets 0-255, no sign, no
/// spaces, no leading zeros (so `010` cannot be mistaken for octal).
pub(crate) fn parse_ipv4(s: &[u8]) -> Option<Ipv4> {
    let mut octets = [0u8; 4];
    let mut parts = s.split(|&b| b == b'.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || (part.len() > 1 && part[0] == b'0') {
            return None;
        }
        let mut v: u16 = 0;
        for &b in part {
            if !b.is_ascii_digit() {
                return None;
            }
            v = v * 10 + u16::from(b - b'0');
        }
        *octet = u8::try_from(v).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(Ipv4(octets))
}

/// Parses a port: decimal digits only, value 1-65535 (leading zeros allowed).
pub(crate) fn parse_port(s: &[u8]) -> Option<u16> {
    if s.is_empty() {
        return None;
    }
    let mut v: u32 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(b - b'0');
        if v > u32::from(u16::MAX) {
            return None;
        }
    }
    match u16::try_from(v) {
        Ok(0) | Err(_) => None,
        Ok(p) => Some(p),
    }
}

/// Parses a level name, case-insensitively.
pub(crate) fn parse_log_level(s: &[u8]) -> Option<LogLevel> {
    LogLevel::ALL
        .into_iter()
        .find(|l| l.name().as_bytes().eq_ignore_ascii_case(s))
}

/// The outcome of [`validate`]: the configuration, or up to one error per
/// parameter (every bad parameter is reported, not only the first).
pub(crate) type Validated<'a> = Result<Config, [Option<ParamError<'a>>; 3]>;

/// Validates the three parameters as given (`None` = not set). The address
/// is required by both modules; the port and level have defaults.
pub(crate) fn validate<'a>(
    role: Role,
    ip: Option<&'a [u8]>,
    port: Option<&'a [u8]>,
    level: Option<&'a [u8]>,
) -> Validated<'a> {
    let err = |param, value: Option<&'a [u8]>, reason| {
        Some(ParamError {
            param,
            value: value.unwrap_or(b""),
            reason,
        })
    };
    let mut errors = [None, None, None];

    let ip_v = match ip {
        None | Some(b"") => {
            errors[0] = err(PARAM_IP, ip, Reason::Missing);
            None
        }
        Some(s) => match parse_ipv4(s) {
            None => {
                errors[0] = err(PARAM_IP, ip, Reason::NotIpv4);
                None
            }
            Some(a) if a == Ipv4::UNSPECIFIED && role == Role::Client => {
                errors[0] = err(PARAM_IP, ip, Reason::Unspecified);
                None
            }
            Some(a) => Some(a),
        },
    };
    let port_v = match port {
        None => Some(DEFAULT_PORT),
        Some(s) => {
            let p = parse_port(s);
            if p.is_none() {
                errors[1] = err(PARAM_PORT, port, Reason::BadPort);
            }
            p
        }
    };
    let level_v = match level {
        None => Some(DEFAULT_LOG_LEVEL),
        Some(s) => {
            let l = parse_log_level(s);
            if l.is_none() {
                errors[2] = err(PARAM_LOG_LEVEL, level, Reason::BadLevel);
            }
            l
        }
    };

    match (ip_v, port_v, level_v) {
        (Some(ip), Some(port), Some(log_level)) => Ok(Config {
            server: SockAddr { ip, port },
            log_level,
        }),
        _ => Err(errors),
    }
}

/// What a refused `qtfs_auth_key` is shown as: the key is a secret, so the
/// message never echoes it.
pub(crate) const HIDDEN: &[u8] = b"(hidden)";

/// Parses the pre-shared key: exactly 64 hex digits, either case, nothing
/// else (no prefix, no spaces).
pub(crate) fn parse_auth_key(s: &[u8]) -> Option<[u8; AUTH_KEY_LEN]> {
    if s.len() != 2 * AUTH_KEY_LEN {
        return None;
    }
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    };
    let mut key = [0u8; AUTH_KEY_LEN];
    for (i, k) in key.iter_mut().enumerate() {
        *k = (digit(s[2 * i])? << 4) | digit(s[2 * i + 1])?;
    }
    Some(key)
}

/// Whether `s` is an acceptable export: absolute, at most [`EXPORT_MAX`]
/// bytes, no NUL, no `.` or `..` component (empty components from repeated
/// or trailing slashes are harmless). `/` itself is allowed.
pub(crate) fn valid_export(s: &[u8]) -> bool {
    s.first() == Some(&b'/')
        && s.len() <= EXPORT_MAX
        && !s.contains(&0)
        && s.split(|&b| b == b'/').all(|c| c != b"." && c != b"..")
}

/// Validates `qtfs_auth_key` (`None` or empty = not set; optional). A
/// refused key is reported as [`HIDDEN`].
pub(crate) fn validate_key(
    key: Option<&[u8]>,
) -> Result<Option<[u8; AUTH_KEY_LEN]>, ParamError<'static>> {
    match key {
        None | Some(b"") => Ok(None),
        Some(s) => parse_auth_key(s).map(Some).ok_or(ParamError {
            param: PARAM_AUTH_KEY,
            value: HIDDEN,
            reason: Reason::BadKey,
        }),
    }
}

/// `/a/b/` and `/a/b` name the same directory (`/` stays `/`).
pub(crate) fn trim_slashes(p: &[u8]) -> &[u8] {
    let mut p = p;
    while p.len() > 1 && p.last() == Some(&b'/') {
        p = &p[..p.len() - 1];
    }
    p
}

/// One entry of `qtfs_exports`: `/dir[:opt[:opt]]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct ExportSpec<'a> {
    /// The directory, trailing slashes removed.
    pub(crate) path: &'a [u8],
    /// `ro`: every modifying operation is refused with `EROFS`.
    pub(crate) ro: bool,
    /// `crossmnt`: lookups cross into file systems mounted beneath it.
    pub(crate) crossmnt: bool,
}

/// The entries of a `qtfs_exports` value.
pub(crate) type ExportSpecs<'a> = [Option<ExportSpec<'a>>; MAX_EXPORTS];

/// Parses `qtfs_exports`: comma-separated entries `/dir[:opt[:opt]]` with
/// the options `ro` and `crossmnt`; surrounding whitespace (the newline of
/// a sysfs write) is ignored and an empty value means no export. Each
/// directory as [`valid_export`], none twice, at most [`MAX_EXPORTS`].
/// Returns how many entries `out` holds, or the first bad entry.
pub(crate) fn parse_exports<'a>(
    s: &'a [u8],
    out: &mut ExportSpecs<'a>,
) -> Result<usize, ParamError<'a>> {
    *out = [None; MAX_EXPORTS];
    let s = s.trim_ascii();
    let err = |value, reason| ParamError {
        param: PARAM_EXPORTS,
        value,
        reason,
    };
    if s.is_empty() {
        return Ok(0);
    }
    if s.len() > EXPORTS_MAX_LEN {
        return Err(err(s, Reason::TooManyExports));
    }
    let mut n = 0;
    for entry in s.split(|&b| b == b',') {
        if entry.is_empty() {
            return Err(err(s, Reason::EmptyExportEntry));
        }
        let mut parts = entry.split(|&b| b == b':');
        let path = parts.next().unwrap_or(b"");
        if !valid_export(path) {
            return Err(err(entry, Reason::BadExport));
        }
        let mut spec = ExportSpec {
            path: trim_slashes(path),
            ro: false,
            crossmnt: false,
        };
        for opt in parts {
            match opt {
                b"ro" => spec.ro = true,
                b"crossmnt" => spec.crossmnt = true,
                _ => return Err(err(entry, Reason::BadExportOption)),
            }
        }
        if out.iter().flatten().any(|e| e.path == spec.path) {
            return Err(err(entry, Reason::DuplicateExport));
        }
        let Some(slot) = out.get_mut(n) else {
            return Err(err(entry, Reason::TooManyExports));
        };
        *slot = Some(spec);
        n += 1;
    }
    Ok(n)
}

/// Whether `path` is `export` or beneath it, component-wise (`/srv/a` is
/// beneath `/srv` but `/srvx` is not); both without trailing slashes.
/// Returns the rest of `path` (without its leading slash) when it is.
pub(crate) fn beneath<'a>(export: &[u8], path: &'a [u8]) -> Option<&'a [u8]> {
    if export == b"/" {
        return path.strip_prefix(b"/");
    }
    let rest = path.strip_prefix(export)?;
    if rest.is_empty() {
        return Some(rest);
    }
    rest.strip_prefix(b"/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(e: &ParamError<'_>) -> String {
        format!("{e}")
    }

    #[test]
    fn ipv4_good() {
        assert_eq!(parse_ipv4(b"10.0.2.15"), Some(Ipv4([10, 0, 2, 15])));
        assert_eq!(parse_ipv4(b"0.0.0.0"), Some(Ipv4([0, 0, 0, 0])));
        assert_eq!(parse_ipv4(b"255.255.255.255"), Some(Ipv4([255; 4])));
        assert_eq!(Ipv4([192, 168, 1, 2]).to_u32(), 0xc0a8_0102);
        assert_eq!(Ipv4::from_u32(0xc0a8_0102), Ipv4([192, 168, 1, 2]));
    }

    #[test]
    fn ipv4_bad() {
        for s in [
            &b""[..],
            b"abc",
            b"999.1.1.1",
            b"256.0.0.1",
            b"1.2.3",
            b"1.2.3.4.5",
            b"1.2.3.",
            b".1.2.3",
            b"1..2.3",
            b"01.2.3.4",
            b"1.2.3.4 ",
            b" 1.2.3.4",
            b"+1.2.3.4",
            b"1.2.3.-4",
            b"1.2.3.1000",
            b"0x1.2.3.4",
            b"1.2.3.4\n",
        ] {
            assert_eq!(parse_ipv4(s), None, "{:?}", core::str::from_utf8(s));
        }
    }

    #[test]
    fn ports() {
        assert_eq!(parse_port(b"1"), Some(1));
        assert_eq!(parse_port(b"12345"), Some(12345));
        assert_eq!(parse_port(b"65535"), Some(65535));
        assert_eq!(parse_port(b"0080"), Some(80));
        for s in [
            &b""[..],
            b"0",
            b"65536",
            b"70000",
            b"-1",
            b"+1",
            b"abc",
            b"12a",
            b" 1",
            b"99999999999999999999999",
        ] {
            assert_eq!(parse_port(s), None, "{:?}", core::str::from_utf8(s));
        }
    }

    #[test]
    fn levels() {
        assert_eq!(parse_log_level(b"warn"), Some(LogLevel::Warn));
        assert_eq!(parse_log_level(b"DeBuG"), Some(LogLevel::Debug));
        assert_eq!(parse_log_level(b"NONE"), Some(LogLevel::None));
        assert_eq!(parse_log_level(b"LOUD"), None);
        assert_eq!(parse_log_level(b"warning"), None);
        assert_eq!(parse_log_level(b""), None);
        for l in LogLevel::ALL {
            assert_eq!(LogLevel::from_u8(l as u8), l);
        }
        assert!(LogLevel::Debug > LogLevel::Info && LogLevel::Error > LogLevel::None);
    }

    #[test]
    fn validate_defaults() {
        let c = validate(Role::Client, Some(b"10.0.2.2"), None, None).unwrap();
        assert_eq!(c.server.port, 12345);
        assert_eq!(c.log_level, LogLevel::Info);
        assert_eq!(format!("{}", c.server), "10.0.2.2:12345");
    }

    #[test]
    fn validate_unspecified() {
        assert!(validate(Role::Server, Some(b"0.0.0.0"), None, None).is_ok());
        let e = validate(Role::Client, Some(b"0.0.0.0"), None, None).unwrap_err();
        assert_eq!(e[0].unwrap().reason, Reason::Unspecified);
    }

    #[test]
    fn validate_messages() {
        let e = validate(Role::Server, None, Some(b"70000"), Some(b"LOUD")).unwrap_err();
        assert_eq!(
            msg(&e[0].unwrap()),
            "invalid qtfs_server_ip=: required, an IPv4 address such as 192.168.1.2"
        );
        assert_eq!(
            msg(&e[1].unwrap()),
            "invalid qtfs_server_port=70000: must be a decimal number 1-65535"
        );
        assert_eq!(
            msg(&e[2].unwrap()),
            "invalid qtfs_log_level=LOUD: must be NONE, ERROR, WARN, INFO or DEBUG"
        );
        let e = validate(Role::Client, Some(b"999.1.1.1"), Some(b"-1"), None).unwrap_err();
        assert_eq!(
            msg(&e[0].unwrap()),
            "invalid qtfs_server_ip=999.1.1.1: must be an IPv4 address such as 192.168.1.2"
        );
        assert_eq!(
            msg(&e[1].unwrap()),
            "invalid qtfs_server_port=-1: must be a decimal number 1-65535"
        );
        assert!(e[2].is_none());
    }

    #[test]
    fn shown_escapes_and_cuts() {
        assert_eq!(format!("{}", Shown(b"a\x01\\b\xff")), "a\\x01\\x5cb\\xff");
        let long = [b'x'; 100];
        let s = format!("{}", Shown(&long));
        assert_eq!(s.len(), SHOWN_MAX + 3);
        assert!(s.ends_with("..."));
    }

    #[test]
    fn auth_keys() {
        let hex = b"00112233445566778899aabbccddeeffFFEEDDCCBBAA99887766554433221100";
        let k = parse_auth_key(hex).unwrap();
        assert_eq!(k[0], 0x00);
        assert_eq!(k[1], 0x11);
        assert_eq!(k[15], 0xff);
        assert_eq!(k[16], 0xff);
        assert_eq!(k[31], 0x00);
        assert_eq!(parse_auth_key(&hex[..62]), None);
        let mut long = hex.to_vec();
        long.extend_from_slice(b"00");
        assert_eq!(parse_auth_key(&long), None);
        let mut bad = *hex;
        bad[10] = b'g';
        assert_eq!(parse_auth_key(&bad), None);
        bad[10] = b' ';
        assert_eq!(parse_auth_key(&bad), None);
        assert_eq!(parse_auth_key(b""), None);
    }

    #[test]
    fn exports() {
        for good in [&b"/"[..], b"/srv/export", b"/srv//x/", b"/a.b/..c/.d"] {
            assert!(valid_export(good), "{:?}", core::str::from_utf8(good));
        }
        let long = [b'/'; EXPORT_MAX + 1];
        for bad in [
            &b"srv"[..],
            b"./srv",
            b"/srv/../etc",
            b"/srv/.",
            b"/..",
            b"/a\x00b",
            b"",
            &long[..],
        ] {
            assert!(!valid_export(bad), "{:?}", bad);
        }
        assert!(valid_export(&long[..EXPORT_MAX]));
    }

    #[test]
    fn keys() {
        let hex = [b'a'; 64];
        assert_eq!(validate_key(Some(&hex)).unwrap(), Some([0xaa; 32]));
        assert_eq!(validate_key(None).unwrap(), None);
        assert_eq!(validate_key(Some(b"")).unwrap(), None);
        let e = validate_key(Some(b"secretsecret")).unwrap_err();
        let key_msg = msg(&e);
        assert_eq!(
            key_msg,
            "invalid qtfs_auth_key=(hidden): must be exactly 64 hex digits (32 bytes)"
        );
        assert!(!key_msg.contains("secret"));
    }

    #[test]
    fn export_lists() {
        let mut out = [None; MAX_EXPORTS];
        assert_eq!(parse_exports(b"", &mut out), Ok(0));
        assert_eq!(parse_exports(b" \n", &mut out), Ok(0));
        assert_eq!(
            parse_exports(b"/srv/a/:ro,/srv/b:crossmnt:ro,/\n", &mut out),
            Ok(3)
        );
        assert_eq!(
            out[0],
            Some(ExportSpec {
                path: b"/srv/a",
                ro: true,
                crossmnt: false
            })
        );
        assert_eq!(
            out[1],
            Some(ExportSpec {
                path: b"/srv/b",
                ro: true,
                crossmnt: true
            })
        );
        assert_eq!(
            out[2],
            Some(ExportSpec {
                path: b"/",
                ro: false,
                crossmnt: false
            })
        );
        assert!(out[3].is_none());
        let e = parse_exports(b"/srv/a,/srv/b:rw", &mut out).unwrap_err();
        assert_eq!(e.reason, Reason::BadExportOption);
        assert_eq!(
            msg(&e),
            "invalid qtfs_exports=/srv/b:rw: unknown export option (the options are ro and crossmnt)"
        );
        let e = parse_exports(b"relative/dir", &mut out).unwrap_err();
        assert_eq!(
            msg(&e),
            "invalid qtfs_exports=relative/dir: must be an absolute path (at most 4095 bytes) without . or .. components"
        );
        assert_eq!(
            parse_exports(b"/srv/../etc", &mut out).unwrap_err().reason,
            Reason::BadExport
        );
        assert_eq!(
            parse_exports(b"/a,,/b", &mut out).unwrap_err().reason,
            Reason::EmptyExportEntry
        );
        assert_eq!(
            parse_exports(b"/a,", &mut out).unwrap_err().reason,
            Reason::EmptyExportEntry
        );
        assert_eq!(
            parse_exports(b"/a,/a/", &mut out).unwrap_err().reason,
            Reason::DuplicateExport
        );
        assert_eq!(
            parse_exports(b"/a:", &mut out).unwrap_err().reason,
            Reason::BadExportOption
        );
        let many = b"/0,/1,/2,/3,/4,/5,/6,/7,/8,/9,/a,/b,/c,/d,/e,/f,/g";
        assert_eq!(
            parse_exports(many, &mut out).unwrap_err().reason,
            Reason::TooManyExports
        );
        assert_eq!(parse_exports(&many[..many.len() - 3], &mut out), Ok(16));
    }

    #[test]
    fn beneath_exports() {
        assert_eq!(beneath(b"/srv", b"/srv"), Some(&b""[..]));
        assert_eq!(beneath(b"/srv", b"/srv/a/b"), Some(&b"a/b"[..]));
        assert_eq!(beneath(b"/srv", b"/srvx"), None);
        assert_eq!(beneath(b"/srv", b"/"), None);
        assert_eq!(beneath(b"/", b"/srv"), Some(&b"srv"[..]));
        assert_eq!(beneath(b"/", b"/"), Some(&b""[..]));
        assert_eq!(trim_slashes(b"/a//"), b"/a");
        assert_eq!(trim_slashes(b"///"), b"/");
    }
}
