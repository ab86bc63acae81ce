//! Parses filter tokens into an expression tree, resolving field names on the way.
//!
//! Grammar (`&&` binds tighter than `||`):
//!
//! ```text
//! filter     := or END
//! or         := and ("||" and)*
//! and        := primary ("&&" primary)*
//! primary    := "(" or ")" | comparison
//! comparison := FIELD OP literal
//! literal    := STRING | NUMBER | "true" | "false" | "null"
//! ```
//!
//! Recursion only happens at `(`, and nesting is counted there, so no input can exhaust the
//! stack. Limits are checked as the text is read, before any work proportional to it.

use super::error::{QueryError, quote};
use super::fields::{self, Field};
use super::lexer::{Lexer, OPERATORS, Op, Tok, Token};
use super::rule::{Env, Operand};
use super::{MAX_COMPARISONS, MAX_CONTAINS, MAX_NESTING, MAX_QUERY_CHARS};
use crate::collections::schema::CollectionSchema;

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    /// One comparison.
    Compare(Comparison),
    /// All of these (two or more, none of them an `And`).
    And(Vec<Expr>),
    /// Any of these (two or more, none of them an `Or`).
    Or(Vec<Expr>),
    /// A comparison decided while parsing a rule: one about the request alone
    /// (`@request.auth.is_admin = true`), or one whose request value cannot match.
    Const(bool),
}

/// `field op value`, with the positions errors point at.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Comparison {
    /// The field on the left.
    pub(crate) field: Field,
    /// The operator.
    pub(crate) op: Op,
    /// Where the operator starts.
    pub(crate) op_pos: usize,
    /// The literal on the right.
    pub(crate) value: Literal,
    /// Where the literal starts.
    pub(crate) value_pos: usize,
    /// The literal as written, for messages.
    pub(crate) value_text: String,
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    /// A quoted string.
    Text(String),
    /// An integer.
    Int(i64),
    /// A finite float.
    Float(f64),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
}

/// Parses `text` into an expression over fields of `schema`.
pub(crate) fn parse(text: &str, schema: &CollectionSchema) -> Result<Expr, QueryError> {
    parse_in(text, &Env { schema, rule: None })
}

/// Parses `text` in `env`: a plain filter, or a rule with the names rules may use.
pub(crate) fn parse_in(text: &str, env: &Env<'_>) -> Result<Expr, QueryError> {
    if text.chars().nth(MAX_QUERY_CHARS).is_some() {
        return Err(QueryError::at(
            MAX_QUERY_CHARS,
            format!("filter longer than {MAX_QUERY_CHARS} characters"),
        ));
    }
    let mut lexer = Lexer::new(text);
    let current = lexer.next_token()?;
    if current.tok == Tok::End {
        return Err(
            QueryError::at(0, "empty filter").hint("write a comparison such as title = 'x'")
        );
    }
    let mut parser = Parser {
        lexer,
        current,
        previous: String::new(),
        env,
        depth: 0,
        comparisons: 0,
        contains: 0,
    };
    let expr = parser.or()?;
    match parser.current.tok {
        Tok::End => Ok(expr),
        Tok::RParen => Err(QueryError::at(parser.current.pos, "unmatched `)`")),
        _ => Err(parser.expected("`&&`, `||` or the end of the filter")),
    }
}

struct Parser<'a> {
    lexer: Lexer,
    /// The token being looked at.
    current: Token,
    /// The text of the token before it, for "after …" messages.
    previous: String,
    env: &'a Env<'a>,
    /// Parentheses open around the current position.
    depth: usize,
    /// Comparisons read so far.
    comparisons: usize,
    /// `~` and `!~` comparisons so far.
    contains: usize,
}

