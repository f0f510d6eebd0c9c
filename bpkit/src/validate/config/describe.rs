//! Words for validation errors: what was expected, what was found, and a hint.
//!
//! The engine's own messages are not used: they are capitalised, quote values unevenly and
//! some of them assume invariants this code prefers not to rely on.

use jsonschema::ValidationError;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

/// Longest rendering of a value inside a message, in characters.
const MAX_SHOWN: usize = 60;
/// Enum members listed before "and N more".
const MAX_OPTIONS: usize = 8;
/// Nesting of `anyOf`/`oneOf` explanations followed at most.
const MAX_BRANCH_DEPTH: usize = 6;

/// One error, in words.
#[derive(Debug, Clone)]
pub(super) struct Described {
    /// The JSON Pointer of the value concerned.
    pub instance_pointer: String,
    /// The JSON Pointer of the keyword in the schema.
    pub schema_pointer: String,
    /// The keyword.
    pub keyword: String,
    /// The whole sentence.
    pub message: String,
    /// What the schema expects.
    pub expected: String,
    /// What was there.
    pub found: String,
    /// A hint, when there is one.
    pub help: Option<String>,
}

/// How values are shown (`redact` hides the value itself, for secrets).
#[derive(Clone, Copy)]
pub(super) struct Style {
    pub redact: bool,
}

/// The JSON type name of a value (`integer` for numbers without a fraction).
pub(super) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) => {
            if n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0) {
                "integer"
            } else {
                "number"
            }
        }
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A value as compact JSON between backticks, shortened when long.
pub(super) fn show(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= MAX_SHOWN {
        format!("`{text}`")
    } else {
        let cut: String = text.chars().take(MAX_SHOWN - 1).collect();
        format!("`{cut}…`")
    }
}

/// A property name or other plain text between backticks.
fn tick(text: &str) -> String {
    format!("`{text}`")
}

/// What was found: the type and, unless redacted, the value.
fn found_value(value: &Value, style: Style) -> String {
    if style.redact {
        format!("{} (value hidden)", type_name(value))
    } else {
        format!("{} {}", type_name(value), show(value))
    }
}

/// The shown value, or a neutral word when redacted.
fn subject(value: &Value, style: Style) -> String {
    if style.redact {
        "the value".to_string()
    } else {
        show(value)
    }
}

