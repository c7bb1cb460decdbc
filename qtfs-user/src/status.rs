//! What `qtfsctl status` reports: the modules' state and parameters from
//! sysfs, their runtime state and per-operation counters from their status
//! files (`/proc/fs/<module>/status`, format in docs/status.md), the `qtfs`
//! file system type and qtfs mounts (with their /proc splice rules) from
//! procfs. Every path is read beneath a root directory so that tests can use
//! a fake tree.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::kmod::Role;

/// One module's state.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ModuleStatus {
    pub role: Role,
    pub name: &'static str,
    pub loaded: bool,
    /// `live`, `coming` or `going` while loaded.
    pub state: Option<String>,
    /// How many users hold the module (mounts, open connections).
    pub refcount: Option<u32>,
    pub parameters: BTreeMap<String, String>,
    /// What the module's status file says, while loaded.
    pub runtime: Option<Runtime>,
}

/// A module's status file: its `key value` lines and its counters.
#[derive(Debug, Serialize, PartialEq, Eq, Default)]
pub struct Runtime {
    /// `log_level`, `server`/`connection` (client), `listen`/`sessions`
    /// (server)...
    pub info: BTreeMap<String, String>,
    /// Requests answered, all opcodes together.
    pub round_trips: u64,
    pub ops: Vec<OpCounters>,
}

/// One opcode's counters.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct OpCounters {
    pub name: String,
    pub calls: u64,
    pub errors: u64,
    /// Sent without awaiting a reply (Forget, Release, Cancel).
    pub oneway: u64,
    pub total_us: u64,
    /// Latency buckets: bucket 0 under 1 µs, bucket i in [2^(i-1), 2^i) µs.
    pub histogram_us: Vec<u64>,
}

impl OpCounters {
    /// The upper bound (µs) of the bucket holding the `q` quantile.
    pub fn quantile_us(&self, q: f64) -> Option<u64> {
        let total: u64 = self.histogram_us.iter().sum();
        if total == 0 {
            return None;
        }
        let want = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, n) in self.histogram_us.iter().enumerate() {
            seen += n;
            if seen >= want {
                return Some(1u64 << i);
            }
        }
        None
    }
}

/// Parses a status file's text; unknown lines are ignored (newer modules
/// may add some), malformed `op` lines too.
pub fn parse_runtime(text: &str) -> Runtime {
    let mut r = Runtime::default();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        match (f.next(), f.next()) {
            (Some("op"), Some(name)) => {
                let n: Vec<u64> = f.filter_map(|v| v.parse().ok()).collect();
                if n.len() >= 4 {
                    r.ops.push(OpCounters {
                        name: name.to_owned(),
                        calls: n[0],
                        errors: n[1],
                        oneway: n[2],
                        total_us: n[3],
                        histogram_us: n[4..].to_vec(),
                    });
                }
            }
            (Some("round_trips"), Some(v)) => r.round_trips = v.parse().unwrap_or(0),
            (Some(key), Some(v)) if key != "qtfs-status" => {
                let rest: Vec<&str> = f.collect();
                let value = if rest.is_empty() {
                    v.to_owned()
                } else {
                    format!("{v} {}", rest.join(" "))
                };
                r.info.insert(key.to_owned(), value);
            }
            _ => {}
        }
    }
    r
}

/// One mounted qtfs file system.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Mount {
    pub source: String,
    pub target: String,
    pub options: String,
}

/// Everything `qtfsctl status` shows.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Status {
    pub modules: Vec<ModuleStatus>,
    pub filesystem_registered: bool,
    pub mounts: Vec<Mount>,
}

/// Read the status beneath `root` (`/` on a real system).
pub fn read(root: &Path) -> io::Result<Status> {
    let modules = Role::ALL
        .iter()
        .map(|&role| read_module(root, role))
        .collect::<io::Result<Vec<_>>>()?;
    let filesystems = read_optional(&root.join("proc/filesystems"))?.unwrap_or_default();
    let mounts = read_optional(&root.join("proc/mounts"))?.unwrap_or_default();
    Ok(Status {
        modules,
        filesystem_registered: filesystems
            .lines()
            .any(|line| line.split_whitespace().last() == Some("qtfs")),
        mounts: parse_qtfs_mounts(&mounts),
    })
}

