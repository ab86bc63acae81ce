//! Checking one access rule without saving it, for editors that report a bad rule while
//! it is typed rather than when the collection is saved.

use uuid::Uuid;

use super::Service;
use super::access::check_rule;
use super::collections::check_collection_name;
use crate::Error;
use crate::Result;
use crate::auth::Caller;
use crate::collections::model::{RuleCheck, RuleCheckRequest};
use crate::collections::rules::{Rule, authorize};
use crate::collections::schema::CollectionSchema;
use crate::collections::validate::CompiledSchema;

impl Service {
    /// Whether `request.rule` would compile as the collection's `request.kind` rule,
    /// decided by the same check a save runs, so the verdict and its message are the ones
    /// the save's 422 would give. Nothing is stored.
    ///
    /// # Errors
    /// 401/403 for non-admins; 422 for both `schema` and `collection`, for neither with an
    /// expression, for a schema that could not be saved, or for a bad `name` (or one given
    /// with `collection`); 404 for an unknown collection.
    pub fn check_rule(&self, caller: &Caller, request: RuleCheckRequest) -> Result<RuleCheck> {
        authorize(&Rule::Admin, caller)?;
        let RuleCheckRequest {
            rule,
            kind,
            schema,
            collection,
            name,
        } = request;
        if let Some(name) = &name {
            if collection.is_some() {
                return Err(Error::invalid_field(
                    "name",
                    "`name` goes with `schema`; `collection` names the collection by itself",
                ));
            }
            if let Some(problem) = check_collection_name(name) {
                return Err(Error::invalid_field("name", problem));
            }
        }
        // The collection as edited, when it is named: its id (a new one's is made up, as
        // nothing is stored) and its fields.
        let edited = match (&name, &schema) {
            (Some(name), Some(schema)) => {
                let id = self.registry.get(name).map_or_else(
                    || Uuid::now_v7().to_string(),
                    |loaded| loaded.collection.id.clone(),
                );
                Some((name.clone(), id, schema.clone()))
            }
            _ => None,
        };
        let is_edited = |n: &str| edited.as_ref().is_some_and(|(name, ..)| name == n);
        let schema = match (schema, collection) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid_field(
                    "collection",
                    "give either `schema` or `collection`, not both",
                ));
            }
            (Some(schema), None) => {
                // The save compiles the schema before its rules; a rule over fields that
                // could not be saved has no verdict to give.
                CompiledSchema::compile(&schema, &|n| {
                    is_edited(n) || self.registry.get(n).is_some()
                })?;
                Some(schema)
            }
            (None, Some(name)) => Some(self.require(&name)?.compiled.schema().clone()),
            (None, None) => None,
        };
        let schema = match schema {
            Some(schema) => schema,
            // A keyword is decided from the caller alone: it needs no fields.
            None if rule.expression().is_none() => CollectionSchema::default(),
            None => {
                return Err(Error::invalid_field(
                    "schema",
                    "an expression rule needs `schema` or `collection` to check its fields \
                     against",
                ));
            }
        };
        // As the save looks collections up: the one being saved as edited, others as stored.
        let lookup = |target: &str| match &edited {
            Some((name, id, schema)) if name == target => Some((id.clone(), schema.clone())),
            _ => self.rule_target(target),
        };
        Ok(match check_rule(kind.action(), &rule, &schema, &lookup) {
            Ok(()) => RuleCheck {
                ok: true,
                message: None,
                position: None,
            },
            Err(err) => RuleCheck {
                ok: false,
                message: Some(err.message),
                position: Some(err.position),
            },
        })
    }
}
