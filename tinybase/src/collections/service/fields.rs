//! `fields`: trims records to the parts a client asks for.
//!
//! `?fields=id,data.title,expand.author` keeps a record's `id`, the `title` of its data
//! and its expanded `author`, whole. A path goes as deep as the JSON does; inside lists
//! (a back-relation's records, a list field) it applies to each element. Answers are
//! written from stored text for speed, so trimming parses each record as it is written
//! (one at a time, never the whole page): it costs only the requests that ask for it.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::{Error, Result};

/// The members of a record a `fields` path may start with.
const RECORD_KEYS: [&str; 7] = [
    "id",
    "collection",
    "owner_id",
    "created_at",
    "updated_at",
    "data",
    "expand",
];
/// How many paths one `fields` may name.
const MAX_PATHS: usize = 100;

/// A checked `fields`: the members to keep, each whole or trimmed in turn.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Projection {
    /// Member name → `None` to keep it whole, or what to keep of it.
    keep: BTreeMap<String, Option<Projection>>,
}

impl Projection {
    /// Parses the `fields` parameter; `None` when it names nothing.
    ///
    /// # Errors
    /// 400 for an empty path segment, a path that does not start with a member of a
    /// record, or too many paths.
    pub(crate) fn parse(text: &str) -> Result<Option<Self>> {
        let paths = comma_list(text, MAX_PATHS, |n| {
            bad_fields(format!(
                "fields names {n} paths; at most {MAX_PATHS} are allowed"
            ))
        })?;
        if paths.is_empty() {
            return Ok(None);
        }
        let mut root = Self::default();
        for path in paths {
            let segments: Vec<&str> = path.split('.').collect();
            if segments.iter().any(|s| s.is_empty()) {
                return Err(bad_fields(format!("fields `{path}` has an empty part")));
            }
            if !RECORD_KEYS.contains(&segments[0]) {
                return Err(bad_fields(format!(
                    "fields `{path}`: a record has no `{}`; paths start with one of {}",
                    segments[0],
                    RECORD_KEYS.join(", ")
                )));
            }
            root.insert(&segments);
        }
        Ok(Some(root))
    }

    fn insert(&mut self, segments: &[&str]) {
        let Some((first, rest)) = segments.split_first() else {
            return;
        };
        let entry = self
            .keep
            .entry((*first).to_owned())
            .or_insert_with(|| Some(Self::default()));
        match (entry, rest.is_empty()) {
            // Keeping a member whole wins over keeping parts of it.
            (entry, true) => *entry = None,
            (None, false) => {}
            (Some(inner), false) => inner.insert(rest),
        }
    }

    /// Trims `value` (a record, or a list of them) in place.
    pub(crate) fn apply(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.retain(|key, _| self.keep.contains_key(key));
                for (key, inner) in &self.keep {
                    if let (Some(inner), Some(member)) = (inner, map.get_mut(key)) {
                        inner.apply(member);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.apply(item)),
            _ => {}
        }
    }

    /// Trims the JSON of one record.
    ///
    /// # Errors
    /// Internal error if `record` is not JSON (it was written by the server).
    pub(crate) fn apply_to_record(&self, record: &[u8]) -> Result<Vec<u8>> {
        let mut record: Value = serde_json::from_slice(record)?;
        self.apply(&mut record);
        Ok(serde_json::to_vec(&record)?)
    }
}

/// The trimmed, non-empty entries of a comma-separated query parameter (`fields`,
/// `expand`); `too_many(count)` is the error when there are more than `max`.
pub(super) fn comma_list(
    text: &str,
    max: usize,
    too_many: impl FnOnce(usize) -> Error,
) -> Result<Vec<&str>> {
    let entries: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if entries.len() > max {
        return Err(too_many(entries.len()));
    }
    Ok(entries)
}

fn bad_fields(message: String) -> Error {
    Error::bad_request(message).with_details(serde_json::json!({ "parameter": "fields" }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn trimmed(fields: &str, mut value: Value) -> Value {
        Projection::parse(fields)
            .unwrap()
            .unwrap()
            .apply(&mut value);
        value
    }

    #[test]
    fn keeps_only_the_named_parts() {
        let record = json!({
            "id": "r1", "collection": "posts", "owner_id": null,
            "data": {"title": "T", "body": "B"},
            "expand": {"author": {"id": "a", "data": {"name": "N", "email": "e"}},
                       "comments_via_post": [{"id": "c1", "data": {"text": "x"}}, {"id": "c2"}]}
        });
        assert_eq!(
            trimmed("id, data.title ,expand.author", record.clone()),
            json!({"id": "r1", "data": {"title": "T"},
                   "expand": {"author": {"id": "a", "data": {"name": "N", "email": "e"}}}})
        );
        assert_eq!(
            trimmed(
                "expand.author.data.name,expand.comments_via_post.id",
                record.clone()
            ),
            json!({"expand": {"author": {"data": {"name": "N"}},
                              "comments_via_post": [{"id": "c1"}, {"id": "c2"}]}})
        );
        // A whole member wins over a part of it, in either order.
        assert_eq!(
            trimmed("data.title,data", record.clone()),
            json!({"data": {"title": "T", "body": "B"}})
        );
        assert_eq!(
            trimmed("data,data.title", record),
            json!({"data": {"title": "T", "body": "B"}})
        );
    }

    #[test]
    fn refuses_paths_outside_a_record() {
        for bad in ["title", "data..title", "id,.x", "items"] {
            let err = Projection::parse(bad).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::BadRequest, "{bad}");
        }
        assert_eq!(Projection::parse(" , ").unwrap(), None);
    }
}
