//! Deterministic tar+gzip archives, written in memory, and a careful reader for untrusted ones.
//!
//! # Writing
//!
//! The same entries give the same bytes on every machine:
//!
//! - entries in the order given (the packager sorts them depth-first by name, folders before
//!   their content, as a sorted directory walk meets them);
//! - POSIX ustar headers (`ustar\0` magic, version `00`); a path that does not fit the 100-byte
//!   name field is split into the 155-byte prefix field at a `/`, as ustar allows; a path that
//!   still does not fit, or holds non-ASCII characters, gets a PAX extended header (`x`) with a
//!   single `path` record before its entry (Go's `archive/tar` makes the same choice);
//! - folder names end in `/`; numeric fields are zero-padded octal ending in NUL; the checksum
//!   is six octal digits, NUL, space;
//! - modification time = the build epoch, uid = gid = 0, user and group names empty, device
//!   numbers 0; mode 0755 for folders and executable files, 0644 for other files;
//! - the archive ends with two zero blocks, without padding to a 10 KiB record;
//! - gzip: no file name, no comment, no extra field, modification time 0, OS byte 255
//!   ("unknown"), compression level 6 (extra-flags byte 0) with flate2's zlib-rs backend (pure
//!   Rust), pinned in the workspace. zlib-rs picks SIMD code paths at run time, but they find
//!   the same matches as its scalar code, so the bytes do not depend on the CPU. Another
//!   deflate implementation, level or version may produce other (equally valid) bytes; the
//!   golden-digest test says so when that happens.
//!
//! # Reading
//!
//! [`read_tar_gz`] reads an archive from an untrusted source into memory and refuses anything
//! that could write outside a target folder or exhaust it: absolute paths, `..`, backslashes,
//! links (symbolic or hard), devices, FIFOs, duplicate paths, more entries or more decompressed
//! bytes than the limits. Nothing is written to disk here.

use std::cell::Cell;
use std::io::{Read, Write};
use std::rc::Rc;

use flate2::{Compression, GzBuilder};

/// One entry of an archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The path, `/`-separated, relative, without a trailing `/`.
    pub path: String,
    /// What it is.
    pub kind: EntryKind,
}

/// What an entry is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A folder.
    Dir,
    /// A file.
    File {
        /// The content.
        data: Vec<u8>,
        /// Whether any execute bit was set (stored as mode 0755).
        executable: bool,
    },
}

impl Entry {
    /// A folder.
    pub fn dir(path: impl Into<String>) -> Entry {
        Entry {
            path: path.into(),
            kind: EntryKind::Dir,
        }
    }

    /// A plain file.
    pub fn file(path: impl Into<String>, data: impl Into<Vec<u8>>) -> Entry {
        Entry {
            path: path.into(),
            kind: EntryKind::File {
                data: data.into(),
                executable: false,
            },
        }
    }

    /// The mode stored in the archive.
    pub fn mode(&self) -> u32 {
        match &self.kind {
            EntryKind::Dir => 0o755,
            EntryKind::File {
                executable: true, ..
            } => 0o755,
            EntryKind::File { .. } => 0o644,
        }
    }
}

/// The largest file a ustar header can describe (eleven octal digits: 8 GiB - 1).
pub const MAX_FILE_SIZE: u64 = 0o77_777_777_777;

/// The gzip compression level used: 6, gzip's and Go's default (on chart data zlib-rs at 6 is
/// both faster and smaller than miniz_oxide at 9, the setting used before).
pub const GZIP_LEVEL: u32 = 6;
/// The gzip OS byte written ("unknown").
pub const GZIP_OS: u8 = 255;

const BLOCK: usize = 512;
const NAME_LEN: usize = 100;
const PREFIX_LEN: usize = 155;

