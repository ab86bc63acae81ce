//! OpenAPI for collections: each collection's data, create and update bodies, record and
//! list wrappers as named component schemas, and its record paths with those types.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::collections::{FieldSpec, FieldType, LoadedCollection};

/// Adds every collection's schemas and paths to an OpenAPI document (as JSON).
pub(super) fn add_collections(doc: &mut Value, collections: &[Arc<LoadedCollection>]) {
    let list = doc["paths"][LIST_TEMPLATE].clone();
    let item = doc["paths"][ITEM_TEMPLATE].clone();
    let record = doc["components"]["schemas"]["Record"].clone();
    let page = doc["components"]["schemas"]["RecordPage"].clone();
    for loaded in collections {
        let collection = &loaded.collection;
        let type_name = pascal_case(&collection.name);
        let fields = &loaded.compiled.schema().fields;
        let components = [
            (
                format!("{type_name}Data"),
                data_schema(&collection.name, fields),
            ),
            (
                format!("{type_name}Create"),
                create_schema(&collection.name, fields),
            ),
            (
                format!("{type_name}Update"),
                update_schema(&collection.name, fields),
            ),
            (
                format!("{type_name}Record"),
                record_schema(
                    &record,
                    &collection.name,
                    &type_name,
                    expand_schema(loaded, collections),
                ),
            ),
            (
                format!("{type_name}RecordList"),
                list_schema(&page, &collection.name, &type_name),
            ),
        ];
        if let Some(schemas) = object_at(doc, &["components", "schemas"]) {
            for (name, schema) in components {
                schemas.insert(name, schema);
            }
        }
        let base = format!("/api/collections/{}/records", collection.name);
        let paths = [
            (
                base.clone(),
                typed_path(&list, &collection.name, &type_name, fields, false),
            ),
            (
                format!("{base}/{{id}}"),
                typed_path(&item, &collection.name, &type_name, fields, true),
            ),
        ];
        if let Some(doc_paths) = object_at(doc, &["paths"]) {
            doc_paths.extend(paths);
        }
    }
}

/// The object at `path`, created (as empty objects) where missing.
fn object_at<'a>(doc: &'a mut Value, path: &[&str]) -> Option<&'a mut Map<String, Value>> {
    let mut node = doc;
    for key in path {
        node = node
            .as_object_mut()?
            .entry((*key).to_owned())
            .or_insert_with(|| json!({}));
    }
    node.as_object_mut()
}

