//! Entry points for fuzzing: one function per parser that reads untrusted bytes.
//!
//! Each takes arbitrary bytes, runs the parser (and what a user's command would do next with
//! the result), and returns normally whatever the input: a panic, a hang or a runaway
//! allocation is the bug a fuzzer looks for. The coverage-guided targets in `fuzz/` (run by
//! `cargo xtask fuzz`) and the seed-corpus test in `tests/fuzz_seeds.rs` call these same
//! functions, so a crash found by one is a regression test in the other.

use crate::model::{self, LoadOptions};
use crate::oci::{Image, Manifest};
use crate::package::archive::{ReadLimits, read_tar_gz};
use crate::render::{Context, Limits, Renderer, Template};
use crate::resolve::Lock;
use crate::validate::config::{ConfigSchema, SchemaOptions};
use crate::validate::values::{parse_set, parse_set_string};
use crate::version::{Constraint, Version};

/// A target: its name and its entry point.
pub type Target = (&'static str, fn(&[u8]));

/// Every target, by name.
pub const TARGETS: &[Target] = &[
    ("blueprint_yaml", blueprint_yaml),
    ("constraint", constraint),
    ("template", template),
    ("config_schema", config_schema),
    ("oci_manifest", oci_manifest),
    ("tar_gz", tar_gz),
    ("lockfile", lockfile),
    ("set_argument", set_argument),
];

/// The entry point of a target by name.
pub fn target(name: &str) -> Option<fn(&[u8])> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// A Blueprint document: the strict YAML reader, the model and its findings.
pub fn blueprint_yaml(data: &[u8]) {
    let loaded = model::load("fuzz.yaml", data, &LoadOptions::default());
    if let Some(bp) = loaded.blueprint
        && let Ok(json) = serde_json::to_value(&bp)
    {
        let _ = crate::yaml::to_yaml(&json);
    }
}

/// A constraint, matched against a few versions; the first line of the input is the
/// constraint and the rest are versions.
pub fn constraint(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.lines();
    let Some(first) = lines.next() else {
        return;
    };
    if let Ok(c) = Constraint::parse(first) {
        let _ = c.canonical();
        for v in lines.take(16) {
            if let Ok(v) = Version::parse(v) {
                let _ = c.matches(&v);
                let _ = c.validate(&v);
            }
        }
        for v in ["0.0.0", "1.2.3", "1.2.3-rc.1", "2.0.0"] {
            if let Ok(v) = Version::parse(v) {
                let _ = c.matches(&v);
            }
        }
    }
}

/// A template, rendered and evaluated as a condition against a small context, with low fuel.
pub fn template(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(t) = Template::parse(text) else {
        return;
    };
    let renderer = Renderer::with_limits(Limits {
        fuel: 5_000,
        max_output_bytes: 4096,
    });
    let mut ctx = Context::default();
    ctx.application.name = "app".into();
    ctx.config = serde_json::json!({
        "domain": "example.com", "replicas": 3, "tls": {"enabled": true},
        "list": [1, "two", null], "mode": "embedded"
    });
    let _ = renderer.render(&t, &ctx);
    let _ = renderer.eval_condition(&t, &ctx);
}

/// A configSchema (JSON), compiled and used to validate a few instances.
pub fn config_schema(data: &[u8]) {
    let Ok(schema) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(compiled) = ConfigSchema::compile(&schema, &SchemaOptions::default()) else {
        return;
    };
    for instance in [
        serde_json::json!({}),
        serde_json::json!({"a": 1, "b": "x", "c": [true, null]}),
        serde_json::json!("text"),
    ] {
        let _ = compiled.validate(&instance);
    }
}

/// An OCI image manifest, and an image built from it with empty blobs.
pub fn oci_manifest(data: &[u8]) {
    if let Ok(m) = Manifest::from_json("manifest", data) {
        let _ = m.to_json();
        let _ = Image::from_parts(data.to_vec(), Vec::new());
    }
}

/// A tar+gzip archive, read with small limits as `pull` reads a chart layer.
pub fn tar_gz(data: &[u8]) {
    let limits = ReadLimits {
        max_bytes: 8 << 20,
        max_entries: 1_000,
    };
    let _ = read_tar_gz(data, &limits);
}

/// A `bpkit.lock`.
pub fn lockfile(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(lock) = Lock::parse(text)
    {
        let _ = lock.to_toml();
        let _ = lock.pins();
    }
}

/// A `--set` and a `--set-string` argument.
pub fn set_argument(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_set(text);
        let _ = parse_set_string(text);
    }
}

/// The largest seed file used (bigger files are skipped).
pub const MAX_SEED_BYTES: u64 = 1 << 20;

/// The seed files of `target` named by `fuzz/seeds.tsv` under the repository `root`, sorted.
/// Folders that do not exist (`../shared` on a machine without it) are skipped.
pub fn seed_files(root: &std::path::Path, target: &str) -> Vec<std::path::PathBuf> {
    let Ok(table) = std::fs::read_to_string(root.join("fuzz/seeds.tsv")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for line in table.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [name, folder, ending, recursive] = cols.as_slice() else {
            continue;
        };
        if *name != target {
            continue;
        }
        let depth = if *recursive == "r" { usize::MAX } else { 1 };
        for entry in walkdir::WalkDir::new(root.join(folder))
            .max_depth(depth)
            .into_iter()
            .flatten()
        {
            let name = entry.file_name().to_string_lossy();
            let fits = entry.metadata().is_ok_and(|m| m.len() <= MAX_SEED_BYTES);
            if entry.file_type().is_file() && fits && (*ending == "*" || name.ends_with(ending)) {
                out.push(entry.into_path());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// A small deterministic pseudo-random generator (xorshift64*), for mutations.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (0 is replaced by a fixed constant).
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            usize::try_from(self.next_u64() % n as u64).unwrap_or(0)
        }
    }
}

/// Bytes that often matter to the parsers here.
const DICTIONARY: &[&[u8]] = &[
    b"{{",
    b"}}",
    b"{{ .config.",
    b"||",
    b" - ",
    b">=",
    b"^",
    b"~",
    b"x",
    b"*",
    b"\n",
    b": ",
    b"- ",
    b"&a",
    b"*a",
    b"<<: ",
    b"!!",
    b"\"",
    b"'",
    b"[",
    b"]",
    b"{",
    b"}",
    b",",
    b"$ref",
    b"sha256:",
    b"..",
    b"/",
    b"\\",
    b"\0",
    b"\xff",
    b"9999999999999999999999",
    b"-1",
];

/// One random change to `data`: flip, insert, delete, duplicate a slice, splice in a
/// dictionary token, or cut.
pub fn mutate(data: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = data.to_vec();
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        let len = out.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                out[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(len + 1);
                out.insert(i, u8::try_from(rng.below(256)).unwrap_or(0));
            }
            2 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(16));
                out.drain(i..i + n);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                let piece = out[i..i + n].to_vec();
                let at = rng.below(out.len() + 1);
                out.splice(at..at, piece);
            }
            4 | 5 => {
                let token = DICTIONARY[rng.below(DICTIONARY.len())];
                let at = rng.below(len + 1);
                out.splice(at..at, token.iter().copied());
            }
            _ if len > 1 => out.truncate(rng.below(len)),
            _ => out.push(b'{'),
        }
    }
    out.truncate(MAX_SEED_BYTES as usize);
    out
}
