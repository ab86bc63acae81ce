//! Listing, reading, creating, changing and deleting records, with access rules,
//! validation, relation and uniqueness checks.

use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::Service;
use super::access::{and_conditions, record_matches};
use super::collections::no_collection;
use super::cursor;
use super::expand::{ExpandPlan, RawRecord};
use super::fields::Projection;
use super::files::{self, UploadedFile};
use super::page_json::{JsonPieces, PageWriter, write_record};
use super::relations::Released;
use crate::auth::Caller;
use crate::changes::{self, ChangeAction, NewChange};
use crate::collections::filter::{
    CompiledRule, SortKey, SqlParam, compile_filter, field_expression, order_by, sort_keys,
};
use crate::collections::indexes::collection_condition;
use crate::collections::model::{Record, RecordQuery, RecordViewQuery};
use crate::collections::registry::LoadedCollection;
use crate::collections::rules::CollectionOptions;
use crate::collections::rules::{Action, Scope, authorize};
use crate::collections::search::{self, RANK_EXPRESSION, bad_search};
use crate::db::{Counts, format_timestamp, now, parse_timestamp};
use crate::hooks::HookEvent;
use crate::pagination::{Page, PageRequest, Pagination};
use crate::storage::{deletions, file_key, record_key};
use crate::{Error, ErrorKind, FieldErrors, Result};

/// Order of a list without `sort`: oldest first, ties broken by id.
fn default_order() -> Vec<SortKey> {
    ["created_at", "id"]
        .into_iter()
        .map(|expr| SortKey {
            expr: expr.to_owned(),
            descending: false,
        })
        .collect()
}
pub(super) const RECORD_COLUMNS: &str = "id, owner_id, data, created_at, updated_at";
/// How many columns [`RECORD_COLUMNS`] names.
const RECORD_COLUMN_COUNT: usize = 5;

/// The two statements behind one page of a record list.
#[derive(Debug, Clone)]
pub struct ListStatements {
    /// The collection's name.
    pub collection: String,
    /// Counts every match: `SELECT COUNT(*) … WHERE …`, taking [`ListStatements::params`].
    pub count_sql: String,
    /// Reads one page: `SELECT … WHERE … ORDER BY … LIMIT ? OFFSET ?`, taking
    /// [`ListStatements::page_params`]. After the record's columns come its sort-key
    /// values (for cursors); it reads one record more than the page holds, which tells
    /// whether another page follows.
    pub page_sql: String,
    /// The page asked for.
    pub page: Pagination,
    /// The values of the count's placeholders (search, then `WHERE` clause).
    count_params: Vec<SqlParam>,
    /// The values of the page's placeholders: the count's, then the cursor's, then the
    /// limit and offset.
    page_params: Vec<SqlParam>,
    /// The `ORDER BY` list, which a cursor is made for.
    order: String,
    /// How many sort keys follow the record's columns in a page row.
    key_count: usize,
    /// Whether pages of this list get a `next_cursor` (not when ranked by a search).
    cursors: bool,
}

impl ListStatements {
    /// The values bound to the count statement's placeholders, in order.
    pub fn params(&self) -> &[SqlParam] {
        &self.count_params
    }

    /// The values bound to the page statement: the `WHERE` clause's, then limit and offset.
    pub fn page_params(&self) -> &[SqlParam] {
        &self.page_params
    }