/// The uncompressed tar stream of `entries`, with `mtime` on every entry.
pub fn tar(entries: &[Entry], mtime: u64) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let (data, typeflag): (&[u8], u8) = match &e.kind {
            EntryKind::Dir => (&[], b'5'),
            EntryKind::File { data, .. } => (data, b'0'),
        };
        let name = match e.kind {
            EntryKind::Dir => format!("{}/", e.path),
            EntryKind::File { .. } => e.path.clone(),
        };
        let (name_field, prefix_field) = match ustar_split(&name) {
            Some(split) => split,
            None => {
                let record = pax_record("path", &name);
                let base = name.trim_end_matches('/').rsplit('/').next().unwrap_or("");
                let pax_full = format!("PaxHeaders/{base}");
                let pax_name = truncate(&pax_full, NAME_LEN);
                out.extend_from_slice(&header(
                    pax_name.as_bytes(),
                    b"",
                    0o644,
                    record.len() as u64,
                    mtime,
                    b'x',
                ));
                push_padded(&mut out, record.as_bytes());
                (truncate(&name, NAME_LEN).to_string(), String::new())
            }
        };
        out.extend_from_slice(&header(
            name_field.as_bytes(),
            prefix_field.as_bytes(),
            e.mode(),
            data.len() as u64,
            mtime,
            typeflag,
        ));
        push_padded(&mut out, data);
    }
    out.extend_from_slice(&[0u8; 2 * BLOCK]);
    out
}

/// `tar(entries, mtime)` compressed with the fixed gzip settings.
pub fn tar_gz(entries: &[Entry], mtime: u64) -> Vec<u8> {
    gzip(&tar(entries, mtime))
}

/// Compresses `data` with the fixed gzip settings (see the module docs).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzBuilder::new()
        .mtime(0)
        .operating_system(GZIP_OS)
        .write(Vec::new(), Compression::new(GZIP_LEVEL));
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

fn push_padded(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(data);
    let rem = data.len() % BLOCK;
    if rem != 0 {
        out.resize(out.len() + BLOCK - rem, 0);
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Where a path goes in a ustar header: `(name, prefix)`, or `None` when it needs PAX.
fn ustar_split(path: &str) -> Option<(String, String)> {
    if !path.is_ascii() {
        return None;
    }
    if path.len() <= NAME_LEN {
        return Some((path.to_string(), String::new()));
    }
    // Split at a `/` so that the prefix fits 155 bytes and the rest 100 (not empty).
    let trimmed_len = if path.ends_with('/') {
        path.len() - 1
    } else {
        path.len()
    };
    let limit = trimmed_len.min(PREFIX_LEN + 1);
    let i = path[..limit].rfind('/')?;
    let (prefix, name) = (&path[..i], &path[i + 1..]);
    if i == 0 || name.is_empty() || name.len() > NAME_LEN || prefix.len() > PREFIX_LEN {
        return None;
    }
    Some((name.to_string(), prefix.to_string()))
}

/// One PAX record: `<length> <key>=<value>\n`, the length counting the whole record.
fn pax_record(key: &str, value: &str) -> String {
    let base = key.len() + value.len() + 3; // space, `=`, newline
    let mut len = base + base.to_string().len();
    if len.to_string().len() != base.to_string().len() {
        len = base + len.to_string().len();
    }
    format!("{len} {key}={value}\n")
}

fn octal(field: &mut [u8], value: u64) {
    let digits = field.len() - 1;
    let text = format!("{value:0digits$o}");
    let bytes = text.as_bytes();
    // Values are bounded by the packaging limits; keep the lowest digits if not.
    let start = bytes.len().saturating_sub(digits);
    field[..digits].copy_from_slice(&bytes[start..]);
    field[digits] = 0;
}

fn header(
    name: &[u8],
    prefix: &[u8],
    mode: u32,
    size: u64,
    mtime: u64,
    typeflag: u8,
) -> [u8; BLOCK] {
    let mut h = [0u8; BLOCK];
    h[..name.len().min(NAME_LEN)].copy_from_slice(&name[..name.len().min(NAME_LEN)]);
    octal(&mut h[100..108], u64::from(mode));
    octal(&mut h[108..116], 0); // uid
    octal(&mut h[116..124], 0); // gid
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], mtime);
    h[156] = typeflag;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    // uname, gname: empty.
    octal(&mut h[329..337], 0); // devmajor
    octal(&mut h[337..345], 0); // devminor
    let plen = prefix.len().min(PREFIX_LEN);
    h[345..345 + plen].copy_from_slice(&prefix[..plen]);
    h[148..156].copy_from_slice(b"        ");
    let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
    octal(&mut h[148..155], sum);
    h[155] = b' ';
    h
}