fn list_options(options: &[Value]) -> String {
    let mut shown: Vec<String> = options.iter().take(MAX_OPTIONS).map(show).collect();
    if options.len() > MAX_OPTIONS {
        shown.push(format!("and {} more", options.len() - MAX_OPTIONS));
    }
    shown.join(", ")
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The edit distance between two short strings, a swap of two neighbours counting as one
/// edit (optimal string alignment), for "did you mean" hints.
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub(super) fn closest<'a>(
    word: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .filter(|c| *c != word)
        .map(|c| (edit_distance(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
        .map(|(_, c)| c)
}

/// Context the describer needs beyond the error itself.
pub(super) trait Lookup {
    /// The subschema that holds the keyword at `schema_pointer`, if it can be found.
    fn parent_schema(&self, schema_pointer: &str) -> Option<&serde_json::Map<String, Value>>;
    /// Whether the value checked along `evaluation_path` (the path through the schema, `$ref`s
    /// included) must be hidden in messages.
    fn redact(&self, evaluation_path: &str) -> bool;
}

/// Describes one engine error as one or more [`Described`] (an `additionalProperties` error
/// becomes one entry per unexpected property).
pub(super) fn describe(error: &ValidationError<'_>, ctx: &dyn Lookup) -> Vec<Described> {
    describe_at(error, ctx, 0, false)
}

/// `secret`: an enclosing error was about a hidden value, so this one is too.
fn describe_at(
    error: &ValidationError<'_>,
    ctx: &dyn Lookup,
    depth: usize,
    secret: bool,
) -> Vec<Described> {
    let instance = error.instance();
    let instance: &Value = instance;
    let instance_pointer = error.instance_path().as_str().to_string();
    let schema_pointer = error.schema_path().as_str().to_string();
    let style = Style {
        redact: secret || ctx.redact(error.evaluation_path().as_str()),
    };
    let keyword = error.kind().keyword().to_string();
    let one = |message: String, expected: String, found: String, help: Option<String>| {
        vec![Described {
            instance_pointer: instance_pointer.clone(),
            schema_pointer: schema_pointer.clone(),
            keyword: keyword.clone(),
            message,
            expected,
            found,
            help,
        }]
    };
    let found = found_value(instance, style);
    let expected_found = |expected: String| format!("expected {expected}, found {found}");
    match error.kind() {
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => format!("type `{t}`"),
                TypeKind::Multiple(set) => {
                    let names: Vec<String> = set.iter().map(|t| tick(t.as_str())).collect();
                    format!("one of the types {}", names.join(", "))
                }
            };
            one(
                expected_found(expected.clone()),
                expected,
                found.clone(),
                None,
            )
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().map_or_else(|| show(property), tick);
            one(
                format!("missing required property {name}"),
                format!("property {name}"),
                format!("an object without {name}"),
                None,
            )
        }
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
            let declared: Vec<String> = ctx
                .parent_schema(&schema_pointer)
                .and_then(|s| s.get("properties"))
                .and_then(Value::as_object)
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default();
            unexpected
                .iter()
                .map(|name| {
                    let help = closest(name, declared.iter().map(String::as_str))
                        .map(|c| format!("did you mean `{c}`?"))
                        .or_else(|| {
                            (!declared.is_empty() && declared.len() <= MAX_OPTIONS).then(|| {
                                let names: Vec<String> = declared.iter().map(|d| tick(d)).collect();
                                format!("the allowed properties are {}", names.join(", "))
                            })
                        });
                    Described {
                        instance_pointer: format!(
                            "{instance_pointer}/{}",
                            crate::diag::pointer_escape(name)
                        ),
                        schema_pointer: schema_pointer.clone(),
                        keyword: keyword.clone(),
                        message: format!("property `{name}` is not allowed here"),
                        expected: "only the properties the schema allows".to_string(),
                        found: format!("property `{name}`"),
                        help,
                    }
                })
                .collect()
        }
        ValidationErrorKind::Enum { options } => {
            let options: &[Value] = options.as_array().map_or(&[], Vec::as_slice);
            let expected = format!("one of {}", list_options(options));
            let help = instance.as_str().and_then(|s| {
                closest(s, options.iter().filter_map(Value::as_str))
                    .map(|c| format!("did you mean `{c}`?"))
            });
            one(
                format!(
                    "{} is not one of {}",
                    subject(instance, style),
                    list_options(options)
                ),
                expected,
                found.clone(),
                help,
            )
        }
        ValidationErrorKind::Constant { expected_value } => {
            let expected = show(expected_value);
            one(
                expected_found(expected.clone()),
                expected,
                found.clone(),
                None,
            )
        }
        ValidationErrorKind::Minimum { limit } => bound(&one, &found, "at least", limit),
        ValidationErrorKind::Maximum { limit } => bound(&one, &found, "at most", limit),
        ValidationErrorKind::ExclusiveMinimum { limit } => {
            bound(&one, &found, "greater than", limit)
        }
        ValidationErrorKind::ExclusiveMaximum { limit } => bound(&one, &found, "less than", limit),
        ValidationErrorKind::MultipleOf { multiple_of } => {
            let expected = format!("a multiple of `{multiple_of}`");
            one(
                expected_found(expected.clone()),
                expected,
                found.clone(),
                None,
            )
        }
        ValidationErrorKind::MinLength { limit } | ValidationErrorKind::MaxLength { limit } => {
            let chars = instance.as_str().map_or(0, |s| s.chars().count()) as u64;
            let which = if matches!(error.kind(), ValidationErrorKind::MinLength { .. }) {
                "at least"
            } else {
                "at most"
            };
            let expected = format!("{which} {}", plural(*limit, "character", "characters"));
            let found = format!(
                "{} of {}",
                subject(instance, style),
                plural(chars, "character", "characters")
            );
            one(
                format!("expected a string of {expected}, found {found}"),
                expected,
                found,
                None,
            )
        }
        ValidationErrorKind::MinItems { limit } | ValidationErrorKind::MaxItems { limit } => {
            let count = instance.as_array().map_or(0, Vec::len) as u64;
            let which = if matches!(error.kind(), ValidationErrorKind::MinItems { .. }) {
                "at least"
            } else {
                "at most"
            };
            let expected = format!("{which} {}", plural(*limit, "item", "items"));
            let found = plural(count, "item", "items");
            one(
                format!("expected an array of {expected}, found {found}"),
                expected,
                found,
                None,
            )
        }
        ValidationErrorKind::MinProperties { limit }
        | ValidationErrorKind::MaxProperties { limit } => {
            let count = instance.as_object().map_or(0, serde_json::Map::len) as u64;
            let which = if matches!(error.kind(), ValidationErrorKind::MinProperties { .. }) {
                "at least"
            } else {
                "at most"
            };
            let expected = format!("{which} {}", plural(*limit, "property", "properties"));
            let found = plural(count, "property", "properties");
            one(
                format!("expected an object with {expected}, found {found}"),
                expected,
                found,
                None,
            )
        }
        ValidationErrorKind::Pattern { pattern } => {
            let expected = format!("a string matching `{pattern}`");
            one(
                expected_found(expected.clone()),
                expected,
                found.clone(),
                None,
            )
        }
        ValidationErrorKind::Format { format } => {
            let expected = format!("a valid `{format}`");
            one(
                format!("{} is not a valid `{format}`", subject(instance, style)),
                expected,
                found.clone(),
                None,
            )
        }
        ValidationErrorKind::UniqueItems => one(
            "expected unique items, found duplicates".to_string(),
            "unique items".to_string(),
            "duplicate items".to_string(),
            None,
        ),
        ValidationErrorKind::Contains => one(
            "no item matches the `contains` schema".to_string(),
            "at least one item matching the `contains` schema".to_string(),
            found.clone(),
            None,
        ),
        ValidationErrorKind::FalseSchema => one(
            "no value is allowed here (the schema is `false`)".to_string(),
            "no value".to_string(),
            found.clone(),
            None,
        ),
        ValidationErrorKind::Not { schema } => one(
            format!("the value must not match the schema {}", show(schema)),
            format!("a value not matching {}", show(schema)),
            found.clone(),
            None,
        ),
        ValidationErrorKind::PropertyNames { error: inner } => {
            let name = inner.instance();
            let name: &Value = name;
            let inner_words = describe_at(inner, ctx, depth + 1, style.redact);
            let reason = inner_words
                .first()
                .map_or_else(String::new, |d| format!(": {}", d.message));
            one(
                format!("property name {} is not allowed{reason}", show(name)),
                inner_words.first().map_or_else(
                    || "a valid property name".to_string(),
                    |d| d.expected.clone(),
                ),
                format!("property name {}", show(name)),
                None,
            )
        }
        ValidationErrorKind::AdditionalItems { limit } => {
            let count = instance.as_array().map_or(0, Vec::len);
            let expected = format!("at most {}", plural(*limit as u64, "item", "items"));
            let found = plural(count as u64, "item", "items");
            one(
                format!("expected an array of {expected}, found {found}"),
                expected,
                found,
                None,
            )
        }
        ValidationErrorKind::UnevaluatedItems { unexpected } => one(
            format!("items {} are not allowed here", unexpected.join(", ")),
            "no further items".to_string(),
            plural(unexpected.len() as u64, "extra item", "extra items"),
            None,
        ),
        ValidationErrorKind::ContentEncoding { content_encoding } => {
            let expected = format!("`{content_encoding}`-encoded content");
            one(
                expected_found(expected.clone()),
                expected,
                found.clone(),
                None,
            )
        }
        ValidationErrorKind::ContentMediaType { content_media_type } => {
            let expected = format!("content of media type `{content_media_type}`");
            one(
                expected_found(expected.clone()),
                expected,
                found.clone(),
                None,
            )
        }
        ValidationErrorKind::FromUtf8 { .. } => one(
            "the decoded content is not UTF-8 text".to_string(),
            "UTF-8 text".to_string(),
            found.clone(),
            None,
        ),
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            if let Some(single) = (depth < MAX_BRANCH_DEPTH)
                .then(|| only_plausible_branch(context, error.instance_path().as_str()))
                .flatten()
            {
                return describe_at(single, ctx, depth + 1, style.redact);
            }
            let mut branches = Vec::new();
            for (i, errors) in context.iter().enumerate() {
                let words = errors
                    .first()
                    .map(|e| describe_at(e, ctx, depth + 1, style.redact))
                    .unwrap_or_default();
                if let Some(first) = words.first() {
                    let at = if first.instance_pointer == instance_pointer {
                        String::new()
                    } else {
                        format!(" at `{}`", first.instance_pointer)
                    };
                    branches.push(format!("({}) {}{at}", i + 1, first.expected));
                }
            }
            let expected = if branches.is_empty() {
                format!("a value matching one of the `{keyword}` schemas")
            } else {
                format!("one of: {}", branches.join("; "))
            };
            one(
                format!(
                    "{} matches none of the {} `{keyword}` schemas",
                    subject(instance, style),
                    context.len()
                ),
                expected,
                found.clone(),
                None,
            )
        }
        ValidationErrorKind::OneOfMultipleValid { .. } => one(
            format!(
                "{} matches more than one of the `oneOf` schemas",
                subject(instance, style)
            ),
            "a value matching exactly one of the `oneOf` schemas".to_string(),
            found.clone(),
            Some(
                "make the `oneOf` schemas exclusive (for example with `const` or `required`)"
                    .to_string(),
            ),
        ),
        ValidationErrorKind::Custom { message, .. } => {
            one(message.clone(), String::new(), found.clone(), None)
        }
        ValidationErrorKind::Referencing(reference) => one(
            format!("cannot resolve a reference: {reference}"),
            "a resolvable reference".to_string(),
            String::new(),
            None,
        ),
        ValidationErrorKind::BacktrackLimitExceeded { error: regex } => one(
            format!("the `pattern` is too expensive to evaluate: {regex}"),
            "a pattern that can be evaluated".to_string(),
            found.clone(),
            None,
        ),
        ValidationErrorKind::RegexEngineFailure { message } => one(
            format!("the `pattern` could not be evaluated: {message}"),
            "a pattern that can be evaluated".to_string(),
            found.clone(),
            None,
        ),
    }
}