    /// The cursor of the record in `row` (a row of the page statement), if this list
    /// has cursors.
    fn cursor_of(&self, row: &rusqlite::Row<'_>) -> Result<Option<String>> {
        if !self.cursors {
            return Ok(None);
        }
        let values = cursor::values_of(row, RECORD_COLUMN_COUNT, self.key_count)?;
        Ok(Some(cursor::encode(&self.order, &values)))
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
                    // The statement reads one record more than the page holds.
                    .take(usize::try_from(page.per_page).unwrap_or(usize::MAX))
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
    ) -> Result<JsonPieces> {
        let statements = self.list_statements(caller, collection, &query)?;
        let skip_total = query.skip_total == Some(true);
        let expand = self.expand_for(caller, collection, query.expand.as_deref())?;
        let projection = projection_for(query.fields.as_deref())?;
        let page = self
            .db
            .read_counting(move |conn, counts| {
                let total = if skip_total {
                    None
                } else {
                    Some(count_matches(conn, counts, &statements)?)
                };
                let mut page =
                    PageWriter::new(&statements.collection, projection.clone(), max_bytes)?;
                let per_page = usize::try_from(statements.page.per_page).unwrap_or(usize::MAX);
                let mut stmt = conn.prepare_cached(&statements.page_sql)?;
                let mut rows = stmt.query(params_from_iter(statements.page_params()))?;
                // The cursor of the last record written, and whether any record follows it.
                let mut last = None;
                let mut more = false;
                let Some(plan) = &expand else {
                    let mut written = 0;
                    while let Some(row) = rows.next()? {
                        if written == per_page || !page.push(row)? {
                            more = true;
                            break;
                        }
                        written += 1;
                        last = statements.cursor_of(row)?;
                    }
                    let next = if more { last } else { None };
                    return Ok(page.finish(statements.page, total, next));
                };
                let mut records = Vec::new();
                let mut cursors = Vec::new();
                // Records are held until their relations are expanded: stop reading once
                // they fill the page's budget (the one over it is then left out below).
                let mut held_bytes = 0;
                while let Some(row) = rows.next()? {
                    if records.len() == per_page || held_bytes > max_bytes {
                        more = true;
                        break;
                    }
                    let record = RawRecord::from_row(row)?;
                    held_bytes += record.json_size();
                    records.push(record);
                    cursors.push(statements.cursor_of(row)?);
                }
                drop(rows);
                plan.apply(conn, &mut records)?;
                for (record, cursor) in records.iter().zip(cursors) {
                    if !page.push_with(record.json_size(), |out, name| record.write(out, name))? {
                        more = true;
                        break;
                    }
                    last = cursor;
                }
                let next = if more { last } else { None };
                Ok(page.finish(statements.page, total, next))
            })
            .await?;
        Ok(page)
    }

