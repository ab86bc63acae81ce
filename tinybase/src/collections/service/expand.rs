//! `expand`: related records put under `"expand"` on each record of an answer.
//!
//! `?expand=author,comments_via_post,author.team` names forward relations (a relation
//! field of the record) and back-relations (`<collection>_via_<field>`: the records of
//! `collection` whose relation `field` points at the record), nested up to
//! [`MAX_EXPAND_DEPTH`] levels. The request is resolved against the schemas once
//! ([`ExpandPlan`]), then carried out with one query per relation per level for the whole
//! page, never one per record. Each target's `view_rule` applies for the caller: records
//! the caller may not view are left out, exactly as if they did not exist.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use rusqlite::{Connection, Row, params_from_iter};
use serde_json::{Map, Value};

use super::Service;
use super::page_json::write_record_open;
use super::records::RECORD_COLUMNS;
use crate::auth::Caller;
use crate::collections::filter::{SqlParam, field_expression};
use crate::collections::indexes::collection_condition;
use crate::collections::registry::LoadedCollection;
use crate::collections::rules::{Action, Scope, authorize};
use crate::collections::schema::FieldType;
use crate::{Error, ErrorKind, Result};

/// How many relations deep `expand` may go (`a.b.c`).
pub(crate) const MAX_EXPAND_DEPTH: usize = 3;
/// How many relation paths one `expand` may name.
const MAX_EXPAND_PATHS: usize = 20;
/// The most records a back-relation expands for one record (the oldest first).
pub(crate) const MAX_BACK_RELATION_RECORDS: usize = 1000;
/// What separates the collection from the field in a back-relation's name.
const VIA: &str = "_via_";

/// A checked `expand`: which relations to follow from a collection's records.
#[derive(Debug)]
pub(crate) struct ExpandPlan {
    nodes: Vec<Node>,
}

/// One relation to follow, and what to follow from its records in turn.
#[derive(Debug)]
struct Node {
    /// The key under `"expand"`, as the request wrote it.
    key: String,
    link: Link,
    target: Arc<LoadedCollection>,
    /// The target collection's name as a JSON string, for writing its records.
    target_json: String,
    /// The extra condition the caller's view of the target adds; `None` when the caller
    /// may view none of its records.
    view: Option<Condition>,
    children: Vec<Node>,
}

/// How a node's records are found from its parents.
#[derive(Debug)]
enum Link {
    /// The parent's relation field holds the target's id (or ids).
    Forward { field: String },
    /// The target's relation field, read by this SQL expression, holds the parent's id.
    Back { expr: String },
    /// The target's `list[relation]` field of this name holds the parent's id among others.
    BackList { field: String },
}

/// SQL ANDed to a query (empty for none) and its parameters.
#[derive(Debug, Default)]
struct Condition {
    sql: String,
    params: Vec<SqlParam>,
}

impl Service {
    /// Resolves the `expand` parameter `text` for records of `root`, with the view rules
    /// of the targets compiled for `caller`. `None` when `text` names nothing.
    ///
    /// # Errors
    /// 400 for a name that is neither a relation field nor `<collection>_via_<field>`
    /// back-relation, a path deeper than [`MAX_EXPAND_DEPTH`] or too many paths.
    pub(crate) fn expand_plan(
        &self,
        caller: &Caller,
        root: &LoadedCollection,
        text: &str,
    ) -> Result<Option<ExpandPlan>> {
        let paths = super::fields::comma_list(text, MAX_EXPAND_PATHS, |n| {
            bad_expand(format!(
                "expand names {n} relations; at most {MAX_EXPAND_PATHS} are allowed"
            ))
        })?;
        if paths.is_empty() {
            return Ok(None);
        }
        let mut nodes = Vec::new();
        for path in paths {
            let segments: Vec<&str> = path.split('.').collect();
            if segments.len() > MAX_EXPAND_DEPTH {
                return Err(bad_expand(format!(
                    "expand `{path}` goes {} relations deep; at most {MAX_EXPAND_DEPTH} are allowed",
                    segments.len()
                )));
            }
            self.insert_path(caller, root, &segments, &mut nodes, path)?;
        }
        Ok(Some(ExpandPlan { nodes }))
    }

    fn insert_path(
        &self,
        caller: &Caller,
        from: &LoadedCollection,
        segments: &[&str],
        nodes: &mut Vec<Node>,
        path: &str,
    ) -> Result<()> {
        let Some((first, rest)) = segments.split_first() else {
            return Ok(());
        };
        let index = match nodes.iter().position(|n| n.key == *first) {
            Some(index) => index,
            None => {
                let (link, target) = self.resolve_link(from, first, path)?;
                let view = self.view_condition(&target, caller)?;
                nodes.push(Node {
                    key: (*first).to_owned(),
                    link,
                    target_json: serde_json::to_string(&target.collection.name)?,
                    target,
                    view,
                    children: Vec::new(),
                });
                nodes.len() - 1
            }
        };
        let node = &mut nodes[index];
        let target = Arc::clone(&node.target);
        self.insert_path(caller, &target, rest, &mut node.children, path)
    }

