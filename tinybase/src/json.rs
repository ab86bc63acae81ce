//! Turning JSON values into typed Rust values with errors that name the bad field.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{Error, FieldErrors};

/// Deserialises `value` into `T`; a mismatch is a 422 whose `details.fields` names the
/// offending field (or `body` when the whole value has the wrong type).
///
/// # Errors
/// 422 when `value` does not have `T`'s shape.
pub(crate) fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, Error> {
    serde_path_to_error::deserialize(Strict(value)).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        // Serde reports a missing field at its parent's path and an unknown one at its own.
        let field = match (field_named_in(&inner), path.as_str()) {
            (Some(name), ".") => name,
            (Some(name), path) if !path.ends_with(&name) => format!("{path}.{name}"),
            (_, ".") => "body".to_owned(),
            (_, path) => path.to_owned(),
        };
        let mut fields = FieldErrors::default();
        fields.add(field, inner.clone());
        Error::validation(
            format!("the request body does not have the expected shape: {inner}"),
            fields,
        )
    })
}

/// Serde names the field in backticks for "missing field `x`" and "unknown field `x`";
/// those errors sit at the parent's path, so the name must come from the message.
fn field_named_in(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("missing field `")
        .or_else(|| message.strip_prefix("unknown field `"))?;
    rest.split('`').next().map(str::to_owned)
}

/// A JSON value that refuses to be read as a struct when it is an array, at any depth.
///
/// serde's own `Value` deserializer reads `["a", "b"]` into `struct { x, y }` by
/// position, so a client could set fields without naming them (even `is_admin`). Every
/// struct in a TinyBase request is a JSON object; this wrapper makes that the rule.
struct Strict(Value);

fn not_an_object() -> serde_json::Error {
    serde::de::Error::invalid_type(serde::de::Unexpected::Seq, &"a JSON object")
}

impl<'de> serde::Deserializer<'de> for Strict {
    type Error = serde_json::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(
        self,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Array(items) => visitor.visit_seq(StrictSeq(items.into_iter())),
            Value::Object(map) => visitor.visit_map(StrictMap {
                entries: map.into_iter(),
                value: None,
            }),
            other => serde::Deserializer::deserialize_any(other, visitor),
        }
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        if self.0.is_array() {
            return Err(not_an_object());
        }
        self.deserialize_any(visitor)
    }

    fn deserialize_option<V: serde::de::Visitor<'de>>(
        self,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(Strict(other)),
        }
    }

    fn deserialize_newtype_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: serde::de::Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        // Enums in requests are plain strings (rules, field types, statuses).
        serde::Deserializer::deserialize_enum(self.0, name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

struct StrictSeq(std::vec::IntoIter<Value>);

impl<'de> serde::de::SeqAccess<'de> for StrictSeq {
    type Error = serde_json::Error;

    fn next_element_seed<T: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        self.0
            .next()
            .map(|value| seed.deserialize(Strict(value)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct StrictMap {
    entries: serde_json::map::IntoIter,
    value: Option<Value>,
}

impl<'de> serde::de::MapAccess<'de> for StrictMap {
    type Error = serde_json::Error;

    fn next_key_seed<K: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        match self.entries.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(Strict(Value::String(key))).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        seed.deserialize(Strict(self.value.take().unwrap_or(Value::Null)))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        name: String,
        admin: Option<bool>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Outer {
        inner: Inner,
        list: Vec<Inner>,
        #[serde(default)]
        extra: Option<Value>,
    }

    #[test]
    fn objects_read_as_usual() {
        let value = serde_json::json!({
            "inner": {"name": "a", "admin": null},
            "list": [{"name": "b", "admin": true}],
            "extra": [1, 2, {"x": [3]}],
        });
        let outer: Outer = from_value(value).unwrap();
        assert_eq!(
            outer.inner,
            Inner {
                name: "a".into(),
                admin: None
            }
        );
        assert_eq!(outer.list[0].admin, Some(true));
        assert_eq!(outer.extra, Some(serde_json::json!([1, 2, {"x": [3]}])));
    }

    #[test]
    fn arrays_are_never_structs_at_any_depth() {
        let nested = serde_json::json!({"inner": ["a", true], "list": []});
        let err = from_value::<Outer>(nested).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Validation);
        assert!(
            err.details().unwrap()["fields"].get("inner").is_some(),
            "{err:?}"
        );

        let in_list = serde_json::json!({"inner": {"name": "a"}, "list": [["b", true]]});
        let err = from_value::<Outer>(in_list).unwrap_err();
        assert!(
            err.details().unwrap()["fields"].get("list[0]").is_some(),
            "{err:?}"
        );
    }

    #[test]
    fn missing_and_unknown_fields_are_named() {
        let err = from_value::<Inner>(serde_json::json!({})).unwrap_err();
        assert!(
            err.details().unwrap()["fields"].get("name").is_some(),
            "{err:?}"
        );
        let err = from_value::<Inner>(serde_json::json!({"name": "a", "nope": 1})).unwrap_err();
        assert!(
            err.details().unwrap()["fields"].get("nope").is_some(),
            "{err:?}"
        );
    }
}
