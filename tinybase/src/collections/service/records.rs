//! Listing, reading, creating, changing and deleting records, with access rules,
//! validation, relation and uniqueness checks.

use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::Service;
use super::collections::no_collection;
use super::page_json::{PageWriter, write_record};
use crate::auth::Caller;
use crate::changes::{self, ChangeAction, NewChange};
use crate::collections::filter::{SqlParam, compile_filter, compile_sort, field_expression};
use crate::collections::indexes::collection_condition;
use crate::collections::model::{Record, RecordQuery};
use crate::collections::registry::LoadedCollection;
use crate::collections::rules::CollectionOptions;
use crate::collections::rules::{Action, Scope, authorize};
use crate::db::{Counts, format_timestamp, now, parse_timestamp};
use crate::pagination::{Page, PageRequest, Pagination};
use crate::{Error, ErrorKind, FieldErrors, Result};

/// Order of a list without `sort`: oldest first, ties broken by id.
const DEFAULT_ORDER: &str = "created_at ASC, id ASC";
const RECORD_COLUMNS: &str = "id, owner_id, data, created_at, updated_at";

/// The two statements behind one page of a record list.
#[derive(Debug, Clone)]
pub struct ListStatements {
    /// The collection's name.
    pub collection: String,
    /// Counts every match: `SELECT COUNT(*) … WHERE …`, taking [`ListStatements::params`].
    pub count_sql: String,
    /// Reads one page: `SELECT … WHERE … ORDER BY … LIMIT ? OFFSET ?`, taking
    /// [`ListStatements::page_params`].
    pub page_sql: String,
    /// The page asked for.
    pub page: Pagination,
    /// The `WHERE` clause's values, then the page's limit and offset.
    page_params: Vec<SqlParam>,
}

impl ListStatements {
    /// The values bound to the `WHERE` clause's placeholders, in order.
    pub fn params(&self) -> &[SqlParam] {
        &self.page_params[..self.page_params.len().saturating_sub(2)]
    }

    /// The values bound to the page statement: the `WHERE` clause's, then limit and offset.
    pub fn page_params(&self) -> &[SqlParam] {
        &self.page_params
    }
}

