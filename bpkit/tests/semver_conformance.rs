//! Runs every row of Masterminds/semver's own test tables (transcribed as JSON in
//! `../shared/conformance/semver/masterminds-constraints.json`) against `bpkit::version`.
//!
//! The file lives outside the repository, next to it (`<repo>/../shared/conformance/`). When it
//! is absent the test prints a loud warning and passes; set `BPKIT_CONFORMANCE_DIR` to the
//! `conformance` folder to run it from elsewhere (a worktree, say).
//!
//! Rows about Masterminds internals (`rewriteRange`, `isX`, `parseConstraint`,
//! `validatePrerelease`, ...) are checked through the public API that does the same job; each
//! table's handler says how.

use std::cmp::Ordering;
use std::io::Write;
use std::path::PathBuf;

use bpkit::version::{Constraint, Op, Strictness, Version, VersionErrorKind, Wildcard};
use serde_json::Value;

const FILE: &str = "semver/masterminds-constraints.json";

fn conformance_dir() -> PathBuf {
    match std::env::var_os("BPKIT_CONFORMANCE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance"),
    }
}

/// One row's outcome: `Err` says what differed.
type Outcome = Result<(), String>;

fn s<'a>(row: &'a Value, key: &str) -> &'a str {
    row.get(key).and_then(Value::as_str).unwrap_or_else(|| {
        panic!("row {row} has no string `{key}`");
    })
}

fn b(row: &Value, key: &str) -> bool {
    row.get(key)
        .and_then(Value::as_bool)
        .unwrap_or_else(|| panic!("row {row} has no boolean `{key}`"))
}

fn n(row: &Value, key: &str) -> i64 {
    row.get(key)
        .and_then(Value::as_i64)
        .unwrap_or_else(|| panic!("row {row} has no number `{key}`"))
}

fn version(text: &str) -> Result<Version, String> {
    Version::parse(text).map_err(|e| format!("version does not parse: {e}"))
}

fn constraint(text: &str) -> Result<Constraint, String> {
    Constraint::parse(text).map_err(|e| format!("constraint does not parse: {e}"))
}

fn expect<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Outcome {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, want {want:?}"))
    }
}

fn parse_outcome(row: &Value) -> Outcome {
    let input = s(row, "input");
    let parsed = Constraint::parse(input);
    expect("parses", parsed.is_ok(), b(row, "valid"))?;
    if let Ok(c) = parsed {
        if let Some(groups) = row.get("or_groups").and_then(Value::as_u64) {
            expect("OR groups", c.groups().len() as u64, groups)?;
        }
        if let Some(count) = row.get("and_count_in_first_group").and_then(Value::as_u64) {
            expect(
                "AND count in first group",
                c.groups()[0].comparators().len() as u64,
                count,
            )?;
        }
    }
    Ok(())
}

fn single_parse_outcome(row: &Value) -> Outcome {
    let parsed = Constraint::parse(s(row, "input"));
    expect("parses", parsed.is_ok(), b(row, "valid"))?;
    let Ok(c) = parsed else { return Ok(()) };
    expect(
        "one group of one comparator",
        c.groups().len() == 1 && c.groups()[0].comparators().len() == 1,
        true,
    )?;
    let comparator = &c.groups()[0].comparators()[0];
    let want = match s(row, "operator") {
        ">=" => Op::Ge,
        "<=" => Op::Le,
        ">" => Op::Gt,
        "<" => Op::Lt,
        "= (bare or =)" => Op::Eq,
        other => return Err(format!("unknown operator {other:?} in the table")),
    };
    expect("operator", comparator.op(), want)?;
    expect(
        "normalized version",
        comparator.version().to_string().as_str(),
        s(row, "normalized_version"),
    )
}

/// `Check` rows; `include` sets IncludePrerelease.
fn check_outcome(row: &Value, include: bool) -> Outcome {
    let text = s(row, "constraint");
    let v = version(s(row, "version"))?;
    let want = b(row, "expected");
    if row.get("new_constraint_parses").and_then(Value::as_bool) == Some(false) {
        // Masterminds' internal single-comparator parser reads "" as `*`; its public
        // `NewConstraint("")` is an error. Check both facts.
        expect("parses", Constraint::parse(text).is_ok(), false)?;
        if text.is_empty() {
            return expect("check of `*`", constraint("*")?.matches(&v), want);
        }
        return Err(format!(
            "a non-empty constraint {text:?} marked as not parsing"
        ));
    }
    let c = constraint(text)?.with_include_prerelease(include);
    expect("check", c.matches(&v), want)
}

