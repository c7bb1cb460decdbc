//! Keeps `docs/protocol.md` and the code in agreement. Every table between
//! `<!-- BEGIN GENERATED: x -->` and `<!-- END GENERATED: x -->` is
//! generated here from the code's constants and message definitions; the
//! document must contain exactly that (so a value missing or different on
//! either side fails). After changing the protocol, regenerate with
//! `QTFS_BLESS_DOCS=1 cargo test -p qtfs-proto --test doc_sync`.

use std::collections::BTreeMap;
use std::fmt::Write;

use qtfs_proto::attr::{FileMode, Permissions};
use qtfs_proto::errno::ALL_ERRNOS;
use qtfs_proto::flags::MountFlags;
use qtfs_proto::frame::OperationLayout;
use qtfs_proto::handshake::{ClientAuth, ServerHello, MIN_KEY_LEN, NONCE_LEN, TRANSCRIPT_LEN};
use qtfs_proto::*;

/// The crate's directory, from cargo at run time (a test binary reused
/// from a build in another checkout must read this checkout's files).
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into())
}

fn doc_path() -> std::path::PathBuf {
    manifest_dir().join("../../docs/protocol.md")
}

fn layout<T: Describe>() -> (&'static str, &'static [Field], &'static str) {
    (T::NAME, T::FIELDS, T::DOC)
}

/// Structures documented once and referred to by name.
fn shared_structs() -> Vec<(&'static str, &'static [Field], &'static str)> {
    vec![
        layout::<Credentials<'static>>(),
        layout::<WireAttr>(),
        layout::<Timestamp>(),
        layout::<TimeUpdate>(),
        layout::<StatFs>(),
        layout::<DirEntry<'static>>(),
        layout::<PollEventBody>(),
    ]
}

fn strip_lifetime(ty: &str) -> String {
    ty.replace(' ', "").replace("<'a>", "")
}

/// Wire type and size of a field type, as the document spells them.
fn wire_type(ty: &str) -> (String, String) {
    let ty = strip_lifetime(ty);
    let fixed = |wire: &str, size: usize| (wire.to_string(), size.to_string());
    match ty.as_str() {
        "u8" | "u16" | "u32" | "u64" | "i32" | "i64" => {
            let bits: usize = ty[1..].parse().unwrap();
            fixed(&ty, bits / 8)
        }
        "bool" => fixed("u8 (0 or 1)", 1),
        "[u8;32]" => fixed("[u8; 32]", 32),
        "Magic" => fixed("u32 = MAGIC", 4),
        "Capabilities" => fixed("u64 bits", 8),
        "Permissions" => fixed("u32 (≤ 0o7777)", 4),
        "IoSize" => fixed("u32 (≤ MAX_IO_SIZE)", 4),
        "XattrSize" => fixed("u32 (≤ MAX_XATTR_VALUE_LEN)", 4),
        "XattrListSize" => fixed("u32 (≤ MAX_XATTR_LIST_LEN)", 4),
        "Signal" => fixed("u32 (≤ 64)", 4),
        "FileMode" => fixed("u32 (type + permissions)", 4),
        "Whence" => fixed("u8 enum `Whence`", 1),
        "FileType" => fixed("u8 enum `FileType`", 1),
        "Timestamp" | "TimeUpdate" => (format!("`{ty}`"), "12".into()),
        "WireAttr" => (format!("`{ty}`"), "112".into()),
        "StatFs" => (format!("`{ty}`"), "72".into()),
        "OpenFlags" | "RenameFlags" | "SetAttrMask" | "XattrFlags" | "UmountFlags"
        | "PollEvents" | "NodeFlags" | "FallocFlags" => (format!("u32 flags `{ty}`"), "4".into()),
        "MountFlags" => (format!("u64 flags `{ty}`"), "8".into()),
        "Groups" => (
            "u32 count + count × u32".into(),
            "4 + 4n (n ≤ MAX_GROUPS)".into(),
        ),
        "DirEntries" => ("u32 count + count × `DirEntry`".into(), "variable".into()),
        "Name" | "Path" | "Data" | "XattrName" | "XattrValue" | "XattrNames" | "FsType"
        | "MountData" => (format!("bytes `{ty}`"), "4 + n".into()),
        other => panic!("type {other} has no documented wire form; add it to wire_type()"),
    }
}

