//! Creating, reading, changing and deleting collections.

use std::collections::HashSet;

use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use super::access::check_rules;
use super::{COLLECTION_COLUMNS, Service, all_collections, collection_from_row};
use crate::auth::Caller;
use crate::collections::model::{Collection, CollectionChanges, NewCollection};
use crate::collections::registry::LoadedCollection;
use crate::collections::rules::{CollectionOptions, Rule, authorize};
use crate::collections::schema::CollectionSchema;
use crate::collections::validate::CompiledSchema;
use crate::collections::{indexes, search};
use crate::db::{format_timestamp, now};
use crate::pagination::{Page, PageRequest};
use crate::storage::{deletions, file_key};
use crate::{Error, FieldErrors, Result};

/// The error code of an edit refused because the collection is defined in code.
pub const DEFINED_IN_CODE: &str = "defined_in_code";

/// The longest label accepted, in characters.
const MAX_LABEL_CHARS: usize = 200;

/// Checks a collection name: `^[a-z][a-z0-9_]{0,62}$`.
pub(crate) fn check_collection_name(name: &str) -> Option<&'static str> {
    let mut chars = name.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if starts_well && rest_ok && name.len() <= 63 {
        None
    } else {
        Some(
            "must start with a lower-case letter and contain only a-z, 0-9 and _ (at most 63 characters)",
        )
    }
}

fn check_label(label: Option<&str>, problems: &mut FieldErrors) {
    if label.is_some_and(|l| l.chars().count() > MAX_LABEL_CHARS) {
        problems.add(
            "label",
            format!("must be at most {MAX_LABEL_CHARS} characters"),
        );
    }
}

impl Service {
    /// The collections whose `list_rule` lets `caller` list them, by name.
    ///
    /// # Errors
    /// 400 for a bad page request.
    pub fn list_collections(&self, caller: &Caller, page: PageRequest) -> Result<Page<Collection>> {
        let page = page.resolve()?;
        let visible: Vec<Collection> = self
            .registry
            .all()
            .iter()
            .filter(|c| authorize(&c.collection.options.list_rule, caller).is_ok())
            .map(|c| c.collection.clone())
            .collect();
        let total = visible.len() as u64;
        let items = visible
            .into_iter()
            .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
            .take(page.per_page as usize)
            .collect();
        Ok(page.page_of(items, total))
    }

    /// One collection, if its `list_rule` lets `caller` see it.
    ///
    /// # Errors
    /// 404 for an unknown name; 401/403 from the list rule.
    pub fn get_collection(&self, caller: &Caller, name: &str) -> Result<Collection> {
        let loaded = self.require(name)?;
        authorize(&loaded.collection.options.list_rule, caller)?;
        Ok(loaded.collection.clone())
    }

