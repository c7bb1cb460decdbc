// SPDX-License-Identifier: GPL-2.0
//! Mount options (`mount -t qtfs -o ...`): pure parsing, unit-tested in
//! userspace (`make unit`). The VFS takes the generic ones (`ro`, `rw`,
//! `nosuid`, `noexec`, ...) before they reach here.
#![forbid(unsafe_code)]

#[path = "splice.rs"]
pub(crate) mod splice;
use splice::Splice;

/// How long cached attributes and names are trusted, by default (ms).
pub(crate) const DEFAULT_ACTIMEO_MS: u32 = 1000;
/// Longest `actimeo` accepted (seconds).
pub(crate) const MAX_ACTIMEO_S: u32 = 3600;

/// The options of one mount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Options {
    /// Attribute and dentry cache lifetime in milliseconds (0: always ask).
    pub(crate) actimeo_ms: u32,
    /// Cache regular files' pages (`cache=none` turns it off: every read
    /// and write goes to the server).
    pub(crate) page_cache: bool,
    /// `-o proc`, `localproc=`, `splice=`: the HOST's /proc with the
    /// caller's own entries from the DPU's.
    pub(crate) splice: Splice,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            actimeo_ms: DEFAULT_ACTIMEO_MS,
            page_cache: true,
            splice: Splice::default(),
        }
    }
}

/// Why an option was refused (the log line names it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OptionError {
    Unknown,
    NeedsValue,
    BadValue,
    Splice(splice::SpliceError),
}

impl OptionError {
    pub(crate) fn why(self) -> &'static str {
        match self {
            OptionError::Unknown => "unknown option",
            OptionError::NeedsValue => "needs a value",
            OptionError::BadValue => "bad value",
            OptionError::Splice(e) => e.why(),
        }
    }
}

fn decimal(v: &[u8]) -> Option<u32> {
    if v.is_empty() || v.len() > 9 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(v.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')))
}

impl Options {
    /// Applies one option: `actimeo=<seconds 0..=3600>`, `cache=none|loose`,
    /// `proc`, `localproc=<path>`, `splice=<name>:<action>`.
    pub(crate) fn apply(&mut self, key: &[u8], value: Option<&[u8]>) -> Result<(), OptionError> {
        match key {
            b"actimeo" => {
                let v = value.ok_or(OptionError::NeedsValue)?;
                let s = decimal(v).filter(|s| *s <= MAX_ACTIMEO_S).ok_or(OptionError::BadValue)?;
                self.actimeo_ms = s * 1000;
            }
            b"cache" => match value.ok_or(OptionError::NeedsValue)? {
                b"none" => self.page_cache = false,
                b"loose" => self.page_cache = true,
                _ => return Err(OptionError::BadValue),
            },
            b"proc" => {
                if value.is_some() {
                    return Err(OptionError::BadValue);
                }
                self.splice.enable().map_err(OptionError::Splice)?;
            }
            b"localproc" => {
                let v = value.ok_or(OptionError::NeedsValue)?;
                self.splice.set_local_proc(v).map_err(OptionError::Splice)?;
            }
            b"splice" => {
                let v = value.ok_or(OptionError::NeedsValue)?;
                self.splice.add(v).map_err(OptionError::Splice)?;
            }
            _ => {
                return Err(OptionError::Unknown);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_values() {
        let mut o = Options::default();
        assert_eq!(o.actimeo_ms, 1000);
        o.apply(b"actimeo", Some(b"0")).unwrap();
        assert_eq!(o.actimeo_ms, 0);
        o.apply(b"actimeo", Some(b"3600")).unwrap();
        assert_eq!(o.actimeo_ms, 3_600_000);
        o.apply(b"cache", Some(b"none")).unwrap();
        assert!(!o.page_cache);
    }

    #[test]
    fn refusals() {
        let mut o = Options::default();
        assert_eq!(o.apply(b"bogus", None), Err(OptionError::Unknown));
        assert_eq!(o.apply(b"actimeo", None), Err(OptionError::NeedsValue));
        assert_eq!(o.apply(b"actimeo", Some(b"3601")), Err(OptionError::BadValue));
        assert_eq!(o.apply(b"actimeo", Some(b"-1")), Err(OptionError::BadValue));
        assert_eq!(o.apply(b"actimeo", Some(b"")), Err(OptionError::BadValue));
        assert_eq!(o.apply(b"actimeo", Some(b"99999999999")), Err(OptionError::BadValue));
        assert_eq!(o.apply(b"cache", Some(b"maybe")), Err(OptionError::BadValue));
        assert_eq!(o, Options::default());
        assert_eq!(OptionError::Unknown.why(), "unknown option");
    }

    #[test]
    fn proc_options() {
        let mut o = Options::default();
        assert!(!o.splice.enabled);
        o.apply(b"proc", None).unwrap();
        o.apply(b"localproc", Some(b"/local_proc")).unwrap();
        o.apply(b"splice", Some(b"net:local")).unwrap();
        assert!(o.splice.enabled);
        assert_eq!(o.splice.local_proc.as_bytes(), b"/local_proc");
        assert_eq!(o.splice.rules().count(), 4);
        assert_eq!(o.apply(b"proc", Some(b"1")), Err(OptionError::BadValue));
        assert_eq!(o.apply(b"splice", None), Err(OptionError::NeedsValue));
        assert!(matches!(o.apply(b"splice", Some(b"x")), Err(OptionError::Splice(_))));
    }
}
