//! The values bound to a compiled filter's `?` placeholders.

use rusqlite::ToSql;
use rusqlite::types::{Null, ToSqlOutput, ValueRef};

/// A value bound to a `?` placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlParam {
    /// SQL `NULL`.
    Null,
    /// An integer; booleans bind as `1` and `0`, which is what `json_extract` yields.
    Int(i64),
    /// A finite float.
    Float(f64),
    /// Text.
    Text(String),
}

impl ToSql for SqlParam {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Self::Null => ToSqlOutput::from(Null),
            Self::Int(value) => ToSqlOutput::from(*value),
            Self::Float(value) => ToSqlOutput::from(*value),
            Self::Text(value) => ToSqlOutput::Borrowed(ValueRef::Text(value.as_bytes())),
        })
    }
}
