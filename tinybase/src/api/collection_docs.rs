//! OpenAPI for collections: each collection's data, create and update bodies, record and
//! list wrappers as named component schemas, and its record paths with those types.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::collections::{FieldSpec, FieldType, LoadedCollection};

/// Adds every collection's schemas and paths to an OpenAPI document (as JSON).
pub(super) fn add_collections(doc: &mut Value, collections: &[Arc<LoadedCollection>]) {
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
                record_schema(&collection.name, &type_name),
            ),
            (
                format!("{type_name}RecordList"),
                list_schema(&collection.name, &type_name),
            ),
        ];
        if let Some(schemas) = object_at(doc, &["components", "schemas"]) {
            for (name, schema) in components {
                schemas.insert(name, schema);
            }
        }
        if let Some(paths) = object_at(doc, &["paths"]) {
            let base = format!("/api/collections/{}/records", collection.name);
            paths.insert(base.clone(), list_path(&collection.name, &type_name));
            paths.insert(
                format!("{base}/{{id}}"),
                item_path(&collection.name, &type_name),
            );
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
        |f| f.required && f.default.is_none(),
        // null means "no value", like leaving the field out.
        |f| !f.required || f.default.is_some(),
        false,
    )
}

fn update_schema(name: &str, fields: &[FieldSpec]) -> Value {
    object_schema(
        format!("Changes to a `{name}` record; null removes a field."),
        fields,
        |_| false,
        |_| true,
        true,
    )
}

fn record_schema(name: &str, type_name: &str) -> Value {
    json!({
        "type": "object",
        "description": format!("A `{name}` record."),
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "collection": {"type": "string", "const": name},
            "owner_id": {"type": ["string", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "data": component_ref(&format!("{type_name}Data")),
        },
        "required": ["id", "collection", "owner_id", "created_at", "updated_at", "data"],
    })
}

fn list_schema(name: &str, type_name: &str) -> Value {
    json!({
        "type": "object",
        "description": format!("One page of `{name}` records."),
        "properties": {
            "items": {"type": "array", "items": component_ref(&format!("{type_name}Record"))},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1},
            "total_items": {"type": "integer", "minimum": 0},
            "total_pages": {"type": "integer", "minimum": 0},
            "truncated": {
                "type": "boolean",
                "description": "Present, and true, when the page stopped early because it \
                    reached the 16 MiB a page may hold: ask again with a smaller per_page.",
            },
        },
        "required": ["items", "page", "per_page", "total_items", "total_pages"],
    })
}

fn json_body(schema: Value) -> Value {
    json!({ "content": { "application/json": { "schema": schema } } })
}

fn error_response() -> Value {
    let mut response = json_body(component_ref("ErrorEnvelope"));
    if let Some(object) = response.as_object_mut() {
        object.insert(
            "description".into(),
            json!("An error, in the standard envelope."),
        );
    }
    response
}

fn ok_response(description: &str, schema: Value) -> Value {
    let mut response = json_body(schema);
    if let Some(object) = response.as_object_mut() {
        object.insert("description".into(), json!(description));
    }
    response
}

/// Anonymous or bearer: the collection's rules decide.
fn optional_bearer() -> Value {
    json!(crate::api::extract::optional_bearer())
}

fn query_parameter(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

fn id_parameter() -> Value {
    json!({"name": "id", "in": "path", "required": true, "description": "The record's id.",
           "schema": {"type": "string"}})
}

fn list_path(name: &str, type_name: &str) -> Value {
    json!({
        "get": {
            "tags": [format!("collection: {name}")],
            "summary": format!("List `{name}` records"),
            "operationId": format!("list_{name}_records"),
            "parameters": [
                query_parameter("page", "Page number, from 1.", json!({"type": "integer", "minimum": 1})),
                query_parameter("per_page", "Items per page (at most 500).", json!({"type": "integer", "minimum": 1})),
                query_parameter("sort", "Sort keys, `-` for descending: `-created_at,title`.", json!({"type": "string"})),
                query_parameter("filter", "Filter: `rating >= 3 && title ~ 'rust'`.", json!({"type": "string"})),
            ],
            "security": optional_bearer(),
            "responses": {
                "200": ok_response("One page of records.", component_ref(&format!("{type_name}RecordList"))),
                "default": error_response(),
            },
        },
        "post": {
            "tags": [format!("collection: {name}")],
            "summary": format!("Create a `{name}` record"),
            "operationId": format!("create_{name}_record"),
            "requestBody": {
                "required": true,
                "content": {"application/json": {"schema": component_ref(&format!("{type_name}Create"))}},
            },
            "security": optional_bearer(),
            "responses": {
                "201": ok_response("The created record.", component_ref(&format!("{type_name}Record"))),
                "default": error_response(),
            },
        },
    })
}

fn item_path(name: &str, type_name: &str) -> Value {
    let record = component_ref(&format!("{type_name}Record"));
    json!({
        "parameters": [id_parameter()],
        "get": {
            "tags": [format!("collection: {name}")],
            "summary": format!("Get a `{name}` record"),
            "operationId": format!("get_{name}_record"),
            "security": optional_bearer(),
            "responses": {"200": ok_response("The record.", record.clone()), "default": error_response()},
        },
        "patch": {
            "tags": [format!("collection: {name}")],
            "summary": format!("Change a `{name}` record"),
            "operationId": format!("update_{name}_record"),
            "requestBody": {
                "required": true,
                "content": {"application/json": {"schema": component_ref(&format!("{type_name}Update"))}},
            },
            "security": optional_bearer(),
            "responses": {"200": ok_response("The changed record.", record), "default": error_response()},
        },
        "delete": {
            "tags": [format!("collection: {name}")],
            "summary": format!("Delete a `{name}` record"),
            "operationId": format!("delete_{name}_record"),
            "security": optional_bearer(),
            "responses": {"204": {"description": "Deleted."}, "default": error_response()},
        },
    })
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
