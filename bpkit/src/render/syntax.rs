//! The Go-template syntax: literal text with `{{ … }}` actions, and the expression language
//! inside an action. This file only reads; [`super::translate`] turns the tree into a
//! minijinja expression.

use std::sync::Arc;

use super::error::{RenderError, RenderErrorKind, snippet};
use crate::diag::Span;

/// How deeply parentheses, `!`, pipeline stages and field chains may nest.
pub(crate) const MAX_DEPTH: usize = 32;
/// How many expression nodes one template may hold.
pub(crate) const MAX_NODES: usize = 2048;
/// The longest template text accepted, in bytes.
pub(crate) const MAX_TEMPLATE_BYTES: usize = 1 << 20;

/// The names the template root has.
pub(crate) const ROOTS: [&str; 4] = ["application", "config", "blueprint", "outputs"];

/// A piece of a template: literal text (trim markers applied, comments dropped) or an action.
#[derive(Clone, Debug)]
pub(crate) enum Piece {
    Text(String),
    Action(Action),
}

/// One `{{ … }}` action.
#[derive(Clone, Debug)]
pub(crate) struct Action {
    /// Its expression.
    pub node: Node,
}

/// An expression node.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub kind: NodeKind,
    /// Where the node is in the template text.
    pub span: Span,
    /// The height of the tree under this node (a leaf is 1).
    pub depth: usize,
}

#[derive(Clone, Debug)]
pub(crate) enum NodeKind {
    /// `.` or `$`: the template root.
    Root,
    /// `base.name`.
    Field { base: Box<Node>, name: String },
    /// A literal.
    Lit(Lit),
    /// A function applied to arguments (infix operators are calls too).
    Call { func: Func, args: Vec<Node> },
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Lit {
    Str(String),
    Int(i128),
    Float(f64),
    Bool(bool),
    Nil,
}

/// The functions templates may call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Func {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    Not,
    Default,
    Empty,
    HasKey,
    Index,
    Len,
    Lower,
    Upper,
    Printf,
    Quote,
    ToString,
}

/// Every supported function, in the order error messages list them.
pub(crate) const FUNCS: [Func; 19] = [
    Func::And,
    Func::Default,
    Func::Empty,
    Func::Eq,
    Func::Ge,
    Func::Gt,
    Func::HasKey,
    Func::Index,
    Func::Le,
    Func::Len,
    Func::Lower,
    Func::Lt,
    Func::Ne,
    Func::Not,
    Func::Or,
    Func::Printf,
    Func::Quote,
    Func::ToString,
    Func::Upper,
];

impl Func {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Func::Eq => "eq",
            Func::Ne => "ne",
            Func::Lt => "lt",
            Func::Le => "le",
            Func::Gt => "gt",
            Func::Ge => "ge",
            Func::And => "and",
            Func::Or => "or",
            Func::Not => "not",
            Func::Default => "default",
            Func::Empty => "empty",
            Func::HasKey => "hasKey",
            Func::Index => "index",
            Func::Len => "len",
            Func::Lower => "lower",
            Func::Upper => "upper",
            Func::Printf => "printf",
            Func::Quote => "quote",
            Func::ToString => "toString",
        }
    }

    fn lookup(name: &str) -> Option<Func> {
        FUNCS.into_iter().find(|f| f.name() == name)
    }

    /// The least and most number of arguments (`None`: any number).
    fn arity(self) -> (usize, Option<usize>) {
        match self {
            Func::Eq => (2, None),
            Func::Ne | Func::Lt | Func::Le | Func::Gt | Func::Ge => (2, Some(2)),
            Func::And | Func::Or => (1, None),
            Func::Not | Func::Empty | Func::Len | Func::Lower | Func::Upper | Func::ToString => {
                (1, Some(1))
            }
            Func::Default | Func::HasKey => (2, Some(2)),
            Func::Index | Func::Printf | Func::Quote => (1, None),
        }
    }

    fn usage(self) -> &'static str {
        match self {
            Func::Eq => "eq A B [C…]",
            Func::Ne => "ne A B",
            Func::Lt => "lt A B",
            Func::Le => "le A B",
            Func::Gt => "gt A B",
            Func::Ge => "ge A B",
            Func::And => "and A B…",
            Func::Or => "or A B…",
            Func::Not => "not A",
            Func::Default => "default FALLBACK VALUE",
            Func::Empty => "empty VALUE",
            Func::HasKey => "hasKey MAP KEY",
            Func::Index => "index COLLECTION KEY…",
            Func::Len => "len VALUE",
            Func::Lower => "lower STRING",
            Func::Upper => "upper STRING",
            Func::Printf => "printf FORMAT ARG…",
            Func::Quote => "quote VALUE…",
            Func::ToString => "toString VALUE",
        }
    }
}

