//! The server's export list, `qtfs_exports`: comma-separated absolute HOST
//! directories, each with optional `:ro` and `:crossmnt` options, e.g.
//! `/srv/a,/srv/b:ro,/data:ro:crossmnt`. Validated here (the module checks
//! again) and handed to the kernel exactly as given: at load time
//! (`qtfsctl load server --exports`) or later through the writable module
//! parameter (`qtfsctl exports set`).

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};

/// Longest export path in bytes (PATH_MAX without the NUL), as the module.
pub const EXPORT_PATH_MAX: usize = 4095;

/// Where the loaded server shows, and takes, its export list.
pub const SYSFS_EXPORTS: &str = "/sys/module/qtfs_server/parameters/qtfs_exports";

/// One export of the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Export {
    pub path: String,
    /// `:ro`: every write operation beneath it is refused.
    pub read_only: bool,
    /// `:crossmnt`: file systems mounted beneath it are served too.
    pub crossmnt: bool,
}

/// A validated export list; displays as the string it was parsed from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportList {
    text: String,
    exports: Vec<Export>,
}

impl ExportList {
    /// Parses and validates `text` (see the module documentation).
    pub fn parse(text: &str) -> Result<ExportList> {
        if text.is_empty() {
            bail!("the export list is empty: expected /dir[:ro][:crossmnt][,/dir…]");
        }
        if let Some(c) = text
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || *c == '"')
        {
            bail!(
                "invalid export list {text:?}: {c:?} is not allowed (no spaces, quotes or control characters)"
            );
        }
        let mut exports: Vec<Export> = Vec::new();
        for (i, entry) in text.split(',').enumerate() {
            let e = parse_entry(entry).map_err(|why| {
                anyhow!("invalid export {} ({entry:?}) in {text:?}: {why}", i + 1)
            })?;
            if let Some(prev) = exports.iter().find(|p| same_dir(&p.path, &e.path)) {
                bail!(
                    "invalid export list {text:?}: {} and {} are the same directory",
                    prev.path,
                    e.path
                );
            }
            exports.push(e);
        }
        Ok(ExportList {
            text: text.to_string(),
            exports,
        })
    }

    /// One line per export: the path and what its options mean.
    pub fn describe(&self) -> String {
        self.exports
            .iter()
            .map(|e| {
                let mut what = vec![if e.read_only {
                    "read-only"
                } else {
                    "read-write"
                }];
                if e.crossmnt {
                    what.push("with the mounts beneath it");
                }
                format!("  {} ({})\n", e.path, what.join(", "))
            })
            .collect()
    }
}

impl fmt::Display for ExportList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for ExportList {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        ExportList::parse(s)
    }
}

fn parse_entry(entry: &str) -> std::result::Result<Export, String> {
    let mut parts = entry.split(':');
    let path = parts.next().unwrap_or_default();
    if path.is_empty() {
        return Err("empty path (a stray comma or colon?)".into());
    }
    if !path.starts_with('/') {
        return Err("not an absolute path".into());
    }
    if path.len() > EXPORT_PATH_MAX {
        return Err(format!("the path is longer than {EXPORT_PATH_MAX} bytes"));
    }
    if path.split('/').any(|c| c == "." || c == "..") {
        return Err("the path has a . or .. component".into());
    }
    let mut e = Export {
        path: path.to_string(),
        read_only: false,
        crossmnt: false,
    };
    for opt in parts {
        let flag = match opt {
            "ro" => &mut e.read_only,
            "crossmnt" => &mut e.crossmnt,
            "" => return Err("empty option (\"::\" or a trailing ':')".into()),
            other => return Err(format!("unknown option {other:?}: expected ro or crossmnt")),
        };
        if *flag {
            return Err(format!("option {opt:?} given twice"));
        }
        *flag = true;
    }
    Ok(e)
}

/// Whether two valid export paths name the same directory (repeated and
/// trailing slashes aside).
fn same_dir(a: &str, b: &str) -> bool {
    fn components(p: &str) -> impl Iterator<Item = &str> {
        p.split('/').filter(|c| !c.is_empty())
    }
    components(a).eq(components(b))
}

/// The parameter file beneath `root` (`/` on a real system).
fn param_file(root: &Path) -> PathBuf {
    root.join(SYSFS_EXPORTS.trim_start_matches('/'))
}

