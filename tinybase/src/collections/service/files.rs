//! What a record write does to its files: which uploaded names the data takes in, which
//! stored names it drops, and the checks on file fields set in the JSON data.
//!
//! Rules users rely on:
//! - A file field's value is set by uploading; in the JSON data a file field can only be
//!   `null` (remove the file or every file) or, for `list[file]`, a subset of its current
//!   names (remove the others). Its current value, sent back unchanged, is accepted too.
//! - An upload replaces a `file` field's file and is appended to a `list[file]` field's
//!   files (after the subset the data kept, if it named one).

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use crate::collections::schema::{CollectionSchema, FieldSpec, FieldType};
use crate::storage::sniff;
use crate::{Error, ErrorKind, FieldErrors, Result};

/// 422 unless `spec` takes files of the type the content (`head`, its first bytes) of a
/// file called `original` shows.
///
/// # Errors
/// 422 naming the field and the type found.
pub fn check_file_type(spec: &FieldSpec, head: &[u8], original: &str) -> Result<()> {
    let mime = sniff::file_type(head, original);
    if spec.accepts_mime(&mime) {
        return Ok(());
    }
    let allowed = spec.mime_types.as_deref().unwrap_or_default().join(", ");
    Err(Error::invalid_field(
        &spec.name,
        format!("must be a file of type {allowed}; this file's content is {mime}"),
    ))
}

/// The 413 for a file over `spec`'s `max_size`, naming the field.
pub fn file_too_large(spec: &FieldSpec) -> Error {
    let max = spec.max_file_size();
    Error::new(
        ErrorKind::PayloadTooLarge,
        format!("a file for `{}` is larger than its max_size", spec.name),
    )
    .with_details(
        json!({"fields": {&spec.name: format!("must be at most {max} bytes")}, "max_size": max}),
    )
}

/// The 422 for an empty file.
pub fn empty_file(spec: &FieldSpec) -> Error {
    Error::invalid_field(&spec.name, "the uploaded file is empty")
}

/// A file already in the store, uploaded for one field of the record being written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedFile {
    /// The file field it was uploaded to.
    pub field: String,
    /// Its stored name (see `storage::names`).
    pub name: String,
}

/// Puts `uploads` into `data` (the create body or the patch) and checks the file fields
/// it sets against `existing` (the stored data; `None` on create). Returns the stored
/// names the write drops.
///
/// # Errors
/// 422 naming each file field set to something other than null or (a subset of) its
/// current files, each single-file field given several uploads, and each upload to a field
/// that is not a file field.
pub(super) fn apply(
    schema: &CollectionSchema,
    existing: Option<&Map<String, Value>>,
    data: &mut Map<String, Value>,
    uploads: &[UploadedFile],
) -> Result<Vec<String>> {
    let mut problems = FieldErrors::default();
    for upload in uploads {
        if !schema
            .field(&upload.field)
            .is_some_and(|f| f.field_type.is_file())
        {
            problems.add(
                upload.field.as_str(),
                "is not a file field of this collection",
            );
        }
    }
    let mut dropped = Vec::new();
    for spec in schema.fields.iter().filter(|f| f.field_type.is_file()) {
        let field = spec.name.as_str();
        let current = names_in(existing.and_then(|e| e.get(field)));
        let given = data.get(field);
        let uploaded: Vec<&str> = uploads
            .iter()
            .filter(|u| u.field == field)
            .map(|u| u.name.as_str())
            .collect();
        if given.is_none() && uploaded.is_empty() {
            continue;
        }
        // What the data keeps of the current files.
        let kept: Vec<String> = match given {
            None => current.clone(),
            Some(Value::Null) => Vec::new(),
            Some(value) => match kept_names(spec.field_type, value, &current) {
                Ok(kept) => kept,
                Err(message) => {
                    problems.add(field, message);
                    continue;
                }
            },
        };
        let new_names: Vec<String> = match spec.field_type {
            FieldType::File => match uploaded.as_slice() {
                [] => kept,
                [one] => vec![(*one).to_owned()],
                many => {
                    problems.add(
                        field,
                        format!("takes one file; {} were uploaded", many.len()),
                    );
                    continue;
                }
            },
            _ => kept
                .into_iter()
                .chain(uploaded.iter().map(|name| (*name).to_owned()))
                .collect(),
        };
        let keeping: HashSet<&str> = new_names.iter().map(String::as_str).collect();
        dropped.extend(
            current
                .iter()
                .filter(|name| !keeping.contains(name.as_str()))
                .cloned(),
        );
        let value = match (spec.field_type, new_names.as_slice()) {
            (FieldType::File, []) => Value::Null,
            (FieldType::File, [name, ..]) => Value::String(name.clone()),
            // An emptied list is removed like a null: stored data holds no empty file list.
            (_, []) => Value::Null,
            (_, names) => Value::Array(names.iter().cloned().map(Value::String).collect()),
        };
        data.insert(field.to_owned(), value);
    }
    problems.into_result("the record's files are not valid")?;
    Ok(dropped)
}

/// Every stored file name a record's `data` holds in the file fields of `schema`.
pub(super) fn all_names(schema: &CollectionSchema, data: &Map<String, Value>) -> Vec<String> {
    schema
        .fields
        .iter()
        .filter(|f| f.field_type.is_file())
        .flat_map(|f| names_in(data.get(&f.name)))
        .collect()
}