/// For `minimum` and friends.
fn bound(
    one: &dyn Fn(String, String, String, Option<String>) -> Vec<Described>,
    found: &str,
    relation: &str,
    limit: &Value,
) -> Vec<Described> {
    let expected = format!("a number {relation} `{limit}`");
    one(
        format!("expected {expected}, found {found}"),
        expected,
        found.to_string(),
        None,
    )
}

/// When the value has the type of exactly one `anyOf`/`oneOf` branch, that branch's first
/// error explains the failure best (the other branches fail only because of the type).
fn only_plausible_branch<'e>(
    context: &'e [Vec<ValidationError<'static>>],
    at: &str,
) -> Option<&'e ValidationError<'static>> {
    let type_mismatch = |e: &ValidationError<'_>| {
        e.instance_path().as_str() == at
            && matches!(
                e.kind(),
                ValidationErrorKind::Type { .. } | ValidationErrorKind::FalseSchema
            )
    };
    let mut plausible = context
        .iter()
        .filter(|errors| !errors.is_empty() && !errors.iter().any(type_mismatch));
    let first = plausible.next()?;
    if plausible.next().is_some() {
        return None;
    }
    first.first()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn type_names() {
        assert_eq!(type_name(&json!(1)), "integer");
        assert_eq!(type_name(&json!(1.0)), "integer");
        assert_eq!(type_name(&json!(1.5)), "number");
        assert_eq!(type_name(&json!(null)), "null");
        assert_eq!(type_name(&json!({})), "object");
    }

    #[test]
    fn long_values_are_shortened() {
        let long = json!("x".repeat(200));
        let shown = show(&long);
        assert!(shown.ends_with("…`"));
        assert_eq!(shown.chars().count(), MAX_SHOWN + 2);
        assert_eq!(show(&json!({"a": 1})), "`{\"a\":1}`");
    }

    #[test]
    fn typo_suggestions() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("oauht", "oauth"), 1);
        let names = ["replicas", "resources", "image"];
        assert_eq!(closest("replica", names.iter().copied()), Some("replicas"));
        assert_eq!(closest("Image", names.iter().copied()), Some("image"));
        assert_eq!(closest("zzzzzz", names.iter().copied()), None);
    }
}