/// `qtfsctl exports show`: the loaded server's list.
pub fn show(root: &Path) -> Result<String> {
    let file = param_file(root);
    match fs::read_to_string(&file) {
        Ok(s) => Ok(s.trim_end_matches('\n').to_string()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(not_there(root)),
        Err(e) => Err(anyhow!("reading {}: {e}", file.display())),
    }
}

/// `qtfsctl exports set`: replaces the loaded server's list.
pub fn set(root: &Path, list: &ExportList) -> Result<()> {
    let file = param_file(root);
    // No O_CREAT: a missing parameter is an old module, not a file to make.
    let res = fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .and_then(|mut f| io::Write::write_all(&mut f, list.to_string().as_bytes()));
    match res {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(not_there(root)),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Err(anyhow!(
            "qtfs_server refused the export list '{list}': the kernel log (dmesg) says why"
        )),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Err(anyhow!(
            "writing {}: {e} (the list is root's to change; is it writable in this module?)",
            file.display()
        )),
        Err(e) => Err(anyhow!("writing {}: {e}", file.display())),
    }
}

fn not_there(root: &Path) -> anyhow::Error {
    if root.join("sys/module/qtfs_server").is_dir() {
        anyhow!("the loaded qtfs_server has no qtfs_exports parameter (a module from before export lists?)")
    } else {
        anyhow!("qtfs_server is not loaded")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_with_their_options_and_display_as_given() {
        let l = ExportList::parse("/srv/a,/srv/b:ro,/data:crossmnt:ro,/").unwrap();
        let e = &l.exports;
        assert_eq!(e.len(), 4);
        assert_eq!(
            (e[0].path.as_str(), e[0].read_only, e[0].crossmnt),
            ("/srv/a", false, false)
        );
        assert_eq!(
            (e[1].path.as_str(), e[1].read_only, e[1].crossmnt),
            ("/srv/b", true, false)
        );
        assert_eq!(
            (e[2].path.as_str(), e[2].read_only, e[2].crossmnt),
            ("/data", true, true)
        );
        assert_eq!(e[3].path, "/");
        assert_eq!(l.to_string(), "/srv/a,/srv/b:ro,/data:crossmnt:ro,/");
        assert_eq!(
            l.describe(),
            "  /srv/a (read-write)\n  /srv/b (read-only)\n  \
             /data (read-only, with the mounts beneath it)\n  / (read-write)\n"
        );
        // Harmless oddities the module accepts too.
        assert!(ExportList::parse("/srv//x/,/a.b/..c/.d").is_ok());
        let long = format!("/{}", "x".repeat(EXPORT_PATH_MAX - 1));
        assert!(ExportList::parse(&long).is_ok());
    }

    #[test]
    fn bad_lists_are_refused_with_the_reason() {
        let long = format!("/{}", "x".repeat(EXPORT_PATH_MAX));
        for (bad, why) in [
            ("", "empty"),
            ("srv/a", "not an absolute path"),
            ("/srv/a,", "empty path"),
            (",/srv/a", "empty path"),
            ("/srv/a,,/b", "empty path"),
            ("/srv/../etc", ". or .. component"),
            ("/srv/.", ". or .. component"),
            ("/..", ". or .. component"),
            ("/srv:rw", "unknown option \"rw\""),
            ("/srv:RO", "unknown option \"RO\""),
            ("/srv:ro:ro", "given twice"),
            ("/srv:", "empty option"),
            ("/srv::ro", "empty option"),
            (":ro", "empty path"),
            ("/a b", "not allowed"),
            ("/a\tb", "not allowed"),
            ("/a\"b", "not allowed"),
            ("/a\nb", "not allowed"),
            ("/srv/a,/srv/a/:ro", "the same directory"),
            ("/srv//a,/srv/a", "the same directory"),
            (long.as_str(), "longer than 4095"),
        ] {
            let err = ExportList::parse(bad).expect_err(bad).to_string();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
        let err = ExportList::parse("/ok,rel").unwrap_err().to_string();
        assert!(err.contains("invalid export 2 (\"rel\")"), "{err}");
    }

    fn fake_sysfs(with_param: bool) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("sys/module/qtfs_server/parameters");
        fs::create_dir_all(&dir).unwrap();
        if with_param {
            fs::write(dir.join("qtfs_exports"), "/old\n").unwrap();
        }
        root
    }

    #[test]
    fn set_writes_the_list_and_show_reads_it() {
        let root = fake_sysfs(true);
        assert_eq!(show(root.path()).unwrap(), "/old");
        let list = ExportList::parse("/a,/b:ro").unwrap();
        set(root.path(), &list).unwrap();
        let written = fs::read_to_string(param_file(root.path())).unwrap();
        assert_eq!(written, "/a,/b:ro", "no newline, nothing else");
        assert_eq!(show(root.path()).unwrap(), "/a,/b:ro");
    }

    #[test]
    fn a_missing_module_or_parameter_is_named() {
        let root = fake_sysfs(false);
        let list = ExportList::parse("/a").unwrap();
        let err = set(root.path(), &list).unwrap_err().to_string();
        assert!(err.contains("has no qtfs_exports parameter"), "{err}");
        assert!(
            !param_file(root.path()).exists(),
            "set must not create the parameter file"
        );
        let empty = tempfile::tempdir().unwrap();
        let err = show(empty.path()).unwrap_err().to_string();
        assert_eq!(err, "qtfs_server is not loaded");
        let err = set(empty.path(), &list).unwrap_err().to_string();
        assert_eq!(err, "qtfs_server is not loaded");
    }
}