/// Turns stringified doc attributes (`doc = r" text"`, one per line of
/// the doc comment) into one line of text.
fn doc_text(doc: &str) -> String {
    let mut parts = Vec::new();
    let mut rest = doc;
    while let Some(start) = rest.find("r\"") {
        let after = &rest[start + 2..];
        let Some(stop) = after.find('"') else { break };
        // Rustdoc links `[`X`]` read as plain `X` in the document.
        let text = after[..stop].trim().replace("[`", "`").replace("`]", "`");
        parts.push(text.replace('|', "\\|"));
        rest = &after[stop + 1..];
    }
    parts.join(" ")
}

fn field_table(out: &mut String, fields: &[Field]) {
    if fields.is_empty() {
        out.push_str("(no fields)\n\n");
        return;
    }
    out.push_str("| field | wire type | bytes | meaning |\n| --- | --- | --- | --- |\n");
    for f in fields {
        let (wire, size) = wire_type(f.ty);
        writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            f.name,
            wire,
            size,
            doc_text(f.doc)
        )
        .unwrap();
    }
    out.push('\n');
}

fn cap_name(cap: Capabilities) -> String {
    if cap == Capabilities::NONE {
        return "—".into();
    }
    Capabilities::ALL
        .iter()
        .filter(|(_, c)| cap.contains(*c))
        .map(|(n, _)| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn flag_table<T: Copy>(out: &mut String, title: &str, all: &[(&str, T)], bits: impl Fn(T) -> u64) {
    writeln!(out, "`{title}`:\n\n| name | value |\n| --- | --- |").unwrap();
    for (name, v) in all {
        writeln!(out, "| `{name}` | {:#x} |", bits(*v)).unwrap();
    }
    out.push('\n');
}

fn sections() -> BTreeMap<&'static str, String> {
    let mut s = BTreeMap::new();

    let mut t = String::from("| constant | value |\n| --- | --- |\n");
    writeln!(t, "| `HEADER_LEN` | {HEADER_LEN} |").unwrap();
    for (name, v) in ALL_LIMITS {
        writeln!(t, "| `{name}` | {v} |").unwrap();
    }
    writeln!(t, "| `NONCE_LEN` | {NONCE_LEN} |").unwrap();
    writeln!(t, "| `TRANSCRIPT_LEN` | {TRANSCRIPT_LEN} |").unwrap();
    writeln!(t, "| `MIN_KEY_LEN` | {MIN_KEY_LEN} |").unwrap();
    writeln!(t, "| `MAGIC` | {:#010x} (`\"QTFS\"`) |", handshake::MAGIC).unwrap();
    writeln!(t, "| `PROTOCOL_VERSION` | {} |", PROTOCOL_VERSION).unwrap();
    writeln!(
        t,
        "| `MIN_PROTOCOL_VERSION` | {} |",
        handshake::MIN_PROTOCOL_VERSION
    )
    .unwrap();
    s.insert("constants", t);

    let mut layouts = Vec::new();
    Request::for_each_layout(|l| layouts.push(l));
    let mut t = String::from(
        "| opcode | value | request | reply | capability |\n| --- | --- | --- | --- | --- |\n",
    );
    for op in Opcode::ALL {
        let (req, rep) = match op {
            Opcode::Hello => ("`Hello`".to_string(), "`ServerHello`".to_string()),
            Opcode::Auth => ("`ClientAuth`".to_string(), "empty".to_string()),
            Opcode::PollEvent => (
                "— (server event)".to_string(),
                "`PollEventBody`".to_string(),
            ),
            _ => {
                let l: &OperationLayout = layouts.iter().find(|l| l.opcode == *op).unwrap();
                (format!("`{}`", l.request), format!("`{}`", l.reply))
            }
        };
        writeln!(
            t,
            "| `{}` | {:#06x} | {} | {} | {} |",
            op.name(),
            op.to_u16(),
            req,
            rep,
            cap_name(op.required_capability())
        )
        .unwrap();
    }
    s.insert("opcodes", t);

    let mut t = String::from("| flag | value |\n| --- | --- |\n");
    for (name, f) in FrameFlags::ALL {
        writeln!(t, "| `{name}` | {:#06x} |", f.bits()).unwrap();
    }
    s.insert("header-flags", t);

    let mut t = String::from("| capability | bit |\n| --- | --- |\n");
    for (name, c) in Capabilities::ALL {
        writeln!(t, "| `{name}` | {:#x} |", c.bits()).unwrap();
    }
    s.insert("capabilities", t);

    // Byte strings: the lengths come from the types, and the stated
    // minimum and maximum are checked against the constructors.
    let mut t = String::from("| type | length | rules |\n| --- | --- | --- |\n");
    macro_rules! byte_string {
        ($ty:ident, $filler:expr, $rules:expr) => {{
            let max = $ty::MAX_LEN as usize;
            let min = usize::from($ty::new(b"").is_none());
            let mut ok = vec![$filler; max];
            let mut over = vec![$filler; max + 1];
            if stringify!($ty) == "XattrNames" {
                *ok.last_mut().unwrap() = 0;
                *over.last_mut().unwrap() = 0;
            }
            assert!(
                $ty::new(&ok).is_some(),
                "{} accepts its maximum",
                stringify!($ty)
            );
            assert!(
                $ty::new(&over).is_none(),
                "{} rejects above its maximum",
                stringify!($ty)
            );
            writeln!(
                t,
                "| `{}` | {}..={} | {} |",
                stringify!($ty),
                min,
                max,
                $rules
            )
            .unwrap();
        }};
    }
    byte_string!(Name, b'n', "no NUL, no `/`, not `.` or `..` (`NAME_MAX`)");
    byte_string!(
        Path,
        b'/',
        "no NUL (`PATH_MAX`): export path, mount source, symlink target"
    );
    byte_string!(Data, 0u8, "any bytes");
    byte_string!(
        XattrName,
        b'x',
        "no NUL; includes the namespace (`user.`, `trusted.`, ...)"
    );
    byte_string!(XattrValue, 0u8, "any bytes");
    byte_string!(
        XattrNames,
        b'a',
        "empty, or non-empty names each followed by a NUL"
    );
    byte_string!(FsType, b't', "no NUL");
    byte_string!(MountData, b'o', "any bytes");
    s.insert("byte-strings", t);

    let mut t = String::from("| errno | value |\n| --- | --- |\n");
    for (name, e) in ALL_ERRNOS {
        writeln!(t, "| `{name}` | {} |", e.get()).unwrap();
    }
    s.insert("errno", t);

    let mut t = String::new();
    flag_table(&mut t, "NodeFlags", NodeFlags::ALL, |f| f.bits().into());
    flag_table(&mut t, "FallocFlags", FallocFlags::ALL, |f| f.bits().into());
    flag_table(&mut t, "OpenFlags", OpenFlags::ALL, |f| f.bits().into());
    flag_table(&mut t, "RenameFlags", RenameFlags::ALL, |f| f.bits().into());
    flag_table(&mut t, "SetAttrMask", SetAttrMask::ALL, |f| f.bits().into());
    flag_table(&mut t, "XattrFlags", XattrFlags::ALL, |f| f.bits().into());
    flag_table(&mut t, "UmountFlags", UmountFlags::ALL, |f| f.bits().into());
    flag_table(&mut t, "PollEvents", PollEvents::ALL, |f| f.bits().into());
    flag_table(&mut t, "MountFlags", MountFlags::ALL, |f| f.bits());
    flag_table(&mut t, "Whence", Whence::ALL, |w| w as u64);
    flag_table(&mut t, "FileType", FileType::ALL, |f| f as u64);
    s.insert("flags", t.trim_end().to_string() + "\n");

    let mut t = String::new();
    for (name, fields, doc) in shared_structs() {
        writeln!(t, "#### `{name}`\n\n{}\n", doc_text(doc)).unwrap();
        field_table(&mut t, fields);
    }
    s.insert("structures", t.trim_end().to_string() + "\n");

    let mut t = String::new();
    for name in [
        layout::<Hello>(),
        layout::<ServerHello>(),
        layout::<ClientAuth>(),
    ] {
        let (name, fields, doc) = (name.0, name.1, name.2);
        writeln!(t, "#### `{name}`\n\n{}\n", doc_text(doc)).unwrap();
        field_table(&mut t, fields);
    }
    s.insert("handshake-messages", t.trim_end().to_string() + "\n");

    let mut t = String::new();
    for l in &layouts {
        writeln!(
            t,
            "#### `{}` ({:#06x})\n",
            l.opcode.name(),
            l.opcode.to_u16()
        )
        .unwrap();
        writeln!(t, "{}\n", doc_text(l.request_doc)).unwrap();
        writeln!(t, "Request `{}` (after `Credentials`):\n", l.request).unwrap();
        field_table(&mut t, l.request_fields);
        writeln!(t, "Reply `{}`: {}\n", l.reply, doc_text(l.reply_doc)).unwrap();
        field_table(&mut t, l.reply_fields);
    }
    s.insert("operations", t.trim_end().to_string() + "\n");
    s
}

fn begin(name: &str) -> String {
    format!("<!-- BEGIN GENERATED: {name} -->\n")
}
fn end(name: &str) -> String {
    format!("<!-- END GENERATED: {name} -->")
}

fn replace_section(doc: &str, name: &str, body: &str) -> Option<String> {
    let b = begin(name);
    let e = end(name);
    let start = doc.find(&b)? + b.len();
    let stop = doc[start..].find(&e)? + start;
    Some(format!(
        "{}\n{}\n{}",
        &doc[..start],
        body.trim_end(),
        &doc[stop..]
    ))
}

#[test]
fn protocol_md_matches_the_code() {
    let doc = std::fs::read_to_string(doc_path()).expect("docs/protocol.md exists");
    let mut want = doc.clone();
    for (name, body) in sections() {
        want = replace_section(&want, name, &body)
            .unwrap_or_else(|| panic!("docs/protocol.md lacks the generated section {name}"));
    }
    if std::env::var_os("QTFS_BLESS_DOCS").is_some() {
        std::fs::write(doc_path(), &want).unwrap();
        return;
    }
    // Every generated section must appear exactly once.
    assert_eq!(
        doc.matches("<!-- BEGIN GENERATED:").count(),
        sections().len(),
        "unknown or duplicated generated section in docs/protocol.md"
    );
    if doc != want {
        for (a, b) in doc.lines().zip(want.lines()) {
            if a != b {
                panic!("docs/protocol.md is out of date:\n  doc:  {a}\n  code: {b}\nrun QTFS_BLESS_DOCS=1 cargo test -p qtfs-proto --test doc_sync");
            }
        }
        panic!("docs/protocol.md is out of date (length differs); bless it");
    }
}

/// The fixed sizes the document states match the encoder.
#[test]
fn documented_sizes_are_the_encoded_sizes() {
    fn size<'a, T: Codec<'a>>(v: &T) -> String {
        let mut buf = [0u8; 256];
        let mut w = Writer::new(&mut buf);
        v.encode(&mut w).unwrap();
        w.position().to_string()
    }
    let attr = WireAttr {
        ino: 0,
        dev: 0,
        mode: FileMode::new(0o100644).unwrap(),
        nlink: 0,
        uid: 0,
        gid: 0,
        rdev_major: 0,
        rdev_minor: 0,
        size: 0,
        blocks: 0,
        blksize: 0,
        atime: Timestamp::default(),
        mtime: Timestamp::default(),
        ctime: Timestamp::default(),
        generation: 0,
        change: 0,
        flags: NodeFlags::default(),
    };
    assert_eq!(size(&attr), wire_type("WireAttr").1);
    assert_eq!(size(&Timestamp::default()), wire_type("Timestamp").1);
    assert_eq!(size(&TimeUpdate::Now), wire_type("TimeUpdate").1);
    let st = StatFs {
        blocks: 0,
        bfree: 0,
        bavail: 0,
        files: 0,
        ffree: 0,
        fsid: 0,
        flags: 0,
        bsize: 0,
        frsize: 0,
        namelen: 0,
        fs_type: 0,
    };
    assert_eq!(size(&st), wire_type("StatFs").1);
    assert_eq!(
        size(&Permissions::new(1).unwrap()),
        wire_type("Permissions").1
    );
    assert_eq!(size(&Whence::Hole), wire_type("Whence").1);
    assert_eq!(size(&MountFlags::MS_BIND), wire_type("MountFlags").1);
}