pub(crate) fn supported_functions() -> String {
    FUNCS
        .iter()
        .map(|f| format!("`{}`", f.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Go template keywords that open or close actions Blueprint templates do not have.
const ACTION_KEYWORDS: [&str; 10] = [
    "if", "else", "end", "range", "with", "define", "template", "block", "break", "continue",
];

/// Parses a whole template into pieces.
pub(crate) fn parse_template(text: &Arc<str>) -> Result<Vec<Piece>, RenderError> {
    if text.len() > MAX_TEMPLATE_BYTES {
        return Err(RenderError::new(
            RenderErrorKind::TooComplex,
            format!(
                "template is {} bytes long; the limit is {MAX_TEMPLATE_BYTES} bytes",
                text.len()
            ),
        ));
    }
    let mut pieces = Vec::new();
    let mut nodes = 0usize;
    let mut pos = 0usize;
    let mut trim_next = false;
    loop {
        let rest = &text[pos..];
        let Some(rel) = rest.find("{{") else {
            let mut lit = rest;
            if trim_next {
                lit = trim_start(lit);
            }
            if !lit.is_empty() {
                pieces.push(Piece::Text(lit.to_string()));
            }
            break;
        };
        let open = pos + rel;
        let mut lit = &text[pos..open];
        if trim_next {
            lit = trim_start(lit);
        }
        let mut start = open + 2;
        let bytes = text.as_bytes();
        if bytes.get(start) == Some(&b'-') && bytes.get(start + 1).is_some_and(|b| is_space(*b)) {
            lit = trim_end(lit);
            start += 1;
        }
        if !lit.is_empty() {
            pieces.push(Piece::Text(lit.to_string()));
        }
        let lexed = Lexer::new(text, open, start).lex_action()?;
        let span = Span::new(open, lexed.end);
        if let Some(tokens) = lexed.tokens {
            let node = Parser::new(text, &tokens, span, &mut nodes).parse_action()?;
            pieces.push(Piece::Action(Action { node }));
        }
        pos = lexed.end;
        trim_next = lexed.trim_right;
    }
    Ok(pieces)
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn trim_start(s: &str) -> &str {
    s.trim_start_matches([' ', '\t', '\r', '\n'])
}

fn trim_end(s: &str) -> &str {
    s.trim_end_matches([' ', '\t', '\r', '\n'])
}

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// `.name`
    Field(String),
    /// `.` alone
    Dot,
    /// `$` alone
    Dollar,
    /// `$name`
    Var(String),
    Ident(String),
    Lit(Lit),
    LParen,
    RParen,
    Pipe,
    Op(InfixOp),
    /// `!`
    Bang,
    /// `:=` or `=`
    Assign,
    Comma,
    /// The closing `}}`.
    End,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InfixOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl InfixOp {
    fn text(self) -> &'static str {
        match self {
            InfixOp::Eq => "==",
            InfixOp::Ne => "!=",
            InfixOp::Lt => "<",
            InfixOp::Le => "<=",
            InfixOp::Gt => ">",
            InfixOp::Ge => ">=",
            InfixOp::And => "&&",
            InfixOp::Or => "||",
        }
    }

    fn func(self) -> Func {
        match self {
            InfixOp::Eq => Func::Eq,
            InfixOp::Ne => Func::Ne,
            InfixOp::Lt => Func::Lt,
            InfixOp::Le => Func::Le,
            InfixOp::Gt => Func::Gt,
            InfixOp::Ge => Func::Ge,
            InfixOp::And => Func::And,
            InfixOp::Or => Func::Or,
        }
    }

    fn is_comparison(self) -> bool {
        !matches!(self, InfixOp::And | InfixOp::Or)
    }
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    span: Span,
}

struct Lexed {
    /// `None` for a comment.
    tokens: Option<Vec<Token>>,
    /// One past the closing `}}`.
    end: usize,
    trim_right: bool,
}

struct Lexer<'a> {
    text: &'a Arc<str>,
    /// Where the action's `{{` is.
    open: usize,
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a Arc<str>, open: usize, start: usize) -> Self {
        Lexer {
            text,
            open,
            pos: start,
        }
    }

    fn err(&self, kind: RenderErrorKind, span: Span, msg: impl std::fmt::Display) -> RenderError {
        RenderError::at(kind, self.text, span, msg)
    }

    fn rest(&self) -> &'a str {
        let text: &'a str = self.text;
        text.get(self.pos..).unwrap_or("")
    }

    fn peek_char(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - trim_start(rest).len();
    }

    fn unclosed(&self) -> RenderError {
        self.err(
            RenderErrorKind::Syntax,
            Span::new(self.open, self.open + 2),
            "unclosed action: `{{` has no matching `}}`",
        )
        .with_help("close the action with `}}`")
    }

    /// If the closing delimiter is here, consumes it.
    fn try_close(&mut self) -> Option<(usize, bool)> {
        let rest = self.rest();
        if rest.starts_with("}}") {
            return Some((self.pos + 2, false));
        }
        let after_space = self.pos > 0
            && self
                .text
                .as_bytes()
                .get(self.pos - 1)
                .is_some_and(|b| is_space(*b));
        if rest.starts_with("-}}") && after_space {
            return Some((self.pos + 3, true));
        }
        None
    }

    fn lex_action(mut self) -> Result<Lexed, RenderError> {
        self.skip_space();
        if self.rest().starts_with("/*") {
            let from = self.pos;
            let Some(rel) = self.rest().find("*/") else {
                return Err(self
                    .err(
                        RenderErrorKind::Syntax,
                        Span::new(from, from + 2),
                        "unclosed comment: `/*` has no matching `*/`",
                    )
                    .with_help("write a comment as `{{/* text */}}`"));
            };
            self.pos += rel + 2;
            self.skip_space();
            return match self.try_close() {
                Some((end, trim_right)) => Ok(Lexed {
                    tokens: None,
                    end,
                    trim_right,
                }),
                None if self.rest().is_empty() => Err(self.unclosed()),
                None => Err(self.err(
                    RenderErrorKind::Syntax,
                    Span::at(self.pos),
                    "a comment must be the whole action; expected `}}` after `*/`",
                )),
            };
        }
        let mut tokens = Vec::new();
        loop {
            self.skip_space();
            if self.rest().is_empty() {
                return Err(self.unclosed());
            }
            if let Some((end, trim_right)) = self.try_close() {
                tokens.push(Token {
                    tok: Tok::End,
                    span: Span::new(self.pos, end),
                });
                return Ok(Lexed {
                    tokens: Some(tokens),
                    end,
                    trim_right,
                });
            }
            let start = self.pos;
            let tok = self.lex_token()?;
            tokens.push(Token {
                tok,
                span: Span::new(start, self.pos),
            });
        }
    }

    fn lex_token(&mut self) -> Result<Tok, RenderError> {
        let start = self.pos;
        let rest = self.rest();
        let Some(c) = rest.chars().next() else {
            return Err(self.unclosed());
        };
        let next = rest[c.len_utf8()..].chars().next();
        let two = |s: &str| rest.starts_with(s);
        let single = |lexer: &mut Self, tok: Tok, len: usize| {
            lexer.pos += len;
            Ok(tok)
        };
        match c {
            '.' => match next {
                Some(d) if d.is_ascii_digit() => self.lex_number(),
                Some(d) if is_ident_start(d) => {
                    self.pos += 1;
                    Ok(Tok::Field(self.eat_ident()))
                }
                Some('.') => Err(self.err(
                    RenderErrorKind::Syntax,
                    Span::new(start, start + 2),
                    "unexpected `..`",
                )),
                _ => single(self, Tok::Dot, 1),
            },
            '$' => {
                self.pos += 1;
                match next {
                    Some(d) if is_ident_char(d) => Ok(Tok::Var(self.eat_ident())),
                    _ => Ok(Tok::Dollar),
                }
            }
            '"' | '\'' => self.lex_quoted(c),
            '`' => self.lex_raw(),
            '0'..='9' => self.lex_number(),
            '+' | '-'
                if next.is_some_and(|d| d.is_ascii_digit())
                    || (next == Some('.')
                        && rest[1..].chars().nth(1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                self.lex_number()
            }
            '(' => single(self, Tok::LParen, 1),
            ')' => single(self, Tok::RParen, 1),
            ',' => single(self, Tok::Comma, 1),
            '|' if two("||") => single(self, Tok::Op(InfixOp::Or), 2),
            '|' => single(self, Tok::Pipe, 1),
            '&' if two("&&") => single(self, Tok::Op(InfixOp::And), 2),
            '=' if two("==") => single(self, Tok::Op(InfixOp::Eq), 2),
            '=' => single(self, Tok::Assign, 1),
            ':' if two(":=") => single(self, Tok::Assign, 2),
            '!' if two("!=") => single(self, Tok::Op(InfixOp::Ne), 2),
            '!' => single(self, Tok::Bang, 1),
            '<' if two("<=") => single(self, Tok::Op(InfixOp::Le), 2),
            '<' => single(self, Tok::Op(InfixOp::Lt), 1),
            '>' if two(">=") => single(self, Tok::Op(InfixOp::Ge), 2),
            '>' => single(self, Tok::Op(InfixOp::Gt), 1),
            c if is_ident_start(c) => Ok(Tok::Ident(self.eat_ident())),
            '+' | '-' | '*' | '/' | '%' => Err(self
                .err(
                    RenderErrorKind::Unsupported,
                    Span::new(start, start + 1),
                    format_args!("unexpected `{c}`: arithmetic is not supported in templates"),
                )
                .with_help(OPERATORS_HELP)),
            '[' | ']' => Err(self
                .err(
                    RenderErrorKind::Unsupported,
                    Span::new(start, start + 1),
                    format_args!("unexpected `{c}`: brackets are not template syntax"),
                )
                .with_help(
                    "look keys and elements up with `index`, as in `index .outputs.db \"host\"`",
                )),
            _ => Err(self
                .err(
                    RenderErrorKind::Syntax,
                    Span::new(start, start + c.len_utf8()),
                    format_args!("unexpected character `{}`", c.escape_debug()),
                )
                .with_help(OPERATORS_HELP)),
        }
    }

    fn eat_ident(&mut self) -> String {
        let rest = self.rest();
        let len = rest
            .char_indices()
            .find(|&(_, c)| !is_ident_char(c))
            .map_or(rest.len(), |(i, _)| i);
        self.pos += len;
        rest[..len].to_string()
    }

    fn lex_number(&mut self) -> Result<Tok, RenderError> {
        let start = self.pos;
        let rest = self.rest();
        let mut len = 0;
        let mut prev = '\0';
        for (i, c) in rest.char_indices() {
            let ok = c.is_ascii_alphanumeric()
                || c == '_'
                || c == '.'
                || ((c == '+' || c == '-') && (i == 0 || matches!(prev, 'e' | 'E' | 'p' | 'P')));
            if !ok {
                break;
            }
            prev = c;
            len = i + c.len_utf8();
        }
        self.pos += len;
        let raw = &rest[..len];
        parse_number(raw).map(Tok::Lit).ok_or_else(|| {
            self.err(
                RenderErrorKind::Syntax,
                Span::new(start, start + len),
                format_args!("bad number `{}`", snippet(raw)),
            )
            .with_help("write integers as `42`, `-3` or `0x1F`, and decimals as `1.5` or `2e3`")
        })
    }

    fn lex_quoted(&mut self, quote: char) -> Result<Tok, RenderError> {
        let start = self.pos;
        self.pos += 1;
        let mut bytes: Vec<u8> = Vec::new();
        loop {
            let Some(c) = self.peek_char() else {
                return Err(self.unterminated(start, quote));
            };
            match c {
                '\n' => return Err(self.unterminated(start, quote)),
                c if c == quote => {
                    self.pos += 1;
                    break;
                }
                '\\' => {
                    let esc_start = self.pos;
                    self.pos += 1;
                    self.lex_escape(esc_start, quote, &mut bytes)?;
                }
                c => {
                    let mut buf = [0u8; 4];
                    bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    self.pos += c.len_utf8();
                }
            }
        }
        String::from_utf8(bytes)
            .map(|s| Tok::Lit(Lit::Str(s)))
            .map_err(|_| {
                self.err(
                    RenderErrorKind::Syntax,
                    Span::new(start, self.pos),
                    "string literal is not valid UTF-8 after its `\\x` and octal escapes",
                )
            })
    }

    fn unterminated(&self, start: usize, quote: char) -> RenderError {
        self.err(
            RenderErrorKind::Syntax,
            Span::new(start, start + 1),
            format_args!("unterminated string: `{quote}` has no closing `{quote}` on its line"),
        )
        .with_help("strings spanning lines must use back quotes: `` `text` ``")
    }

    fn lex_escape(
        &mut self,
        esc_start: usize,
        quote: char,
        out: &mut Vec<u8>,
    ) -> Result<(), RenderError> {
        let Some(c) = self.peek_char() else {
            return Err(self.unterminated(esc_start, quote));
        };
        self.pos += c.len_utf8();
        let simple = match c {
            'a' => Some(0x07u8),
            'b' => Some(0x08),
            'f' => Some(0x0c),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(0x0b),
            '\\' => Some(b'\\'),
            '"' => Some(b'"'),
            '\'' => Some(b'\''),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            return Ok(());
        }
        let bad = |lexer: &Self| {
            lexer
                .err(
                    RenderErrorKind::Syntax,
                    Span::new(esc_start, lexer.pos),
                    format_args!(
                        "bad escape `{}` in string",
                        lexer.text.get(esc_start..lexer.pos).unwrap_or("\\")
                    ),
                )
                .with_help(
                    "Go escapes are `\\n`, `\\t`, `\\\\`, `\\\"`, `\\'`, `\\xHH`, `\\uHHHH`, `\\UHHHHHHHH` and `\\ooo`",
                )
        };
        match c {
            'x' => {
                let v = self.take_digits(2, 16).ok_or_else(|| bad(self))?;
                out.push(v as u8);
            }
            '0'..='7' => {
                self.pos -= 1;
                let v = self
                    .take_digits(3, 8)
                    .filter(|v| *v <= 255)
                    .ok_or_else(|| bad(self))?;
                out.push(v as u8);
            }
            'u' | 'U' => {
                let n = if c == 'u' { 4 } else { 8 };
                let ch = self
                    .take_digits(n, 16)
                    .and_then(char::from_u32)
                    .ok_or_else(|| bad(self))?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            }
            _ => return Err(bad(self)),
        }
        Ok(())
    }

    /// Consumes exactly `n` digits of `radix`, if they are there.
    fn take_digits(&mut self, n: usize, radix: u32) -> Option<u32> {
        let s = self.rest().get(..n)?;
        if !s.chars().all(|d| d.is_digit(radix)) {
            return None;
        }
        self.pos += n;
        u32::from_str_radix(s, radix).ok()
    }

    fn lex_raw(&mut self) -> Result<Tok, RenderError> {
        let start = self.pos;
        self.pos += 1;
        let rest = self.rest();
        let Some(rel) = rest.find('`') else {
            return Err(self.err(
                RenderErrorKind::Syntax,
                Span::new(start, start + 1),
                "unterminated raw string: `` ` `` has no closing `` ` ``",
            ));
        };
        let s = rest[..rel].to_string();
        self.pos += rel + 1;
        Ok(Tok::Lit(Lit::Str(s)))
    }
}

const OPERATORS_HELP: &str = "templates support paths (`.config.x`), literals, function calls (`eq .a \"b\"`), pipelines (`| default \"x\"`), parentheses and the operators `==` `!=` `<` `<=` `>` `>=` `&&` `||` `!`";

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Reads a Go number literal: decimal, `0x`/`0o`/`0b` prefixed or legacy-octal integers with
/// `_` separators, and decimal floats.
fn parse_number(raw: &str) -> Option<Lit> {
    let (neg, body) = match raw.as_bytes().first()? {
        b'-' => (true, &raw[1..]),
        b'+' => (false, &raw[1..]),
        _ => (false, raw),
    };
    if body.is_empty() || body.starts_with('_') || body.ends_with('_') || body.contains("__") {
        return None;
    }
    let lower = body.to_ascii_lowercase();
    let radix_int = |digits: &str, radix: u32| -> Option<i128> {
        let digits = digits.strip_prefix('_').unwrap_or(digits);
        if digits.is_empty() {
            return None;
        }
        i128::from_str_radix(&digits.replace('_', ""), radix).ok()
    };
    let int = if let Some(d) = lower.strip_prefix("0x") {
        Some(radix_int(d, 16)?)
    } else if let Some(d) = lower.strip_prefix("0o") {
        Some(radix_int(d, 8)?)
    } else if let Some(d) = lower.strip_prefix("0b") {
        Some(radix_int(d, 2)?)
    } else if lower.contains(['.', 'e']) {
        None
    } else if lower.len() > 1 && lower.starts_with('0') {
        Some(radix_int(&lower[1..], 8)?)
    } else {
        Some(radix_int(&lower, 10)?)
    };
    match int {
        Some(v) => {
            let v = if neg { -v } else { v };
            (i128::from(i64::MIN)..=i128::from(u64::MAX))
                .contains(&v)
                .then_some(Lit::Int(v))
        }
        None => {
            if !lower
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | '+' | '-' | '_'))
            {
                return None;
            }
            let f: f64 = lower.replace('_', "").parse().ok()?;
            f.is_finite()
                .then_some(Lit::Float(if neg { -f } else { f }))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parser

struct Parser<'a> {
    text: &'a Arc<str>,
    toks: &'a [Token],
    i: usize,
    action: Span,
    nodes: &'a mut usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a Arc<str>, toks: &'a [Token], action: Span, nodes: &'a mut usize) -> Self {
        Parser {
            text,
            toks,
            i: 0,
            action,
            nodes,
        }
    }

    fn err(&self, kind: RenderErrorKind, span: Span, msg: impl std::fmt::Display) -> RenderError {
        RenderError::at(kind, self.text, span, msg)
    }

    fn peek(&self) -> &'a Token {
        // The token list always ends with `End`; stay on it.
        let toks: &'a [Token] = self.toks;
        &toks[self.i.min(toks.len() - 1)]
    }

    fn bump(&mut self) -> &'a Token {
        let t = self.peek();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        t
    }

    fn src(&self, span: Span) -> &'a str {
        let text: &'a str = self.text;
        text.get(span.start..span.end).unwrap_or("")
    }

    /// How a token reads in a message.
    fn describe(&self, t: &Token) -> String {
        match t.tok {
            Tok::End => "the end of the action".to_string(),
            _ => format!("`{}`", snippet(self.src(t.span))),
        }
    }

    fn node(&mut self, kind: NodeKind, span: Span) -> Result<Node, RenderError> {
        let depth = 1 + match &kind {
            NodeKind::Root | NodeKind::Lit(_) => 0,
            NodeKind::Field { base, .. } => base.depth,
            NodeKind::Call { args, .. } => args.iter().map(|a| a.depth).max().unwrap_or(0),
        };
        *self.nodes += 1;
        if depth > MAX_DEPTH {
            return Err(self.too_complex(
                span,
                format_args!("expression nests more than {MAX_DEPTH} levels deep"),
            ));
        }
        if *self.nodes > MAX_NODES {
            return Err(self.too_complex(
                span,
                format_args!("template has more than {MAX_NODES} values and operations"),
            ));
        }
        Ok(Node { kind, span, depth })
    }

    fn too_complex(&self, span: Span, msg: impl std::fmt::Display) -> RenderError {
        self.err(RenderErrorKind::TooComplex, span, msg).with_help(
            "split the logic up or simplify it; templates are meant for short expressions",
        )
    }

    fn check_depth(&self, depth: usize, span: Span) -> Result<(), RenderError> {
        if depth > MAX_DEPTH {
            Err(self.too_complex(
                span,
                format_args!("expression nests more than {MAX_DEPTH} levels deep"),
            ))
        } else {
            Ok(())
        }
    }

    fn parse_action(mut self) -> Result<Node, RenderError> {
        let first = self.peek();
        match &first.tok {
            Tok::End => {
                return Err(self
                    .err(RenderErrorKind::Syntax, self.action, "empty action")
                    .with_help(
                        "write an expression between the braces, as in `{{ .application.name }}`",
                    ));
            }
            Tok::Ident(name) if ACTION_KEYWORDS.contains(&name.as_str()) => {
                return Err(self.keyword_error(name, first.span));
            }
            Tok::Var(_) | Tok::Dollar
                if matches!(
                    self.toks.get(1).map(|t| &t.tok),
                    Some(Tok::Assign | Tok::Comma)
                ) =>
            {
                return Err(self
                    .err(
                        RenderErrorKind::Unsupported,
                        first.span,
                        "variable declarations are not supported",
                    )
                    .with_help(
                        "use the value directly where it is needed; `$` alone refers to the root",
                    ));
            }
            _ => {}
        }
        let node = self.parse_pipeline(0)?;
        let t = self.peek();
        match t.tok {
            Tok::End => Ok(node),
            Tok::RParen => Err(self.err(RenderErrorKind::Syntax, t.span, "unmatched `)`")),
            Tok::Assign => Err(self
                .err(
                    RenderErrorKind::Unsupported,
                    t.span,
                    "assignment is not supported",
                )
                .with_help("to compare two values write `==` or `eq A B`")),
            _ => Err(self.err(
                RenderErrorKind::Syntax,
                t.span,
                format_args!(
                    "unexpected {}; expected `|`, an operator or `}}}}`",
                    self.describe(t)
                ),
            )),
        }
    }

    fn keyword_error(&self, name: &str, span: Span) -> RenderError {
        let help = match name {
            "if" | "else" | "end" => {
                "write the condition itself as the expression, as in `{{ eq .config.mode \"embedded\" }}`; a `when` is true when it is"
            }
            "range" | "with" | "break" | "continue" => {
                "templates have no loops or scopes; reach values with paths such as `.config.db.host` or `index .outputs.db \"host\"`"
            }
            _ => "templates cannot define or include other templates",
        };
        self.err(
            RenderErrorKind::Unsupported,
            span,
            format_args!(
                "Go template action `{name}` is not supported: a template is literal text with `{{{{ expression }}}}` actions only"
            ),
        )
        .with_help(help)
    }

    fn unknown_function(&self, name: &str, span: Span) -> RenderError {
        let hint = match name {
            "include" | "tpl" | "template" | "required" | "fail" | "lookup" => Some(
                "templates cannot include other templates, fail on purpose or look up cluster state",
            ),
            "env" | "expandenv" => Some("templates cannot read the environment"),
            "toYaml" | "toJson" | "fromYaml" | "fromJson" => Some(
                "a string that is exactly one `{{ … }}` keeps the type of its value, so maps and lists need no encoding",
            ),
            "coalesce" | "ternary" => {
                Some("combine `or`, `and` and `default`, as in `{{ or .config.a .config.b }}`")
            }
            _ => None,
        };
        let mut msg = format!(
            "unknown function `{name}`; supported functions are {}",
            supported_functions()
        );
        if name.chars().next().is_some_and(char::is_uppercase) {
            msg.push_str(" (names are case-sensitive)");
        }
        let err = self.err(RenderErrorKind::Unsupported, span, msg);
        match hint {
            Some(h) => err.with_help(h),
            None => err,
        }
    }

    fn parse_pipeline(&mut self, depth: usize) -> Result<Node, RenderError> {
        let mut node = self.parse_or(depth)?;
        while matches!(self.peek().tok, Tok::Pipe) {
            let pipe = self.bump().span;
            let t = self.bump();
            let (func, name_span) = match &t.tok {
                Tok::Ident(name) if !matches!(name.as_str(), "true" | "false" | "nil") => {
                    if ACTION_KEYWORDS.contains(&name.as_str()) {
                        return Err(self.keyword_error(name, t.span));
                    }
                    match Func::lookup(name) {
                        Some(f) => (f, t.span),
                        None => return Err(self.unknown_function(name, t.span)),
                    }
                }
                _ => {
                    return Err(self
                        .err(
                            RenderErrorKind::Syntax,
                            t.span,
                            format_args!(
                                "expected a function name after `|` at {}, found {}",
                                super::error::location(self.text, pipe.start),
                                self.describe(t)
                            ),
                        )
                        .with_help("a pipeline passes its value to a function as the last argument, as in `.config.size | default \"small\"`"));
                }
            };
            let mut args = self.parse_args(depth)?;
            args.push(node);
            self.check_arity(func, &args, name_span, true)?;
            let start = args.last().map_or(name_span.start, |a| a.span.start);
            let end = args
                .iter()
                .map(|a| a.span.end)
                .max()
                .unwrap_or(name_span.end)
                .max(name_span.end);
            node = self.node(NodeKind::Call { func, args }, Span::new(start, end))?;
            if let Tok::Op(op) = self.peek().tok {
                return Err(self
                    .err(
                        RenderErrorKind::Syntax,
                        self.peek().span,
                        format_args!("`{}` after a pipeline stage needs parentheses", op.text()),
                    )
                    .with_help(format!(
                        "`|` applies to everything before it; write `({} | {} …) {} …`",
                        snippet(
                            self.src(Span::new(self.action.start + 2, pipe.start))
                                .trim()
                        ),
                        func.name(),
                        op.text()
                    )));
            }
        }
        Ok(node)
    }

    fn parse_or(&mut self, depth: usize) -> Result<Node, RenderError> {
        self.parse_logical(depth, InfixOp::Or)
    }

    fn parse_logical(&mut self, depth: usize, op: InfixOp) -> Result<Node, RenderError> {
        let operand = |p: &mut Self| {
            if op == InfixOp::Or {
                p.parse_logical(depth, InfixOp::And)
            } else {
                p.parse_comparison(depth)
            }
        };
        let first = operand(self)?;
        if self.peek().tok != Tok::Op(op) {
            return Ok(first);
        }
        let mut args = vec![first];
        while self.peek().tok == Tok::Op(op) {
            self.bump();
            args.push(operand(self)?);
        }
        let span = Span::new(
            args.first().map_or(0, |a| a.span.start),
            args.last().map_or(0, |a| a.span.end),
        );
        self.node(
            NodeKind::Call {
                func: op.func(),
                args,
            },
            span,
        )
    }

    fn parse_comparison(&mut self, depth: usize) -> Result<Node, RenderError> {
        let lhs = self.parse_unary(depth)?;
        let Tok::Op(op) = self.peek().tok else {
            return Ok(lhs);
        };
        if !op.is_comparison() {
            return Ok(lhs);
        }
        self.bump();
        let rhs = self.parse_unary(depth)?;
        if let Tok::Op(next) = self.peek().tok
            && next.is_comparison()
        {
            return Err(self
                .err(
                    RenderErrorKind::Syntax,
                    self.peek().span,
                    format_args!(
                        "comparisons cannot be chained: unexpected `{}`",
                        next.text()
                    ),
                )
                .with_help("combine comparisons with `&&` or `||`, as in `.a > 1 && .a < 5`"));
        }
        let span = Span::new(lhs.span.start, rhs.span.end);
        self.node(
            NodeKind::Call {
                func: op.func(),
                args: vec![lhs, rhs],
            },
            span,
        )
    }

    fn parse_unary(&mut self, depth: usize) -> Result<Node, RenderError> {
        if self.peek().tok == Tok::Bang {
            let bang = self.bump().span;
            self.check_depth(depth + 1, bang)?;
            let inner = self.parse_unary(depth + 1)?;
            let span = Span::new(bang.start, inner.span.end);
            return self.node(
                NodeKind::Call {
                    func: Func::Not,
                    args: vec![inner],
                },
                span,
            );
        }
        self.parse_command(depth)
    }

    fn parse_command(&mut self, depth: usize) -> Result<Node, RenderError> {
        let t = self.peek();
        if let Tok::Ident(name) = &t.tok
            && !matches!(name.as_str(), "true" | "false" | "nil")
        {
            if ACTION_KEYWORDS.contains(&name.as_str()) {
                return Err(self.keyword_error(name, t.span));
            }
            let Some(func) = Func::lookup(name) else {
                return Err(self.unknown_function(name, t.span));
            };
            self.bump();
            let args = self.parse_args(depth)?;
            self.check_arity(func, &args, t.span, false)?;
            let end = args.last().map_or(t.span.end, |a| a.span.end);
            return self.node(NodeKind::Call { func, args }, Span::new(t.span.start, end));
        }
        let node = self.parse_operand(depth)?;
        let next = self.peek();
        if starts_operand(&next.tok) {
            return Err(self
                .err(
                    RenderErrorKind::Syntax,
                    next.span,
                    format_args!(
                        "unexpected {} after `{}`, which is not a function",
                        self.describe(next),
                        snippet(self.src(node.span))
                    ),
                )
                .with_help(
                    "only functions take arguments; put the function name first, as in `eq .a .b`",
                ));
        }
        Ok(node)
    }

    fn parse_args(&mut self, depth: usize) -> Result<Vec<Node>, RenderError> {
        let mut args = Vec::new();
        loop {
            let t = self.peek();
            match &t.tok {
                tok if starts_operand(tok) => args.push(self.parse_operand(depth)?),
                Tok::Ident(name) => {
                    let msg = if Func::lookup(name).is_some() {
                        format!(
                            "function `{name}` used as an argument must be wrapped in parentheses"
                        )
                    } else if ACTION_KEYWORDS.contains(&name.as_str()) {
                        return Err(self.keyword_error(name, t.span));
                    } else {
                        return Err(self.unknown_function(name, t.span));
                    };
                    return Err(self
                        .err(RenderErrorKind::Syntax, t.span, msg)
                        .with_help(format!("write `({name} …)` to pass its result")));
                }
                _ => return Ok(args),
            }
        }
    }

    fn check_arity(
        &self,
        func: Func,
        args: &[Node],
        name_span: Span,
        piped: bool,
    ) -> Result<(), RenderError> {
        let (min, max) = func.arity();
        let n = args.len();
        if n >= min && max.is_none_or(|m| n <= m) {
            return Ok(());
        }
        let want = match max {
            Some(m) if m == min => format!("{min}"),
            Some(m) => format!("{min} to {m}"),
            None => format!("at least {min}"),
        };
        let piped = if piped {
            " (counting the piped value, which comes last)"
        } else {
            ""
        };
        Err(self
            .err(
                RenderErrorKind::Syntax,
                name_span,
                format_args!(
                    "`{}` takes {want} argument{}, got {n}{piped}",
                    func.name(),
                    if want == "1" { "" } else { "s" }
                ),
            )
            .with_help(format!("usage: `{}`", func.usage())))
    }

    fn parse_operand(&mut self, depth: usize) -> Result<Node, RenderError> {
        let t = self.bump();
        let mut node = match &t.tok {
            Tok::Field(name) => {
                let root = self.node(NodeKind::Root, Span::at(t.span.start))?;
                self.check_root(name, t.span)?;
                self.node(
                    NodeKind::Field {
                        base: Box::new(root),
                        name: name.clone(),
                    },
                    t.span,
                )?
            }
            Tok::Dot | Tok::Dollar => self.node(NodeKind::Root, t.span)?,
            Tok::Var(name) => {
                return Err(self
                    .err(
                        RenderErrorKind::Unsupported,
                        t.span,
                        format_args!("variable `${name}` is not supported"),
                    )
                    .with_help("`$` alone refers to the root, as in `$.config.x`; templates declare no variables"));
            }
            Tok::Lit(lit) => self.node(NodeKind::Lit(lit.clone()), t.span)?,
            Tok::Ident(name) if name == "true" => {
                self.node(NodeKind::Lit(Lit::Bool(true)), t.span)?
            }
            Tok::Ident(name) if name == "false" => {
                self.node(NodeKind::Lit(Lit::Bool(false)), t.span)?
            }
            Tok::Ident(name) if name == "nil" => self.node(NodeKind::Lit(Lit::Nil), t.span)?,
            Tok::LParen => {
                self.check_depth(depth + 1, t.span)?;
                let inner = self.parse_pipeline(depth + 1)?;
                let close = self.peek();
                if close.tok != Tok::RParen {
                    return Err(self
                        .err(
                            RenderErrorKind::Syntax,
                            close.span,
                            format_args!(
                                "expected `)` to close the `(` at {}, found {}",
                                super::error::location(self.text, t.span.start),
                                self.describe(close)
                            ),
                        )
                        .with_help("every `(` needs a matching `)`"));
                }
                self.bump();
                Node {
                    span: Span::new(t.span.start, close.span.end),
                    ..inner
                }
            }
            Tok::Assign => {
                return Err(self
                    .err(
                        RenderErrorKind::Unsupported,
                        t.span,
                        "assignment is not supported",
                    )
                    .with_help("to compare two values write `==` or `eq A B`"));
            }
            Tok::Comma => {
                return Err(self.err(
                    RenderErrorKind::Syntax,
                    t.span,
                    "unexpected `,`: function arguments are separated by spaces",
                ));
            }
            _ => {
                return Err(self
                    .err(
                        RenderErrorKind::Syntax,
                        t.span,
                        format_args!("expected a value, found {}", self.describe(t)),
                    )
                    .with_help("a value is a path such as `.config.x`, a literal such as `\"text\"` or `3`, or a parenthesised expression"));
            }
        };
        // Field chains: `.a.b`, `$.a`, `(expr).a` — fields written right after the operand.
        let mut end = t.span.end.max(node.span.end);
        loop {
            let next = self.peek();
            let Tok::Field(name) = &next.tok else { break };
            if next.span.start != end {
                break;
            }
            if matches!(node.kind, NodeKind::Lit(_)) {
                return Err(self.err(
                    RenderErrorKind::Syntax,
                    next.span,
                    "a literal has no fields",
                ));
            }
            self.bump();
            if matches!(node.kind, NodeKind::Root) {
                self.check_root(name, next.span)?;
            }
            let span = Span::new(node.span.start, next.span.end);
            node = self.node(
                NodeKind::Field {
                    base: Box::new(node),
                    name: name.clone(),
                },
                span,
            )?;
            end = next.span.end;
        }
        Ok(node)
    }

    fn check_root(&self, name: &str, span: Span) -> Result<(), RenderError> {
        if ROOTS.contains(&name) {
            return Ok(());
        }
        let help = match name {
            "Values" => "Helm's `.Values` corresponds to `.config`, the Application's configuration".to_string(),
            "Release" => "`.Release.Name` corresponds to `.application.name` and `.Release.Namespace` to `.application.namespace`".to_string(),
            "Chart" => "`.Chart` corresponds to `.blueprint` (`.blueprint.name`, `.blueprint.version`)".to_string(),
            _ => match ROOTS.iter().find(|r| r.eq_ignore_ascii_case(name)) {
                Some(r) => format!("names are case-sensitive: write `.{r}`"),
                None => "outputs of dependencies are under `.outputs.<alias>`".to_string(),
            },
        };
        Err(self
            .err(
                RenderErrorKind::Undefined,
                span,
                format_args!(
                    "unknown field `.{name}`; the template root has `.application`, `.config`, `.blueprint` and `.outputs`"
                ),
            )
            .with_help(help))
    }
}

