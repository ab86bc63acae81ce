//! Writes the SQL for a parsed filter, each comparison type-checked by `check.rs`.
//!
//! Every literal becomes a `?` parameter; the SQL text is built only from fixed fragments
//! and field expressions (see `fields.rs`). The null semantics documented on the module
//! are implemented here: `!=` uses `IS NOT` and `!~` treats a null as "does not contain".

use super::check::{TEXT_SET_OPS, Test, check, operator_error};
use super::error::QueryError;
use super::fields::Kind;
use super::literal::contains_pattern;
use super::parser::{Comparison, Expr};
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
        Expr::Const(holds) => {
            out.sql.push_str(if *holds { "1" } else { "0" });
            return Ok(());
        }
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
    let test = check(c)?;
    let (sql, param) = match c.field.kind {
        Kind::List(_) => list_comparison(c, test)?,
        _ => scalar_comparison(&c.field.expr(), test),
    };
    // `@collection.<name>.<field>`: some record of that collection matches.
    match c.field.any_of_opening() {
        Some(opening) => {
            out.sql.push_str(&opening);
            out.sql.push_str(&sql);
            out.sql.push_str("))");
        }
        None => out.sql.push_str(&sql),
    }
    out.params.extend(param);
    Ok(())
}

/// `expr op ?` for a single-valued field, with its parameter (none for the null tests).
fn scalar_comparison(expr: &str, test: Test) -> (String, Option<SqlParam>) {
    match test {
        Test::IsNull => (format!("{expr} IS NULL"), None),
        Test::IsNotNull => (format!("{expr} IS NOT NULL"), None),
        Test::Equal(value) => (format!("{expr} = ?"), Some(value)),
        // `IS NOT` so that a missing value counts as "not equal".
        Test::NotEqual(value) => (format!("{expr} IS NOT ?"), Some(value)),
        Test::Order(order, value) => (format!("{expr} {} ?", order.as_str()), Some(value)),
        Test::Contains(text) => (
            format!("{expr} LIKE ? ESCAPE '\\'"),
            Some(SqlParam::Text(contains_pattern(&text))),
        ),
        // A missing value does not contain anything: NOT LIKE yields NULL there, read as true.
        Test::NotContains(text) => (
            format!("COALESCE({expr} NOT LIKE ? ESCAPE '\\', 1)"),
            Some(SqlParam::Text(contains_pattern(&text))),
        ),
    }
}

/// `[NOT] EXISTS (SELECT 1 FROM json_each(…) WHERE value …)`: some or no element matches.
/// The null tests are about the list itself, as for any other field.
fn list_comparison(c: &Comparison, test: Test) -> Result<(String, Option<SqlParam>), QueryError> {
    let (exists, condition, param) = match test {
        Test::IsNull | Test::IsNotNull => return Ok(scalar_comparison(&c.field.expr(), test)),
        Test::Equal(value) => ("EXISTS", "value = ?", value),
        Test::NotEqual(value) => ("NOT EXISTS", "value = ?", value),
        Test::Contains(text) => (
            "EXISTS",
            "value LIKE ? ESCAPE '\\'",
            SqlParam::Text(contains_pattern(&text)),
        ),
        Test::NotContains(text) => (
            "NOT EXISTS",
            "value LIKE ? ESCAPE '\\'",
            SqlParam::Text(contains_pattern(&text)),
        ),
        // check() has already rejected these; kept total rather than trusted.
        Test::Order(..) => return Err(operator_error(c, TEXT_SET_OPS)),
    };
    let source = c.field.json_each();
    Ok((
        format!("{exists} (SELECT 1 FROM {source} WHERE {condition})"),
        Some(param),
    ))
}