/// Limits for reading an untrusted archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadLimits {
    /// The most decompressed bytes (tar headers included) read from one archive.
    pub max_bytes: u64,
    /// The most entries.
    pub max_entries: usize,
}

impl Default for ReadLimits {
    /// Helm's own limit on a decompressed chart (100 MiB), and 10 000 entries.
    fn default() -> Self {
        ReadLimits {
            max_bytes: 100 << 20,
            max_entries: 10_000,
        }
    }
}

/// Why an untrusted archive was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// A path that would leave the target folder, or is otherwise unusable.
    #[error("entry `{path}` {reason}")]
    UnsafePath {
        /// The path as stored.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A symbolic or hard link.
    #[error("entry `{path}` is a {kind} to `{target}`{}", if *outside { ", which points outside the target folder" } else { "; links are not extracted (bpkit archives store file contents)" })]
    Link {
        /// The path.
        path: String,
        /// `symbolic link` or `hard link`.
        kind: &'static str,
        /// Where it points.
        target: String,
        /// Whether it points outside the folder.
        outside: bool,
    },
    /// A device, FIFO or other special entry.
    #[error("entry `{path}` is a {kind}; only files and folders are extracted")]
    Special {
        /// The path.
        path: String,
        /// What it is.
        kind: String,
    },
    /// The same path twice, or a file where a folder is needed.
    #[error("entry `{path}` {reason}")]
    Conflict {
        /// The path.
        path: String,
        /// What it collides with.
        reason: String,
    },
    /// More decompressed bytes than allowed (a gzip bomb, or just too big).
    #[error("the archive expands to more than {limit} bytes (the limit); refusing to read further")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// More entries than allowed.
    #[error("the archive has more than {limit} entries (the limit)")]
    TooManyEntries {
        /// The limit.
        limit: usize,
    },
    /// Not gzip, not tar, or cut short.
    #[error("the archive is damaged: {message}")]
    Corrupt {
        /// The decoder's message.
        message: String,
    },
}

/// A reader that stops with an error after `remaining` bytes and records that it did.
struct Bounded<R> {
    inner: R,
    remaining: u64,
    tripped: Rc<Cell<bool>>,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.remaining == 0 {
            // Is there more? Then the limit is exceeded.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => {
                    self.tripped.set(true);
                    Err(std::io::Error::other("decompressed size limit exceeded"))
                }
            };
        }
        let max = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// The folders above a `/`-separated path, outermost first: `a/b/c` gives `a`, `a/b`.
pub fn parent_folders(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i])
}

/// Checks and normalises a stored path: relative, `/`-separated, no `..`, no backslash.
/// Returns `None` for the archive root (`.`, `./`).
pub fn clean_path(raw: &[u8]) -> Result<Option<String>, ReadError> {
    let shown = String::from_utf8_lossy(raw)
        .chars()
        .take(300)
        .collect::<String>();
    let unsafe_path = |reason: &str| ReadError::UnsafePath {
        path: shown.clone(),
        reason: reason.to_string(),
    };
    let Ok(text) = std::str::from_utf8(raw) else {
        return Err(unsafe_path("is not valid UTF-8"));
    };
    if text.starts_with('/') {
        return Err(unsafe_path("has an absolute path"));
    }
    if text.contains('\\') {
        return Err(unsafe_path("contains `\\`, a path separator on Windows"));
    }
    let b = text.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Err(unsafe_path("starts with a drive letter"));
    }
    if text.chars().any(char::is_control) {
        return Err(unsafe_path("contains a control character"));
    }
    let mut parts = Vec::new();
    for c in text.split('/') {
        match c {
            "" | "." => {}
            ".." => return Err(unsafe_path("climbs out of the target folder with `..`")),
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        return Ok(None);
    }
    Ok(Some(parts.join("/")))
}

