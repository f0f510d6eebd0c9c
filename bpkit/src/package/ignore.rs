//! `.helmignore` with Helm's semantics, so a chart packaged by bpkit holds the files
//! `helm package` would put in it.
//!
//! What Helm does (and so what this does):
//!
//! - One pattern per line; surrounding spaces are trimmed; blank lines and lines starting with
//!   `#` are skipped; a UTF-8 byte-order mark on the first line is dropped.
//! - Patterns use Go's `filepath.Match` syntax: `*` (any run of characters except `/`), `?`
//!   (one character except `/`), `[a-z]` and `[^a-z]` classes, `\` escapes. `**` is refused, as
//!   is any pattern `filepath.Match` calls malformed.
//! - A trailing `/` makes a pattern match folders only. A leading `/` anchors it at the chart
//!   root; a pattern containing `/` elsewhere is matched against the whole path relative to the
//!   chart; a pattern without `/` is matched against the last path element only.
//! - Rules are tried in order and the first that decides wins. A rule that matches ignores the
//!   path. A negated rule (`!pattern`) is Helm's own: a path it does *not* match is ignored at
//!   once, a path it matches goes on to the next rule (so `!keep.txt` ignores everything else
//!   that reaches it, and `!dir/` ignores every file). This is not gitignore's meaning; bpkit
//!   keeps Helm's so that both tools package the same files.
//! - An ignored folder is skipped with everything in it.
//! - `templates/.?*` is always added last (dot-files directly in `templates/`).

/// One rule.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    /// The pattern, without `!`, trailing `/` or leading `/`.
    pattern: String,
    negate: bool,
    dir_only: bool,
    kind: RuleKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RuleKind {
    /// Leading `/`: the whole path.
    Anchored,
    /// Contains `/`: the whole path.
    Structural,
    /// No `/`: the last element.
    Base,
}

/// A parsed `.helmignore`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rules {
    rules: Vec<Rule>,
}

/// A line of `.helmignore` that Helm would refuse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRule {
    /// The 1-based line.
    pub line: usize,
    /// The line, trimmed.
    pub text: String,
    /// Why.
    pub reason: String,
}

/// The rule Helm always adds.
pub const DEFAULT_RULE: &str = "templates/.?*";

impl Rules {
    /// No rules at all (not even the default).
    pub fn empty() -> Rules {
        Rules::default()
    }

    /// Parses the text of a `.helmignore` and adds the default rule.
    pub fn parse(text: &str) -> Result<Rules, BadRule> {
        let mut r = Rules::empty();
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (i, line) in text.split('\n').enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            r.add(line).map_err(|reason| BadRule {
                line: i + 1,
                text: line.trim().to_string(),
                reason,
            })?;
        }
        r.add_defaults();
        Ok(r)
    }

    /// Adds Helm's default rule, `templates/.?*`.
    pub fn add_defaults(&mut self) {
        // The default rule is valid; `add` cannot fail on it.
        let _ = self.add(DEFAULT_RULE);
    }

    /// Adds one line; returns why Helm would refuse it.
    pub fn add(&mut self, line: &str) -> Result<(), String> {
        let rule = line.trim_matches(|c: char| c.is_whitespace());
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err("double-star (`**`) patterns are not supported by Helm".into());
        }
        if let Err(e) = go_match(rule, "abc") {
            return Err(e.to_string());
        }
        let (negate, rest) = match rule.strip_prefix('!') {
            Some(r) => (true, r),
            None => (false, rule),
        };
        let (dir_only, rest) = match rest.strip_suffix('/') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let (kind, pattern) = if let Some(r) = rest.strip_prefix('/') {
            (RuleKind::Anchored, r)
        } else if rest.contains('/') {
            (RuleKind::Structural, rest)
        } else {
            (RuleKind::Base, rest)
        };
        self.rules.push(Rule {
            pattern: pattern.to_string(),
            negate,
            dir_only,
            kind,
        });
        Ok(())
    }

    /// Whether `path` (relative to the chart, `/`-separated, no leading `./`) is ignored.
    pub fn ignored(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        for r in &self.rules {
            let subject = match r.kind {
                RuleKind::Anchored | RuleKind::Structural => path,
                RuleKind::Base => path.rsplit('/').next().unwrap_or(path),
            };
            let matched = go_match(&r.pattern, subject).unwrap_or(false);
            if r.negate {
                if r.dir_only && !is_dir {
                    return true;
                }
                if !matched {
                    return true;
                }
                continue;
            }
            if r.dir_only && !is_dir {
                continue;
            }
            if matched {
                return true;
            }
        }
        false
    }
}

/// A malformed pattern (Go's `filepath.ErrBadPattern`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadPattern;

impl std::fmt::Display for BadPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the pattern is malformed (an unclosed `[`, a bad range, or a trailing `\\`)")
    }
}