    /// What the expand name `name` on records of `from` follows.
    fn resolve_link(
        &self,
        from: &LoadedCollection,
        name: &str,
        path: &str,
    ) -> Result<(Link, Arc<LoadedCollection>)> {
        let from_name = &from.collection.name;
        if let Some(field) = from
            .compiled
            .schema()
            .fields
            .iter()
            .find(|f| f.name == name)
        {
            let Some(target) = field.collection.as_deref() else {
                return Err(bad_expand(format!(
                    "expand `{path}`: `{name}` of `{from_name}` is not a relation field"
                )));
            };
            let target = self.registry.get(target).ok_or_else(|| {
                bad_expand(format!(
                    "expand `{path}`: the collection `{target}` that `{name}` points at no longer exists"
                ))
            })?;
            return Ok((
                Link::Forward {
                    field: name.to_owned(),
                },
                target,
            ));
        }
        // `<collection>_via_<field>`; a collection or field name may itself hold `_via_`,
        // so every split is tried.
        for (at, _) in name.match_indices(VIA) {
            let (source, field) = (&name[..at], &name[at + VIA.len()..]);
            let Some(source) = self.registry.get(source) else {
                continue;
            };
            let schema = source.compiled.schema();
            let Some(spec) = schema
                .fields
                .iter()
                .find(|f| f.name == field && f.collection.as_deref() == Some(from_name.as_str()))
            else {
                continue;
            };
            // The expression exists only for a name safe inside SQL text.
            let Some(expr) = field_expression(field, schema) else {
                continue;
            };
            let link = if spec.field_type == FieldType::ListRelation {
                Link::BackList {
                    field: spec.name.clone(),
                }
            } else {
                Link::Back { expr }
            };
            return Ok((link, source));
        }
        Err(bad_expand(format!(
            "expand `{path}`: `{name}` is neither a relation field of `{from_name}` nor \
             `<collection>_via_<field>` naming a relation field that points at it"
        )))
    }

    /// The condition limiting `target`'s records to those `caller` may view; `None`
    /// when the view rule lets the caller see none of them.
    fn view_condition(
        &self,
        target: &LoadedCollection,
        caller: &Caller,
    ) -> Result<Option<Condition>> {
        let scope = match authorize(target.collection.options.rule_for(Action::View), caller) {
            Ok(scope) => scope,
            Err(err) if matches!(err.kind(), ErrorKind::Unauthorized | ErrorKind::Forbidden) => {
                return Ok(None);
            }
            Err(err) => return Err(err),
        };
        Ok(match scope {
            Scope::All => Some(Condition::default()),
            Scope::OwnedBy(user) => Some(Condition {
                sql: " AND owner_id = ?".to_owned(),
                params: vec![SqlParam::Text(user)],
            }),
            // A rule that no longer compiles hides everything (it fails closed).
            Scope::Matching(_) => match self.compiled_rule(target, Action::View, caller, None) {
                Ok(Some(rule)) => Some(Condition {
                    sql: format!(" AND ({})", rule.condition.sql),
                    params: rule.condition.params,
                }),
                Ok(None) => Some(Condition::default()),
                Err(_) => None,
            },
        })
    }
}

fn bad_expand(message: String) -> Error {
    Error::bad_request(message).with_details(serde_json::json!({ "parameter": "expand" }))
}

/// A record read for an answer with `expand`: its stored columns as text, and the
/// `"expand"` members found for it.
pub(crate) struct RawRecord {
    id: String,
    owner_id: Option<String>,
    data: String,
    created_at: String,
    updated_at: String,
    /// `"key":value` members, comma-separated; `None` when nothing was asked to be
    /// expanded from this record (then it has no `"expand"` member at all).
    expand: Option<Vec<u8>>,
}

