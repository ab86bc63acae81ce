//! Which Rust types a code-first collection's fields may have, and the field type each
//! becomes.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::collections::{FieldSpec, FieldType};

/// A Rust type that can be a field of a code-first collection.
///
/// | Rust type | field type |
/// | --- | --- |
/// | `String` | `string` (or `text`, `email`, `url` with `#[field(type = "…")]`) |
/// | `i64` | `int` |
/// | `f64` | `float` |
/// | `bool` | `boolean` |
/// | `chrono::DateTime<Utc>` | `datetime` |
/// | `chrono::NaiveDate` | `date` |
/// | `Vec<String>`, `Vec<i64>`, `Vec<f64>` | `list[string]`, `list[int]`, `list[float]` |
/// | `serde_json::Value` | `json` |
/// | [`Relation<T>`](super::Relation) | `relation` to `T`'s collection |
/// | `Vec<Relation<T>>` | `list[relation]` to `T`'s collection |
/// | an enum deriving `tinybase::Select` | `select` with the variants as values |
/// | `Option<T>` | as `T`, not required |
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the type of a code-first collection's field",
    label = "unsupported field type",
    note = "use String, i64, f64, bool, chrono::DateTime<Utc>, chrono::NaiveDate, Vec<String>, \
            Vec<i64>, Vec<f64>, serde_json::Value, tinybase::Relation<T>, \
            Vec<tinybase::Relation<T>>, an enum deriving \
            tinybase::Select, or an Option of one of them"
)]
pub trait FieldKind {
    /// The field type it becomes.
    const FIELD_TYPE: FieldType;
    /// `Option<…>`: the field is not required.
    const OPTIONAL: bool = false;
    /// A `String` (or `Option<String>`): `#[field(type = "text")]` may refine it.
    const IS_STRING: bool = false;

    /// The allowed values of a `select`.
    fn values() -> Option<Vec<String>> {
        None
    }

    /// The target collection of a `relation`.
    fn target() -> Option<&'static str> {
        None
    }
}

macro_rules! plain_kind {
    ($($ty:ty => $field_type:ident),* $(,)?) => {
        $(impl FieldKind for $ty {
            const FIELD_TYPE: FieldType = FieldType::$field_type;
        })*
    };
}

plain_kind! {
    i64 => Int,
    f64 => Float,
    bool => Boolean,
    DateTime<Utc> => Datetime,
    NaiveDate => Date,
    Vec<String> => ListString,
    Vec<i64> => ListInt,
    Vec<f64> => ListFloat,
    Value => Json,
}

impl FieldKind for String {
    const FIELD_TYPE: FieldType = FieldType::String;
    const IS_STRING: bool = true;
}

impl<T: FieldKind> FieldKind for Option<T> {
    const FIELD_TYPE: FieldType = T::FIELD_TYPE;
    const OPTIONAL: bool = true;
    const IS_STRING: bool = T::IS_STRING;

    fn values() -> Option<Vec<String>> {
        T::values()
    }

    fn target() -> Option<&'static str> {
        T::target()
    }
}

/// The spec of a field called `name` of Rust type `T`, before its `#[field(...)]`
/// settings: type, `required` unless `Option`, select values and relation target.
pub fn field_spec<T: FieldKind + ?Sized>(name: &str) -> FieldSpec {
    FieldSpec {
        name: name.to_owned(),
        field_type: T::FIELD_TYPE,
        required: !T::OPTIONAL,
        default: None,
        min: None,
        max: None,
        min_length: None,
        max_length: None,
        pattern: None,
        unique: false,
        indexed: false,
        searchable: false,
        values: T::values(),
        collection: T::target().map(str::to_owned),
        max_size: None,
        mime_types: None,
        on_delete: None,
    }
}

/// The values of a select enum: each variant as serde writes it. A variant that does not
/// serialise to a string is left out (the derive allows unit variants only, which serde
/// writes as their names).
pub fn select_values<T: Serialize>(variants: &[T]) -> Vec<String> {
    variants
        .iter()
        .filter_map(|variant| match serde_json::to_value(variant) {
            Ok(Value::String(text)) => Some(text),
            _ => None,
        })
        .collect()
}