    /// Creates a collection (admins only).
    ///
    /// # Errors
    /// 401/403 for non-admins, 422 for a bad name or schema, 409 when the name is taken.
    pub async fn create_collection(
        &self,
        caller: &Caller,
        new: NewCollection,
    ) -> Result<Collection> {
        authorize(&Rule::Admin, caller)?;
        let mut problems = FieldErrors::default();
        if let Some(msg) = check_collection_name(&new.name) {
            problems.add("name", msg);
        }
        check_label(new.label.as_deref(), &mut problems);
        if let Some((field, problem)) = new.options.problems() {
            problems.add(field, problem);
        }
        problems.into_result("the collection is not valid")?;

        let registry = self.registry.clone();
        let service = self.clone();
        let loaded = self
            .db
            .write_then(
                move |tx| {
                    let names = collection_names(tx)?;
                    if names.contains(&new.name) {
                        return Err(Error::conflict(format!(
                            "a collection named `{}` already exists",
                            new.name
                        ))
                        .with_details(serde_json::json!({"fields": {"name": "is already taken"}})));
                    }
                    let compiled = CompiledSchema::compile(&new.schema, &|n| {
                        names.contains(n) || n == new.name
                    })?;
                    let id = Uuid::now_v7().to_string();
                    service.check_cascades(&new.name, &new.schema)?;
                    service.check_rules_of(&id, &new.name, &new.schema, &new.options)?;
                    let at = now();
                    let collection = Collection {
                        id,
                        name: new.name,
                        label: new.label,
                        schema: new.schema,
                        options: new.options,
                        created_at: at,
                        updated_at: at,
                        code_defined: false,
                    };
                    tx.execute(
                        "INSERT INTO collections (id, name, label, schema, options, created_at, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                        params![
                            collection.id,
                            collection.name,
                            collection.label,
                            serde_json::to_string(&collection.schema)?,
                            serde_json::to_string(&collection.options)?,
                            format_timestamp(at),
                        ],
                    )?;
                    indexes::sync(tx, &collection.id, &collection.schema)?;
                    search::sync(tx, &collection.id, &collection.schema)?;
                    Ok(LoadedCollection { collection, compiled })
                },
                move |loaded| registry.put(loaded.clone()),
            )
            .await?;
        tracing::info!(collection = %loaded.collection.name, "collection created");
        self.notify();
        Ok(loaded.collection)
    }

    /// Changes a collection's label, schema or rules (admins only). A new schema applies to
    /// the next request; stored records are not rewritten.
    ///
    /// # Errors
    /// 401/403 for non-admins, 404 for an unknown name, 422 for a bad schema, 409 when a
    /// new unique field has duplicate values.
    pub async fn update_collection(
        &self,
        caller: &Caller,
        name: &str,
        changes: CollectionChanges,
    ) -> Result<Collection> {
        authorize(&Rule::Admin, caller)?;
        self.refuse_code_defined(name, "changed")?;
        let mut problems = FieldErrors::default();
        check_label(changes.label.as_deref(), &mut problems);
        if let Some((field, problem)) = changes.options.as_ref().and_then(|o| o.problems()) {
            problems.add(field, problem);
        }
        problems.into_result("the changes are not valid")?;

        let registry = self.registry.clone();
        let service = self.clone();
        let name = name.to_owned();
        let loaded = self
            .db
            .write_then(
                move |tx| {
                    let mut collection = tx
                        .query_row(
                            &format!("SELECT {COLLECTION_COLUMNS} FROM collections WHERE name = ?1"),
                            [&name],
                            collection_from_row,
                        )
                        .optional()?
                        .ok_or_else(|| no_collection(&name))?;
                    if let Some(label) = changes.label {
                        collection.label = Some(label);
                    }
                    if let Some(options) = changes.options {
                        collection.options = options;
                    }
                    let schema_changed = changes.schema.is_some();
                    let mut dropped_files = Vec::new();
                    if let Some(schema) = changes.schema {
                        dropped_files = files_of_dropped_fields(tx, &collection, &schema)?;
                        collection.schema = schema;
                    }
                    let names = collection_names(tx)?;
                    let compiled = CompiledSchema::compile(&collection.schema, &|n| names.contains(n))?;
                    service.check_cascades(&collection.name, &collection.schema)?;
                    service.check_rules_of(
                        &collection.id,
                        &collection.name,
                        &collection.schema,
                        &collection.options,
                    )?;
                    collection.updated_at = now();
                    tx.execute(
                        "UPDATE collections SET label = ?2, schema = ?3, options = ?4, updated_at = ?5
                         WHERE id = ?1",
                        params![
                            collection.id,
                            collection.label,
                            serde_json::to_string(&collection.schema)?,
                            serde_json::to_string(&collection.options)?,
                            format_timestamp(collection.updated_at),
                        ],
                    )?;
                    if schema_changed {
                        indexes::sync(tx, &collection.id, &collection.schema)?;
                        search::sync(tx, &collection.id, &collection.schema)?;
                    }
                    deletions::schedule_in(tx, &dropped_files)?;
                    Ok((LoadedCollection { collection, compiled }, dropped_files))
                },
                move |(loaded, _)| registry.put(loaded.clone()),
            )
            .await?;
        let (loaded, dropped_files) = loaded;
        tracing::info!(collection = %loaded.collection.name, "collection updated");
        self.notify();
        deletions::delete_now(&self.db, &self.store, dropped_files).await;
        Ok(loaded.collection)
    }

    /// Deletes a collection and all its records (admins only).
    ///
    /// # Errors
    /// 401/403 for non-admins, 404 for an unknown name, 409 while another collection has a
    /// relation field pointing at it.
    pub async fn delete_collection(&self, caller: &Caller, name: &str) -> Result<()> {
        authorize(&Rule::Admin, caller)?;
        self.refuse_code_defined(name, "deleted")?;
        let registry = self.registry.clone();
        let service = self.clone();
        let removed = name.to_owned();
        let removed_name = name.to_owned();
        let name = name.to_owned();
        let files = self
            .db
            .write_then(
                move |tx| {
                    let all = all_collections(tx)?;
                    let target = all
                        .iter()
                        .find(|c| c.name == name)
                        .ok_or_else(|| no_collection(&name))?;
                    let referrers: Vec<String> = all
                        .iter()
                        .filter(|c| c.name != name)
                        .flat_map(|c| {
                            c.schema
                                .fields
                                .iter()
                                .filter(|f| {
                                    f.field_type.is_relation()
                                        && f.collection.as_deref() == Some(name.as_str())
                                })
                                .map(move |f| format!("{}.{}", c.name, f.name))
                        })
                        .collect();
                    if !referrers.is_empty() {
                        return Err(Error::conflict(format!(
                            "relation fields point at `{name}`: {}; change them first",
                            referrers.join(", ")
                        )));
                    }
                    service.check_other_rules(&name, None)?;
                    indexes::drop_all(tx, &target.id)?;
                    tx.execute("DELETE FROM records WHERE collection_id = ?1", [&target.id])?;
                    tx.execute("DELETE FROM collections WHERE id = ?1", [&target.id])?;
                    // Every file of the collection goes too, after the commit.
                    let files = vec![target.id.clone()];
                    deletions::schedule_in(tx, &files)?;
                    Ok(files)
                },
                move |_| registry.remove(&removed),
            )
            .await?;
        tracing::info!(collection = %removed_name, "collection deleted");
        self.notify();
        deletions::delete_now(&self.db, &self.store, files).await;
        Ok(())
    }

    /// 422 naming each expression rule of a collection being saved that does not compile
    /// against its new `schema` and the other collections.
    pub(super) fn check_rules_of(
        &self,
        id: &str,
        name: &str,
        schema: &CollectionSchema,
        options: &CollectionOptions,
    ) -> Result<()> {
        let lookup = |target: &str| {
            if target == name {
                Some((id.to_owned(), schema.clone()))
            } else {
                self.rule_target(target)
            }
        };
        let mut problems = FieldErrors::default();
        check_rules(options, schema, &lookup, &mut problems);
        problems.into_result("a rule is not a valid expression")?;
        self.check_other_rules(name, Some((id, schema)))
    }

    /// 409 when saving collection `name` with `saved` (its id and new schema), or deleting
    /// it (`None`), would break another collection's expression rules (a relation path or
    /// `@collection` naming a field that would be gone): rules are checked on save, so
    /// they keep compiling.
    fn check_other_rules(
        &self,
        name: &str,
        saved: Option<(&str, &CollectionSchema)>,
    ) -> Result<()> {
        let lookup = |target: &str| {
            if target == name {
                saved.map(|(id, schema)| (id.to_owned(), schema.clone()))
            } else {
                self.rule_target(target)
            }
        };
        let mut broken = Vec::new();
        for other in self.registry.all() {
            if other.collection.name == name {
                continue;
            }
            let mut problems = FieldErrors::default();
            check_rules(
                &other.collection.options,
                other.compiled.schema(),
                &lookup,
                &mut problems,
            );
            broken.extend(
                problems
                    .into_details()
                    .get("fields")
                    .and_then(|fields| fields.as_object())
                    .into_iter()
                    .flat_map(|fields| fields.keys())
                    .map(|key| format!("{}.{key}", other.collection.name)),
            );
        }
        if broken.is_empty() {
            return Ok(());
        }
        Err(Error::conflict(format!(
            "rules of other collections depend on `{name}` as it is: {}; change them first",
            broken.join(", ")
        ))
        .with_details(serde_json::json!({ "rules": broken })))
    }

    /// 409 `defined_in_code` for a collection a Rust struct declares: its schema, rules and
    /// label come from the code at every start, so an edit here would be undone (or would
    /// stop the next start); it changes by changing the struct.
    fn refuse_code_defined(&self, name: &str, what: &str) -> Result<()> {
        if self
            .registry
            .get(name)
            .is_some_and(|loaded| loaded.collection.code_defined)
        {
            return Err(Error::conflict(format!(
                "the collection `{name}` is defined in code (#[derive(tinybase::Collection)]) \
                 and cannot be {what} here; change its Rust struct and restart"
            ))
            .with_code(DEFINED_IN_CODE));
        }
        Ok(())
    }

    /// The loaded collection called `name`, or 404.
    pub(super) fn require(&self, name: &str) -> Result<std::sync::Arc<LoadedCollection>> {
        self.registry.get(name).ok_or_else(|| no_collection(name))
    }
}

