//! At start-up: every code-first collection is created or migrated before serving.

use std::collections::HashSet;

use super::CollectionDescriptor;
use crate::collections::{Defined, NewCollection, Service};
use crate::{Error, Result};

/// The collections declared by `#[derive(tinybase::Collection)]` structs linked into the
/// program, sorted by name.
///
/// # Errors
/// Two structs declaring the same collection name: a start-up error naming both.
pub fn registered() -> Result<Vec<NewCollection>> {
    let mut descriptors: Vec<&CollectionDescriptor> = inventory::iter::<CollectionDescriptor>
        .into_iter()
        .collect();
    descriptors.sort_by(|a, b| a.name.cmp(b.name).then(a.file.cmp(b.file)));
    for pair in descriptors.windows(2) {
        if let [a, b] = pair
            && a.name == b.name
        {
            return Err(Error::internal(format!(
                "two structs declare the collection `{}`: {} ({}) and {} ({}); rename one \
                 with #[collection(name = \"…\")]",
                a.name,
                a.type_name,
                a.location(),
                b.type_name,
                b.location()
            )));
        }
    }
    Ok(descriptors.iter().map(|d| (d.definition)()).collect())
}

/// Creates or migrates each declared collection, relation targets before the collections
/// that point at them.
///
/// # Errors
/// The first collection that cannot take its declaration stops start-up with a message
/// naming the collection and the fields at fault (stored records that would become
/// invalid, a bad rule or constraint). Collections handled before it keep their change;
/// the failing one is left exactly as it was.
pub async fn sync(service: &Service, declared: Vec<NewCollection>) -> Result<()> {
    let names: HashSet<String> = declared.iter().map(|c| c.name.clone()).collect();
    let mut pending = declared;
    let mut done: HashSet<String> = HashSet::new();
    while !pending.is_empty() {
        // Declared targets first; a cycle of new collections falls through in name order
        // and the first of them reports its missing target.
        let ready = pending
            .iter()
            .position(|c| targets(c).all(|t| t == c.name || done.contains(t) || !names.contains(t)))
            .unwrap_or(0);
        let collection = pending.remove(ready);
        let name = collection.name.clone();
        let outcome = service
            .define_collection(collection)
            .await
            .map_err(|err| start_up_error(&name, &err))?;
        if outcome != Defined::Unchanged {
            tracing::info!(collection = %name, ?outcome, "code-first collection in place");
        }
        done.insert(name);
    }
    Ok(())
}

fn targets(collection: &NewCollection) -> impl Iterator<Item = &str> {
    collection
        .schema
        .fields
        .iter()
        .filter(|f| f.field_type.is_relation())
        .filter_map(|f| f.collection.as_deref())
}

/// A start-up error naming the collection, with each field's problem spelled out.
fn start_up_error(name: &str, err: &Error) -> Error {
    let mut message = format!(
        "the code-first collection `{name}` cannot be set up: {}",
        err.message()
    );
    if let Some(fields) = err
        .details()
        .and_then(|d| d.get("fields"))
        .and_then(|f| f.as_object())
    {
        for (field, problem) in fields {
            message.push_str(&format!("; {field}: {}", problem.as_str().unwrap_or("")));
        }
    }
    Error::internal(message)
}
