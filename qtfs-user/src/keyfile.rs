//! The pre-shared key for `qtfsctl load`: read from a file that only its
//! owner may read or write, and handed to the kernel only inside the
//! `finit_module` parameter string (never on a command line, never printed).

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use anyhow::{bail, Context, Result};

/// Key files are tiny; anything much longer is not a key file.
const MAX_KEY_FILE: u64 = 4096;

/// The key as the `qtfs_auth_key` parameter takes it: 64 hex digits.
/// Neither `Debug` nor `Display` shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthKey(String);

impl AuthKey {
    /// Parses a key file's content: exactly 64 hex digits (either case),
    /// optionally followed by one newline (`\n` or `\r\n`).
    pub fn parse(content: &str) -> Result<AuthKey> {
        let hex = content
            .strip_suffix("\r\n")
            .or_else(|| content.strip_suffix('\n'))
            .unwrap_or(content);
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!(
                "the key file must hold exactly 64 hex digits (32 bytes) and at most a trailing newline"
            );
        }
        Ok(AuthKey(hex.to_string()))
    }

    /// The 64 hex digits, for the parameter string only.
    pub fn hex(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthKey(hidden)")
    }
}

impl fmt::Display for AuthKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(hidden)")
    }
}

/// Reads the key from `path`: a regular file (symbolic links followed) that
/// neither its group nor others may read or write (mode & 0o077 == 0).
pub fn read(path: &Path) -> Result<AuthKey> {
    // O_NONBLOCK: a FIFO must not hang the open; its type is refused below.
    let file: File = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .with_context(|| format!("opening the key file {}", path.display()))?;
    // The checks apply to the file opened, not to whatever the path names
    // a moment later.
    let meta = file
        .metadata()
        .with_context(|| format!("key file {}", path.display()))?;
    if !meta.file_type().is_file() {
        bail!("key file {}: not a regular file", path.display());
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        bail!(
            "key file {}: its group or others may access it (mode {mode:04o}); \
             make it private first: chmod 600 {}",
            path.display(),
            path.display()
        );
    }
    if meta.len() > MAX_KEY_FILE {
        bail!(
            "key file {}: {} bytes, not a key (64 hex digits)",
            path.display(),
            meta.len()
        );
    }
    let mut content = String::new();
    file.take(MAX_KEY_FILE)
        .read_to_string(&mut content)
        .with_context(|| format!("reading the key file {}", path.display()))?;
    AuthKey::parse(&content).with_context(|| format!("key file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const HEX: &str = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";

    fn key_file(dir: &Path, content: &str, mode: u32) -> std::path::PathBuf {
        let p = dir.join(format!("key-{mode:o}-{}", content.len()));
        std::fs::write(&p, content).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn content_is_64_hex_digits_with_at_most_a_newline() {
        assert_eq!(AuthKey::parse(HEX).unwrap().hex(), HEX);
        assert_eq!(AuthKey::parse(&format!("{HEX}\n")).unwrap().hex(), HEX);
        assert_eq!(AuthKey::parse(&format!("{HEX}\r\n")).unwrap().hex(), HEX);
        for bad in [
            String::new(),
            "\n".to_string(),
            HEX[..63].to_string(),
            format!("{HEX}0"),
            format!("{HEX}\n\n"),
            format!(" {HEX}"),
            format!("{HEX} "),
            format!("{}g", &HEX[..63]),
            format!("0x{}", &HEX[..62]),
        ] {
            let err = AuthKey::parse(&bad).expect_err(&bad).to_string();
            assert!(err.contains("exactly 64 hex digits"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn the_key_is_never_shown() {
        let k = AuthKey::parse(HEX).unwrap();
        assert!(!format!("{k:?} {k}").contains(&HEX[..8]));
    }

    #[test]
    fn private_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        for mode in [0o600, 0o400, 0o700, 0o200 | 0o400] {
            let p = key_file(dir.path(), &format!("{HEX}\n"), mode);
            assert_eq!(read(&p).unwrap().hex(), HEX, "mode {mode:o}");
        }
    }

    #[test]
    fn files_others_may_access_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for mode in [0o644, 0o640, 0o604, 0o620, 0o602, 0o610, 0o601, 0o666] {
            let p = key_file(dir.path(), HEX, mode);
            let err = format!("{:#}", read(&p).unwrap_err());
            assert!(
                err.contains(&format!("mode {mode:04o}")) && err.contains("chmod 600"),
                "{err}"
            );
            assert!(!err.contains(&HEX[..8]), "the key leaked into: {err}");
        }
    }

    #[test]
    fn other_file_types_and_bad_content_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = format!("{:#}", read(dir.path()).unwrap_err());
        assert!(err.contains("not a regular file"), "{err}");
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = format!("{:#}", read(&fifo).unwrap_err());
        assert!(err.contains("not a regular file"), "{err}");
        let err = format!("{:#}", read(&dir.path().join("absent")).unwrap_err());
        assert!(err.contains("opening the key file"), "{err}");
        let p = key_file(dir.path(), "not a key", 0o600);
        let err = format!("{:#}", read(&p).unwrap_err());
        assert!(err.contains("exactly 64 hex digits"), "{err}");
        let p = key_file(dir.path(), &"0".repeat(5000), 0o600);
        let err = format!("{:#}", read(&p).unwrap_err());
        assert!(err.contains("5000 bytes"), "{err}");
        // A symbolic link is followed: the target's mode counts.
        let target = key_file(dir.path(), HEX, 0o644);
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = format!("{:#}", read(&link).unwrap_err());
        assert!(err.contains("mode 0644"), "{err}");
    }
}
