//! The result of a publish run as a table for people, Markdown for a CI step summary, and
//! JSON for programs.

use serde_json::{Value, json};

use super::{Report, Row, Status};

/// The digest shortened for tables: `sha256:` and 12 hex digits.
fn short(digest: &str) -> String {
    match digest.split_once(':') {
        Some((alg, hex)) if hex.len() > 12 => format!("{alg}:{}", &hex[..12]),
        _ => digest.to_string(),
    }
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn cells(r: &Row) -> [String; 6] {
    [
        r.name.clone(),
        r.version.clone(),
        if r.digest.is_empty() {
            "-".into()
        } else {
            short(&r.digest)
        },
        yes(r.signed).into(),
        yes(r.sbom).into(),
        r.status.word().into(),
    ]
}

const HEADERS: [&str; 6] = ["NAME", "VERSION", "DIGEST", "SIGNED", "SBOM", "STATUS"];

/// A plain-text table, columns padded, with one line per failure reason below it.
pub fn table(report: &Report) -> String {
    let rows: Vec<[String; 6]> = report.rows.iter().map(cells).collect();
    let mut width = HEADERS.map(|h| h.chars().count());
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: &[String]| -> String {
        let mut s = String::new();
        for (i, (c, w)) in cols.iter().zip(width).enumerate() {
            if i + 1 == cols.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        s.trim_end().to_string()
    };
    let mut out = line(&HEADERS.map(String::from));
    out.push('\n');
    for r in &rows {
        out.push_str(&line(r));
        out.push('\n');
    }
    for r in &report.rows {
        if let Status::Failed(why) | Status::Skipped(why) = &r.status {
            out.push_str(&format!("{} {}: {why}\n", r.status.word(), r.name));
        }
    }
    out
}

/// One line summing the run up.
pub fn summary(report: &Report) -> String {
    let count = |w: &str| report.rows.iter().filter(|r| r.status.word() == w).count();
    format!(
        "{} of {} Blueprints to `{}`: {} published, {} completed, {} unchanged, {} failed, {} skipped; {} uploads",
        report.rows.len(),
        report.total,
        report.target,
        count("published"),
        count("completed"),
        count("unchanged"),
        count("failed"),
        count("skipped"),
        report.uploaded()
    )
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// A Markdown table for `$GITHUB_STEP_SUMMARY`.
pub fn markdown(report: &Report) -> String {
    let mut out = String::from("### bpkit publish\n\n");
    out.push_str(&format!("{}\n\n", md_escape(&summary(report))));
    out.push_str("| Blueprint | version | digest | signed | SBOM | status |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for r in &report.rows {
        let status = match &r.status {
            Status::Failed(why) | Status::Skipped(why) => {
                format!("{}: {}", r.status.word(), md_escape(why))
            }
            s => s.word().to_string(),
        };
        out.push_str(&format!(
            "| `{}` | {} | `{}` | {} | {} | {} |\n",
            md_escape(&r.name),
            md_escape(&r.version),
            short(&r.digest),
            yes(r.signed),
            yes(r.sbom),
            status
        ));
    }
    out.push('\n');
    out
}

/// The report as JSON.
pub fn json(report: &Report) -> Value {
    let rows: Vec<Value> = report
        .rows
        .iter()
        .map(|r| {
            let reason = match &r.status {
                Status::Failed(w) | Status::Skipped(w) => Some(w.clone()),
                _ => None,
            };
            json!({
                "name": r.name,
                "version": r.version,
                "digest": r.digest,
                "reference": r.reference,
                "file": r.file.display().to_string(),
                "signed": r.signed,
                "sbom": r.sbom,
                "uploaded": r.uploaded,
                "status": r.status.word(),
                "reason": reason,
            })
        })
        .collect();
    json!({
        "target": report.target,
        "blueprints": rows,
        "findings": report.findings.iter().map(|f| f.record()).collect::<Vec<_>>(),
        "summary": {
            "catalog": report.total,
            "attempted": report.rows.len(),
            "uploaded": report.uploaded(),
            "ok": report.ok(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn row(name: &str, status: Status) -> Row {
        Row {
            name: name.into(),
            version: "1.0.0".into(),
            digest: format!("sha256:{}", "ab".repeat(32)),
            reference: format!("oci:dist/oci/{name}:1.0.0"),
            file: PathBuf::from(format!("{name}/blueprint.yaml")),
            signed: true,
            sbom: true,
            uploaded: 3,
            status,
        }
    }

    #[test]
    fn table_aligns_and_explains_failures() {
        let r = Report {
            rows: vec![
                row("bp-a", Status::Published),
                row("bp-longer", Status::Failed("registry | down".into())),
            ],
            findings: vec![],
            total: 3,
            target: "oci:dist/oci".into(),
        };
        let t = table(&r);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("NAME       VERSION"), "{t}");
        assert!(lines[1].contains("sha256:abababababab  yes"), "{t}");
        assert!(t.contains("failed bp-longer: registry | down"), "{t}");
        let md = markdown(&r);
        assert!(md.contains("failed: registry \\| down"), "{md}");
        assert!(!r.ok());
        assert_eq!(json(&r)["summary"]["uploaded"], 6);
        assert!(summary(&r).contains("1 published"));
    }
}
