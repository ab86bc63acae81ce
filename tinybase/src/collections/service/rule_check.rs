//! Checking one access rule without saving it, for editors that report a bad rule while
//! it is typed rather than when the collection is saved.

use super::Service;
use super::access::check_rule;
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
    /// expression, or for a schema that could not be saved; 404 for an unknown collection.
    pub fn check_rule(&self, caller: &Caller, request: RuleCheckRequest) -> Result<RuleCheck> {
        authorize(&Rule::Admin, caller)?;
        let RuleCheckRequest {
            rule,
            kind,
            schema,
            collection,
        } = request;
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
                CompiledSchema::compile(&schema, &|name| self.registry.get(name).is_some())?;
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
        let lookup = |name: &str| self.rule_target(name);
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
