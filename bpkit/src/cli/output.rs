//! Where and how results are printed: data to stdout, diagnostics to stderr; colors only on a
//! terminal and never with `NO_COLOR`.

use std::io::{IsTerminal, Write};

use clap::ValueEnum;

use super::{FindingFormat, GlobalArgs, OutputMode};
use crate::diag::{Finding, Severity};

/// When to use colors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Prints results in the chosen mode.
#[derive(Debug, Clone)]
pub struct Printer {
    /// Human or JSON.
    pub mode: OutputMode,
    /// Whether stderr gets colors.
    pub color: bool,
    /// Only errors.
    pub quiet: bool,
}

impl Printer {
    /// A printer for the global options.
    pub fn new(g: &GlobalArgs) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = match g.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => !no_color && std::io::stderr().is_terminal(),
        };
        Printer {
            mode: g.output,
            color,
            quiet: g.quiet,
        }
    }

    /// Whether output is JSON.
    pub fn json_mode(&self) -> bool {
        self.mode == OutputMode::Json
    }

    /// Writes data (the command's result) to stdout. A closed pipe ends quietly.
    pub fn data(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
    }

    /// Writes a JSON document to stdout.
    pub fn json(&self, value: &serde_json::Value) {
        let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into());
        self.data(&text);
    }

    /// A progress or status line on stderr (not in quiet or JSON mode).
    pub fn status(&self, text: &str) {
        if self.quiet || self.json_mode() {
            return;
        }
        super::progress::suspend(|| writeln!(std::io::stderr().lock(), "{text}")).ok();
    }

    /// An error line on stderr.
    pub fn error(&self, text: &str) {
        let prefix = if self.color {
            "\x1b[1;31merror\x1b[0m"
        } else {
            "error"
        };
        super::progress::suspend(|| writeln!(std::io::stderr().lock(), "{prefix}: {text}")).ok();
    }

    /// A warning line on stderr (not in quiet mode).
    pub fn warn(&self, text: &str) {
        if self.quiet {
            return;
        }
        let prefix = if self.color {
            "\x1b[1;33mwarning\x1b[0m"
        } else {
            "warning"
        };
        super::progress::suspend(|| writeln!(std::io::stderr().lock(), "{prefix}: {text}")).ok();
    }

    /// Prints findings for people (text or GitHub annotations) on stderr.
    pub fn findings(&self, findings: &[Finding], format: FindingFormat) {
        let mut err = std::io::stderr().lock();
        for f in findings {
            if self.quiet && f.severity != Severity::Error {
                continue;
            }
            match format {
                FindingFormat::Github => {
                    let _ = writeln!(err, "{}", github_annotation(f));
                }
                FindingFormat::Text => {
                    let _ = write!(err, "{}", self.render(f));
                }
            }
        }
    }

    /// One finding as text with its snippet.
    pub fn render(&self, f: &Finding) -> String {
        let mut s = String::new();
        let theme = if self.color {
            miette::GraphicalTheme::unicode()
        } else {
            miette::GraphicalTheme::unicode_nocolor()
        };
        let handler = miette::GraphicalReportHandler::new_themed(theme).with_context_lines(1);
        let head = match (f.file_name(), f.position()) {
            (Some(file), Some(pos)) => format!("{file}:{pos}: "),
            (Some(file), None) => format!("{file}: "),
            _ => String::new(),
        };
        let sev = if self.color {
            match f.severity {
                Severity::Error => "\x1b[1;31merror\x1b[0m",
                Severity::Warning => "\x1b[1;33mwarning\x1b[0m",
                Severity::Info => "\x1b[1;36minfo\x1b[0m",
            }
        } else {
            match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "info",
            }
        };
        s.push_str(&format!("{head}{sev}[{}]: {}\n", f.rule, f.message));
        if f.source.is_some() {
            let mut body = String::new();
            if handler.render_report(&mut body, f).is_ok() {
                // The handler repeats the message on its first line; keep the snippet only.
                let snippet: Vec<&str> = body
                    .lines()
                    .skip_while(|l| !l.contains('╭') && !l.contains(",-"))
                    .collect();
                if !snippet.is_empty() {
                    s.push_str(&snippet.join("\n"));
                    s.push('\n');
                    return s;
                }
            }
        }
        if let Some(h) = &f.help {
            s.push_str(&format!("  help: {h}\n"));
        }
        s
    }
}

/// A GitHub Actions workflow command for a finding.
pub fn github_annotation(f: &Finding) -> String {
    let level = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    };
    let mut props = Vec::new();
    if let Some(file) = f.file_name() {
        props.push(format!("file={}", gh_prop(file)));
    }
    if let Some(p) = f.position() {
        props.push(format!("line={}", p.line));
        props.push(format!("col={}", p.column));
    }
    props.push(format!("title={}", gh_prop(f.rule)));
    let mut msg = f.message.clone();
    if let Some(h) = &f.help {
        msg.push_str(&format!("\nhelp: {h}"));
    }
    format!("::{level} {}::{}", props.join(","), gh_data(&msg))
}

fn gh_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn gh_prop(s: &str) -> String {
    gh_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Source;

    #[test]
    fn github_annotations_escape() {
        let src = Source::new("a,b.yaml", "x: 1\n");
        let f = Finding::warning("r", "50% bad\nreally")
            .at(&src, crate::diag::Span::new(3, 4))
            .with_help("fix");
        assert_eq!(
            github_annotation(&f),
            "::warning file=a%2Cb.yaml,line=1,col=4,title=r::50%25 bad%0Areally%0Ahelp: fix"
        );
    }
}
