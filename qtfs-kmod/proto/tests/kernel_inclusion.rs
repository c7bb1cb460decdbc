//! The kernel modules include `src/lib.rs` as a `#[path]` submodule of a
//! `#![no_std]` crate with `panic=abort`; `check-as-module.sh` compiles
//! exactly that with `rustc`, and this test runs it.

use std::process::Command;

/// The crate's directory, from cargo at run time (a test binary reused
/// from a build in another checkout must read this checkout's files).
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into())
}

#[test]
fn compiles_as_a_kernel_style_path_module() {
    let script = manifest_dir().join("check-as-module.sh");
    let out = Command::new("sh")
        .arg(script)
        .output()
        .expect("run check-as-module.sh");
    assert!(
        out.status.success(),
        "check-as-module.sh failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sources_are_safe_code_without_crate_paths() {
    // Spelled in two halves so that `grep` over the crate finds only the
    // `forbid` attribute in lib.rs.
    let word = concat!("un", "safe");
    let forbid = format!("#![forbid({word}_code)]");
    let dir = manifest_dir().join("src");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if line.trim() != forbid {
                assert!(!line.contains(word), "{}:{}: {word}", path.display(), i + 1);
            }
            assert!(
                !code.contains("crate::"),
                "{}:{}: crate:: path breaks #[path] inclusion",
                path.display(),
                i + 1
            );
            assert!(
                !code.contains("$crate"),
                "{}:{}: $crate breaks #[path] inclusion",
                path.display(),
                i + 1
            );
            assert!(
                !code.contains("f32") && !code.contains("f64"),
                "{}:{}: float",
                path.display(),
                i + 1
            );
        }
    }
}
