//! Type-checks one comparison against its field and turns its literal into the value it is
//! compared with.
//!
//! Both consumers of a parsed filter start here: the SQL compiler (`compile.rs`) binds the
//! values as parameters, the in-memory evaluator (`eval.rs`) compares records with them.
//! Normalising literals in one place (datetimes to the stored form, booleans to `1`/`0`)
//! keeps the two from drifting apart, and both reject the same filters with the same
//! errors.

use super::error::{QueryError, quote};
use super::fields::{Field, Kind, ListOf};
use super::lexer::Op;
use super::literal::{normalize_datetime, parse_date};
use super::param::SqlParam;
use super::parser::{Comparison, Literal};

/// What a checked comparison tests, with its literal in the form it is compared in.
///
/// For a list field every variant but the null tests is about the elements: `Equal` means
/// "some element equals", `NotEqual` "no element equals", and likewise for containment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Test {
    /// `= null`: the value is absent or null.
    IsNull,
    /// `!= null`: the value is present and not null.
    IsNotNull,
    /// `=`.
    Equal(SqlParam),
    /// `!=`, which a null value satisfies.
    NotEqual(SqlParam),
    /// `>`, `>=`, `<` or `<=`.
    Order(Order, SqlParam),
    /// `~`: contains this text, ASCII case aside. Not yet a `LIKE` pattern.
    Contains(String),
    /// `!~`: does not contain this text (which a null value satisfies).
    NotContains(String),
}

/// An ordering operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

impl Order {
    /// The operator as written in filters and in SQL.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Lt => "<",
            Self::Le => "<=",
        }
    }

    /// Whether a value that compares to the literal as `ordering` satisfies the operator.
    pub(crate) fn holds(self, ordering: std::cmp::Ordering) -> bool {
        match self {
            Self::Gt => ordering.is_gt(),
            Self::Ge => ordering.is_ge(),
            Self::Lt => ordering.is_lt(),
            Self::Le => ordering.is_le(),
        }
    }
}

/// Checks that the operator and literal fit the field, and converts the literal.
///
/// # Errors
/// An operator the field's type has no meaning for, or a literal of the wrong kind.
pub(crate) fn check(c: &Comparison) -> Result<Test, QueryError> {
    if c.value == Literal::Null {
        return match c.op {
            Op::Eq => Ok(Test::IsNull),
            Op::Ne => Ok(Test::IsNotNull),
            op => Err(
                QueryError::at(c.op_pos, format!("operator `{op}` does not apply to null"))
                    .hint("use `= null` or `!= null`"),
            ),
        };
    }
    check_operator(c)?;
    if matches!(c.op, Op::Like | Op::NotLike) {
        // check_operator lets these through only for text, json and list[string] fields,
        // and all of them look for a string.
        let Literal::Text(text) = &c.value else {
            return Err(wrong_literal(c, "a quoted string"));
        };
        return Ok(if c.op == Op::Like {
            Test::Contains(text.clone())
        } else {
            Test::NotContains(text.clone())
        });
    }
    let value = match c.field.kind {
        Kind::List(of) => element_param(c, of)?,
        kind => scalar_param(c, kind)?,
    };
    Ok(match c.op {
        Op::Eq => Test::Equal(value),
        Op::Ne => Test::NotEqual(value),
        Op::Gt => Test::Order(Order::Gt, value),
        Op::Ge => Test::Order(Order::Ge, value),
        Op::Lt => Test::Order(Order::Lt, value),
        Op::Le => Test::Order(Order::Le, value),
        // Handled above; kept total rather than trusted.
        Op::Like | Op::NotLike => return Err(wrong_literal(c, "a quoted string")),
    })
}

/// Rejects an operator the field's type has no meaning for.
fn check_operator(c: &Comparison) -> Result<(), QueryError> {
    let allowed: &[Op] = match c.field.kind {
        Kind::Text => return Ok(()),
        Kind::Int | Kind::Float | Kind::Datetime | Kind::Date => ORDERED_OPS,
        Kind::Boolean | Kind::List(ListOf::Int | ListOf::Float) => &[Op::Eq, Op::Ne],
        Kind::Json | Kind::List(ListOf::Text) => TEXT_SET_OPS,
    };
    if allowed.contains(&c.op) {
        Ok(())
    } else {
        Err(operator_error(c, allowed))
    }
}

