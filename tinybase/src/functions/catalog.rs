//! Descriptions of the registered functions for clients: metadata plus standalone JSON
//! Schemas of input and output, computed once at start-up.

use chrono::{DateTime, Utc};
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde::Serialize;
use serde_json::Value;

use super::{AuthLevel, FunctionDescriptor, FunctionRegistry, SchemaFn};

/// A function as clients see it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct FunctionInfo {
    /// The name to call: `POST /api/functions/{name}`.
    pub name: String,
    /// What it does.
    pub description: String,
    /// Who may call it: `public`, `auth` or `admin`.
    pub auth: AuthLevel,
    /// Groups.
    pub tags: Vec<String>,
    /// JSON Schema of the input; `null` when it takes none.
    pub input_schema: Option<Value>,
    /// JSON Schema of the output.
    pub output_schema: Value,
}

/// A function as admins see it: where it is defined and how long it may run.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct AdminFunctionInfo {
    /// What every client sees.
    #[serde(flatten)]
    pub info: FunctionInfo,
    /// The Rust module that defines it.
    pub module_path: String,
    /// The Rust module that defines it (the same as `module_path`).
    pub module: String,
    /// The source file that defines it, relative to its crate's root.
    pub file_path: String,
    /// The source file and line that define it.
    pub source: String,
    /// When this server loaded it: functions are compiled into the binary, so this is
    /// when the running binary started serving.
    pub last_loaded_at: DateTime<Utc>,
    /// Its own timeout in seconds, overriding the server default; `None` when it has none.
    pub timeout_seconds: Option<u64>,
}

/// Every function's description, sorted by name.
#[derive(Debug, Clone, Default)]
pub struct FunctionCatalog {
    entries: Vec<AdminFunctionInfo>,
}

impl FunctionCatalog {
    /// Describes every function in `registry`.
    pub fn new(registry: &FunctionRegistry) -> Self {
        let loaded_at = crate::db::now();
        Self {
            entries: registry
                .all()
                .map(|descriptor| describe(descriptor, loaded_at))
                .collect(),
        }
    }

    /// Every function with admin details.
    pub fn admin_entries(&self) -> &[AdminFunctionInfo] {
        &self.entries
    }

    /// The functions for which `visible(auth)` holds, without admin details.
    pub fn entries(&self, visible: impl Fn(AuthLevel) -> bool) -> Vec<FunctionInfo> {
        self.entries
            .iter()
            .filter(|e| visible(e.info.auth))
            .map(|e| e.info.clone())
            .collect()
    }
}

fn describe(descriptor: &FunctionDescriptor, loaded_at: DateTime<Utc>) -> AdminFunctionInfo {
    AdminFunctionInfo {
        info: FunctionInfo {
            name: descriptor.name.to_owned(),
            description: descriptor.description.to_owned(),
            auth: descriptor.auth,
            tags: descriptor.tags.iter().map(|t| (*t).to_owned()).collect(),
            input_schema: descriptor.input_schema.map(standalone),
            output_schema: standalone(descriptor.output_schema),
        },
        module_path: descriptor.module_path.to_owned(),
        module: descriptor.module_path.to_owned(),
        file_path: descriptor.file.to_owned(),
        source: format!("{}:{}", descriptor.file, descriptor.line),
        last_loaded_at: loaded_at,
        timeout_seconds: descriptor.timeout_seconds,
    }
}

/// A self-contained schema: the type's schema with the definitions it refers to in `$defs`.
pub(super) fn standalone(schema_fn: SchemaFn) -> Value {
    let mut generator = SchemaGenerator::new(SchemaSettings::draft2020_12());
    let schema = schema_fn(&mut generator);
    let definitions = generator.take_definitions(true);
    let mut value = schema.to_value();
    if !definitions.is_empty() {
        if let Some(object) = value.as_object_mut() {
            object.insert("$defs".to_owned(), Value::Object(definitions));
        } else {
            // A bare `true`/`false` schema cannot hold definitions; wrap it.
            value = serde_json::json!({ "allOf": [value], "$defs": definitions });
        }
    }
    value
}
