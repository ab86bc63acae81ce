//! OpenAPI for functions: each function's own `POST /api/functions/{name}` path with its
//! input and output types as component schemas.

use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use crate::api::extract::{optional_bearer, required_bearer};
use crate::functions::{AuthLevel, FunctionRegistry};

/// Adds every function's path and schemas to an OpenAPI document (as JSON).
pub(super) fn add_functions(doc: &mut Value, registry: &FunctionRegistry) {
    // One generator for all functions (visited in name order), so shared types appear once
    // and name clashes are resolved the same way on every build.
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    let mut generator = SchemaGenerator::new(settings);
    let mut paths = Map::new();
    for descriptor in registry.all() {
        let input = descriptor
            .input_schema
            .map(|f| f(&mut generator).to_value());
        let output = (descriptor.output_schema)(&mut generator).to_value();
        let security = json!(match descriptor.auth {
            AuthLevel::Public => optional_bearer(),
            AuthLevel::Auth | AuthLevel::Admin => required_bearer(),
        });
        let tags: Vec<String> = if descriptor.tags.is_empty() {
            vec!["functions".to_owned()]
        } else {
            descriptor.tags.iter().map(|t| (*t).to_owned()).collect()
        };
        let mut operation = json!({
            "tags": tags,
            "summary": descriptor.name,
            "description": format!(
                "{}\n\nCallable by: `{}`. Every call is recorded in the call history; the \
                 `x-function-call-id` response header names the record.",
                descriptor.description,
                descriptor.auth.as_str()
            ),
            "operationId": format!("call_{}", descriptor.name),
            "security": security,
            "responses": {
                "200": {
                    "description": "The function's output.",
                    "content": {"application/json": {"schema": output}},
                },
                "default": {
                    "description": "An error, in the standard envelope.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
                },
            },
        });
        if let (Some(input), Some(object)) = (input, operation.as_object_mut()) {
            object.insert(
                "requestBody".to_owned(),
                json!({"required": true, "content": {"application/json": {"schema": input}}}),
            );
        }
        paths.insert(
            format!("/api/functions/{}", descriptor.name),
            json!({ "post": operation }),
        );
    }
    let definitions = generator.take_definitions(true);
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for (name, schema) in definitions {
            if schemas
                .get(&name)
                .is_some_and(|existing| *existing != schema)
            {
                tracing::warn!(
                    schema = %name,
                    "a function's type has the same name as a built-in API type; \
                     rename it so the OpenAPI document stays accurate"
                );
                continue;
            }
            schemas.insert(name, schema);
        }
    }
    if let Some(doc_paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        doc_paths.extend(paths);
    }
}
