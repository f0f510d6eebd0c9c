//! License texts as SPDX license expressions, where that is safe.
//!
//! A declared license (`card.license`, `artifacthub.io/license`) is written as an SPDX
//! expression when it is one whose every identifier is in [`KNOWN_IDS`] (the licenses met in
//! Helm charts and container images; `LicenseRef-…` is always accepted), joined by `AND`,
//! `OR`, `WITH` and parentheses. Anything else is kept as a named license (CycloneDX
//! `license.name`, SPDX `LicenseRef-` with the text as extracted text), so that a strict SPDX
//! validator never meets an unknown identifier.

/// SPDX license and exception identifiers accepted in expressions (from the SPDX License
/// List; the common ones only).
pub const KNOWN_IDS: &[&str] = &[
    "0BSD",
    "AGPL-3.0-only",
    "AGPL-3.0-or-later",
    "Apache-1.1",
    "Apache-2.0",
    "Artistic-2.0",
    "BlueOak-1.0.0",
    "BSD-1-Clause",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "BSD-3-Clause-Clear",
    "BSL-1.0",
    "BUSL-1.1",
    "CC-BY-3.0",
    "CC-BY-4.0",
    "CC-BY-SA-4.0",
    "CC0-1.0",
    "CDDL-1.0",
    "CDDL-1.1",
    "Classpath-exception-2.0",
    "EPL-1.0",
    "EPL-2.0",
    "EUPL-1.2",
    "GPL-2.0-only",
    "GPL-2.0-or-later",
    "GPL-3.0-only",
    "GPL-3.0-or-later",
    "ISC",
    "LGPL-2.1-only",
    "LGPL-2.1-or-later",
    "LGPL-3.0-only",
    "LGPL-3.0-or-later",
    "LLVM-exception",
    "MIT",
    "MIT-0",
    "MPL-1.1",
    "MPL-2.0",
    "MS-PL",
    "NCSA",
    "OpenSSL",
    "PHP-3.01",
    "PostgreSQL",
    "Python-2.0",
    "Ruby",
    "SSPL-1.0",
    "Unlicense",
    "UPL-1.0",
    "Vim",
    "W3C",
    "WTFPL",
    "X11",
    "Zlib",
    "ZPL-2.1",
];

/// A declared license, classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum License {
    /// A valid SPDX license expression of known identifiers.
    Expression(String),
    /// Any other text.
    Named(String),
}

/// Classifies a declared license text.
pub fn classify(text: &str) -> License {
    let t = text.trim();
    if is_known_expression(t) {
        License::Expression(t.split_whitespace().collect::<Vec<_>>().join(" "))
    } else {
        License::Named(t.to_string())
    }
}

/// The `LicenseRef-` identifier for a named license: its text with characters outside
/// `[A-Za-z0-9.-]` written as `-`.
pub fn license_ref(name: &str) -> String {
    let body: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let body = body.trim_matches('-');
    format!(
        "LicenseRef-{}",
        if body.is_empty() { "unnamed" } else { body }
    )
}

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '.' || c == '-'
}

fn known_id(tok: &str) -> bool {
    if let Some(rest) = tok.strip_prefix("LicenseRef-") {
        return !rest.is_empty() && rest.chars().all(is_id_char);
    }
    let base = tok.strip_suffix('+').unwrap_or(tok);
    KNOWN_IDS.iter().any(|k| k.eq_ignore_ascii_case(base))
}

fn is_known_expression(t: &str) -> bool {
    if t.is_empty() || t.len() > 512 {
        return false;
    }
    let spaced = t.replace('(', " ( ").replace(')', " ) ");
    let mut depth = 0usize;
    // Alternating: expect an operand (id or `(`) or an operator (or `)`).
    let mut want_operand = true;
    let mut after_with = false;
    for tok in spaced.split_whitespace() {
        match tok {
            "(" if want_operand && !after_with => depth += 1,
            ")" if !want_operand => {
                if depth == 0 {
                    return false;
                }
                depth -= 1;
            }
            "AND" | "OR" | "WITH" if !want_operand => {
                after_with = tok == "WITH";
                want_operand = true;
            }
            id if want_operand && known_id(id) => {
                want_operand = false;
                after_with = false;
            }
            _ => return false,
        }
    }
    depth == 0 && !want_operand
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions() {
        for ok in [
            "Apache-2.0",
            "GPL-2.0-or-later",
            "MIT OR Apache-2.0",
            "(MIT OR Apache-2.0) AND BSD-3-Clause",
            "GPL-2.0-only WITH Classpath-exception-2.0",
            "LicenseRef-openova",
            "PostgreSQL",
        ] {
            assert_eq!(classify(ok), License::Expression(ok.to_string()), "{ok}");
        }
        for named in [
            "Proprietary",
            "MIT AND",
            "(MIT",
            "MIT)",
            "Apache 2.0",
            "",
            "MIT OR OR ISC",
        ] {
            assert_eq!(
                classify(named),
                License::Named(named.to_string()),
                "{named}"
            );
        }
    }

    #[test]
    fn refs() {
        assert_eq!(license_ref("Apache 2.0"), "LicenseRef-Apache-2.0");
        assert_eq!(license_ref("©"), "LicenseRef-unnamed");
    }
}