impl Parser<'_> {
    /// Moves to the next token; returns the one moved past.
    fn bump(&mut self) -> Result<Token, QueryError> {
        let next = self.lexer.next_token()?;
        let token = std::mem::replace(&mut self.current, next);
        self.previous.clone_from(&token.text);
        Ok(token)
    }

    fn or(&mut self) -> Result<Expr, QueryError> {
        let mut terms = vec![self.and()?];
        while self.current.tok == Tok::Or {
            self.bump()?;
            terms.push(self.and()?);
        }
        Ok(combine(terms, Join::Or))
    }

    fn and(&mut self) -> Result<Expr, QueryError> {
        let mut terms = vec![self.primary()?];
        while self.current.tok == Tok::And {
            self.bump()?;
            terms.push(self.primary()?);
        }
        Ok(combine(terms, Join::And))
    }

    fn primary(&mut self) -> Result<Expr, QueryError> {
        match &self.current.tok {
            Tok::LParen => {
                let open = self.current.pos;
                self.depth += 1;
                if self.depth > MAX_NESTING {
                    return Err(QueryError::at(
                        open,
                        format!("parentheses nested deeper than {MAX_NESTING}"),
                    ));
                }
                self.bump()?;
                let inner = self.or()?;
                match self.current.tok {
                    Tok::RParen => {}
                    Tok::End => {
                        return Err(QueryError::at(open, "unclosed `(`").hint("add a `)`"));
                    }
                    _ => return Err(self.expected("`&&`, `||` or `)`")),
                }
                self.depth -= 1;
                self.bump()?;
                Ok(inner)
            }
            Tok::Ident(_) => self.comparison(),
            _ => Err(self
                .expected_after("a field name")
                .hint("a comparison is written field operator value, e.g. title = 'x'")),
        }
    }

    fn comparison(&mut self) -> Result<Expr, QueryError> {
        let name_token = self.bump()?;
        let left = self.env.operand(&name_token)?;
        self.comparisons += 1;
        if self.comparisons > MAX_COMPARISONS {
            return Err(QueryError::at(
                name_token.pos,
                format!("more than {MAX_COMPARISONS} comparisons"),
            ));
        }

        let Tok::Op(op) = self.current.tok else {
            return Err(self
                .expected_after("an operator")
                .hint(format!("the operators are {OPERATORS}")));
        };
        let op_pos = self.current.pos;
        if matches!(op, Op::Like | Op::NotLike) {
            self.contains += 1;
            if self.contains > MAX_CONTAINS {
                return Err(QueryError::at(
                    op_pos,
                    format!("more than {MAX_CONTAINS} `~` or `!~` comparisons"),
                )
                .hint("each one scans the whole text of every record it is tried on"));
            }
        }
        self.bump()?;

        let right = match &self.current.tok {
            Tok::Str(text) => Operand::Literal(Literal::Text(text.clone())),
            Tok::Int(value) => Operand::Literal(Literal::Int(*value)),
            Tok::Float(value) => Operand::Literal(Literal::Float(*value)),
            Tok::Ident(word) => match word.as_str() {
                "true" => Operand::Literal(Literal::Bool(true)),
                "false" => Operand::Literal(Literal::Bool(false)),
                "null" => Operand::Literal(Literal::Null),
                other if other.starts_with("@request.") && self.env.rule.is_some() => {
                    self.env.operand(&self.current)?
                }
                other
                    if other.contains('.')
                        || other.starts_with('@')
                        || fields::resolve(other, self.env.schema).is_some() =>
                {
                    match (&left, self.env.operand(&self.current)?) {
                        // `@request.auth.id = owner_id` reads as `owner_id = @request.auth.id`.
                        (Operand::Request(_), Operand::Field(field)) => {
                            let value_token = self.bump()?;
                            let Operand::Request(request) = left else {
                                return Err(QueryError::at(name_token.pos, "unexpected operand"));
                            };
                            let op = mirror(op).ok_or_else(|| {
                                QueryError::at(
                                    op_pos,
                                    format!("put the field on the left of `{op}`"),
                                )
                                .hint(format!("write {} {op} {}", value_token.text, request.name))
                            })?;
                            return self.env.decide(
                                Comparison {
                                    field,
                                    op,
                                    op_pos,
                                    value: request.as_literal(),
                                    value_pos: name_token.pos,
                                    value_text: name_token.text,
                                },
                                true,
                            );
                        }
                        _ => {
                            return Err(QueryError::at(
                                self.current.pos,
                                format!(
                                    "cannot compare {} with field {}",
                                    describe(&left),
                                    quote(other)
                                ),
                            )
                            .hint(
                                "the right side must be a value such as 'text', 3, true or null",
                            ));
                        }
                    }
                }
                _ => {
                    return Err(self
                        .expected_after("a value")
                        .hint("put text in quotes, e.g. 'text'"));
                }
            },
            _ => {
                return Err(self
                    .expected_after("a value")
                    .hint("a value is 'text', a number, true, false or null"));
            }
        };
        let value_token = self.bump()?;
        let (value, substituted) = match right {
            Operand::Literal(literal) => (literal, false),
            Operand::Request(request) => (request.as_literal(), true),
            // Fields on the right were handled above.
            Operand::Field(field) => {
                return Err(QueryError::at(
                    value_token.pos,
                    format!("cannot compare with field `{}`", field.name),
                ));
            }
        };
        match left {
            Operand::Field(field) => self.env.decide(
                Comparison {
                    field,
                    op,
                    op_pos,
                    value,
                    value_pos: value_token.pos,
                    value_text: value_token.text,
                },
                substituted,
            ),
            Operand::Request(request) => {
                let comparison = Comparison {
                    field: request.pseudo_field(),
                    op,
                    op_pos,
                    value,
                    value_pos: value_token.pos,
                    value_text: value_token.text,
                };
                self.env.constant(&comparison, &request)
            }
            Operand::Literal(_) => Err(QueryError::at(name_token.pos, "unexpected value")),
        }
    }

    /// "expected `what` at position N, found …" for the current token.
    fn expected(&self, what: &str) -> QueryError {
        let err = QueryError::at(
            self.current.pos,
            format!("expected {what}, found {}", self.current.describe()),
        );
        match &self.current.tok {
            Tok::Ident(word) => match keyword_hint(word) {
                Some(hint) => err.hint(hint),
                None => err,
            },
            _ => err,
        }
    }

    /// Like [`Self::expected`], but naming the token before, which reads better at the end
    /// of the text: "expected a value after `>=` at position 10".
    fn expected_after(&self, what: &str) -> QueryError {
        let after = if self.previous.is_empty() {
            String::new()
        } else {
            format!(" after {}", quote(&self.previous))
        };
        let found = match self.current.tok {
            Tok::End => String::new(),
            _ => format!(", found {}", self.current.describe()),
        };
        QueryError::at(self.current.pos, format!("expected {what}{after}{found}"))
    }
}