impl Service {
    /// One page of a collection's records that `caller` may list, filtered and sorted.
    ///
    /// # Errors
    /// 404 for an unknown collection, 401/403 from the list rule, 400 for a bad filter,
    /// sort or page.
    pub async fn list_records(
        &self,
        caller: &Caller,
        collection: &str,
        query: RecordQuery,
    ) -> Result<Page<Record>> {
        let statements = self.list_statements(caller, collection, &query)?;
        let page = statements.page;
        let name = statements.collection.clone();
        self.db
            .read_counting(move |conn, counts| {
                let total = count_matches(conn, counts, &statements)?;
                let mut stmt = conn.prepare_cached(&statements.page_sql)?;
                let items = stmt
                    .query_map(params_from_iter(statements.page_params()), |row| {
                        record_from_row(row, &name)
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(page.page_of(items, total))
            })
            .await
    }

    /// Like [`Service::list_records`], but the page comes back as the JSON text of a
    /// `Page<Record>`, written from the stored records without parsing them, and no
    /// longer than about `max_bytes`: records that would take it further are left out
    /// and the page says `"truncated": true` (the first record always fits).
    ///
    /// # Errors
    /// As for [`Service::list_records`], plus 504 when the query runs too long.
    pub async fn list_records_json(
        &self,
        caller: &Caller,
        collection: &str,
        query: RecordQuery,
        max_bytes: usize,
    ) -> Result<Vec<u8>> {
        let statements = self.list_statements(caller, collection, &query)?;
        self.db
            .read_counting(move |conn, counts| {
                let total = count_matches(conn, counts, &statements)?;
                let mut page = PageWriter::new(&statements.collection, max_bytes)?;
                let mut stmt = conn.prepare_cached(&statements.page_sql)?;
                let mut rows = stmt.query(params_from_iter(statements.page_params()))?;
                while let Some(row) = rows.next()? {
                    if !page.push(row)? {
                        break;
                    }
                }
                Ok(page.finish(statements.page, total))
            })
            .await
    }

    /// The most bytes a request body for a record of `collection` may have: twice its
    /// `max_record_bytes` plus 4 KiB, room for generous whitespace. The stored JSON is
    /// checked exactly when the record is written.
    ///
    /// # Errors
    /// 404 for an unknown collection.
    pub fn record_body_limit(&self, collection: &str) -> Result<usize> {
        let loaded = self.require(collection)?;
        let limit = body_limit(&loaded.collection.options);
        Ok(usize::try_from(limit).unwrap_or(usize::MAX))
    }

    /// Refuses a request body of `bytes` bytes for a record of `collection` before it is
    /// parsed, when it is over [`Service::record_body_limit`].
    ///
    /// # Errors
    /// 404 for an unknown collection, 413 for a body that is too large.
    pub fn check_record_body(&self, collection: &str, bytes: usize) -> Result<()> {
        let loaded = self.require(collection)?;
        let options = &loaded.collection.options;
        if u64::try_from(bytes).unwrap_or(u64::MAX) <= body_limit(options) {
            return Ok(());
        }
        check_record_size(bytes, options)
    }

    /// The SQL statements [`Service::list_records`] runs for `query`, after the same
    /// checks (collection, list rule, page, filter, sort). Public so that tests and
    /// tools can look at the exact statements with `EXPLAIN QUERY PLAN`.
    ///
    /// # Errors
    /// As for [`Service::list_records`].
    pub fn list_statements(
        &self,
        caller: &Caller,
        collection: &str,
        query: &RecordQuery,
    ) -> Result<ListStatements> {
        let loaded = self.require(collection)?;
        let scope = authorize(loaded.collection.options.rule_for(Action::List), caller)?;
        let page = PageRequest {
            page: query.page,
            per_page: query.per_page,
        }
        .resolve()?;
        let schema = loaded.compiled.schema();

        let mut conditions = vec![collection_condition(&loaded.collection.id)?];
        let mut params = Vec::new();
        if let Scope::OwnedBy(user) = scope {
            conditions.push("owner_id = ?".to_owned());
            params.push(SqlParam::Text(user));
        }
        if let Some(filter) = query.filter.as_deref().filter(|f| !f.trim().is_empty()) {
            let condition = compile_filter(filter, schema)?;
            conditions.push(format!("({})", condition.sql));
            params.extend(condition.params);
        }
        let order = match query.sort.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(sort) => compile_sort(sort, schema)?,
            None => DEFAULT_ORDER.to_owned(),
        };
        let where_clause = conditions.join(" AND ");
        Ok(ListStatements {
            collection: loaded.collection.name.clone(),
            count_sql: format!("SELECT COUNT(*) FROM records WHERE {where_clause}"),
            page_sql: format!(
                "SELECT {RECORD_COLUMNS} FROM records WHERE {where_clause} \
                 ORDER BY {order} LIMIT ? OFFSET ?"
            ),
            page_params: params
                .into_iter()
                .chain([SqlParam::Int(page.limit()), SqlParam::Int(page.offset())])
                .collect(),
            page,
        })
    }

    /// One record, if `caller` may view it.
    ///
    /// # Errors
    /// 404 for an unknown collection or record, 401/403 from the view rule.
    pub async fn get_record(&self, caller: &Caller, collection: &str, id: &str) -> Result<Record> {
        let loaded = self.require(collection)?;
        let scope = authorize(loaded.collection.options.rule_for(Action::View), caller)?;
        let id = record_id(id)?;
        let record = self
            .db
            .read_by_key(move |conn| fetch(conn, &loaded, &id))
            .await?;
        ensure_in_scope(&scope, &record)?;
        Ok(record)
    }

    /// Like [`Service::get_record`], but the record comes back as its JSON text, written
    /// from the stored data without parsing it.
    ///
    /// # Errors
    /// As for [`Service::get_record`].
    pub async fn get_record_json(
        &self,
        caller: &Caller,
        collection: &str,
        id: &str,
    ) -> Result<Vec<u8>> {
        let loaded = self.require(collection)?;
        let scope = authorize(loaded.collection.options.rule_for(Action::View), caller)?;
        let id = record_id(id)?;
        let name = serde_json::to_string(&loaded.collection.name)?;
        self.db
            .read_by_key(move |conn| {
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT {RECORD_COLUMNS} FROM records WHERE id = ?1 AND collection_id = ?2"
                ))?;
                let mut rows = stmt.query(params![id, loaded.collection.id])?;
                let row = rows.next()?.ok_or_else(no_record)?;
                if !scope.covers(row.get_ref(1)?.as_str_or_null()?) {
                    return Err(not_owner());
                }
                let mut out = Vec::with_capacity(1024);
                write_record(&mut out, row, &name)?;
                Ok(out)
            })
            .await
    }

    /// Creates a record owned by the caller, after applying defaults and validating.
    ///
    /// # Errors
    /// 404 for an unknown collection, 401/403 from the create rule, 422 for invalid data
    /// (every bad field listed) or a relation to a missing record, 409 for a duplicate
    /// value in a unique field.
    pub async fn create_record(
        &self,
        caller: &Caller,
        collection: &str,
        data: Map<String, Value>,
    ) -> Result<Record> {
        let loaded = self.require(collection)?;
        authorize(loaded.collection.options.rule_for(Action::Create), caller)?;
        let owner_id = caller.user_id.clone();
        let caller = caller.clone();
        let service = self.clone();
        let name = collection.to_owned();
        let record = self
            .db
            .write(move |tx| {
                // Re-read under the writer: a schema change may have committed meanwhile.
                let loaded = service
                    .registry
                    .get(&name)
                    .ok_or_else(|| no_collection(&name))?;
                let data = loaded.compiled.validate_new(&data)?;
                let touched: Vec<&str> = data.keys().map(String::as_str).collect();
                service.check_references(tx, &loaded, &data, &touched, None, &caller)?;
                let at = now();
                let record = Record {
                    id: Uuid::now_v7().to_string(),
                    collection: name,
                    owner_id,
                    created_at: at,
                    updated_at: at,
                    data,
                };
                tx.prepare_cached(
                    "INSERT INTO records (id, collection_id, owner_id, data, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                )?
                .execute(params![
                        record.id,
                        loaded.collection.id,
                        record.owner_id,
                        stored_json(&record.data, &loaded)?,
                        format_timestamp(at),
                    ],
                )
                .map_err(unique_violation)?;
                let seq = log_change(tx, ChangeAction::Create, &loaded, &record)?;
                Ok((record, loaded.collection.id.clone(), seq))
            })
            .await;
        let (record, collection_id, seq) = record?;
        self.changes.committed(seq);
        self.db.note_changed_records(&collection_id, 1);
        Ok(record)
    }

    /// Merges `patch` into a record the caller may update, then validates the whole result.
    /// A key set to null removes the field.
    ///
    /// # Errors
    /// As for [`Service::create_record`], plus 404 for an unknown record and 403 when the
    /// update rule is `owner` and the caller does not own it.
    pub async fn update_record(
        &self,
        caller: &Caller,
        collection: &str,
        id: &str,
        patch: Map<String, Value>,
    ) -> Result<Record> {
        let loaded = self.require(collection)?;
        let scope = authorize(loaded.collection.options.rule_for(Action::Update), caller)?;
        let id = record_id(id)?;
        let caller = caller.clone();
        let service = self.clone();
        let name = collection.to_owned();
        let (record, seq) = self
            .db
            .write(move |tx| {
                let loaded = service
                    .registry
                    .get(&name)
                    .ok_or_else(|| no_collection(&name))?;
                let mut record = fetch(tx, &loaded, &id)?;
                ensure_in_scope(&scope, &record)?;
                let data = loaded.compiled.validate_patch(&record.data, &patch)?;
                let touched: Vec<&str> = patch.keys().map(String::as_str).collect();
                service.check_references(
                    tx,
                    &loaded,
                    &data,
                    &touched,
                    Some(&record.id),
                    &caller,
                )?;
                record.data = data;
                record.updated_at = now();
                tx.execute(
                    "UPDATE records SET data = ?2, updated_at = ?3 WHERE id = ?1",
                    params![
                        record.id,
                        stored_json(&record.data, &loaded)?,
                        format_timestamp(record.updated_at)
                    ],
                )
                .map_err(unique_violation)?;
                let seq = log_change(tx, ChangeAction::Update, &loaded, &record)?;
                Ok((record, seq))
            })
            .await?;
        self.changes.committed(seq);
        Ok(record)
    }

    /// Deletes a record the caller may delete.
    ///
    /// # Errors
    /// 404 for an unknown collection or record, 401/403 from the delete rule.
    pub async fn delete_record(&self, caller: &Caller, collection: &str, id: &str) -> Result<()> {
        let loaded = self.require(collection)?;
        let scope = authorize(loaded.collection.options.rule_for(Action::Delete), caller)?;
        let id = record_id(id)?;
        let collection_id = loaded.collection.id.clone();
        let seq = self
            .db
            .write(move |tx| {
                let record = fetch(tx, &loaded, &id)?;
                ensure_in_scope(&scope, &record)?;
                tx.execute("DELETE FROM records WHERE id = ?1", [&record.id])?;
                log_change(tx, ChangeAction::Delete, &loaded, &record)
            })
            .await?;
        self.changes.committed(seq);
        self.db.note_changed_records(&collection_id, 1);
        Ok(())
    }

    /// Relation fields must name existing records of their target collection that the
    /// caller may view (422), and unique fields must not repeat another record's value
    /// (409; this necessarily tells that some record holds the value, never which). Only `touched` fields
    /// are checked: untouched values were checked when they were written.
    fn check_references(
        &self,
        conn: &Connection,
        loaded: &LoadedCollection,
        data: &Map<String, Value>,
        touched: &[&str],
        own_id: Option<&str>,
        caller: &Caller,
    ) -> Result<()> {
        let mut missing = FieldErrors::default();
        for (field, target) in loaded.compiled.relations() {
            let Some(Value::String(target_id)) =
                data.get(field).filter(|_| touched.contains(&field))
            else {
                continue;
            };
            // A record the caller may not view is reported exactly like a missing one:
            // otherwise the answer would tell whether another user's private record exists.
            let exists = match self.registry.get(target) {
                Some(target) => {
                    let owner: Option<Option<String>> = conn
                        .query_row(
                            "SELECT owner_id FROM records WHERE id = ?1 AND collection_id = ?2",
                            params![target_id, target.collection.id],
                            |row| row.get(0),
                        )
                        .optional()?;
                    owner.is_some_and(|owner| {
                        authorize(target.collection.options.view_rule, caller)
                            .is_ok_and(|scope| scope.covers(owner.as_deref()))
                    })
                }
                None => false,
            };
            if !exists {
                missing.add(
                    field,
                    format!("no record with this id in collection `{target}`"),
                );
            }
        }
        missing.into_result("the record refers to records that do not exist")?;

        let condition = collection_condition(&loaded.collection.id)?;
        let schema = loaded.compiled.schema();
        let mut taken = FieldErrors::default();
        for field in loaded.compiled.unique_fields() {
            let (Some(value), Some(expression)) = (
                data.get(field).filter(|_| touched.contains(&field)),
                field_expression(field, schema),
            ) else {
                continue;
            };
            let Some(param) = scalar_param(value) else {
                continue;
            };
            let duplicate = conn
                .query_row(
                    &format!(
                        "SELECT 1 FROM records WHERE {condition} AND {expression} = ?1
                         AND id IS NOT ?2 LIMIT 1"
                    ),
                    params![param, own_id],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            if duplicate {
                taken.add(field, "is already taken");
            }
        }
        if taken.is_empty() {
            Ok(())
        } else {
            Err(
                Error::conflict("a unique field repeats another record's value")
                    .with_details(taken.into_details()),
            )
        }
    }
}

/// A record id must be a UUID; anything else cannot exist, so it is a 404 (not a 500).
/// How many records match the list's filter: from the count cache while nothing changed.
fn count_matches(conn: &Connection, counts: &Counts<'_>, list: &ListStatements) -> Result<u64> {
    let params = list.params();
    let key = format!("{}\u{0}{params:?}", list.count_sql);
    let total: i64 = counts.get_or_count(key, || {
        Ok(conn
            .prepare_cached(&list.count_sql)?
            .query_row(params_from_iter(params), |row| row.get(0))?)
    })?;
    Ok(u64::try_from(total).unwrap_or(0))
}

/// Appends the write to the change log, in the write's own transaction.
fn log_change(
    tx: &Connection,
    action: ChangeAction,
    loaded: &LoadedCollection,
    record: &Record,
) -> Result<i64> {
    changes::append(
        tx,
        &NewChange {
            action,
            collection_id: &loaded.collection.id,
            collection: &loaded.collection.name,
            record_id: &record.id,
            record: &serde_json::to_string(record)?,
            at: now(),
        },
    )
}

/// The record's data as stored, within the collection's `max_record_bytes`.
fn stored_json(data: &Map<String, Value>, loaded: &LoadedCollection) -> Result<String> {
    let json = serde_json::to_string(data)?;
    check_record_size(json.len(), &loaded.collection.options)?;
    Ok(json)
}

/// See [`Service::record_body_limit`].
fn body_limit(options: &CollectionOptions) -> u64 {
    options
        .max_record_bytes
        .saturating_mul(2)
        .saturating_add(4096)
}

/// 413 when `bytes` of record data exceed what the collection allows.
///
/// # Errors
/// `payload_too_large` naming the limit.
pub(crate) fn check_record_size(bytes: usize, options: &CollectionOptions) -> Result<()> {
    let limit = options.max_record_bytes;
    if u64::try_from(bytes).unwrap_or(u64::MAX) <= limit {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::PayloadTooLarge,
        format!(
            "the record is {bytes} bytes of JSON; this collection stores at most {limit} \
             (its `options.max_record_bytes`)"
        ),
    )
    .with_details(serde_json::json!({"max_record_bytes": limit, "bytes": bytes})))
}

