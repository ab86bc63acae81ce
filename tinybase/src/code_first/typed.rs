//! Typed record operations on a code-first collection: `ctx.collection::<Post>()`.

use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Collection;
use crate::collections::{Record as StoredRecord, RecordQuery};
use crate::functions::Records;
use crate::pagination::Page;
use crate::{Error, Result};

/// A record of a code-first collection: the system fields plus the data as `T`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypedRecord<T> {
    /// UUIDv7 of the record.
    pub id: String,
    /// The name of the record's collection.
    pub collection: String,
    /// The user who created the record, if one did.
    pub owner_id: Option<String>,
    /// When the record was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When the record last changed (UTC).
    pub updated_at: DateTime<Utc>,
    /// The record's fields.
    pub data: T,
}

impl<T: Collection> TypedRecord<T> {
    /// The typed form of a stored record.
    ///
    /// # Errors
    /// Internal error when the stored data does not fit `T`; start-up keeps the schema in
    /// line with `T`, so this means the database was changed behind TinyBase's back.
    pub fn from_record(record: StoredRecord) -> Result<Self> {
        let data = serde_json::from_value::<T>(Value::Object(record.data)).map_err(|err| {
            Error::internal(format!(
                "record `{}` of `{}` does not fit its Rust type: {err}",
                record.id,
                T::NAME
            ))
        })?;
        Ok(Self {
            id: record.id,
            collection: record.collection,
            owner_id: record.owner_id,
            created_at: record.created_at,
            updated_at: record.updated_at,
            data,
        })
    }
}

/// Typed create/get/list/update/delete on the code-first collection `T`, as one caller:
/// the same validation, access rules and hooks as over HTTP (it is built on
/// [`Records`]).
pub struct TypedRecords<'a, T> {
    records: Records<'a>,
    collection: PhantomData<fn() -> T>,
}

impl<'a, T: Collection> TypedRecords<'a, T> {
    /// Typed operations over `records`.
    pub fn new(records: Records<'a>) -> Self {
        Self {
            records,
            collection: PhantomData,
        }
    }

    /// Creates a record.
    ///
    /// # Errors
    /// As `POST /api/collections/{name}/records`: 422 for invalid data, 409 for a
    /// duplicate unique value, 401/403 from the create rule, or a hook's refusal.
    pub async fn create(&self, data: &T) -> Result<TypedRecord<T>> {
        let record = self.records.create(T::NAME, to_json(data)?).await?;
        TypedRecord::from_record(record)
    }

    /// Reads one record.
    ///
    /// # Errors
    /// 404 for an unknown record, 401/403 from the view rule.
    pub async fn get(&self, id: &str) -> Result<TypedRecord<T>> {
        TypedRecord::from_record(self.records.get(T::NAME, id).await?)
    }

    /// Lists records: page, sort and filter as over HTTP.
    ///
    /// # Errors
    /// 400 for a bad filter or sort, 401/403 from the list rule.
    pub async fn list(&self, query: RecordQuery) -> Result<Page<TypedRecord<T>>> {
        let page = self.records.list(T::NAME, query).await?;
        let items = page
            .items
            .into_iter()
            .map(TypedRecord::from_record)
            .collect::<Result<Vec<_>>>()?;
        Ok(Page {
            items,
            page: page.page,
            per_page: page.per_page,
            total_items: page.total_items,
            total_pages: page.total_pages,
        })
    }

    /// Replaces a record's data with `data` (a `None` field is removed).
    ///
    /// # Errors
    /// As `PATCH /api/collections/{name}/records/{id}`.
    pub async fn update(&self, id: &str, data: &T) -> Result<TypedRecord<T>> {
        let record = self.records.update(T::NAME, id, to_json(data)?).await?;
        TypedRecord::from_record(record)
    }

    /// Changes only the fields in `patch`, a JSON object (null removes a field).
    ///
    /// # Errors
    /// As `PATCH /api/collections/{name}/records/{id}`.
    pub async fn patch(&self, id: &str, patch: Value) -> Result<TypedRecord<T>> {
        TypedRecord::from_record(self.records.update(T::NAME, id, patch).await?)
    }

    /// Deletes a record.
    ///
    /// # Errors
    /// 404 for an unknown record, 401/403 from the delete rule.
    pub async fn delete(&self, id: &str) -> Result<()> {
        self.records.delete(T::NAME, id).await
    }
}

fn to_json<T: Serialize>(data: &T) -> Result<Value> {
    serde_json::to_value(data)
        .map_err(|err| Error::invalid_field("body", format!("cannot be written as JSON: {err}")))
}