/// A type-name form of a collection name that keeps distinct names distinct:
/// `blog_posts` → `BlogPosts`, `post_2` → `Post_2`, `a__b` → `A_B`. An underscore before a
/// letter becomes the letter's capital; any other underscore stays. Collection names
/// have only lower-case letters, digits and underscores, so this is reversible and two
/// collections never share component names.
fn pascal_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars().peekable();
    let mut capitalize = true;
    while let Some(c) = chars.next() {
        if c == '_' && chars.peek().is_some_and(char::is_ascii_lowercase) {
            capitalize = true;
            continue;
        }
        if capitalize {
            out.push(c.to_ascii_uppercase());
            capitalize = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn component_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// The JSON Schema of one field's value.
fn field_schema(field: &FieldSpec) -> Value {
    let mut schema = match field.field_type {
        FieldType::String | FieldType::Text => json!({"type": "string"}),
        FieldType::Email => json!({"type": "string", "format": "email"}),
        FieldType::Url => json!({"type": "string", "format": "uri"}),
        FieldType::Datetime => json!({"type": "string", "format": "date-time"}),
        FieldType::Date => json!({"type": "string", "format": "date"}),
        FieldType::Relation => json!({"type": "string", "format": "uuid"}),
        FieldType::Int => json!({"type": "integer", "format": "int64"}),
        FieldType::Float => json!({"type": "number", "format": "double"}),
        FieldType::Boolean => json!({"type": "boolean"}),
        FieldType::Select => {
            json!({"type": "string", "enum": field.values.clone().unwrap_or_default()})
        }
        FieldType::Json => json!({}),
        FieldType::ListString => json!({"type": "array", "items": {"type": "string"}}),
        FieldType::ListInt => {
            json!({"type": "array", "items": {"type": "integer", "format": "int64"}})
        }
        FieldType::ListFloat => {
            json!({"type": "array", "items": {"type": "number", "format": "double"}})
        }
        FieldType::File => json!({"type": "string"}),
        FieldType::ListFile => json!({"type": "array", "items": {"type": "string"}}),
        FieldType::ListRelation => json!({
            "type": "array",
            "items": {"type": "string", "format": "uuid"},
            "uniqueItems": true,
        }),
    };
    let Some(object) = schema.as_object_mut() else {
        return schema;
    };
    let is_list = field.field_type.is_list();
    // Numeric and pattern constraints apply to list elements, lengths to the list itself.
    let element = if is_list {
        object.get_mut("items").and_then(Value::as_object_mut)
    } else {
        None
    };
    let mut value_constraints = Map::new();
    if let Some(min) = field.min {
        value_constraints.insert("minimum".into(), json!(min));
    }
    if let Some(max) = field.max {
        value_constraints.insert("maximum".into(), json!(max));
    }
    if let Some(pattern) = &field.pattern {
        value_constraints.insert("pattern".into(), json!(pattern));
    }
    match element {
        Some(element) => element.extend(value_constraints),
        None => object.extend(value_constraints),
    }
    let (min_key, max_key) = if is_list {
        ("minItems", "maxItems")
    } else {
        ("minLength", "maxLength")
    };
    if let Some(min) = field.min_length {
        object.insert(min_key.into(), json!(min));
    }
    if let Some(max) = field.max_length {
        object.insert(max_key.into(), json!(max));
    }
    if let Some(default) = &field.default {
        object.insert("default".into(), default.clone());
    }
    let mut notes = vec![format!("`{}` field", field.field_type.as_str())];
    if field.unique {
        notes.push("unique".to_owned());
    }
    if let Some(target) = &field.collection {
        notes.push(format!("id of a `{target}` record"));
    }
    if field.field_type.is_file() {
        notes.push(
            "stored file name; set by uploading (multipart/form-data), served at \
             /api/files/{collection}/{record_id}/{name}"
                .to_owned(),
        );
    }
    object.insert("description".into(), json!(notes.join("; ")));
    schema
}

fn object_schema(
    description: String,
    fields: &[FieldSpec],
    required: impl Fn(&FieldSpec) -> bool,
    nullable: impl Fn(&FieldSpec) -> bool,
    extras_may_be_null: bool,
) -> Value {
    let properties: Map<String, Value> = fields
        .iter()
        .map(|field| {
            let schema = field_schema(field);
            let schema = if nullable(field) {
                json!({"anyOf": [schema, {"type": "null"}]})
            } else {
                schema
            };
            (field.name.clone(), schema)
        })
        .collect();
    let required: Vec<&str> = fields
        .iter()
        .filter(|f| required(f))
        .map(|f| f.name.as_str())
        .collect();
    // On updates, a key the schema no longer has may be sent as null to drop it from a
    // record written under an older schema; nothing else outside the schema is allowed.
    let additional = if extras_may_be_null {
        json!({"type": "null"})
    } else {
        json!(false)
    };
    json!({
        "type": "object",
        "description": description,
        "properties": properties,
        "required": required,
        "additionalProperties": additional,
    })
}

fn data_schema(name: &str, fields: &[FieldSpec]) -> Value {
    // Stored records may predate a schema change, so `required` is not promised here.
    object_schema(
        format!("The data of a `{name}` record."),
        fields,
        |_| false,
        |_| false,
        false,
    )
}

fn create_schema(name: &str, fields: &[FieldSpec]) -> Value {
    object_schema(
        format!("A new `{name}` record. Omitted (or null) fields take their defaults."),
        fields,
        // A file comes as a multipart part, never in the JSON.
        |f| f.required && f.default.is_none() && !f.field_type.is_file(),
        // null means "no value", like leaving the field out.
        |f| !f.required || f.default.is_some() || f.field_type.is_file(),
        false,
    )
}

fn update_schema(name: &str, fields: &[FieldSpec]) -> Value {
    object_schema(
        format!("Changes to a `{name}` record; null removes an optional field."),
        fields,
        |_| false,
        // A required field cannot be removed: null for it is refused (422).
        |field| !field.required,
        true,
    )
}

/// A collection's record: the generic `Record` component (from the typed struct) with the
/// collection's name, `data` and `expand` put in.
fn record_schema(generic: &Value, name: &str, type_name: &str, expand: Value) -> Value {
    let mut schema = generic.clone();
    if let Some(object) = schema.as_object_mut() {
        object.insert("description".into(), json!(format!("A `{name}` record.")));
    }
    if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        properties.insert(
            "collection".into(),
            json!({"type": "string", "const": name, "description": "The record's collection."}),
        );
        properties.insert("data".into(), component_ref(&format!("{type_name}Data")));
        properties.insert("expand".into(), expand);
    }
    schema
}

/// The `expand` object of `loaded`'s records: a member per relation field (the target's
/// record) and per back-relation `<collection>_via_<field>` (a list of the referring
/// collection's records), typed with the collections' record schemas.
fn expand_schema(loaded: &LoadedCollection, collections: &[Arc<LoadedCollection>]) -> Value {
    let name = &loaded.collection.name;
    let exists = |target: &str| collections.iter().any(|c| c.collection.name == target);
    let mut properties = Map::new();
    for field in &loaded.compiled.schema().fields {
        if let Some(target) = field.collection.as_deref().filter(|t| exists(t)) {
            let record = component_ref(&format!("{}Record", pascal_case(target)));
            let schema = if field.field_type.is_list() {
                json!({"type": "array", "items": record})
            } else {
                record
            };
            properties.insert(field.name.clone(), schema);
        }
    }
    for other in collections {
        for field in &other.compiled.schema().fields {
            if field.collection.as_deref() == Some(name.as_str()) {
                let record =
                    component_ref(&format!("{}Record", pascal_case(&other.collection.name)));
                properties.insert(
                    format!("{}_via_{}", other.collection.name, field.name),
                    json!({"type": "array", "items": record}),
                );
            }
        }
    }
    json!({
        "type": "object",
        "description": "Related records asked for with `expand`: present only then. A \
            relation (or back-relation) whose records are missing or hidden from the caller \
            is left out.",
        "properties": properties,
    })
}

/// A page of a collection's records: the generic `RecordPage` component (from the typed
/// struct) with the collection's record type for the items.
fn list_schema(generic: &Value, name: &str, type_name: &str) -> Value {
    let mut schema = generic.clone();
    if let Some(object) = schema.as_object_mut() {
        object.insert(
            "description".into(),
            json!(format!("One page of `{name}` records.")),
        );
    }
    if let Some(items) = schema
        .get_mut("properties")
        .and_then(|p| p.get_mut("items"))
        .and_then(Value::as_object_mut)
    {
        items.insert("items".into(), component_ref(&format!("{type_name}Record")));
    }
    schema
}

/// The `multipart/form-data` body of a create (`creating`) or update: the JSON `data`
/// part and a part per file field.
fn multipart_body(type_name: &str, fields: &[FieldSpec], creating: bool) -> Value {
    let json_type = if creating { "Create" } else { "Update" };
    let mut properties = Map::new();
    // Described as the JSON body's object, sent as an `application/json` part (the
    // encoding below), so generated clients and fuzzers send data the server accepts.
    properties.insert(
        "data".into(),
        component_ref(&format!("{type_name}{json_type}")),
    );
    let mut required = Vec::new();
    // Without a `data` part the record's fields are all absent: fine for an update, and
    // for a create only when no field outside the file parts is required.
    if creating && fields.iter().any(|f| f.required && !f.field_type.is_file()) {
        required.push("data".to_owned());
    }
    for field in fields.iter().filter(|f| f.field_type.is_file()) {
        let file = json!({"type": "string", "format": "binary"});
        let (schema, note) = if field.field_type == FieldType::ListFile {
            (
                json!({"type": "array", "items": file}),
                "repeat the part for several files; they are added to the list",
            )
        } else {
            (file, "replaces the current file")
        };
        let mut schema = schema;
        if let Some(object) = schema.as_object_mut() {
            let limit = field.max_file_size();
            let types = field
                .mime_types
                .as_ref()
                .map_or_else(|| "any type".to_owned(), |t| t.join(", "));
            object.insert(
                "description".into(),
                json!(format!("At most {limit} bytes per file; {types}; {note}.")),
            );
        }
        properties.insert(field.name.clone(), schema);
        if creating && field.required {
            required.push(field.name.clone());
        }
    }
    json!({
        // Any other part is refused (422), so the schema admits no other.
        "schema": {
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": false,
        },
        "encoding": {"data": {"contentType": "application/json"}},
    })
}

/// The routes' document describes records through the generic `{name}` paths, from the
/// typed query extractors and handlers of `routes/records`. Each collection's paths are
/// copies of these with the collection's own schemas put in, so parameters, their
/// bounds, security and error answers are written once.
const LIST_TEMPLATE: &str = "/api/collections/{name}/records";
/// The generic path of one record; see [`LIST_TEMPLATE`].
const ITEM_TEMPLATE: &str = "/api/collections/{name}/records/{id}";

/// What one operation of a collection's paths is about.
struct Operation {
    /// `list`, `create`, `get`, `update` or `delete`.
    verb: &'static str,
    /// The success status and the component its JSON body is (none for 204).
    answer: Option<(&'static str, String)>,
    /// The request body: `Some(true)` a create, `Some(false)` an update.
    body: Option<bool>,
}

fn operation(item: bool, method: &str, type_name: &str) -> Option<Operation> {
    let (verb, answer, body) = match (item, method) {
        (false, "get") => ("list", Some(("200", "RecordList")), None),
        (false, "post") => ("create", Some(("201", "Record")), Some(true)),
        (true, "get") => ("get", Some(("200", "Record")), None),
        (true, "patch") => ("update", Some(("200", "Record")), Some(false)),
        (true, "delete") => ("delete", None, None),
        _ => return None,
    };
    Some(Operation {
        verb,
        answer: answer.map(|(status, kind)| (status, format!("{type_name}{kind}"))),
        body,
    })
}

/// A collection's copy of the generic path `template` (`item`: the one-record path).
fn typed_path(
    template: &Value,
    name: &str,
    type_name: &str,
    fields: &[FieldSpec],
    item: bool,
) -> Value {
    let mut path = template.clone();
    let Some(methods) = path.as_object_mut() else {
        return path;
    };
    drop_name_parameter(methods.get_mut("parameters"));
    for (method, op) in methods.iter_mut() {
        let Some(about) = operation(item, method, type_name) else {
            continue;
        };
        let Some(op) = op.as_object_mut() else {
            continue;
        };
        drop_name_parameter(op.get_mut("parameters"));
        let plural = if about.verb == "list" { "s" } else { "" };
        let summary = match about.verb {
            "list" => format!("List `{name}` records"),
            "create" => format!("Create a `{name}` record"),
            "get" => format!("Get a `{name}` record"),
            "update" => format!("Change a `{name}` record"),
            _ => format!("Delete a `{name}` record"),
        };
        op.insert("tags".into(), json!([format!("collection: {name}")]));
        op.insert("summary".into(), json!(summary));
        op.insert(
            "operationId".into(),
            json!(format!("{}_{name}_record{plural}", about.verb)),
        );
        if let Some(creating) = about.body {
            let json_type = if creating { "Create" } else { "Update" };
            op.insert(
                "requestBody".into(),
                json!({
                    "required": true,
                    "content": {
                        "application/json": {
                            "schema": component_ref(&format!("{type_name}{json_type}")),
                        },
                        "multipart/form-data": multipart_body(type_name, fields, creating),
                    },
                }),
            );
        }
        if let Some((status, component)) = about.answer
            && let Some(schema) = op
                .get_mut("responses")
                .and_then(|r| r.get_mut(status))
                .and_then(|r| r.get_mut("content"))
                .and_then(|c| c.get_mut("application/json"))
                .and_then(Value::as_object_mut)
        {
            schema.insert("schema".into(), component_ref(&component));
        }
        if about.verb == "list" {
            describe_search(op.get_mut("parameters"), fields);
        }
    }
    path
}

/// Removes the generic paths' `name` parameter: a collection's path names it already.
fn drop_name_parameter(parameters: Option<&mut Value>) {
    if let Some(list) = parameters.and_then(Value::as_array_mut) {
        list.retain(|p| !(p["name"] == "name" && p["in"] == "path"));
    }
}

/// Names the fields `search` looks in, or drops the parameter when there are none (the
/// list answers 400 to a search there).
fn describe_search(parameters: Option<&mut Value>, fields: &[FieldSpec]) {
    let Some(list) = parameters.and_then(Value::as_array_mut) else {
        return;
    };
    let searchable: Vec<&str> = fields
        .iter()
        .filter(|field| field.searchable)
        .map(|field| field.name.as_str())
        .collect();
    if searchable.is_empty() {
        list.retain(|p| p["name"] != "search");
        return;
    }
    for parameter in list.iter_mut().filter(|p| p["name"] == "search") {
        // Only an object has a `name`, so this assignment cannot hit a non-object.
        parameter["description"] = json!(format!(
            "Words to look for in {}: records holding every word (case and accents \
             ignored; `word*` for words starting with `word`). `sort=@rank` puts the best \
             matches first.",
            searchable.join(", ")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pascal_case_names_are_distinct() {
        assert_eq!(pascal_case("posts"), "Posts");
        assert_eq!(pascal_case("blog_posts"), "BlogPosts");
        assert_eq!(pascal_case("blog_posts_2"), "BlogPosts_2");
        let names = [
            "post2", "post_2", "a_b", "a__b", "ab", "a_b_c", "a_bc", "ab_c",
        ];
        let encoded: std::collections::HashSet<String> =
            names.iter().map(|n| pascal_case(n)).collect();
        assert_eq!(encoded.len(), names.len(), "{encoded:?}");
    }
}
