// SPDX-License-Identifier: GPL-2.0
//! Splicing of a qtfs mount of the HOST's /proc (`-o proc`): which names
//! at the mount's root stand for the calling DPU process's own entries in
//! the DPU's procfs rather than the HOST's. The rules are data (mount
//! options, see `docs/proc.md`); this file only parses and applies them.
//! Pure Rust on `core` only: unit-tested in userspace (`make unit`).
//!
//! A rule is `name:action`. `name` is a name at the mount's root, or
//! `{pid}`, which matches the caller's own thread-group id (its pid as
//! `getpid()` gives it), or `{pid}/<name>` (also written `self/<name>`,
//! as `self` links to `{pid}`): a name in the caller's own directory.
//! With such rules the caller's own directory is made here (its other
//! names stand for the DPU's `<localproc>/<pid>/<name>`, its listing is
//! the DPU's), so one entry can go elsewhere, e.g.
//! `self/mountinfo:link=../1/mountinfo` for the HOST's mount table.
//! Actions:
//! - `local`: a symlink to the same name in the DPU's procfs
//!   (`<localproc>/<name>`);
//! - `link=<template>`: a symlink to `<template>`, in which `{pid}`,
//!   `{tid}` and `{localproc}` are replaced by the caller's thread-group
//!   id, thread id and the DPU's procfs path;
//! - `host`: the HOST's entry (undoes a default rule; not for names in
//!   the caller's own directory).
//!
//! `-o proc` starts from the defaults `self:link={pid}`,
//! `thread-self:link={pid}/task/{tid}` and `{pid}:local`, so that an
//! unmodified program reading `/proc/self/...` or `/proc/<getpid()>/...`
//! sees itself, as on a local procfs.
#![forbid(unsafe_code)]

/// Most rules per mount.
pub(crate) const MAX_RULES: usize = 16;
/// Longest rule name.
pub(crate) const MAX_NAME: usize = 64;
/// Longest template, `localproc` path or expanded target.
pub(crate) const MAX_TARGET: usize = 256;

/// A short byte string kept inline (the options are `Copy`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Bytes<const N: usize> {
    len: usize,
    buf: [u8; N],
}

impl<const N: usize> Bytes<N> {
    pub(crate) const fn empty() -> Self {
        Bytes { len: 0, buf: [0; N] }
    }

    pub(crate) fn new(v: &[u8]) -> Option<Self> {
        let mut b = Self::empty();
        b.push(v).then_some(b)
    }

    fn push(&mut self, v: &[u8]) -> bool {
        let end = self.len + v.len();
        if end > N {
            return false;
        }
        self.buf[self.len..end].copy_from_slice(v);
        self.len = end;
        true
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// What a spliced name becomes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Action {
    /// The HOST's entry.
    Host,
    /// The DPU's entry of the same name.
    Local,
    /// A symlink to the template.
    Link(Bytes<MAX_TARGET>),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Rule {
    /// A literal name, or `{pid}`.
    pub(crate) name: Bytes<MAX_NAME>,
    pub(crate) action: Action,
}

/// Why a splice option was refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SpliceError {
    /// Not `name:action`, or a name with `.` or `..`, or with `/` other
    /// than one after `{pid}` (or `self`), or `host` for such a name.
    BadRule,
    /// An action other than `local`, `host`, `link=...`.
    BadAction,
    /// A template or path too long, or `localproc` not absolute.
    BadPath,
    /// More than [`MAX_RULES`].
    TooMany,
}

impl SpliceError {
    pub(crate) fn why(self) -> &'static str {
        match self {
            SpliceError::BadRule => {
                "a rule is <name>:<action>, name a single component, {pid} or {pid}/<component> (not host)"
            }
            SpliceError::BadAction => "the action is local, host or link=<template>",
            SpliceError::BadPath => "an absolute path (localproc) or template of at most 255 bytes",
            SpliceError::TooMany => "at most 16 splice rules",
        }
    }
}

/// The splicing of one mount.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Splice {
    /// `-o proc` was given: the rules apply at the mount's root.
    pub(crate) enabled: bool,
    /// Where the DPU's own procfs is mounted (`-o localproc=`, default
    /// `/proc`; a management plane whose /proc is this mount names the
    /// real one here).
    pub(crate) local_proc: Bytes<MAX_TARGET>,
    rules: [Option<Rule>; MAX_RULES],
}

/// The name that matches the caller's thread-group id.
const CALLER_PID: &[u8] = b"{pid}";
/// The prefix of a rule for a name in the caller's own directory.
const IN_CALLER_DIR: &[u8] = b"{pid}/";