/// Equality and order.
const ORDERED_OPS: &[Op] = &[Op::Eq, Op::Ne, Op::Gt, Op::Ge, Op::Lt, Op::Le];
/// Equality and containment: what a list field allows.
pub(crate) const TEXT_SET_OPS: &[Op] = &[Op::Eq, Op::Ne, Op::Like, Op::NotLike];

/// "operator `~` does not apply to int field `rating`", pointing at the operator.
pub(crate) fn operator_error(c: &Comparison, allowed: &[Op]) -> QueryError {
    let names: Vec<&str> = allowed.iter().map(|op| op.as_str()).collect();
    QueryError::at(
        c.op_pos,
        format!(
            "operator `{}` does not apply to {} field `{}`",
            c.op, c.field.type_name, c.field.name
        ),
    )
    .hint(format!("use one of {}", names.join(" ")))
}

/// The value for `=`, `!=` or an ordering operator on a single-valued field.
fn scalar_param(c: &Comparison, kind: Kind) -> Result<SqlParam, QueryError> {
    match (kind, &c.value) {
        (Kind::Text, Literal::Text(text)) => Ok(SqlParam::Text(text.clone())),
        (Kind::Int | Kind::Float, Literal::Int(n)) => Ok(SqlParam::Int(*n)),
        (Kind::Int | Kind::Float, Literal::Float(x)) => Ok(SqlParam::Float(*x)),
        // `json_extract` yields JSON true/false as 1/0.
        (Kind::Boolean, Literal::Bool(b)) => Ok(SqlParam::Int(i64::from(*b))),
        (Kind::Datetime, Literal::Text(text)) => {
            normalize_datetime(text).map(SqlParam::Text).ok_or_else(|| {
                QueryError::at(c.value_pos, format!("invalid datetime {}", quote(text))).hint(
                    "use RFC 3339 such as '2026-01-31T12:00:00Z' or a date such as '2026-01-31'",
                )
            })
        }
        (Kind::Date, Literal::Text(text)) => match parse_date(text) {
            Some(_) => Ok(SqlParam::Text(text.clone())),
            None => Err(
                QueryError::at(c.value_pos, format!("invalid date {}", quote(text)))
                    .hint("use YYYY-MM-DD such as '2026-01-31'"),
            ),
        },
        (Kind::Json, literal) => Ok(json_param(literal)),
        (Kind::Text, _) => Err(wrong_literal(c, "a quoted string")),
        (Kind::Int | Kind::Float, _) => Err(wrong_literal(c, "a number")),
        (Kind::Boolean, _) => Err(wrong_literal(c, "true or false")),
        (Kind::Datetime, _) => Err(wrong_literal(c, "a quoted datetime")),
        (Kind::Date, _) => Err(wrong_literal(c, "a quoted date")),
        (Kind::List(_), _) => Err(wrong_literal(c, "an element value")),
    }
}

/// A json field compares with whatever the literal is, as `json_extract` would yield it.
fn json_param(literal: &Literal) -> SqlParam {
    match literal {
        Literal::Text(text) => SqlParam::Text(text.clone()),
        Literal::Int(n) => SqlParam::Int(*n),
        Literal::Float(x) => SqlParam::Float(*x),
        Literal::Bool(b) => SqlParam::Int(i64::from(*b)),
        Literal::Null => SqlParam::Null,
    }
}

/// The value a list field's elements are compared with by `=` or `!=`.
fn element_param(c: &Comparison, of: ListOf) -> Result<SqlParam, QueryError> {
    match (of, &c.value) {
        (ListOf::Text, Literal::Text(text)) => Ok(SqlParam::Text(text.clone())),
        (ListOf::Int | ListOf::Float, Literal::Int(n)) => Ok(SqlParam::Int(*n)),
        (ListOf::Int | ListOf::Float, Literal::Float(x)) => Ok(SqlParam::Float(*x)),
        (ListOf::Text, _) => Err(wrong_literal(c, "a quoted string")),
        (ListOf::Int | ListOf::Float, _) => Err(wrong_literal(c, "a number")),
    }
}

/// "int field `rating` needs a number, not `'x'`", pointing at the literal.
fn wrong_literal(c: &Comparison, needs: &str) -> QueryError {
    let Field {
        name, type_name, ..
    } = &c.field;
    QueryError::at(
        c.value_pos,
        format!(
            "{type_name} field `{name}` needs {needs}, not {}",
            quote(&c.value_text)
        ),
    )
}