pub(super) fn no_collection(name: &str) -> Error {
    Error::not_found(format!("no collection named `{name}`"))
}

/// The store keys of every file held in a file field that `new` removes (or retypes): once
/// the schema no longer names the field, nothing serves or deletes those files, so they go
/// with the change.
pub(super) fn files_of_dropped_fields(
    conn: &rusqlite::Connection,
    collection: &Collection,
    new: &crate::collections::schema::CollectionSchema,
) -> Result<Vec<String>> {
    let mut keys = Vec::new();
    for field in collection
        .schema
        .fields
        .iter()
        .filter(|f| f.field_type.is_file())
    {
        if new
            .field(&field.name)
            .is_some_and(|f| f.field_type.is_file())
        {
            continue;
        }
        // Field names are `^[a-z][a-z0-9_]*$`, safe inside the JSON path.
        let path = format!("$.{}", field.name);
        let mut statement = conn.prepare(
            "SELECT r.id, j.value FROM records r, json_each(r.data, ?2) j
             WHERE r.collection_id = ?1",
        )?;
        let rows = statement.query_map(params![collection.id, path], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, Option<String>>(1)?))
        })?;
        for row in rows {
            if let (record, Some(name)) = row? {
                keys.push(file_key(&collection.id, &record, &name));
            }
        }
    }
    Ok(keys)
}

pub(super) fn collection_names(conn: &rusqlite::Connection) -> Result<HashSet<String>> {
    let mut stmt = conn.prepare("SELECT name FROM collections")?;
    let names = stmt
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<HashSet<String>>>()?;
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_names() {
        for good in ["posts", "a", "blog_posts2", &"a".repeat(63)] {
            assert!(check_collection_name(good).is_none(), "{good}");
        }
        for bad in [
            "",
            "Posts",
            "2posts",
            "_posts",
            "blog-posts",
            "pöst",
            &"a".repeat(64),
        ] {
            assert!(check_collection_name(bad).is_some(), "{bad}");
        }
    }
}
