//! Expression rules at work: checked when a collection is saved, compiled for each
//! request with the caller's values, and decided for one record in SQL.

use rusqlite::{Connection, OptionalExtension, params_from_iter};
use serde_json::{Map, Value};

use super::Service;
use crate::auth::Caller;
use crate::collections::filter::{
    CompiledRule, QueryError, RequestValues, RuleEnv, SqlCondition, SqlParam, compile_rule,
};
use crate::collections::model::Record;
use crate::collections::registry::LoadedCollection;
use crate::collections::rules::{Action, CollectionOptions, Rule};
use crate::collections::schema::CollectionSchema;
use crate::db::format_timestamp;
use crate::{Error, FieldErrors, Result};

impl Service {
    /// Another collection's id and schema, as rules look them up.
    pub(crate) fn rule_target(&self, name: &str) -> Option<(String, CollectionSchema)> {
        self.registry.get(name).map(|loaded| {
            (
                loaded.collection.id.clone(),
                loaded.compiled.schema().clone(),
            )
        })
    }

    /// The expression of `loaded`'s rule for `action`, compiled for `caller` (and, for
    /// create and update, the fields the request sends); `None` for a keyword rule or an
    /// admin, whom keyword checks handle.
    ///
    /// # Errors
    /// 403 when the stored rule no longer compiles (a collection it names changed): the
    /// rule fails closed until an admin fixes it.
    pub(crate) fn compiled_rule(
        &self,
        loaded: &LoadedCollection,
        action: Action,
        caller: &Caller,
        body: Option<&Map<String, Value>>,
    ) -> Result<Option<CompiledRule>> {
        let options = &loaded.collection.options;
        let Some(text) = options.rule_for(action).expression() else {
            return Ok(None);
        };
        if caller.is_admin {
            return Ok(None);
        }
        let lookup = |name: &str| self.rule_target(name);
        let env = RuleEnv {
            collections: &lookup,
            request: Some(RequestValues {
                auth_id: caller.user_id.as_deref().unwrap_or_default(),
                auth_email: caller.email.as_deref().unwrap_or_default(),
                auth_email_verified: caller.email_verified,
                is_admin: caller.is_admin,
                body,
            }),
            body_allowed: matches!(action, Action::Create | Action::Update),
        };
        compile_rule(text, loaded.compiled.schema(), &env)
            .map(Some)
            .map_err(|err| {
                let option = option_name(action);
                tracing::warn!(
                    collection = %loaded.collection.name, rule = option, %err,
                    "a stored rule no longer compiles; it refuses everyone until it is fixed"
                );
                Error::forbidden(format!(
                    "the collection's {option} cannot be applied ({err}); an admin must fix it"
                ))
            })
    }
}

/// The option that holds the rule for `action`.
fn option_name(action: Action) -> &'static str {
    match action {
        Action::List => "list_rule",
        Action::View => "view_rule",
        Action::Create => "create_rule",
        Action::Update => "update_rule",
        Action::Delete => "delete_rule",
    }
}

/// Checks every expression rule of `options` against `schema` (the collection being
/// saved) and the other collections `lookup` finds, adding a problem per bad rule as
/// `options.<rule>`.
pub(crate) fn check_rules(
    options: &CollectionOptions,
    schema: &CollectionSchema,
    lookup: &dyn Fn(&str) -> Option<(String, CollectionSchema)>,
    problems: &mut FieldErrors,
) {
    for (action, option, rule) in options.named_rules() {
        if let Err(err) = check_rule(action, rule, schema, lookup) {
            problems.add(format!("options.{option}"), err.message);
        }
    }
}

/// Whether `rule`, as the rule for `action`, compiles against `schema` and the other
/// collections `lookup` finds. Keywords always do. The one check behind both a
/// collection's save and `POST /api/collections/check-rule`, so the two cannot disagree.
///
/// # Errors
/// Why the expression does not compile, with the position it points at.
pub(crate) fn check_rule(
    action: Action,
    rule: &Rule,
    schema: &CollectionSchema,
    lookup: &dyn Fn(&str) -> Option<(String, CollectionSchema)>,
) -> std::result::Result<(), QueryError> {
    let Some(text) = rule.expression() else {
        return Ok(());
    };
    let env = RuleEnv {
        collections: lookup,
        request: None,
        body_allowed: matches!(action, Action::Create | Action::Update),
    };
    compile_rule(text, schema, &env).map(|_| ())
}

/// `<sql>` with every condition ANDed on, and the parameters in placeholder order.
pub(crate) fn and_conditions(
    sql: &str,
    mut params: Vec<SqlParam>,
    rules: &[CompiledRule],
) -> (String, Vec<SqlParam>) {
    let mut sql = sql.to_owned();
    for rule in rules {
        sql.push_str(" AND (");
        sql.push_str(&rule.condition.sql);
        sql.push(')');
        params.extend(rule.condition.params.iter().cloned());
    }
    (sql, params)
}

/// Whether `record` (whether stored or not: a record about to be created, one just
/// deleted) matches `condition`, decided by SQLite over the record's values as a row
/// named `records`. Relation paths and `@collection` read the stored records as usual.
///
/// # Errors
/// Internal errors from SQLite.
pub(crate) fn record_matches(
    conn: &Connection,
    condition: &SqlCondition,
    collection_id: &str,
    record: &Record,
) -> Result<bool> {
    let sql = format!(
        "SELECT 1 FROM (SELECT ? AS id, ? AS collection_id, ? AS owner_id, ? AS data, \
         ? AS created_at, ? AS updated_at) AS records WHERE {}",
        condition.sql
    );
    let row = [
        SqlParam::Text(record.id.clone()),
        SqlParam::Text(collection_id.to_owned()),
        record
            .owner_id
            .clone()
            .map_or(SqlParam::Null, SqlParam::Text),
        SqlParam::Text(serde_json::to_string(&record.data)?),
        SqlParam::Text(format_timestamp(record.created_at)),
        SqlParam::Text(format_timestamp(record.updated_at)),
    ];
    let found = conn
        .prepare_cached(&sql)?
        .query_row(
            params_from_iter(row.iter().chain(&condition.params)),
            |_| Ok(()),
        )
        .optional()?;
    Ok(found.is_some())
}