fn record_id(id: &str) -> Result<String> {
    Uuid::parse_str(id)
        .map(|uuid| uuid.hyphenated().to_string())
        .map_err(|_| no_record())
}

fn no_record() -> Error {
    Error::not_found("no record with this id")
}

fn ensure_in_scope(scope: &Scope, record: &Record) -> Result<()> {
    if scope.covers(record.owner_id.as_deref()) {
        Ok(())
    } else {
        Err(not_owner())
    }
}

fn not_owner() -> Error {
    Error::forbidden("only the record's owner may do this")
}

fn fetch(conn: &Connection, loaded: &LoadedCollection, id: &str) -> Result<Record> {
    let name = &loaded.collection.name;
    conn.prepare_cached(&format!(
        "SELECT {RECORD_COLUMNS} FROM records WHERE id = ?1 AND collection_id = ?2"
    ))?
    .query_row(params![id, loaded.collection.id], |row| {
        record_from_row(row, name)
    })
    .optional()?
    .ok_or_else(no_record)
}

fn record_from_row(row: &rusqlite::Row<'_>, collection: &str) -> rusqlite::Result<Record> {
    let data: String = row.get(2)?;
    let data = serde_json::from_str::<Map<String, Value>>(&data).map_err(|err| {
        rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(err))
    })?;
    Ok(Record {
        id: row.get(0)?,
        collection: collection.to_owned(),
        owner_id: row.get(1)?,
        created_at: parse_timestamp(&row.get::<_, String>(3)?)?,
        updated_at: parse_timestamp(&row.get::<_, String>(4)?)?,
        data,
    })
}

/// The SQL value `json_extract` yields for a scalar JSON value; `None` for others.
fn scalar_param(value: &Value) -> Option<SqlParam> {
    match value {
        Value::String(s) => Some(SqlParam::Text(s.clone())),
        Value::Number(n) => n
            .as_i64()
            .map(SqlParam::Int)
            .or_else(|| n.as_f64().map(SqlParam::Float)),
        Value::Bool(b) => Some(SqlParam::Int(i64::from(*b))),
        _ => None,
    }
}

/// The unique index is the last line of defence; its violation is the same 409.
fn unique_violation(err: rusqlite::Error) -> Error {
    match err.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => {
            Error::conflict("a unique field repeats another record's value")
        }
        _ => Error::from(err),
    }
}