impl Default for Splice {
    fn default() -> Self {
        Splice {
            enabled: false,
            local_proc: Bytes::new(b"/proc").unwrap_or(Bytes::empty()),
            rules: [None; MAX_RULES],
        }
    }
}

/// A decimal number's digits.
fn decimal(mut n: u32, out: &mut [u8; 10]) -> &[u8] {
    let mut i = out.len();
    loop {
        i -= 1;
        out[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &out[i..];
        }
    }
}

fn valid_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name != b"."
        && name != b".."
        && !name.contains(&b'/')
        && !name.contains(&0)
}

impl Splice {
    /// `-o proc`: splicing on, with the default rules (kept below any
    /// given before or after, which win).
    pub(crate) fn enable(&mut self) -> Result<(), SpliceError> {
        self.enabled = true;
        for (name, action) in [
            (&b"self"[..], &b"link={pid}"[..]),
            (b"thread-self", b"link={pid}/task/{tid}"),
            (CALLER_PID, b"local"),
        ] {
            if self.index_of(name).is_none() {
                self.set(name, parse_action(action)?)?;
            }
        }
        Ok(())
    }

    /// `-o localproc=<absolute path>`.
    pub(crate) fn set_local_proc(&mut self, path: &[u8]) -> Result<(), SpliceError> {
        if path.first() != Some(&b'/') || path.contains(&0) {
            return Err(SpliceError::BadPath);
        }
        let trimmed = match path {
            [b'/'] => path,
            [rest @ .., b'/'] => rest,
            _ => path,
        };
        self.local_proc = Bytes::new(trimmed).ok_or(SpliceError::BadPath)?;
        Ok(())
    }

    /// `-o splice=<name>:<action>` (a later rule for a name replaces an
    /// earlier one).
    pub(crate) fn add(&mut self, rule: &[u8]) -> Result<(), SpliceError> {
        let colon = rule.iter().position(|&c| c == b':').ok_or(SpliceError::BadRule)?;
        let (name, action) = (&rule[..colon], &rule[colon + 1..]);
        let action = parse_action(action)?;
        let inner = name.strip_prefix(IN_CALLER_DIR).or_else(|| name.strip_prefix(&b"self/"[..]));
        let Some(inner) = inner else {
            if !valid_name(name) {
                return Err(SpliceError::BadRule);
            }
            return self.set(name, action);
        };
        if !valid_name(inner) || action == Action::Host {
            return Err(SpliceError::BadRule);
        }
        let mut full = Bytes::<MAX_NAME>::empty();
        if !(full.push(IN_CALLER_DIR) && full.push(inner)) {
            return Err(SpliceError::BadRule);
        }
        self.set(full.as_bytes(), action)
    }

    /// Whether some rule is for a name in the caller's own directory (so
    /// that directory is made here while the `{pid}` rule is `local`).
    pub(crate) fn splits_caller_dir(&self) -> bool {
        let local_pid = self
            .index_of(CALLER_PID)
            .is_some_and(|i| self.rules[i].is_some_and(|r| r.action == Action::Local));
        local_pid && self.rules().any(|(_, r)| r.name.as_bytes().starts_with(IN_CALLER_DIR))
    }

    /// Whether rule `index` (the one that took a name at the root) makes
    /// the caller's own directory here ([`Self::splits_caller_dir`]).
    pub(crate) fn makes_caller_dir(&self, index: usize) -> bool {
        self.index_of(CALLER_PID) == Some(index) && self.splits_caller_dir()
    }

    /// The rule for `name` in the caller's own directory, if any.
    pub(crate) fn rule_in_caller_dir(&self, name: &[u8]) -> Option<usize> {
        self.rules().find_map(|(i, r)| (r.name.as_bytes().strip_prefix(IN_CALLER_DIR) == Some(name)).then_some(i))
    }

    /// What a name without a rule in the caller's own directory stands
    /// for: `<localproc>/<tgid>/<name>`.
    pub(crate) fn in_local_dir(&self, tgid: u32, name: &[u8]) -> Option<Bytes<MAX_TARGET>> {
        let mut out = Bytes::<MAX_TARGET>::empty();
        let mut digits = [0u8; 10];
        let ok = out.push(self.local_proc.as_bytes())
            && out.push(b"/")
            && out.push(decimal(tgid, &mut digits))
            && out.push(b"/")
            && out.push(name);
        ok.then_some(out)
    }

    fn index_of(&self, name: &[u8]) -> Option<usize> {
        self.rules
            .iter()
            .position(|r| r.as_ref().is_some_and(|r| r.name.as_bytes() == name))
    }

