//! `Relation<T>`: the id of a record in `T`'s collection.

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Collection;
use super::kinds::FieldKind;
use crate::collections::FieldType;

/// A `relation` field of a code-first collection: the id of a record in the collection of
/// `T`. Stored and sent as the id string.
pub struct Relation<T> {
    id: String,
    // `fn() -> T`: a Relation is Send, Sync and Clone whatever `T` is.
    target: PhantomData<fn() -> T>,
}

impl<T> Relation<T> {
    /// A relation to the record with this id.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            target: PhantomData,
        }
    }

    /// The related record's id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl<T: Collection> FieldKind for Relation<T> {
    const FIELD_TYPE: FieldType = FieldType::Relation;

    fn target() -> Option<&'static str> {
        Some(T::NAME)
    }
}

/// `Vec<Relation<T>>`: a `list[relation]` field holding distinct ids of records of `T`'s
/// collection, in order.
impl<T: Collection> FieldKind for Vec<Relation<T>> {
    const FIELD_TYPE: FieldType = FieldType::ListRelation;

    fn target() -> Option<&'static str> {
        Some(T::NAME)
    }
}

impl<T> Clone for Relation<T> {
    fn clone(&self) -> Self {
        Self::new(self.id.clone())
    }
}

impl<T> fmt::Debug for Relation<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Relation").field(&self.id).finish()
    }
}

impl<T> PartialEq for Relation<T> {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl<T> Eq for Relation<T> {}

impl<T> Hash for Relation<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl<T> Serialize for Relation<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.id)
    }
}

impl<'de, T> Deserialize<'de> for Relation<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

impl<T> JsonSchema for Relation<T> {
    fn schema_name() -> Cow<'static, str> {
        "RelationId".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "The id of the related record.",
        })
    }
}