/// The operator that reads the same with its sides swapped; `None` for `~` and `!~`.
fn mirror(op: Op) -> Option<Op> {
    Some(match op {
        Op::Eq | Op::Ne => op,
        Op::Gt => Op::Lt,
        Op::Ge => Op::Le,
        Op::Lt => Op::Gt,
        Op::Le => Op::Ge,
        Op::Like | Op::NotLike => return None,
    })
}

/// How the left side is named in "cannot compare … with field …".
fn describe(left: &Operand) -> String {
    match left {
        Operand::Field(field) => format!("field `{}`", field.name),
        Operand::Request(request) => format!("`{}`", request.name),
        Operand::Literal(_) => "a value".to_owned(),
    }
}

/// How the terms of an `or`/`and` chain are joined.
#[derive(Clone, Copy)]
enum Join {
    And,
    Or,
}

/// One term stays itself; several are joined, with nested terms of the same kind (from
/// parentheses) flattened in.
fn combine(mut terms: Vec<Expr>, join: Join) -> Expr {
    if terms.len() == 1
        && let Some(only) = terms.pop()
    {
        return only;
    }
    let mut flat = Vec::with_capacity(terms.len());
    for term in terms {
        match (join, term) {
            (Join::And, Expr::And(inner)) | (Join::Or, Expr::Or(inner)) => flat.extend(inner),
            (_, other) => flat.push(other),
        }
    }
    match join {
        Join::And => Expr::And(flat),
        Join::Or => Expr::Or(flat),
    }
}

/// A hint for SQL habits: `AND`, `OR` and `NOT` are not words of the language.
fn keyword_hint(word: &str) -> Option<&'static str> {
    match word.to_ascii_lowercase().as_str() {
        "and" => Some("use `&&` for and"),
        "or" => Some("use `||` for or"),
        "not" => Some("use `!=` or `!~` to negate"),
        _ => None,
    }
}

pub(crate) fn unknown_field(token: &Token, schema: &CollectionSchema) -> QueryError {
    let name = &token.text;
    if name == "collection" {
        return QueryError::at(token.pos, "field `collection` cannot be filtered on")
            .hint("a record list is already for one collection");
    }
    let err = QueryError::at(token.pos, format!("unknown field {}", quote(name)));
    match keyword_hint(name) {
        Some(hint) => err.hint(hint),
        None => err.hint(format!("fields: {}", fields::known_names(schema, false))),
    }
}