    fn set(&mut self, name: &[u8], action: Action) -> Result<(), SpliceError> {
        let rule = Rule {
            name: Bytes::new(name).ok_or(SpliceError::BadRule)?,
            action,
        };
        let slot = match self.index_of(name) {
            Some(i) => i,
            None => self
                .rules
                .iter()
                .position(Option::is_none)
                .ok_or(SpliceError::TooMany)?,
        };
        self.rules[slot] = Some(rule);
        Ok(())
    }

    /// The rules, in the order they were made.
    pub(crate) fn rules(&self) -> impl Iterator<Item = (usize, &Rule)> {
        self.rules
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.as_ref().map(|r| (i, r)))
    }

    /// The rule that applies to `name` at the root for a caller with
    /// thread-group id `tgid`, unless the name is the HOST's: its index.
    pub(crate) fn rule_for(&self, name: &[u8], tgid: u32) -> Option<usize> {
        if !self.enabled {
            return None;
        }
        let mut digits = [0u8; 10];
        let own_pid = name == decimal(tgid, &mut digits);
        let i = self.index_of(name).or_else(|| if own_pid { self.index_of(CALLER_PID) } else { None })?;
        match self.rules[i]?.action {
            Action::Host => None,
            _ => Some(i),
        }
    }

    /// The symlink target of rule `index` for a caller (`tgid`, `tid`);
    /// `None` if it does not fit.
    pub(crate) fn target(&self, index: usize, tgid: u32, tid: u32) -> Option<Bytes<MAX_TARGET>> {
        let rule = self.rules.get(index).copied().flatten()?;
        let mut out = Bytes::<MAX_TARGET>::empty();
        let mut digits = [0u8; 10];
        if let Some(inner) = rule.name.as_bytes().strip_prefix(IN_CALLER_DIR) {
            return match rule.action {
                Action::Local => self.in_local_dir(tgid, inner),
                Action::Link(t) => self.expand(t.as_bytes(), tgid, tid, &mut out).map(|_| out),
                Action::Host => None,
            };
        }
        let name = match rule.name.as_bytes() {
            CALLER_PID => decimal(tgid, &mut digits),
            n => n,
        };
        match rule.action {
            Action::Host => return None,
            Action::Local => {
                let ok = out.push(self.local_proc.as_bytes()) && out.push(b"/") && out.push(name);
                ok.then_some(())?;
            }
            Action::Link(t) => self.expand(t.as_bytes(), tgid, tid, &mut out)?,
        }
        Some(out)
    }

    fn expand(&self, mut t: &[u8], tgid: u32, tid: u32, out: &mut Bytes<MAX_TARGET>) -> Option<()> {
        let mut digits = [0u8; 10];
        while !t.is_empty() {
            let (piece, len): (&[u8], usize) = if t.starts_with(b"{pid}") {
                (decimal(tgid, &mut digits), 5)
            } else if t.starts_with(b"{tid}") {
                (decimal(tid, &mut digits), 5)
            } else if t.starts_with(b"{localproc}") {
                (self.local_proc.as_bytes(), 11)
            } else {
                (&t[..1], 1)
            };
            out.push(piece).then_some(())?;
            t = &t[len..];
        }
        Some(())
    }
}