fn read_module(root: &Path, role: Role) -> io::Result<ModuleStatus> {
    let name = role.module_name();
    let dir: PathBuf = root.join("sys/module").join(name);
    let state = read_optional(&dir.join("initstate"))?.map(|s| s.trim().to_owned());
    let refcount = read_optional(&dir.join("refcnt"))?.and_then(|s| s.trim().parse().ok());
    let mut parameters = BTreeMap::new();
    match fs::read_dir(dir.join("parameters")) {
        Ok(entries) => {
            for entry in entries {
                let entry = entry?;
                let value = read_optional(&entry.path())?.unwrap_or_default();
                parameters.insert(
                    entry.file_name().to_string_lossy().into_owned(),
                    value.trim_end_matches('\n').to_owned(),
                );
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let runtime =
        read_optional(&root.join("proc/fs").join(name).join("status"))?.map(|t| parse_runtime(&t));
    Ok(ModuleStatus {
        role,
        name,
        runtime,
        // A module that is built in has no initstate; ours never are.
        loaded: state.is_some(),
        state,
        refcount,
        parameters,
    })
}

/// The qtfs entries of a /proc/mounts text (fields: source target type
/// options …, with octal escapes left as the kernel wrote them).
fn parse_qtfs_mounts(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (source, target, fstype, options) = (
                fields.next()?,
                fields.next()?,
                fields.next()?,
                fields.next()?,
            );
            (fstype == "qtfs").then(|| Mount {
                source: source.to_owned(),
                target: target.to_owned(),
                options: options.to_owned(),
            })
        })
        .collect()
}

fn read_optional(path: &Path) -> io::Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for module in &self.modules {
            match &module.state {
                Some(state) => {
                    write!(
                        f,
                        "{:<12} {} ({})",
                        module.name,
                        state,
                        format_role(module.role)
                    )?;
                    if let Some(refs) = module.refcount {
                        write!(f, ", {refs} users")?;
                    }
                    writeln!(f)?;
                    for (key, value) in &module.parameters {
                        writeln!(f, "  {key} = {value}")?;
                    }
                    if let Some(rt) = &module.runtime {
                        write_runtime(f, rt)?;
                    }
                }
                None => writeln!(f, "{:<12} not loaded", module.name)?,
            }
        }
        let registered = if self.filesystem_registered {
            "registered"
        } else {
            "not registered"
        };
        writeln!(f, "file system type qtfs: {registered}")?;
        if self.mounts.is_empty() {
            writeln!(f, "no qtfs mounts")?;
        }
        for mount in &self.mounts {
            writeln!(
                f,
                "mount {} on {} ({})",
                mount.source, mount.target, mount.options
            )?;
            for rule in mount
                .options
                .split(',')
                .filter_map(|o| o.strip_prefix("splice="))
            {
                writeln!(f, "  splice {rule}")?;
            }
        }
        Ok(())
    }
}

fn write_runtime(f: &mut fmt::Formatter<'_>, rt: &Runtime) -> fmt::Result {
    for (key, value) in &rt.info {
        writeln!(f, "  {key}: {value}")?;
    }
    writeln!(f, "  round trips: {}", rt.round_trips)?;
    if rt.ops.is_empty() {
        return Ok(());
    }
    writeln!(
        f,
        "  {:<12} {:>10} {:>8} {:>8} {:>10} {:>10} {:>10}",
        "operation", "calls", "errors", "oneway", "mean µs", "p50 ≤µs", "p99 ≤µs"
    )?;
    for op in &rt.ops {
        let mean = op.total_us.checked_div(op.calls).unwrap_or(0);
        let q = |x| op.quantile_us(x).map_or("-".to_owned(), |v| v.to_string());
        writeln!(
            f,
            "  {:<12} {:>10} {:>8} {:>8} {:>10} {:>10} {:>10}",
            op.name,
            op.calls,
            op.errors,
            op.oneway,
            mean,
            q(0.5),
            q(0.99)
        )?;
    }
    Ok(())
}