/// Whether a link stored at `path` pointing at `target` stays inside the folder.
fn link_inside(path: &str, target: &str) -> bool {
    if target.starts_with('/') || target.contains('\\') {
        return false;
    }
    let mut depth: Vec<&str> = path.split('/').collect();
    depth.pop();
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if depth.pop().is_none() {
                    return false;
                }
            }
            other => depth.push(other),
        }
    }
    true
}

/// Reads an untrusted tar+gzip archive into memory (see the module docs for what is refused).
/// Folders are listed as entries; the result is in archive order.
pub fn read_tar_gz(bytes: &[u8], limits: &ReadLimits) -> Result<Vec<Entry>, ReadError> {
    let tripped = Rc::new(Cell::new(false));
    let bounded = Bounded {
        inner: flate2::read::MultiGzDecoder::new(bytes),
        remaining: limits.max_bytes,
        tripped: tripped.clone(),
    };
    let fail = |e: std::io::Error| {
        if tripped.get() {
            ReadError::TooLarge {
                limit: limits.max_bytes,
            }
        } else {
            ReadError::Corrupt {
                message: e.to_string(),
            }
        }
    };
    let mut archive = tar::Archive::new(bounded);
    let mut out: Vec<Entry> = Vec::new();
    let mut seen: std::collections::BTreeMap<String, bool> = std::collections::BTreeMap::new();
    let mut count = 0usize;
    for entry in archive.entries().map_err(fail)? {
        let mut entry = entry.map_err(fail)?;
        count += 1;
        if count > limits.max_entries {
            return Err(ReadError::TooManyEntries {
                limit: limits.max_entries,
            });
        }
        let raw_path = entry.path_bytes().into_owned();
        let et = entry.header().entry_type();
        let shown = String::from_utf8_lossy(&raw_path)
            .chars()
            .take(300)
            .collect::<String>();
        use tar::EntryType as T;
        let is_dir = match et {
            T::Regular | T::Continuous => false,
            T::Directory => true,
            T::XGlobalHeader => continue,
            T::Symlink | T::Link => {
                let target = entry
                    .link_name_bytes()
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_default();
                let outside = et == T::Link
                    && (target.starts_with('/') || target.split('/').any(|c| c == ".."))
                    || et == T::Symlink && !link_inside(&shown, &target);
                return Err(ReadError::Link {
                    path: shown,
                    kind: if et == T::Symlink {
                        "symbolic link"
                    } else {
                        "hard link"
                    },
                    target: target.chars().take(300).collect(),
                    outside,
                });
            }
            T::Char => return Err(special(shown, "character device")),
            T::Block => return Err(special(shown, "block device")),
            T::Fifo => return Err(special(shown, "FIFO (named pipe)")),
            other => {
                return Err(special(
                    shown,
                    &format!(
                        "tar entry of type `{}`",
                        char::from(other.as_byte()).escape_default()
                    ),
                ));
            }
        };
        let Some(path) = clean_path(&raw_path)? else {
            if is_dir {
                continue;
            }
            return Err(ReadError::UnsafePath {
                path: shown,
                reason: "has no file name".into(),
            });
        };
        // Every parent must be a folder (or not seen yet), and the path must be new.
        for parent in parent_folders(&path) {
            if seen.get(parent) == Some(&false) {
                return Err(ReadError::Conflict {
                    path: path.clone(),
                    reason: format!("is inside `{parent}`, which is a file"),
                });
            }
        }
        match seen.get(&path) {
            Some(true) if is_dir => continue,
            Some(_) => {
                return Err(ReadError::Conflict {
                    path,
                    reason: "appears twice".into(),
                });
            }
            None => {}
        }
        seen.insert(path.clone(), is_dir);
        if is_dir {
            out.push(Entry::dir(path));
            continue;
        }
        let executable = entry
            .header()
            .mode()
            .map(|m| m & 0o111 != 0)
            .unwrap_or(false);
        let mut data = Vec::new();
        entry.read_to_end(&mut data).map_err(fail)?;
        out.push(Entry {
            path,
            kind: EntryKind::File { data, executable },
        });
    }
    if tripped.get() {
        return Err(ReadError::TooLarge {
            limit: limits.max_bytes,
        });
    }
    Ok(out)
}