fn parse_action(a: &[u8]) -> Result<Action, SpliceError> {
    match a {
        b"local" => Ok(Action::Local),
        b"host" => Ok(Action::Host),
        _ => {
            let t = a.strip_prefix(b"link=").ok_or(SpliceError::BadAction)?;
            if t.is_empty() || t.contains(&0) {
                return Err(SpliceError::BadPath);
            }
            Ok(Action::Link(Bytes::new(t).ok_or(SpliceError::BadPath)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(s: &Splice, name: &[u8], tgid: u32, tid: u32) -> Option<String> {
        let i = s.rule_for(name, tgid)?;
        Some(String::from_utf8(s.target(i, tgid, tid)?.as_bytes().to_vec()).unwrap())
    }

    #[test]
    fn off_unless_proc() {
        let s = Splice::default();
        assert_eq!(target(&s, b"self", 7, 7), None);
    }

    #[test]
    fn defaults_send_the_caller_to_its_own_entries() {
        let mut s = Splice::default();
        s.enable().unwrap();
        assert_eq!(target(&s, b"self", 412, 415).as_deref(), Some("412"));
        assert_eq!(target(&s, b"thread-self", 412, 415).as_deref(), Some("412/task/415"));
        assert_eq!(target(&s, b"412", 412, 415).as_deref(), Some("/proc/412"));
        // Another pid is the HOST's, as is everything else.
        assert_eq!(target(&s, b"413", 412, 415), None);
        assert_eq!(target(&s, b"1", 412, 415), None);
        assert_eq!(target(&s, b"meminfo", 412, 415), None);
        assert_eq!(target(&s, b"0412", 412, 415), None);
    }

    #[test]
    fn rules_and_localproc_change_the_defaults() {
        let mut s = Splice::default();
        s.add(b"{pid}:host").unwrap();
        s.add(b"net:local").unwrap();
        s.add(b"mounts:link={localproc}/{pid}/mounts").unwrap();
        s.set_local_proc(b"/local_proc/").unwrap();
        s.enable().unwrap();
        assert_eq!(target(&s, b"412", 412, 412), None);
        assert_eq!(target(&s, b"net", 412, 412).as_deref(), Some("/local_proc/net"));
        assert_eq!(target(&s, b"mounts", 9, 9).as_deref(), Some("/local_proc/9/mounts"));
        assert_eq!(target(&s, b"self", 9, 9).as_deref(), Some("9"));
        // A later rule replaces an earlier one of the same name.
        s.add(b"net:host").unwrap();
        assert_eq!(target(&s, b"net", 9, 9), None);
        assert_eq!(s.rules().count(), 5);
    }

    #[test]
    fn rules_in_the_callers_own_directory() {
        let mut s = Splice::default();
        s.enable().unwrap();
        assert!(!s.splits_caller_dir());
        s.add(b"self/mountinfo:link=../1/mountinfo").unwrap();
        s.add(b"{pid}/cgroup:local").unwrap();
        assert!(s.splits_caller_dir());
        let m = s.rule_in_caller_dir(b"mountinfo").unwrap();
        assert_eq!(s.target(m, 412, 415).unwrap().as_bytes(), b"../1/mountinfo");
        let c = s.rule_in_caller_dir(b"cgroup").unwrap();
        assert_eq!(s.target(c, 412, 415).unwrap().as_bytes(), b"/proc/412/cgroup");
        assert_eq!(s.rule_in_caller_dir(b"status"), None);
        assert_eq!(s.in_local_dir(412, b"status").unwrap().as_bytes(), b"/proc/412/status");
        // They are not rules of the root.
        assert_eq!(s.rule_for(b"mountinfo", 412), None);
        // Only while the caller's directory is the DPU's.
        s.add(b"{pid}:host").unwrap();
        assert!(!s.splits_caller_dir());
        // Refused: host, deeper names, other directories.
        assert_eq!(s.add(b"self/mountinfo:host"), Err(SpliceError::BadRule));
        assert_eq!(s.add(b"self/a/b:local"), Err(SpliceError::BadRule));
        assert_eq!(s.add(b"self/..:local"), Err(SpliceError::BadRule));
        assert_eq!(s.add(b"1/mountinfo:local"), Err(SpliceError::BadRule));
    }

    #[test]
    fn refusals() {
        let mut s = Splice::default();
        assert_eq!(s.add(b"self"), Err(SpliceError::BadRule));
        assert_eq!(s.add(b"a/b:local"), Err(SpliceError::BadRule));
        assert_eq!(s.add(b"..:local"), Err(SpliceError::BadRule));
        assert_eq!(s.add(b":local"), Err(SpliceError::BadRule));
        assert_eq!(s.add(b"x:remote"), Err(SpliceError::BadAction));
        assert_eq!(s.add(b"x:link="), Err(SpliceError::BadPath));
        assert_eq!(s.add(&[b"x:link=".as_slice(), &[b'a'; 300]].concat()), Err(SpliceError::BadPath));
        assert_eq!(s.set_local_proc(b"proc"), Err(SpliceError::BadPath));
        for i in 0..MAX_RULES {
            s.add(format!("n{i}:local").as_bytes()).unwrap();
        }
        assert_eq!(s.add(b"one-more:local"), Err(SpliceError::TooMany));
        assert_eq!(s.enable(), Err(SpliceError::TooMany));
        assert_eq!(SpliceError::TooMany.why(), "at most 16 splice rules");
    }

    #[test]
    fn expansion_that_overflows_is_refused() {
        let mut s = Splice::default();
        let long = [b"x:link=".as_slice(), &[b'a'; 200], b"{localproc}{localproc}"].concat();
        s.add(&long).unwrap();
        s.set_local_proc(&[b"/".as_slice(), &[b'p'; 200]].concat()).unwrap();
        s.enable().unwrap();
        assert_eq!(target(&s, b"x", 1, 1), None);
    }
}