/// Go's `path/filepath.Match` on Unix: whether `name` matches the shell pattern `pattern`.
/// `*` and `?` never match `/`. Like Go, a malformed pattern is an error even when the match
/// fails before reaching the malformed part.
pub fn go_match(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    let mut pat = pattern.as_bytes();
    let mut name = name.as_bytes();
    'outer: while !pat.is_empty() {
        let (star, chunk, rest) = scan_chunk(pat);
        pat = rest;
        if star && chunk.is_empty() {
            // A trailing `*` matches the rest unless it holds a separator.
            return Ok(!name.contains(&b'/'));
        }
        let (t, ok) = match_chunk(chunk, name)?;
        if ok && (t.is_empty() || !pat.is_empty()) {
            name = t;
            continue;
        }
        if star {
            let mut i = 0;
            while i < name.len() && name[i] != b'/' {
                let (t, ok) = match_chunk(chunk, &name[i + 1..])?;
                if ok {
                    if pat.is_empty() && !t.is_empty() {
                        i += 1;
                        continue;
                    }
                    name = t;
                    continue 'outer;
                }
                i += 1;
            }
        }
        // No match; check the rest of the pattern is well-formed before saying so.
        while !pat.is_empty() {
            let (_, chunk, rest) = scan_chunk(pat);
            pat = rest;
            match_chunk(chunk, b"")?;
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// Splits off leading stars and the chunk up to the next star outside a class.
fn scan_chunk(mut pat: &[u8]) -> (bool, &[u8], &[u8]) {
    let mut star = false;
    while let [b'*', rest @ ..] = pat {
        pat = rest;
        star = true;
    }
    let mut in_range = false;
    let mut i = 0;
    while i < pat.len() {
        match pat[i] {
            b'\\' if i + 1 < pat.len() => i += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    (star, &pat[..i], &pat[i..])
}

/// Decodes one UTF-8 character at the start of `s` (the replacement character and one byte
/// for invalid input, as Go does).
fn decode(s: &[u8]) -> (char, usize) {
    let len = match s.first() {
        None => return ('\u{fffd}', 0),
        Some(b) if *b < 0x80 => 1,
        Some(b) if *b >= 0xF0 => 4,
        Some(b) if *b >= 0xE0 => 3,
        Some(b) if *b >= 0xC0 => 2,
        Some(_) => 1,
    };
    match s.get(..len).and_then(|b| std::str::from_utf8(b).ok()) {
        Some(t) => (t.chars().next().unwrap_or('\u{fffd}'), len),
        None => ('\u{fffd}', 1),
    }
}

/// Matches `chunk` (no stars) at the start of `s`: the rest of `s` and whether it matched.
/// Keeps checking the chunk's syntax after a mismatch.
fn match_chunk<'a>(mut chunk: &[u8], mut s: &'a [u8]) -> Result<(&'a [u8], bool), BadPattern> {
    let mut failed = false;
    while !chunk.is_empty() {
        if !failed && s.is_empty() {
            failed = true;
        }
        match chunk[0] {
            b'[' => {
                let mut r = '\0';
                if !failed {
                    let (c, n) = decode(s);
                    r = c;
                    s = &s[n..];
                }
                chunk = &chunk[1..];
                let mut negated = false;
                if chunk.first() == Some(&b'^') {
                    negated = true;
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut nrange = 0;
                loop {
                    if chunk.first() == Some(&b']') && nrange > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let (lo, rest) = get_esc(chunk)?;
                    chunk = rest;
                    let mut hi = lo;
                    if chunk.first() == Some(&b'-') {
                        let (h, rest) = get_esc(&chunk[1..])?;
                        hi = h;
                        chunk = rest;
                    }
                    if lo <= r && r <= hi {
                        matched = true;
                    }
                    nrange += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            b'?' => {
                if !failed {
                    if s[0] == b'/' {
                        failed = true;
                    }
                    let (_, n) = decode(s);
                    s = &s[n.max(1)..];
                }
                chunk = &chunk[1..];
            }
            c => {
                let lit = if c == b'\\' {
                    chunk = &chunk[1..];
                    match chunk.first() {
                        Some(&l) => l,
                        None => return Err(BadPattern),
                    }
                } else {
                    c
                };
                if !failed {
                    if lit != s[0] {
                        failed = true;
                    }
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
        }
    }
    if failed {
        Ok((&[], false))
    } else {
        Ok((s, true))
    }
}

/// One possibly escaped character of a class, and the rest.
fn get_esc(mut chunk: &[u8]) -> Result<(char, &[u8]), BadPattern> {
    match chunk.first() {
        None | Some(b'-') | Some(b']') => return Err(BadPattern),
        Some(b'\\') => {
            chunk = &chunk[1..];
            if chunk.is_empty() {
                return Err(BadPattern);
            }
        }
        Some(_) => {}
    }
    let (r, n) = decode(chunk);
    if r == '\u{fffd}' && n == 1 {
        return Err(BadPattern);
    }
    let rest = &chunk[n..];
    if rest.is_empty() {
        return Err(BadPattern);
    }
    Ok((r, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_match_table() {
        // The cases of Go's filepath match_test.go that apply on Unix.
        let cases: &[(&str, &str, Result<bool, BadPattern>)] = &[
            ("abc", "abc", Ok(true)),
            ("*", "abc", Ok(true)),
            ("*c", "abc", Ok(true)),
            ("a*", "a", Ok(true)),
            ("a*", "abc", Ok(true)),
            ("a*", "ab/c", Ok(false)),
            ("a*/b", "abc/b", Ok(true)),
            ("a*/b", "a/c/b", Ok(false)),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", Ok(true)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", Ok(true)),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", Ok(false)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", Ok(false)),
            ("a*b?c*x", "abxbbxdbxebxczzx", Ok(true)),
            ("a*b?c*x", "abxbbxdbxebxczzy", Ok(false)),
            ("ab[c]", "abc", Ok(true)),
            ("ab[b-d]", "abc", Ok(true)),
            ("ab[e-g]", "abc", Ok(false)),
            ("ab[^c]", "abc", Ok(false)),
            ("ab[^b-d]", "abc", Ok(false)),
            ("ab[^e-g]", "abc", Ok(true)),
            ("a\\*b", "a*b", Ok(true)),
            ("a\\*b", "ab", Ok(false)),
            ("a?b", "a☺b", Ok(true)),
            ("a[^a]b", "a☺b", Ok(true)),
            ("a???b", "a☺b", Ok(false)),
            ("a[^a][^a][^a]b", "a☺b", Ok(false)),
            ("[a-ζ]*", "α", Ok(true)),
            ("*[a-ζ]", "A", Ok(false)),
            ("a?b", "a/b", Ok(false)),
            ("a*b", "a/b", Ok(false)),
            ("[\\]a]", "]", Ok(true)),
            ("[\\-]", "-", Ok(true)),
            ("[x\\-]", "x", Ok(true)),
            ("[x\\-]", "-", Ok(true)),
            ("[x\\-]", "z", Ok(false)),
            ("[\\-x]", "x", Ok(true)),
            ("[\\-x]", "-", Ok(true)),
            ("[\\-x]", "a", Ok(false)),
            ("[]a]", "]", Err(BadPattern)),
            ("[-]", "-", Err(BadPattern)),
            ("[x-]", "x", Err(BadPattern)),
            ("[x-]", "-", Err(BadPattern)),
            ("[x-]", "z", Err(BadPattern)),
            ("[-x]", "x", Err(BadPattern)),
            ("[-x]", "-", Err(BadPattern)),
            ("[-x]", "a", Err(BadPattern)),
            ("\\", "a", Err(BadPattern)),
            ("[a-b-c]", "a", Err(BadPattern)),
            ("[", "a", Err(BadPattern)),
            ("[^", "a", Err(BadPattern)),
            ("[^bc", "a", Err(BadPattern)),
            ("a[", "a", Err(BadPattern)),
            ("a[", "ab", Err(BadPattern)),
            ("a[", "x", Err(BadPattern)),
            ("a/b[", "x", Err(BadPattern)),
            ("*x", "xxx", Ok(true)),
        ];
        for (p, n, want) in cases {
            assert_eq!(go_match(p, n), *want, "match({p:?}, {n:?})");
        }
    }

    fn rules(text: &str) -> Rules {
        Rules::parse(text).unwrap()
    }

    #[test]
    fn helm_semantics() {
        let r = rules("# comment\n\n  *.swp  \n.git/\n/secret.txt\ndocs/*.md\n");
        assert!(r.ignored("a.swp", false));
        assert!(r.ignored("templates/deep/a.swp", false));
        assert!(r.ignored(".git", true));
        assert!(
            !r.ignored(".git", false),
            "a file named .git is kept: the rule is for folders"
        );
        assert!(r.ignored("secret.txt", false));
        assert!(!r.ignored("sub/secret.txt", false), "anchored at the root");
        assert!(r.ignored("docs/a.md", false));
        assert!(!r.ignored("docs/sub/a.md", false), "`*` does not cross `/`");
        assert!(!r.ignored("README.md", false));
        // The default rule.
        assert!(r.ignored("templates/.hidden", false));
        assert!(!r.ignored("templates/sub/.hidden", false));
        assert!(!r.ignored("", true));
        assert!(!r.ignored(".", true));
    }

    #[test]
    fn helm_negation_is_not_gitignore() {
        // Helm: a negated rule ignores whatever it does not match.
        let r = rules("!values.yaml\n");
        assert!(!r.ignored("values.yaml", false));
        assert!(r.ignored("Chart.yaml", false));
        // A negated folder rule ignores every file.
        let r = rules("!templates/\n");
        assert!(r.ignored("Chart.yaml", false));
        assert!(!r.ignored("templates", true));
        // Order matters: first decision wins.
        let r = rules("*.txt\n!keep.txt\n");
        assert!(r.ignored("keep.txt", false));
    }

    #[test]
    fn refused_rules_name_the_line() {
        let e = Rules::parse("ok\n**/x\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.reason.contains("double-star"), "{}", e.reason);
        let e = Rules::parse("\u{feff}a[\n").unwrap_err();
        assert_eq!((e.line, e.text.as_str()), (1, "a["));
        assert!(e.reason.contains("malformed"));
        // A CRLF file parses like an LF file.
        assert_eq!(rules("a\r\nb\r\n"), rules("a\nb\n"));
    }
}