fn format_role(role: Role) -> &'static str {
    match role {
        Role::Client => "client",
        Role::Server => "server",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn reports_a_loaded_client_with_its_parameters_and_mounts() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        write(r, "sys/module/qtfs/initstate", "live\n");
        write(r, "sys/module/qtfs/refcnt", "2\n");
        write(
            r,
            "sys/module/qtfs/parameters/qtfs_server_ip",
            "10.10.0.1\n",
        );
        write(r, "sys/module/qtfs/parameters/qtfs_server_port", "12345\n");
        write(r, "proc/filesystems", "nodev\tsysfs\nnodev\tqtfs\n\text4\n");
        write(
            r,
            "proc/mounts",
            "proc /proc proc rw 0 0\n/proc /mnt/host\\040proc qtfs rw,proc 0 0\n",
        );

        let status = read(r).unwrap();
        let client = &status.modules[0];
        assert_eq!(client.name, "qtfs");
        assert!(client.loaded);
        assert_eq!(client.refcount, Some(2));
        assert_eq!(client.parameters["qtfs_server_ip"], "10.10.0.1");
        assert!(!status.modules[1].loaded);
        assert!(status.filesystem_registered);
        assert_eq!(
            status.mounts,
            vec![Mount {
                source: "/proc".into(),
                target: "/mnt/host\\040proc".into(),
                options: "rw,proc".into(),
            }]
        );
        let text = status.to_string();
        assert!(
            text.contains("qtfs         live (client), 2 users"),
            "{text}"
        );
        assert!(text.contains("qtfs_server  not loaded"), "{text}");
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(
            json["modules"][0]["parameters"]["qtfs_server_port"],
            "12345"
        );
        assert_eq!(json["filesystem_registered"], true);
    }

    #[test]
    fn reads_the_reconnect_lines() {
        let rt = parse_runtime(
            "qtfs-status 1\nmodule client\nserver 10.10.0.1:12345\nconnection reconnecting\n\
             session 7\nreconnects 2\nconnect_failures 4\nretry_in_ms 1600\n\
             last_connect_error 111\nround_trips 9\n",
        );
        assert_eq!(rt.info["connection"], "reconnecting");
        assert_eq!(rt.info["session"], "7");
        assert_eq!(rt.info["reconnects"], "2");
        assert_eq!(rt.info["connect_failures"], "4");
        assert_eq!(rt.info["retry_in_ms"], "1600");
        assert_eq!(rt.info["last_connect_error"], "111");
        assert_eq!(rt.round_trips, 9);
    }

    #[test]
    fn reads_the_status_file_and_splice_rules() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        write(r, "sys/module/qtfs/initstate", "live\n");
        write(
            r,
            "proc/fs/qtfs/status",
            "qtfs-status 1\nmodule client\nlog_level info\nserver 10.10.0.1:12345\n\
             connection connected\nround_trips 5\n\
             op Lookup 3 1 0 9000 0 0 0 0 0 0 0 0 0 0 0 0 3 0 0 0 0 0 0 0 0\n\
             op Forget 0 0 2 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n\
             op broken x\nsomething new here\n",
        );
        write(
            r,
            "proc/mounts",
            "/proc /mnt/hp qtfs rw,proc,localproc=/proc,splice=self:link={pid},splice={pid}:local 0 0\n",
        );
        let status = read(r).unwrap();
        let rt = status.modules[0].runtime.as_ref().unwrap();
        assert_eq!(rt.info["connection"], "connected");
        assert_eq!(rt.info["something"], "new here");
        assert_eq!(rt.round_trips, 5);
        assert_eq!(rt.ops.len(), 2);
        assert_eq!(rt.ops[0].name, "Lookup");
        assert_eq!(rt.ops[0].quantile_us(0.5), Some(4096));
        assert_eq!(rt.ops[1].oneway, 2);
        assert_eq!(rt.ops[1].quantile_us(0.5), None);
        assert!(status.modules[1].runtime.is_none());
        let text = status.to_string();
        assert!(text.contains("  connection: connected"), "{text}");
        assert!(text.contains("  splice {pid}:local"), "{text}");
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with("Lookup") && l.contains(" 3000 ")),
            "{text}"
        );
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json["modules"][0]["runtime"]["ops"][0]["calls"], 3);
    }

    #[test]
    fn an_empty_system_reports_nothing_loaded() {
        let root = tempfile::tempdir().unwrap();
        let status = read(root.path()).unwrap();
        assert!(status.modules.iter().all(|m| !m.loaded));
        assert!(!status.filesystem_registered);
        assert!(status.mounts.is_empty());
    }

    #[test]
    fn a_file_system_named_like_qtfs_is_not_qtfs() {
        let root = tempfile::tempdir().unwrap();
        write(root.path(), "proc/filesystems", "nodev\tqtfsx\n");
        assert!(!read(root.path()).unwrap().filesystem_registered);
    }
}
