//! Relation values a writer may store: each id must name a record of the field's target
//! collection that the writer may view. One query per field, whether the field holds one
//! id (`relation`) or many (`list[relation]`).

use std::collections::HashSet;

use rusqlite::{Connection, params_from_iter};
use serde_json::{Map, Value};

use super::Service;
use super::access::and_conditions;
use crate::auth::Caller;
use crate::collections::filter::SqlParam;
use crate::collections::registry::LoadedCollection;
use crate::collections::rules::{Action, Scope, authorize};
use crate::{FieldErrors, Result};

impl Service {
    /// 422 naming each `touched` relation field of `data` that holds an id of no record
    /// the caller may view. A record the caller may not view is reported exactly like a
    /// missing one: otherwise the answer would tell whether another user's private record
    /// exists.
    ///
    /// # Errors
    /// 422 "the record refers to records that do not exist"; internal errors from SQLite.
    pub(super) fn check_relations(
        &self,
        conn: &Connection,
        loaded: &LoadedCollection,
        data: &Map<String, Value>,
        touched: &[&str],
        caller: &Caller,
    ) -> Result<()> {
        let mut missing = FieldErrors::default();
        for (field, target) in loaded.compiled.relations() {
            let Some(value) = data.get(field).filter(|_| touched.contains(&field)) else {
                continue;
            };
            // Validation already made these lower-case hyphenated UUIDs.
            let (ids, is_list): (Vec<&str>, bool) = match value {
                Value::String(id) => (vec![id.as_str()], false),
                Value::Array(items) => (items.iter().filter_map(Value::as_str).collect(), true),
                _ => continue,
            };
            if ids.is_empty() {
                continue;
            }
            let found = self.viewable_ids(conn, caller, target, &ids)?;
            let message = format!("no record with this id in collection `{target}`");
            if !is_list {
                if found.is_empty() {
                    missing.add(field, message);
                }
                continue;
            }
            // The first absent element is named, like the first bad element of any list.
            if let Some(index) = ids.iter().position(|id| !found.contains(*id)) {
                missing.add(field, format!("element {index}: {message}"));
            }
        }
        missing.into_result("the record refers to records that do not exist")
    }

    /// Which of `ids` are records of the collection `target` that `caller` may view: one
    /// query for all of them.
    fn viewable_ids(
        &self,
        conn: &Connection,
        caller: &Caller,
        target: &str,
        ids: &[&str],
    ) -> Result<HashSet<String>> {
        let Some(target) = self.registry.get(target) else {
            return Ok(HashSet::new());
        };
        let rules = self
            .record_rules(&target, caller, &[Action::View], None)
            .unwrap_or_default();
        let (sql, params) = and_conditions(
            "SELECT id, owner_id FROM records \
             WHERE id IN (SELECT value FROM json_each(?)) AND collection_id = ?",
            vec![
                SqlParam::Text(serde_json::to_string(ids)?),
                SqlParam::Text(target.collection.id.clone()),
            ],
            &rules,
        );
        let scope = authorize(&target.collection.options.view_rule, caller);
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(&params), |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, Option<String>>(1)?))
        })?;
        let mut found = HashSet::new();
        for row in rows {
            let (id, owner) = row?;
            let viewable = scope.as_ref().is_ok_and(|scope| {
                matches!(scope, Scope::Matching(_)) || scope.covers(owner.as_deref())
            });
            if viewable {
                found.insert(id);
            }
        }
        Ok(found)
    }
}