    /// The checked `expand` of a request for records of `collection`, if it names any.
    fn expand_for(
        &self,
        caller: &Caller,
        collection: &str,
        expand: Option<&str>,
    ) -> Result<Option<ExpandPlan>> {
        match expand {
            Some(text) => self.expand_plan(caller, &*self.require(collection)?, text),
            None => Ok(None),
        }
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
        // A search joins the matches (and their rank) onto the records: its parameter
        // comes first, as the join comes before the `WHERE` clause.
        let mut from = "records".to_owned();
        let search_query = match query.search.as_deref() {
            Some(text) => search::match_expression(text)?,
            None => None,
        };
        if let Some(search_query) = search_query {
            if !search::has_searchable_fields(&loaded.collection.schema) {
                return Err(bad_search(format!(
                    "collection `{}` has no searchable fields",
                    loaded.collection.name
                )));
            }
            from = format!("records {}", search::hits_join(&loaded.collection.id)?);
            params.push(SqlParam::Text(search_query));
        }
        let rank = (from != "records").then_some(RANK_EXPRESSION);
        match scope {
            Scope::All => {}
            Scope::OwnedBy(user) => {
                conditions.push("owner_id = ?".to_owned());
                params.push(SqlParam::Text(user));
            }
            // The rule is part of the query, so the page and its total hold only what
            // the caller may see.
            Scope::Matching(_) => {
                if let Some(rule) = self.compiled_rule(&loaded, Action::List, caller, None)? {
                    conditions.push(format!("({})", rule.condition.sql));
                    params.extend(rule.condition.params);
                }
            }
        }
        if let Some(filter) = query.filter.as_deref().filter(|f| !f.trim().is_empty()) {
            let condition = compile_filter(filter, schema)?;
            conditions.push(format!("({})", condition.sql));
            params.extend(condition.params);
        }
        let keys = match query.sort.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(sort) => sort_keys(sort, schema, rank)?,
            None => default_order(),
        };
        let order = order_by(&keys);
        let where_clause = conditions.join(" AND ");
        // Ranks move as records are written, so a position in a ranked list is no
        // position at all: ranked lists page with `page`.
        let cursors = !keys.iter().any(|key| key.expr == RANK_EXPRESSION);
        let mut page_where = where_clause.clone();
        let mut page_params = params.clone();
        if let Some(after) = query.after.as_deref().filter(|s| !s.trim().is_empty()) {
            if !cursors {
                return Err(cursor::bad_cursor(
                    "after cannot follow a list sorted by @rank: ranks change as records \
                     are written; use page",
                ));
            }
            if page.page != 1 {
                return Err(cursor::bad_cursor(
                    "after and page cannot be used together: a cursor is its own position",
                ));
            }
            let values = cursor::decode(after, &order, keys.len())?;
            let (condition, values) = cursor::condition(&keys, values);
            page_where = format!("{where_clause} AND ({condition})");
            page_params.extend(values);
        }
        let key_columns: String = keys.iter().map(|key| format!(", {}", key.expr)).collect();
        Ok(ListStatements {
            collection: loaded.collection.name.clone(),
            count_sql: format!("SELECT COUNT(*) FROM {from} WHERE {where_clause}"),
            page_sql: format!(
                "SELECT {RECORD_COLUMNS}{key_columns} FROM {from} WHERE {page_where} \
                 ORDER BY {order} LIMIT ? OFFSET ?"
            ),
            page_params: page_params
                .into_iter()
                .chain([
                    SqlParam::Int(page.limit().saturating_add(1)),
                    SqlParam::Int(page.offset()),
                ])
                .collect(),
            count_params: params,
            page,
            order,
            key_count: keys.len(),
            cursors,
        })
    }

    /// One record, if `caller` may view it.
    ///
    /// # Errors
    /// 404 for an unknown collection or record, 401/403 from the view rule.
    pub async fn get_record(&self, caller: &Caller, collection: &str, id: &str) -> Result<Record> {
        let loaded = self.require(collection)?;
        let scope = authorize(loaded.collection.options.rule_for(Action::View), caller)?;
        let rules = self.record_rules(&loaded, caller, &[Action::View], None)?;
        let id = record_id(id)?;
        let record = self
            .db
            .read_by_key(move |conn| fetch_visible(conn, &loaded, &id, &rules))
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
        query: &RecordViewQuery,
    ) -> Result<Vec<u8>> {
        let loaded = self.require(collection)?;
        let scope = authorize(loaded.collection.options.rule_for(Action::View), caller)?;
        let rules = self.record_rules(&loaded, caller, &[Action::View], None)?;
        let id = record_id(id)?;
        let name = serde_json::to_string(&loaded.collection.name)?;
        let expand = self.expand_for(caller, collection, query.expand.as_deref())?;
        let projection = projection_for(query.fields.as_deref())?;
        let record = self
            .db
            .read_by_key(move |conn| {
                let (sql, params) = visible_query(&loaded, id, &rules);
                let mut stmt = conn.prepare_cached(&sql)?;
                let mut rows = stmt.query(params_from_iter(&params))?;
                let row = rows.next()?.ok_or_else(no_record)?;
                // An expression scope was part of the query.
                if !matches!(scope, Scope::Matching(_))
                    && !scope.covers(row.get_ref(1)?.as_str_or_null()?)
                {
                    return Err(not_owner());
                }
                let mut out = Vec::with_capacity(1024);
                match &expand {
                    None => write_record(&mut out, row, &name)?,
                    Some(plan) => {
                        let mut records = [RawRecord::from_row(row)?];
                        drop(rows);
                        drop(stmt);
                        plan.apply(conn, &mut records)?;
                        records[0].write(&mut out, &name)?;
                    }
                }
                Ok(out)
            })
            .await?;
        match projection {
            Some(projection) => projection.apply_to_record(&record),
            None => Ok(record),
        }
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
        self.create_record_with_files(caller, collection, None, data, Vec::new())
            .await
    }

    /// Like [`Service::create_record`], for a record whose files are already uploaded
    /// under `record_id` (see [`Service::check_upload`]): `uploads` go into their fields.
    /// When the record is not created, the uploads are deleted.
    ///
    /// # Errors
    /// As for [`Service::create_record`], plus 422 for file fields set in `data` or given
    /// several files, and 500 for uploads without a `record_id`.
    pub async fn create_record_with_files(
        &self,
        caller: &Caller,
        collection: &str,
        record_id: Option<String>,
        data: Map<String, Value>,
        uploads: Vec<UploadedFile>,
    ) -> Result<Record> {
        let loaded = self.require(collection)?;
        let upload_keys = match &record_id {
            Some(id) => upload_keys(&loaded, id, &uploads),
            None if uploads.is_empty() => Vec::new(),
            // Files are stored under their record's id, so they need one chosen up front.
            None => {
                return Err(Error::internal(
                    "files were uploaded for a record created without its id",
                ));
            }
        };
        let result = self
            .create(
                caller,
                loaded,
                record_id,
                data,
                uploads,
                upload_keys.clone(),
            )
            .await;
        if result.is_err() && !upload_keys.is_empty() {
            deletions::delete_now(&self.db, &self.store, upload_keys).await;
        }
        result
    }

    async fn create(
        &self,
        caller: &Caller,
        loaded: std::sync::Arc<LoadedCollection>,
        record_id: Option<String>,
        data: Map<String, Value>,
        uploads: Vec<UploadedFile>,
        upload_keys: Vec<String>,
    ) -> Result<Record> {
        authorize(loaded.collection.options.rule_for(Action::Create), caller)?;
        let caller = caller.clone();
        let service = self.clone();
        let name = loaded.collection.name.clone();
        let record = self
            .db
            .write(move |tx| {
                service.create_in(tx, &caller, &name, record_id, data, &uploads, &upload_keys)
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
        self.update_record_with_files(caller, collection, id, patch, Vec::new())
            .await
    }

    /// Like [`Service::update_record`], with files already uploaded for the record (see
    /// [`Service::check_upload`]): an upload replaces a `file` field's file and is appended
    /// to a `list[file]` field. Files the write drops are deleted after it commits; when
    /// the write fails, the uploads are deleted instead.
    ///
    /// # Errors
    /// As for [`Service::update_record`], plus 422 for file fields set to anything but
    /// null or (a subset of) their current files.
    pub async fn update_record_with_files(
        &self,
        caller: &Caller,
        collection: &str,
        id: &str,
        patch: Map<String, Value>,
        uploads: Vec<UploadedFile>,
    ) -> Result<Record> {
        let loaded = self.require(collection)?;
        let id = record_id(id)?;
        let upload_keys = upload_keys(&loaded, &id, &uploads);
        let result = self
            .update(caller, loaded, id, patch, uploads, upload_keys.clone())
            .await;
        match result {
            Ok((record, dropped)) => {
                deletions::delete_now(&self.db, &self.store, dropped).await;
                Ok(record)
            }
            Err(err) => {
                if !upload_keys.is_empty() {
                    deletions::delete_now(&self.db, &self.store, upload_keys).await;
                }
                Err(err)
            }
        }
    }

    async fn update(
        &self,
        caller: &Caller,
        loaded: std::sync::Arc<LoadedCollection>,
        id: String,
        patch: Map<String, Value>,
        uploads: Vec<UploadedFile>,
        upload_keys: Vec<String>,
    ) -> Result<(Record, Vec<String>)> {
        let scope = authorize(loaded.collection.options.rule_for(Action::Update), caller)?;
        let caller = caller.clone();
        let service = self.clone();
        let name = loaded.collection.name.clone();
        let (record, seq, dropped) = self
            .db
            .write(move |tx| {
                service.update_in(
                    tx,
                    &caller,
                    &scope,
                    &name,
                    &id,
                    patch,
                    &uploads,
                    &upload_keys,
                )
            })
            .await?;
        self.changes.committed(seq);
        Ok((record, dropped))
    }

    /// Adds the file `bytes`, called `original`, to the file field `field` of the record
    /// `id`, with the checks an upload gets (update rule, `max_size`, `mime_types` judged
    /// by content): it replaces a `file` field's file and is appended to a `list[file]`.
    ///
    /// # Errors
    /// As for [`Service::update_record_with_files`], plus 413 over `max_size` and 422 for
    /// a field that is not a file field, an empty file or a type the field does not take.
    pub async fn attach_file(
        &self,
        caller: &Caller,
        collection: &str,
        id: &str,
        field: &str,
        original: &str,
        bytes: bytes::Bytes,
    ) -> Result<Record> {
        let loaded = self.check_upload(caller, collection, Some(id)).await?;
        let spec = loaded
            .compiled
            .schema()
            .field(field)
            .filter(|f| f.field_type.is_file())
            .ok_or_else(|| Error::invalid_field(field, "is not a file field of this collection"))?;
        if bytes.len() as u64 > spec.max_file_size() {
            return Err(files::file_too_large(spec));
        }
        if bytes.is_empty() {
            return Err(files::empty_file(spec));
        }
        files::check_file_type(
            spec,
            &bytes[..bytes.len().min(crate::storage::sniff::SNIFF_BYTES)],
            original,
        )?;
        let id = record_id(id)?;
        let name = crate::storage::names::stored_name(original)?;
        let key = file_key(&loaded.collection.id, &id, &name);
        deletions::reserve(&self.db, key.clone()).await?;
        if let Err(err) = self.store.put(&key, bytes).await {
            deletions::delete_now(&self.db, &self.store, vec![key]).await;
            return Err(err);
        }
        let upload = UploadedFile {
            field: field.to_owned(),
            name,
        };
        self.update_record_with_files(caller, collection, &id, Map::new(), vec![upload])
            .await
    }

    /// The bytes of the file `name` of the record `id`, if `caller` may view the record.
    ///
    /// # Errors
    /// 404 for an unknown collection, record or file, 401/403 from the view rule.
    pub async fn read_file(
        &self,
        caller: &Caller,
        collection: &str,
        id: &str,
        name: &str,
    ) -> Result<bytes::Bytes> {
        let record = self.get_record(caller, collection, id).await?;
        let loaded = self.require(collection)?;
        if !files::holds_file(loaded.compiled.schema(), &record.data, name) {
            return Err(Error::not_found("the record has no file with this name"));
        }
        let key = file_key(&loaded.collection.id, &record.id, name);
        if self.store.head(&key).await?.is_none() {
            return Err(Error::not_found("the record has no file with this name"));
        }
        self.store.read(&key).await
    }

    /// Before files are uploaded for a record: whether `caller` may create a record in
    /// `collection` (`existing` `None`) or update the record `existing`, so that an
    /// upload nobody may store is refused before its first byte. The write checks again.
    ///
    /// # Errors
    /// 404 for an unknown collection or record, 401/403 from the create or update rule.
    pub async fn check_upload(
        &self,
        caller: &Caller,
        collection: &str,
        existing: Option<&str>,
    ) -> Result<std::sync::Arc<LoadedCollection>> {
        let loaded = self.require(collection)?;
        match existing {
            None => {
                authorize(loaded.collection.options.rule_for(Action::Create), caller)?;
            }
            Some(id) => {
                let scope = authorize(loaded.collection.options.rule_for(Action::Update), caller)?;
                let id = record_id(id)?;
                let checked = loaded.clone();
                let record = self
                    .db
                    .read_by_key(move |conn| fetch(conn, &checked, &id))
                    .await?;
                ensure_in_scope(&scope, &record)?;
            }
        }
        Ok(loaded)
    }

    /// Deletes a record the caller may delete.
    ///
    /// # Errors
    /// 404 for an unknown collection or record, 401/403 from the delete rule.
    pub async fn delete_record(&self, caller: &Caller, collection: &str, id: &str) -> Result<()> {
        let loaded = self.require(collection)?;
        let scope = authorize(loaded.collection.options.rule_for(Action::Delete), caller)?;
        let rules = self.record_rules(&loaded, caller, &[Action::View, Action::Delete], None)?;
        let id = record_id(id)?;
        let service = self.clone();
        let caller = caller.clone();
        let (released, dropped) = self
            .db
            .write(move |tx| service.delete_in(tx, &loaded, &caller, &scope, &rules, &id))
            .await?;
        if let Some(&seq) = released.seqs.iter().max() {
            self.changes.committed(seq);
        }
        for (collection_id, rows) in &released.deleted {
            self.db.note_changed_records(collection_id, *rows);
        }
        deletions::delete_now(&self.db, &self.store, dropped).await;
        Ok(())
    }

    /// Creates a record of the collection `name` inside `tx`, as [`Service::create_record`]
    /// does after its keyword check (the caller must have passed `authorize`). Returns
    /// the record, its collection's id and the change's seq, to announce after the commit.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn create_in(
        &self,
        tx: &Connection,
        caller: &Caller,
        name: &str,
        record_id: Option<String>,
        mut data: Map<String, Value>,
        uploads: &[UploadedFile],
        upload_keys: &[String],
    ) -> Result<(Record, String, i64)> {
        // Re-read under the writer: a schema change may have committed meanwhile.
        let loaded = self.registry.get(name).ok_or_else(|| no_collection(name))?;
        files::apply(loaded.compiled.schema(), None, &mut data, uploads)?;
        // An expression create_rule judges what the client sent, not what a hook made of
        // it; the copy is only taken when a hook may change it.
        let sent = self
            .hooks
            .has_before(name, HookEvent::BeforeCreate)
            .then(|| data.clone());
        self.hooks.run_before(
            HookEvent::BeforeCreate,
            name,
            tx,
            caller,
            record_id.as_deref(),
            None,
            &mut data,
        )?;
        let body = data;
        let data = loaded.compiled.validate_new(&body)?;
        let touched: Vec<&str> = data.keys().map(String::as_str).collect();
        self.check_references(tx, &loaded, &data, &touched, None, caller)?;
        let at = now();
        let record = Record {
            id: record_id.unwrap_or_else(|| Uuid::now_v7().to_string()),
            collection: name.to_owned(),
            owner_id: caller.user_id.clone(),
            created_at: at,
            updated_at: at,
            data,
        };
        // An expression create_rule is decided on the record as it would be stored.
        if let Some(rule) = self.compiled_rule(
            &loaded,
            Action::Create,
            caller,
            Some(sent.as_ref().unwrap_or(&body)),
        )? && !record_matches(tx, &rule.condition, &loaded.collection.id, &record)?
        {
            return Err(Error::forbidden(
                "the collection's create_rule does not allow this record",
            ));
        }
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
        ])
        .map_err(unique_violation)?;
        deletions::keep_in(tx, upload_keys)?;
        let seq = log_change(tx, ChangeAction::Create, &loaded, &record)?;
        Ok((record, loaded.collection.id.clone(), seq))
    }

    /// Changes record `id` of the collection `name` inside `tx`, as
    /// [`Service::update_record`] does after its keyword check gave `scope`. Returns the
    /// record, the change's seq and the keys of the files the change dropped.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn update_in(
        &self,
        tx: &Connection,
        caller: &Caller,
        scope: &Scope,
        name: &str,
        id: &str,
        mut patch: Map<String, Value>,
        uploads: &[UploadedFile],
        upload_keys: &[String],
    ) -> Result<(Record, i64, Vec<String>)> {
        let loaded = self.registry.get(name).ok_or_else(|| no_collection(name))?;
        let rules = self.record_rules(
            &loaded,
            caller,
            &[Action::View, Action::Update],
            Some(&patch),
        )?;
        let mut record = fetch_visible(tx, &loaded, id, &rules)?;
        ensure_in_scope(scope, &record)?;
        self.hooks.run_before(
            HookEvent::BeforeUpdate,
            &loaded.collection.name,
            tx,
            caller,
            Some(&record.id),
            Some(&record),
            &mut patch,
        )?;
        let dropped = files::apply(
            loaded.compiled.schema(),
            Some(&record.data),
            &mut patch,
            uploads,
        )?;
        let data = loaded.compiled.validate_patch(&record.data, &patch)?;
        let touched: Vec<&str> = patch.keys().map(String::as_str).collect();
        self.check_references(tx, &loaded, &data, &touched, Some(&record.id), caller)?;
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
        let dropped: Vec<String> = dropped
            .iter()
            .map(|name| file_key(&loaded.collection.id, &record.id, name))
            .collect();
        deletions::keep_in(tx, upload_keys)?;
        deletions::schedule_in(tx, &dropped)?;
        let seq = log_change(tx, ChangeAction::Update, &loaded, &record)?;
        Ok((record, seq, dropped))
    }

    /// Deletes record `id` of `loaded` inside `tx`, as [`Service::delete_record`] does
    /// after its keyword check gave `scope` and with the expression `rules` it compiled.
    /// Returns what the delete released (cascades included) and the file keys to delete
    /// after the commit.
    pub(super) fn delete_in(
        &self,
        tx: &Connection,
        loaded: &LoadedCollection,
        caller: &Caller,
        scope: &Scope,
        rules: &[CompiledRule],
        id: &str,
    ) -> Result<(Released, Vec<String>)> {
        let record = fetch_visible(tx, loaded, id, rules)?;
        ensure_in_scope(scope, &record)?;
        if self
            .hooks
            .has_before(&loaded.collection.name, HookEvent::BeforeDelete)
        {
            // A delete's data is shown, not taken: changes to the copy are dropped.
            let mut data = record.data.clone();
            self.hooks.run_before(
                HookEvent::BeforeDelete,
                &loaded.collection.name,
                tx,
                caller,
                Some(&record.id),
                Some(&record),
                &mut data,
            )?;
        }
        let mut released = Released::default();
        self.release_references(tx, loaded, &record, &mut released)?;
        tx.execute("DELETE FROM records WHERE id = ?1", [&record.id])?;
        // The record's files (and thumbnails) go with it, after the commit.
        let mut dropped = if files::all_names(loaded.compiled.schema(), &record.data).is_empty() {
            Vec::new()
        } else {
            vec![record_key(&loaded.collection.id, &record.id)]
        };
        deletions::schedule_in(tx, &dropped)?;
        dropped.append(&mut released.dropped_files);
        released
            .seqs
            .push(log_change(tx, ChangeAction::Delete, loaded, &record)?);
        *released
            .deleted
            .entry(loaded.collection.id.clone())
            .or_default() += 1;
        Ok((released, dropped))
    }

    /// The expression rules among `actions` of `loaded`, compiled for `caller`: a record
    /// must match all of them to be seen (and so changed) at all.
    ///
    /// # Errors
    /// 403 when a stored rule no longer compiles.
    pub(super) fn record_rules(
        &self,
        loaded: &LoadedCollection,
        caller: &Caller,
        actions: &[Action],
        body: Option<&Map<String, Value>>,
    ) -> Result<Vec<CompiledRule>> {
        let mut rules = Vec::new();
        for &action in actions {
            rules.extend(self.compiled_rule(loaded, action, caller, body)?);
        }
        Ok(rules)
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
        self.check_relations(conn, loaded, data, touched, caller)?;

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
pub(super) fn log_change(
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
pub(super) fn stored_json(data: &Map<String, Value>, loaded: &LoadedCollection) -> Result<String> {
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

/// The store keys of `uploads` for the record `record_id`.
fn upload_keys(
    loaded: &LoadedCollection,
    record_id: &str,
    uploads: &[UploadedFile],
) -> Vec<String> {
    uploads
        .iter()
        .map(|u| file_key(&loaded.collection.id, record_id, &u.name))
        .collect()
}

pub(super) fn record_id(id: &str) -> Result<String> {
    Uuid::parse_str(id)
        .map(|uuid| uuid.hyphenated().to_string())
        .map_err(|_| no_record())
}

/// The checked `fields` of a request, if it names any.
fn projection_for(fields: Option<&str>) -> Result<Option<Projection>> {
    fields.map_or(Ok(None), Projection::parse)
}

fn no_record() -> Error {
    Error::not_found("no record with this id")
}

/// A keyword scope, checked in memory. An expression scope was applied when the record
/// was read (see [`fetch_visible`]), so the record is in it.
fn ensure_in_scope(scope: &Scope, record: &Record) -> Result<()> {
    if matches!(scope, Scope::Matching(_)) || scope.covers(record.owner_id.as_deref()) {
        Ok(())
    } else {
        Err(not_owner())
    }
}

fn not_owner() -> Error {
    Error::forbidden("only the record's owner may do this")
}

/// The statement reading record `id` of `loaded` if it matches every rule in `rules`.
fn visible_query(
    loaded: &LoadedCollection,
    id: String,
    rules: &[CompiledRule],
) -> (String, Vec<SqlParam>) {
    and_conditions(
        &format!("SELECT {RECORD_COLUMNS} FROM records WHERE id = ? AND collection_id = ?"),
        vec![
            SqlParam::Text(id),
            SqlParam::Text(loaded.collection.id.clone()),
        ],
        rules,
    )
}

/// Record `id` if it matches every rule in `rules`; 404 when it does not (a record the
/// caller may not see is reported exactly like a missing one).
fn fetch_visible(
    conn: &Connection,
    loaded: &LoadedCollection,
    id: &str,
    rules: &[CompiledRule],
) -> Result<Record> {
    if rules.is_empty() {
        return fetch(conn, loaded, id);
    }
    let (sql, params) = visible_query(loaded, id.to_owned(), rules);
    let name = &loaded.collection.name;
    conn.prepare_cached(&sql)?
        .query_row(params_from_iter(&params), |row| record_from_row(row, name))
        .optional()?
        .ok_or_else(no_record)
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

pub(super) fn record_from_row(
    row: &rusqlite::Row<'_>,
    collection: &str,
) -> rusqlite::Result<Record> {
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