impl RawRecord {
    /// The record in `row` (`id, owner_id, data, created_at, updated_at`).
    ///
    /// # Errors
    /// A stored value of the wrong type.
    pub(crate) fn from_row(row: &Row<'_>) -> Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            owner_id: row.get(1)?,
            data: row.get(2)?,
            created_at: row.get(3)?,
            updated_at: row.get(4)?,
            expand: None,
        })
    }

    /// Appends the record's JSON, with its `"expand"` object if something was asked to be
    /// expanded from it, to `out`. `collection` is the collection's name as a JSON string.
    ///
    /// # Errors
    /// A bad stored timestamp.
    /// About how many bytes [`RawRecord::write`] writes (a little more, rarely less).
    pub(crate) fn json_size(&self) -> usize {
        self.data.len()
            + self.expand.as_ref().map_or(0, Vec::len)
            + super::page_json::RECORD_OVERHEAD_BYTES
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>, collection: &str) -> Result<()> {
        write_record_open(
            out,
            &self.id,
            collection,
            self.owner_id.as_deref(),
            &self.created_at,
            &self.updated_at,
            &self.data,
        )?;
        if let Some(expand) = &self.expand {
            out.extend_from_slice(b",\"expand\":{");
            out.extend_from_slice(expand);
            out.push(b'}');
        }
        out.push(b'}');
        Ok(())
    }

    fn add_member(&mut self, key: &str, value: &[u8]) -> Result<()> {
        let expand = self.expand.get_or_insert_with(Vec::new);
        if !expand.is_empty() {
            expand.push(b',');
        }
        serde_json::to_writer(&mut *expand, key)?;
        expand.push(b':');
        expand.extend_from_slice(value);
        Ok(())
    }
}

impl ExpandPlan {
    /// Fills in the `"expand"` members of `records`, with one query per relation per
    /// level.
    ///
    /// # Errors
    /// Internal errors from SQLite or stored JSON.
    pub(crate) fn apply(&self, conn: &Connection, records: &mut [RawRecord]) -> Result<()> {
        expand_level(conn, records, &self.nodes)
    }
}

fn expand_level(conn: &Connection, parents: &mut [RawRecord], nodes: &[Node]) -> Result<()> {
    if parents.is_empty() || nodes.is_empty() {
        return Ok(());
    }
    // Asked for, so present even when nothing is found.
    for parent in parents.iter_mut() {
        parent.expand.get_or_insert_with(Vec::new);
    }
    // Parsed once per level, and only when a forward relation needs the values.
    let mut parsed: Option<Vec<Map<String, Value>>> = None;
    for node in nodes {
        let Some(view) = &node.view else {
            continue;
        };
        match &node.link {
            Link::Forward { field } => {
                let data = match &mut parsed {
                    Some(data) => data,
                    None => parsed.insert(
                        parents
                            .iter()
                            .map(|p| serde_json::from_str(&p.data))
                            .collect::<serde_json::Result<_>>()?,
                    ),
                };
                expand_forward(conn, parents, data, field, node, view)?;
            }
            Link::Back { .. } | Link::BackList { .. } => {
                expand_back(conn, parents, node, view)?;
            }
        }
    }
    Ok(())
}

/// What a relation field holds: one id, a list of ids, or nothing usable.
enum Linked<'a> {
    One(&'a str),
    Many(Vec<&'a str>),
    Nothing,
}

fn linked(value: Option<&Value>) -> Linked<'_> {
    match value {
        Some(Value::String(id)) => Linked::One(id),
        Some(Value::Array(items)) => Linked::Many(items.iter().filter_map(Value::as_str).collect()),
        _ => Linked::Nothing,
    }
}

fn expand_forward(
    conn: &Connection,
    parents: &mut [RawRecord],
    data: &[Map<String, Value>],
    field: &str,
    node: &Node,
    view: &Condition,
) -> Result<()> {
    let mut ids: Vec<&str> = Vec::new();
    let mut seen = HashSet::new();
    for record in data {
        let found = match linked(record.get(field)) {
            Linked::One(id) => vec![id],
            Linked::Many(list) => list,
            Linked::Nothing => Vec::new(),
        };
        for id in found {
            if seen.insert(id) {
                ids.push(id);
            }
        }
    }
    if ids.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "SELECT {RECORD_COLUMNS} FROM records WHERE {} \
         AND id IN (SELECT value FROM json_each(?)){}",
        collection_condition(&node.target.collection.id)?,
        view.sql
    );
    let ids_json = SqlParam::Text(serde_json::to_string(&ids)?);
    let mut children = read_records(conn, &sql, std::iter::once(&ids_json).chain(&view.params))?;
    expand_level(conn, &mut children, &node.children)?;
    let mut written: HashMap<&str, Vec<u8>> = HashMap::with_capacity(children.len());
    for child in &children {
        let mut out = Vec::with_capacity(child.data.len() + 256);
        child.write(&mut out, &node.target_json)?;
        written.insert(child.id.as_str(), out);
    }
    for (parent, record) in parents.iter_mut().zip(data) {
        match linked(record.get(field)) {
            Linked::One(id) => {
                if let Some(json) = written.get(id) {
                    parent.add_member(&node.key, json)?;
                }
            }
            Linked::Many(list) => {
                let found: Vec<&Vec<u8>> = list.iter().filter_map(|id| written.get(id)).collect();
                if !found.is_empty() {
                    parent.add_member(&node.key, &json_array(&found))?;
                }
            }
            Linked::Nothing => {}
        }
    }
    Ok(())
}