fn special(path: String, kind: &str) -> ReadError {
    ReadError::Special {
        path,
        kind: kind.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Entry> {
        vec![
            Entry::dir("c"),
            Entry::file("c/Chart.yaml", "name: c\n"),
            Entry {
                path: "c/run.sh".into(),
                kind: EntryKind::File {
                    data: b"#!/bin/sh\n".to_vec(),
                    executable: true,
                },
            },
        ]
    }

    #[test]
    fn header_layout_is_ustar() {
        let t = tar(&sample(), 946_684_800);
        assert_eq!(t.len() % BLOCK, 0);
        let h = &t[..BLOCK];
        assert_eq!(&h[..2], b"c/");
        assert_eq!(&h[100..108], b"0000755\0");
        assert_eq!(&h[124..136], b"00000000000\0");
        assert_eq!(&h[136..148], b"07033241600\0");
        assert_eq!(h[156], b'5');
        assert_eq!(&h[257..265], b"ustar\x0000");
        assert_eq!(&h[265..297], &[0u8; 32]);
        // The checksum is over the header with the field as spaces.
        let mut copy = h.to_vec();
        copy[148..156].copy_from_slice(b"        ");
        let sum: u64 = copy.iter().map(|&b| u64::from(b)).sum();
        assert_eq!(&h[148..156], format!("{sum:06o}\0 ").as_bytes());
        // The tar crate reads back what we wrote, modes included.
        let mut a = tar::Archive::new(&t[..]);
        let got: Vec<(String, u32)> = a
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    String::from_utf8(e.path_bytes().into_owned()).unwrap(),
                    e.header().mode().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("c/".to_string(), 0o755),
                ("c/Chart.yaml".to_string(), 0o644),
                ("c/run.sh".to_string(), 0o755)
            ]
        );
    }

    #[test]
    fn long_and_unicode_paths() {
        let long_dir = "d".repeat(120);
        let split = format!("{long_dir}/file.txt");
        let pax = format!("{}/{}", "e".repeat(60), "f".repeat(130));
        let entries = vec![
            Entry::file(split.clone(), "a"),
            Entry::file(pax.clone(), "b"),
            Entry::file("ünïcode.txt", "c"),
        ];
        let back = read_tar_gz(&tar_gz(&entries, 0), &ReadLimits::default()).unwrap();
        assert_eq!(back, entries);
        assert_eq!(
            pax_record("path", "abc"),
            "12 path=abc\n",
            "the length counts the whole record"
        );
        let r = pax_record("path", &"x".repeat(91));
        assert_eq!(r.len(), 101);
        assert!(r.starts_with("101 "));
    }

    proptest::proptest! {
        /// Whatever the names (short, long, deep, non-ASCII), what is written reads back the
        /// same, and writing is a function of the entries alone.
        #[test]
        fn round_trip(
            files in proptest::collection::btree_map(
                proptest::collection::vec("[a-z0-9_é-]{1,40}", 1..6),
                (proptest::collection::vec(proptest::num::u8::ANY, 0..300), proptest::bool::ANY),
                1..12,
            ),
            mtime in 0u64..=0o77_777_777_777,
        ) {
            let mut entries = Vec::new();
            let mut dirs = std::collections::BTreeSet::new();
            let mut used = std::collections::BTreeSet::new();
            for (parts, (data, executable)) in files {
                let path = parts.join("/");
                // Skip paths that collide with a folder or a file already placed.
                let parents: Vec<String> = (1..parts.len()).map(|i| parts[..i].join("/")).collect();
                if used.contains(&path) || dirs.contains(&path) || parents.iter().any(|p| used.contains(p)) {
                    continue;
                }
                for p in parents {
                    if dirs.insert(p.clone()) {
                        entries.push(Entry::dir(p));
                    }
                }
                used.insert(path.clone());
                entries.push(Entry { path, kind: EntryKind::File { data, executable } });
            }
            let gz = tar_gz(&entries, mtime);
            proptest::prop_assert_eq!(&gz, &tar_gz(&entries, mtime));
            let back = read_tar_gz(&gz, &ReadLimits::default()).expect("reads back");
            proptest::prop_assert_eq!(back, entries);
        }
    }

    #[test]
    fn gzip_header_is_fixed() {
        let gz = tar_gz(&sample(), 0);
        assert_eq!(&gz[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
        assert_eq!(gz, tar_gz(&sample(), 0));
        assert_ne!(gz, tar_gz(&sample(), 1));
        assert_eq!(read_tar_gz(&gz, &ReadLimits::default()).unwrap(), sample());
    }

    #[test]
    fn clean_paths() {
        assert_eq!(clean_path(b"./a//b/").unwrap().as_deref(), Some("a/b"));
        assert_eq!(clean_path(b"./").unwrap(), None);
        for (bad, why) in [
            (&b"/etc/passwd"[..], "absolute"),
            (b"a/../../x", "`..`"),
            (b"..", "`..`"),
            (b"a\\b", "`\\`"),
            (b"C:x", "drive letter"),
            (b"a\nb", "control"),
            (b"\xff", "UTF-8"),
        ] {
            let e = clean_path(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
        assert!(link_inside("a/b/link", "../c"));
        assert!(!link_inside("a/link", "../../c"));
        assert!(!link_inside("a/link", "/etc"));
    }

    #[test]
    fn limits_hold() {
        let big = vec![Entry::file("zeros", vec![0u8; 1 << 20])];
        let gz = tar_gz(&big, 0);
        assert!(gz.len() < 4096, "{}", gz.len());
        let e = read_tar_gz(
            &gz,
            &ReadLimits {
                max_bytes: 64 << 10,
                max_entries: 10,
            },
        )
        .unwrap_err();
        assert_eq!(e, ReadError::TooLarge { limit: 64 << 10 });
        let many: Vec<Entry> = (0..20).map(|i| Entry::file(format!("f{i}"), "")).collect();
        let e = read_tar_gz(
            &tar_gz(&many, 0),
            &ReadLimits {
                max_bytes: 1 << 20,
                max_entries: 10,
            },
        )
        .unwrap_err();
        assert_eq!(e, ReadError::TooManyEntries { limit: 10 });
        let e = read_tar_gz(b"not gzip", &ReadLimits::default()).unwrap_err();
        assert!(matches!(e, ReadError::Corrupt { .. }), "{e:?}");
        let dup = vec![Entry::file("a", "1"), Entry::file("a", "2")];
        let e = read_tar_gz(&tar_gz(&dup, 0), &ReadLimits::default()).unwrap_err();
        assert!(e.to_string().contains("appears twice"), "{e}");
        let nested = vec![Entry::file("a", "1"), Entry::file("a/b", "2")];
        let e = read_tar_gz(&tar_gz(&nested, 0), &ReadLimits::default()).unwrap_err();
        assert!(e.to_string().contains("which is a file"), "{e}");
    }
}
