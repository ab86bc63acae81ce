//! Collections declared in code: `#[derive(tinybase::Collection)]` on a serde struct.
//!
//! The derive implements [`Collection`] (the collection's name and the [`NewCollection`]
//! its attributes and field types describe) and registers a [`CollectionDescriptor`]
//! through `inventory`, like functions and hooks. At start-up ([`crate::App::build`]) each
//! registered collection is created, or its stored schema is brought in line with the
//! struct when every stored record stays valid (see [`sync`]). Such a collection is
//! *code-defined*: the admin API refuses to change or delete it.
//!
//! [`Context::collection`](crate::Context::collection) gives typed record operations
//! ([`TypedRecords`]) returning [`Record<T>`](TypedRecord).

mod kinds;
mod relation;
mod sync;
mod typed;

pub use kinds::{FieldKind, field_spec, select_values};
pub use relation::Relation;
pub use sync::{registered, sync};
pub use typed::{TypedRecord, TypedRecords};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::collections::NewCollection;

/// A collection declared by a Rust struct. Derive it: `#[derive(tinybase::Collection)]`.
pub trait Collection: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The collection's name, `#[collection(name = "…")]`.
    const NAME: &'static str;

    /// The collection the struct declares: name, label, schema and rules.
    fn definition() -> NewCollection;
}

/// A registered code-first collection. Built by `#[derive(tinybase::Collection)]`.
#[derive(Debug)]
pub struct CollectionDescriptor {
    /// The collection's name.
    pub name: &'static str,
    /// The Rust struct's name.
    pub type_name: &'static str,
    /// The Rust module that defines it.
    pub module_path: &'static str,
    /// The source file that defines it.
    pub file: &'static str,
    /// The line of the struct's name.
    pub line: u32,
    /// The collection the struct declares.
    pub definition: fn() -> NewCollection,
}

impl CollectionDescriptor {
    /// `file:line`, for messages that send the developer to the struct.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

inventory::collect!(CollectionDescriptor);
