//! Type-checks a parsed filter against its fields and writes the SQL.
//!
//! Every literal becomes a `?` parameter; the SQL text is built only from fixed fragments
//! and field expressions (see `fields.rs`). The null semantics documented on the module
//! are implemented here: `!=` uses `IS NOT` and `!~` treats a null as "does not contain".

use super::error::{QueryError, quote};
use super::fields::{Field, Kind, ListOf};
use super::lexer::Op;
use super::literal::{contains_pattern, normalize_datetime, parse_date};
use super::parser::{Comparison, Expr, Literal};
use super::{SqlCondition, SqlParam};

/// Compiles a parsed filter.
pub(crate) fn compile(expr: &Expr) -> Result<SqlCondition, QueryError> {
    let mut out = SqlCondition {
        sql: String::new(),
        params: Vec::new(),
    };
    write_expr(expr, false, &mut out)?;
    Ok(out)
}

/// Writes `expr`; a nested `AND`/`OR` is parenthesised so it reads as the user grouped it.
fn write_expr(expr: &Expr, nested: bool, out: &mut SqlCondition) -> Result<(), QueryError> {
    let (terms, joiner) = match expr {
        Expr::Compare(comparison) => return write_comparison(comparison, out),
        Expr::And(terms) => (terms, " AND "),
        Expr::Or(terms) => (terms, " OR "),
    };
    if nested {
        out.sql.push('(');
    }
    for (i, term) in terms.iter().enumerate() {
        if i > 0 {
            out.sql.push_str(joiner);
        }
        write_expr(term, true, out)?;
    }
    if nested {
        out.sql.push(')');
    }
    Ok(())
}

fn write_comparison(c: &Comparison, out: &mut SqlCondition) -> Result<(), QueryError> {
    let expr = c.field.expr();
    if c.value == Literal::Null {
        let sql = match c.op {
            Op::Eq => format!("{expr} IS NULL"),
            Op::Ne => format!("{expr} IS NOT NULL"),
            op => {
                return Err(QueryError::at(
                    c.op_pos,
                    format!("operator `{op}` does not apply to null"),
                )
                .hint("use `= null` or `!= null`"));
            }
        };
        out.sql.push_str(&sql);
        return Ok(());
    }
    check_operator(c)?;
    let (sql, param) = match c.field.kind {
        Kind::List(of) => list_comparison(c, of)?,
        kind => scalar_comparison(c, kind, &expr)?,
    };
    out.sql.push_str(&sql);
    out.params.push(param);
    Ok(())
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
/// Equality and containment.
const TEXT_SET_OPS: &[Op] = &[Op::Eq, Op::Ne, Op::Like, Op::NotLike];

/// "operator `~` does not apply to int field `rating`", pointing at the operator.
fn operator_error(c: &Comparison, allowed: &[Op]) -> QueryError {
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

/// `expr op ?` for a single-valued field.
fn scalar_comparison(
    c: &Comparison,
    kind: Kind,
    expr: &str,
) -> Result<(String, SqlParam), QueryError> {
    let sql = match c.op {
        Op::Eq => format!("{expr} = ?"),
        // `IS NOT` so that a missing value counts as "not equal".
        Op::Ne => format!("{expr} IS NOT ?"),
        Op::Gt | Op::Ge | Op::Lt | Op::Le => format!("{expr} {} ?", c.op),
        Op::Like => format!("{expr} LIKE ? ESCAPE '\\'"),
        // A missing value does not contain anything: NOT LIKE yields NULL there, read as true.
        Op::NotLike => format!("COALESCE({expr} NOT LIKE ? ESCAPE '\\', 1)"),
    };
    let param = if matches!(c.op, Op::Like | Op::NotLike) {
        // Only text and json fields get here; both compare against a string.
        match &c.value {
            Literal::Text(text) => SqlParam::Text(contains_pattern(text)),
            _ => return Err(wrong_literal(c, "a quoted string")),
        }
    } else {
        scalar_param(c, kind)?
    };
    Ok((sql, param))
}

/// The parameter for `=`, `!=` or an ordering operator on a single-valued field.
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

/// `[NOT] EXISTS (SELECT 1 FROM json_each(…) WHERE value …)`: some or no element matches.
fn list_comparison(c: &Comparison, of: ListOf) -> Result<(String, SqlParam), QueryError> {
    let param = match (of, &c.value) {
        (ListOf::Text, Literal::Text(text)) if matches!(c.op, Op::Like | Op::NotLike) => {
            SqlParam::Text(contains_pattern(text))
        }
        (ListOf::Text, Literal::Text(text)) => SqlParam::Text(text.clone()),
        (ListOf::Int | ListOf::Float, Literal::Int(n)) => SqlParam::Int(*n),
        (ListOf::Int | ListOf::Float, Literal::Float(x)) => SqlParam::Float(*x),
        (ListOf::Text, _) => return Err(wrong_literal(c, "a quoted string")),
        (ListOf::Int | ListOf::Float, _) => return Err(wrong_literal(c, "a number")),
    };
    let (exists, test) = match c.op {
        Op::Eq => ("EXISTS", "value = ?"),
        Op::Ne => ("NOT EXISTS", "value = ?"),
        Op::Like => ("EXISTS", "value LIKE ? ESCAPE '\\'"),
        Op::NotLike => ("NOT EXISTS", "value LIKE ? ESCAPE '\\'"),
        // check_operator has already rejected these; kept total rather than trusted.
        Op::Gt | Op::Ge | Op::Lt | Op::Le => return Err(operator_error(c, TEXT_SET_OPS)),
    };
    let source = c.field.json_each();
    Ok((
        format!("{exists} (SELECT 1 FROM {source} WHERE {test})"),
        param,
    ))
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