fn starts_operand(tok: &Tok) -> bool {
    match tok {
        Tok::Field(_) | Tok::Dot | Tok::Dollar | Tok::Var(_) | Tok::Lit(_) | Tok::LParen => true,
        Tok::Ident(name) => matches!(name.as_str(), "true" | "false" | "nil"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_go() {
        assert_eq!(parse_number("42"), Some(Lit::Int(42)));
        assert_eq!(parse_number("-3"), Some(Lit::Int(-3)));
        assert_eq!(parse_number("+3"), Some(Lit::Int(3)));
        assert_eq!(parse_number("0x1F"), Some(Lit::Int(31)));
        assert_eq!(parse_number("0o17"), Some(Lit::Int(15)));
        assert_eq!(parse_number("017"), Some(Lit::Int(15)));
        assert_eq!(parse_number("0b101"), Some(Lit::Int(5)));
        assert_eq!(parse_number("1_000"), Some(Lit::Int(1000)));
        assert_eq!(parse_number("0"), Some(Lit::Int(0)));
        assert_eq!(parse_number("1.5"), Some(Lit::Float(1.5)));
        assert_eq!(parse_number(".5"), Some(Lit::Float(0.5)));
        assert_eq!(parse_number("2e3"), Some(Lit::Float(2000.0)));
        assert_eq!(parse_number("-1.5e-3"), Some(Lit::Float(-0.0015)));
        assert_eq!(
            parse_number("18446744073709551615"),
            Some(Lit::Int(u64::MAX.into()))
        );
        for bad in [
            "08",
            "1__0",
            "_1",
            "1_",
            "3abc",
            "0x",
            "1e999",
            "18446744073709551616",
            "1.2.3",
            "0xg",
        ] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
    }

    fn parse(text: &str) -> Result<Vec<Piece>, RenderError> {
        parse_template(&Arc::from(text))
    }

    #[test]
    fn trim_markers_and_comments() {
        let pieces = parse("a  {{- .config.x -}}  b {{/* note */}}c{{- /* x */ -}} d").unwrap();
        let texts: Vec<_> = pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.clone(),
                Piece::Action(_) => "<>".to_string(),
            })
            .collect();
        assert_eq!(texts, ["a", "<>", "b ", "c", "d"]);
        // `{{-3}}` is the number -3, not a trim marker.
        let pieces = parse("x {{-3}}").unwrap();
        assert!(matches!(&pieces[0], Piece::Text(t) if t == "x "));
        assert!(
            matches!(&pieces[1], Piece::Action(a) if matches!(a.node.kind, NodeKind::Lit(Lit::Int(-3))))
        );
    }

    #[test]
    fn spans_point_into_the_text() {
        let err = parse("ab {{ .config.x | toYaml }}").unwrap_err();
        assert_eq!(err.span_in_template(), Some(Span::new(18, 24)));
        assert!(err.message().contains("column 19"), "{}", err.message());
        let err = parse("{{ .a }}").unwrap_err();
        assert_eq!(err.span_in_template(), Some(Span::new(3, 5)));
    }

    #[test]
    fn strings_decode_go_escapes() {
        let pieces = parse(r#"{{ "a\tb\x41\101\u00e9\U0001F600\"" }}{{ 'it''s' }}"#);
        // `'it''s'` is two strings side by side, which is not a command.
        assert!(pieces.is_err());
        let pieces =
            parse(r#"{{ "a\tb\x41\101\u00e9\U0001F600\"" }}{{ 'x\'y' }}{{ `r\n` }}"#).unwrap();
        let lits: Vec<_> = pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Action(Action { node, .. }) => match &node.kind {
                    NodeKind::Lit(Lit::Str(s)) => Some(s.clone()),
                    _ => None,
                },
                Piece::Text(_) => None,
            })
            .collect();
        assert_eq!(lits, ["a\tbAAé😀\"", "x'y", "r\\n"]);
        assert!(parse(r#"{{ "\xff" }}"#).is_err());
        assert!(parse(r#"{{ "\q" }}"#).is_err());
        assert!(parse("{{ \"a\nb\" }}").is_err());
    }
}