/// `Validate` rows: the boolean, a non-empty error list on failure, and agreement with `Check`.
fn validate_outcome(row: &Value, include: bool) -> Outcome {
    let c = constraint(s(row, "constraint"))?.with_include_prerelease(include);
    let v = version(s(row, "version"))?;
    let want = b(row, "expected");
    let got = c.validate(&v);
    expect("validate", got.is_ok(), want)?;
    if let Err(reasons) = &got {
        expect("reasons are given", reasons.is_empty(), false)?;
    }
    expect("check agrees", c.matches(&v), want)
}

/// `Validate` message rows: versions parsed strictly, first message as on the newest release.
fn message_outcome(row: &Value, include: bool) -> Outcome {
    let c = constraint(s(row, "constraint"))?.with_include_prerelease(include);
    let v = Version::parse_strict(s(row, "version")).map_err(|e| e.to_string())?;
    match c.validate(&v) {
        Ok(()) => Err("validate passed, an error was expected".to_owned()),
        Err(reasons) => expect(
            "first reason",
            reasons.first().map(String::as_str),
            Some(s(row, "first_error")),
        ),
    }
}

fn all_errors_outcome(row: &Value) -> Outcome {
    let c = constraint(s(row, "constraint"))?;
    let v = Version::parse_strict(s(row, "version")).map_err(|e| e.to_string())?;
    let want: Vec<String> = row["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    expect("validate", c.validate(&v).is_ok(), b(row, "expected"))?;
    expect("reasons", c.validate(&v).err().unwrap_or_default(), want)
}

/// `rewriteRange` rows: the input and Masterminds' rewritten text read as the same constraint.
fn rewrite_outcome(row: &Value) -> Outcome {
    let input = constraint(s(row, "input"))?;
    let output = constraint(s(row, "output"))?;
    expect("canonical forms", input.canonical(), output.canonical())
}

/// `isX` rows: a token is a wildcard exactly when, read as a constraint, it is a whole-version
/// wildcard.
fn is_x_outcome(row: &Value) -> Outcome {
    let token = s(row, "token");
    let wildcard = Constraint::parse(token).is_ok_and(|c| {
        c.groups()[0].comparators()[0].wildcard() == Some(Wildcard::Major)
            && c.matches(&Version::new(9, 9, 9))
    });
    expect("is a wildcard", wildcard, b(row, "expected"))
}

fn string_outcome(row: &Value) -> Outcome {
    let c = constraint(s(row, "input"))?;
    let want = s(row, "string");
    expect("String()", c.canonical().as_str(), want)?;
    let again = constraint(want)?;
    expect("String() reads back", again.canonical().as_str(), want)
}

fn marshal_outcome(row: &Value) -> Outcome {
    let c = constraint(s(row, "input"))?;
    let json = serde_json::to_value(&c).map_err(|e| e.to_string())?;
    expect(
        "marshaled",
        json,
        Value::String(s(row, "marshaled").to_owned()),
    )
}

fn unmarshal_outcome(row: &Value) -> Outcome {
    let c: Constraint = serde_json::from_value(Value::String(s(row, "input").to_owned()))
        .map_err(|e| e.to_string())?;
    expect(
        "String() after unmarshal",
        c.canonical().as_str(),
        s(row, "string"),
    )
}

fn validity_outcome(row: &Value, strictness: Strictness) -> Outcome {
    let text = s(row, "version");
    expect(
        "parses",
        Version::parse_with(text, strictness).is_ok(),
        b(row, "valid"),
    )
}

/// `NewVersion` error kinds with `CoerceNewVersion = false`.
fn error_kind_outcome(row: &Value, detailed: bool) -> Outcome {
    let text = s(row, "version");
    let got = Version::parse_with(text, Strictness::NoLeadingZeros).err();
    let want = row.get("error").and_then(Value::as_str);
    match (got, want) {
        (None, None) => Ok(()),
        (Some(e), None) => Err(format!("error {e}, want success")),
        (None, Some(w)) => Err(format!("success, want {w}")),
        (Some(e), Some(w)) if detailed => expect("error kind", e.kind().sentinel(), w),
        // Without detailed errors Masterminds reports every failure as ErrInvalidSemVer.
        (Some(_), Some(w)) => expect("error kind", w, "ErrInvalidSemVer"),
    }
}

fn original_outcome(row: &Value) -> Outcome {
    let text = s(row, "version");
    expect("original", version(text)?.original(), text)
}

fn display_outcome(row: &Value) -> Outcome {
    expect(
        "String()",
        version(s(row, "version"))?.to_string().as_str(),
        s(row, "string"),
    )
}

fn compare_outcome(row: &Value, table: &str) -> Outcome {
    let (a, z) = (version(s(row, "v1"))?, version(s(row, "v2"))?);
    let order = a.cmp(&z);
    if table == "version_compare" {
        let got = match order {
            Ordering::Less => -1,
            Ordering::Equal => 0,
            Ordering::Greater => 1,
        };
        return expect("Compare", got, n(row, "expected"));
    }
    let got = match table {
        "version_less_than" => a < z,
        "version_less_than_equal" => a <= z,
        "version_greater_than" => a > z,
        "version_greater_than_equal" => a >= z,
        _ => return Err(format!("no comparison for {table}")),
    };
    expect(table, got, b(row, "expected"))
}

fn equal_outcome(row: &Value) -> Outcome {
    let read = |key: &str| -> Result<Option<Version>, String> {
        match row.get(key) {
            Some(Value::Null) | None => Ok(None),
            Some(Value::String(text)) => version(text).map(Some),
            Some(other) => Err(format!("unexpected {other}")),
        }
    };
    expect("Equal", read("v1")? == read("v2")?, b(row, "expected"))
}

fn inc_outcome(row: &Value) -> Outcome {
    let v = version(s(row, "version"))?;
    let next = match s(row, "how") {
        "patch" => v.inc_patch(),
        "minor" => v.inc_minor(),
        "major" => v.inc_major(),
        other => return Err(format!("unknown increment {other:?}")),
    }
    .ok_or("increment overflowed")?;
    expect("String()", next.to_string().as_str(), s(row, "expected"))?;
    expect("Original()", next.original(), s(row, "expected_original"))
}

/// `SetPrerelease` / `SetMetadata` rows.
fn set_outcome(row: &Value, field: &str) -> Outcome {
    let v = version(s(row, "version"))?;
    let value = s(row, field);
    let (result, kind) = if field == "prerelease" {
        (
            v.with_prerelease(value),
            VersionErrorKind::InvalidPrerelease,
        )
    } else {
        (v.with_metadata(value), VersionErrorKind::InvalidMetadata)
    };
    let want_error = row.get("expected_error").and_then(Value::as_str);
    // On error Masterminds returns the version unchanged; ours is untouched by construction.
    let (got, got_error) = match result {
        Ok(next) => (next, None),
        Err(e) => (v, Some(e.kind())),
    };
    match want_error {
        Some(sentinel) => {
            expect("error", got_error, Some(kind))?;
            expect("sentinel", kind.sentinel(), sentinel)?;
        }
        None => expect("error", got_error, None)?,
    }
    expect(
        "String()",
        got.to_string().as_str(),
        s(row, "expected_version"),
    )?;
    let part = if field == "prerelease" {
        got.prerelease()
    } else {
        got.metadata()
    };
    expect(field, part, s(row, &format!("expected_{field}")))?;
    expect("Original()", got.original(), s(row, "expected_original"))
}

fn v_prefix_outcome(row: &Value) -> Outcome {
    let v = version(s(row, "version"))?;
    let prefix = s(row, "v_prefix");
    expect(
        "has a v prefix",
        v.original().starts_with('v'),
        prefix == "v",
    )?;
    // Masterminds uses the prefix when it derives a version: so does `inc_patch`.
    let next = v.inc_patch().ok_or("increment overflowed")?;
    expect(
        "derived original",
        next.original().to_owned(),
        format!("{prefix}{next}"),
    )
}

/// `validatePrerelease` / `validateMetadata` rows, through `with_prerelease` / `with_metadata`.
fn identifier_outcome(row: &Value, field: &str) -> Outcome {
    let base = Version::new(1, 2, 3);
    let value = s(row, field);
    let result = if field == "prerelease" {
        base.with_prerelease(value)
    } else {
        base.with_metadata(value)
    };
    let got = result.err().map(|e| e.kind().sentinel());
    expect("error", got, row.get("error").and_then(Value::as_str))
}

fn sort_outcome(row: &Value) -> Outcome {
    let mut versions: Vec<Version> = row["input"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(version)
        .collect::<Result<_, _>>()?;
    versions.sort();
    let got: Vec<String> = versions.iter().map(ToString::to_string).collect();
    let want: Vec<String> = row["sorted"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    expect("sorted", got, want)
}

fn fuzz_seed_outcome(row: &Value) -> Outcome {
    expect(
        "parses",
        Constraint::parse(s(row, "input")).is_ok(),
        b(row, "valid"),
    )
}

fn outcome(table: &str, row: &Value) -> Outcome {
    match table {
        "constraint_parse" => parse_outcome(row),
        "single_constraint_parse" => single_parse_outcome(row),
        "single_constraint_check" | "constraints_check" => check_outcome(row, false),
        "constraints_check_include_prerelease" => check_outcome(row, true),
        "constraints_validate" => validate_outcome(row, false),
        "constraints_validate_include_prerelease" => validate_outcome(row, true),
        "constraints_validate_messages" => message_outcome(row, false),
        "constraints_validate_include_prerelease_messages" => message_outcome(row, true),
        "constraints_validate_all_errors" => all_errors_outcome(row),
        "rewrite_range" => rewrite_outcome(row),
        "is_x" => is_x_outcome(row),
        "constraint_string" => string_outcome(row),
        "constraint_text_marshal" => marshal_outcome(row),
        "constraint_text_unmarshal" => unmarshal_outcome(row),
        "version_strict_parse" => validity_outcome(row, Strictness::Strict),
        "version_loose_parse" => validity_outcome(row, Strictness::Lenient),
        "version_loose_parse_without_coerce" => validity_outcome(row, Strictness::NoLeadingZeros),
        "version_parse_error_kind" => error_kind_outcome(row, true),
        "version_parse_error_kind_not_detailed" => error_kind_outcome(row, false),
        "version_original" => original_outcome(row),
        "version_string" => display_outcome(row),
        "version_compare"
        | "version_less_than"
        | "version_less_than_equal"
        | "version_greater_than"
        | "version_greater_than_equal" => compare_outcome(row, table),
        "version_equal" => equal_outcome(row),
        "version_inc" => inc_outcome(row),
        "version_set_prerelease" => set_outcome(row, "prerelease"),
        "version_set_metadata" => set_outcome(row, "metadata"),
        "version_original_v_prefix" => v_prefix_outcome(row),
        "validate_prerelease" => identifier_outcome(row, "prerelease"),
        "validate_metadata" => identifier_outcome(row, "metadata"),
        "collection_sort" => sort_outcome(row),
        "fuzz_seed_constraints" => fuzz_seed_outcome(row),
        _ => Err(format!("no handler for table `{table}`")),
    }
}

/// Writes to the process's stderr directly, so the line shows even when the test harness
/// captures output (it captures `eprintln!`, not the handle).
fn report(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

#[test]
fn masterminds_tables_all_pass() {
    let path = conformance_dir().join(FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        report(&format!(
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             SKIPPED: ../shared is absent ({} not found); masterminds conformance NOT checked.\n\
             Set BPKIT_CONFORMANCE_DIR to the shared `conformance` folder to run it.\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n",
            path.display()
        ));
        return;
    };
    let data: Value = serde_json::from_str(&text).expect("the conformance file is JSON");
    let tables = data.as_object().expect("the conformance file is an object");
    let mut total = 0;
    let mut failures = Vec::new();
    for (table, body) in tables {
        if table == "header" || table == "semantics" {
            continue;
        }
        let rows = body
            .get("cases")
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("table `{table}` has no `cases`"));
        for (index, row) in rows.iter().enumerate() {
            total += 1;
            if let Err(why) = outcome(table, row) {
                failures.push(format!("{table}[{index}] {row}: {why}"));
            }
        }
    }
    let passed = total - failures.len();
    report(&format!(
        "masterminds conformance: {passed}/{total} rows passed"
    ));
    assert!(total > 0, "the conformance file has no rows");
    assert!(
        failures.is_empty(),
        "masterminds conformance: {passed}/{total} rows passed; failing rows:\n{}",
        failures.join("\n")
    );
}