/// Whether `name` is one of the record's files (in any file field).
pub fn holds_file(schema: &CollectionSchema, data: &Map<String, Value>, name: &str) -> bool {
    all_names(schema, data).iter().any(|n| n == name)
}

/// The names in a stored file value: a string or a list of strings.
fn names_in(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(name)) => vec![name.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// The current names a non-null JSON value keeps: the current name itself for a single
/// file; a subset of the current names (in the order given, repeats dropped) for a list.
fn kept_names(
    field_type: FieldType,
    value: &Value,
    current: &[String],
) -> Result<Vec<String>, String> {
    const UPLOAD: &str = "upload a file to set it (multipart/form-data); null removes it";
    match (field_type, value) {
        (FieldType::File, Value::String(name)) if current.contains(name) => Ok(vec![name.clone()]),
        (FieldType::File, _) => Err(UPLOAD.to_owned()),
        (_, Value::Array(items)) => {
            let mut kept: Vec<String> = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                match item.as_str() {
                    Some(name) if current.iter().any(|c| c == name) => {
                        if !kept.iter().any(|k| k == name) {
                            kept.push(name.to_owned());
                        }
                    }
                    _ => {
                        return Err(format!(
                            "element {index} is not one of the record's files; upload files \
                             to add them (multipart/form-data)"
                        ));
                    }
                }
            }
            Ok(kept)
        }
        _ => Err("must be a list of the record's file names, or null".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> CollectionSchema {
        serde_json::from_value(json!({"fields": [
            {"name": "title", "type": "string"},
            {"name": "avatar", "type": "file"},
            {"name": "docs", "type": "list[file]"},
        ]}))
        .unwrap()
    }

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn upload(field: &str, name: &str) -> UploadedFile {
        UploadedFile {
            field: field.to_owned(),
            name: name.to_owned(),
        }
    }

    #[test]
    fn create_takes_uploads_into_the_data() {
        let mut data = object(json!({"title": "x"}));
        let dropped = apply(
            &schema(),
            None,
            &mut data,
            &[
                upload("avatar", "a_1.png"),
                upload("docs", "d_1.pdf"),
                upload("docs", "d_2.pdf"),
            ],
        )
        .unwrap();
        assert!(dropped.is_empty());
        assert_eq!(
            Value::Object(data),
            json!({"title": "x", "avatar": "a_1.png", "docs": ["d_1.pdf", "d_2.pdf"]})
        );
    }

    #[test]
    fn update_replaces_a_single_file_and_appends_to_a_list() {
        let existing = object(json!({"avatar": "old.png", "docs": ["d_1.pdf"]}));
        let mut patch = Map::new();
        let dropped = apply(
            &schema(),
            Some(&existing),
            &mut patch,
            &[upload("avatar", "new.png"), upload("docs", "d_2.pdf")],
        )
        .unwrap();
        assert_eq!(dropped, ["old.png"]);
        assert_eq!(
            Value::Object(patch),
            json!({"avatar": "new.png", "docs": ["d_1.pdf", "d_2.pdf"]})
        );
    }

    #[test]
    fn null_or_a_subset_removes_files() {
        let existing = object(json!({"avatar": "a.png", "docs": ["1.pdf", "2.pdf", "3.pdf"]}));
        let mut patch = object(json!({"avatar": null, "docs": ["3.pdf", "1.pdf", "3.pdf"]}));
        let mut dropped = apply(&schema(), Some(&existing), &mut patch, &[]).unwrap();
        dropped.sort();
        assert_eq!(dropped, ["2.pdf", "a.png"]);
        assert_eq!(
            Value::Object(patch),
            json!({"avatar": null, "docs": ["3.pdf", "1.pdf"]})
        );

        let mut patch = object(json!({"docs": []}));
        let dropped = apply(&schema(), Some(&existing), &mut patch, &[]).unwrap();
        assert_eq!(dropped.len(), 3);
        assert_eq!(Value::Object(patch), json!({"docs": null}));
    }

    #[test]
    fn names_cannot_be_made_up_or_taken_from_elsewhere() {
        let existing = object(json!({"avatar": "a.png", "docs": ["1.pdf"]}));
        let mut patch = object(json!({"avatar": "other.png", "docs": ["1.pdf", "2.pdf"]}));
        let err = apply(&schema(), Some(&existing), &mut patch, &[]).unwrap_err();
        let fields = &err.details().unwrap()["fields"];
        assert!(fields["avatar"].as_str().unwrap().contains("upload a file"));
        assert!(
            fields["docs"]
                .as_str()
                .unwrap()
                .starts_with("element 1 is not")
        );

        let mut data = object(json!({"avatar": "a.png"}));
        assert!(apply(&schema(), None, &mut data, &[]).is_err());
        // The current value sent back unchanged is fine.
        let mut patch = object(json!({"avatar": "a.png"}));
        assert_eq!(
            apply(&schema(), Some(&existing), &mut patch, &[]).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn one_file_per_single_field_and_uploads_only_to_file_fields() {
        let mut data = Map::new();
        let err = apply(
            &schema(),
            None,
            &mut data,
            &[
                upload("avatar", "1.png"),
                upload("avatar", "2.png"),
                upload("title", "t.txt"),
            ],
        )
        .unwrap_err();
        assert_eq!(
            err.details(),
            Some(&json!({"fields": {
                "avatar": "takes one file; 2 were uploaded",
                "title": "is not a file field of this collection",
            }}))
        );
    }
}