/// The query for a back-relation through a relation field read by `expr`, and its
/// parameters. The window keeps at most [`MAX_BACK_RELATION_RECORDS`] per parent, the
/// oldest first.
fn back_query(
    expr: &str,
    parent_ids: &SqlParam,
    node: &Node,
    view: &Condition,
) -> Result<(String, Vec<SqlParam>)> {
    let sql = format!(
        "SELECT id, owner_id, data, created_at, updated_at, link FROM (\
           SELECT {RECORD_COLUMNS}, {expr} AS link, \
             ROW_NUMBER() OVER (PARTITION BY {expr} ORDER BY created_at, id) AS n \
           FROM records WHERE {} AND {expr} IN (SELECT value FROM json_each(?)){}\
         ) WHERE n <= {MAX_BACK_RELATION_RECORDS} ORDER BY created_at, id",
        collection_condition(&node.target.collection.id)?,
        view.sql
    );
    let params = std::iter::once(parent_ids.clone())
        .chain(view.params.iter().cloned())
        .collect();
    Ok((sql, params))
}

/// The query for a back-relation through the `list[relation]` field `field`, and its
/// parameters: each record holding some parent id is joined with its list's elements, so
/// a record that holds several parents of the page is found once per parent.
fn back_list_query(
    field: &str,
    parent_ids: &SqlParam,
    node: &Node,
    view: &Condition,
) -> Result<(String, Vec<SqlParam>)> {
    // The records are chosen (and the view applied) in an inner query over `records`
    // alone, where the view's SQL reads its columns unambiguously; `json_each` has an `id`
    // column of its own, so the join happens outside.
    let sql = format!(
        "SELECT id, owner_id, data, created_at, updated_at, link FROM (\
           SELECT r.id AS id, r.owner_id AS owner_id, r.data AS data, \
             r.created_at AS created_at, r.updated_at AS updated_at, element.value AS link, \
             ROW_NUMBER() OVER (PARTITION BY element.value ORDER BY r.created_at, r.id) AS n \
           FROM (SELECT {RECORD_COLUMNS} FROM records WHERE {} \
                   AND EXISTS (SELECT 1 FROM json_each(records.data, '$.{field}') \
                     WHERE value IN (SELECT value FROM json_each(?))){}\
                ) AS r, json_each(r.data, '$.{field}') AS element \
           WHERE element.value IN (SELECT value FROM json_each(?))\
         ) WHERE n <= {MAX_BACK_RELATION_RECORDS} ORDER BY created_at, id",
        collection_condition(&node.target.collection.id)?,
        view.sql
    );
    let params = std::iter::once(parent_ids.clone())
        .chain(view.params.iter().cloned())
        .chain(std::iter::once(parent_ids.clone()))
        .collect();
    Ok((sql, params))
}

fn expand_back(
    conn: &Connection,
    parents: &mut [RawRecord],
    node: &Node,
    view: &Condition,
) -> Result<()> {
    let ids: Vec<&str> = parents.iter().map(|p| p.id.as_str()).collect();
    let parent_ids = SqlParam::Text(serde_json::to_string(&ids)?);
    let (sql, params) = match &node.link {
        Link::BackList { field } => back_list_query(field, &parent_ids, node, view)?,
        Link::Back { expr } => back_query(expr, &parent_ids, node, view)?,
        Link::Forward { .. } => return Ok(()),
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(&params))?;
    let mut children = Vec::new();
    let mut links = Vec::new();
    while let Some(row) = rows.next()? {
        children.push(RawRecord::from_row(row)?);
        links.push(row.get::<_, String>(5)?);
    }
    drop(rows);
    drop(stmt);
    expand_level(conn, &mut children, &node.children)?;
    let mut by_parent: HashMap<&str, Vec<Vec<u8>>> = HashMap::new();
    for (child, link) in children.iter().zip(&links) {
        let mut out = Vec::with_capacity(child.data.len() + 256);
        child.write(&mut out, &node.target_json)?;
        by_parent.entry(link.as_str()).or_default().push(out);
    }
    for parent in parents.iter_mut() {
        if let Some(found) = by_parent.get(parent.id.as_str()) {
            let found: Vec<&Vec<u8>> = found.iter().collect();
            parent.add_member(&node.key, &json_array(&found))?;
        }
    }
    Ok(())
}

fn read_records<'p>(
    conn: &Connection,
    sql: &str,
    params: impl Iterator<Item = &'p SqlParam>,
) -> Result<Vec<RawRecord>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params_from_iter(params))?;
    let mut records = Vec::new();
    while let Some(row) = rows.next()? {
        records.push(RawRecord::from_row(row)?);
    }
    Ok(records)
}

fn json_array(items: &[&Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(items.iter().map(|i| i.len() + 1).sum::<usize>() + 2);
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item);
    }
    out.push(b']');
    out
}
