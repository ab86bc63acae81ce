//! Access rules: who may list, view, create, update and delete a collection's records.
//!
//! A rule is a keyword (`public`, `auth`, `owner`, `admin`) or an expression in the filter
//! language with the names rules may use (`@request.auth.id`, `author.email`,
//! `@collection.<name>.<field>`; see `filter/rule.rs`). Keywords are decided from the
//! caller alone; an expression is compiled into the query, so it decides per record.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Result;
pub use crate::auth::Caller;

/// Who passes a rule. Admins pass every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in user.
    Auth,
    /// The record's owner (on create: any signed-in user, who becomes the owner; on list:
    /// only the caller's own records are listed and counted).
    Owner,
    /// Admins only.
    Admin,
    /// The records matching this expression, e.g.
    /// `published = true || owner_id = @request.auth.id`.
    Expression(String),
}

impl Rule {
    /// The rule as written in `options`.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Public => "public",
            Self::Auth => "auth",
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Expression(text) => text,
        }
    }

    /// The expression, for an expression rule.
    pub fn expression(&self) -> Option<&str> {
        match self {
            Self::Expression(text) => Some(text),
            _ => None,
        }
    }
}

impl From<String> for Rule {
    fn from(text: String) -> Self {
        match text.as_str() {
            "public" => Self::Public,
            "auth" => Self::Auth,
            "owner" => Self::Owner,
            "admin" => Self::Admin,
            _ => Self::Expression(text),
        }
    }
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::from)
    }
}

impl JsonSchema for Rule {
    fn schema_name() -> Cow<'static, str> {
        "Rule".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "minLength": 1,
            "description": "`public` (anyone), `auth` (signed-in users), `owner` (the record's \
                owner), `admin`, or an expression in the filter language that a record must \
                match, which may use `@request.auth.id`, `@request.auth.email`, \
                `@request.auth.is_admin`, `@request.body.<field>` (create and update rules), \
                relation paths such as `author.email` and `@collection.<name>.<field>`. \
                Admins pass every rule.",
            "examples": ["public", "owner", "published = true || owner_id = @request.auth.id"]
        })
    }
}

/// A collection's access rules, one per action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CollectionOptions {
    /// Who may list records (default `public`).
    pub list_rule: Rule,
    /// Who may read one record (default `public`).
    pub view_rule: Rule,
    /// Who may create records (default `auth`).
    pub create_rule: Rule,
    /// Who may change a record (default `owner`).
    pub update_rule: Rule,
    /// Who may delete a record (default `owner`).
    pub delete_rule: Rule,
    /// The largest record this collection stores, in bytes of its data as JSON (default
    /// 1 MiB, at least 1 KiB, at most 64 MiB). A larger create or update is refused with
    /// 413 before its body is parsed, so one client cannot make the server hold a huge
    /// record in memory, nor make every list that includes it huge.
    #[schemars(range(min = 1024, max = 67_108_864))]
    pub max_record_bytes: u64,
}

/// The default of [`CollectionOptions::max_record_bytes`]: 1 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: u64 = 1024 * 1024;
/// The smallest allowed [`CollectionOptions::max_record_bytes`]: 1 KiB.
pub const MIN_MAX_RECORD_BYTES: u64 = 1024;
/// The largest allowed [`CollectionOptions::max_record_bytes`]: 64 MiB.
pub const MAX_MAX_RECORD_BYTES: u64 = 64 * 1024 * 1024;

impl Default for CollectionOptions {
    fn default() -> Self {
        Self {
            list_rule: Rule::Public,
            view_rule: Rule::Public,
            create_rule: Rule::Auth,
            update_rule: Rule::Owner,
            delete_rule: Rule::Owner,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
        }
    }
}

/// Something done to records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// List records.
    List,
    /// Read one record.
    View,
    /// Create a record.
    Create,
    /// Change a record.
    Update,
    /// Delete a record.
    Delete,
}

impl CollectionOptions {
    /// Why these options cannot be saved, if they cannot: a problem per option name.
    pub(crate) fn problems(&self) -> Option<(&'static str, String)> {
        let range = MIN_MAX_RECORD_BYTES..=MAX_MAX_RECORD_BYTES;
        (!range.contains(&self.max_record_bytes)).then(|| {
            (
                "options.max_record_bytes",
                format!("must be between {MIN_MAX_RECORD_BYTES} and {MAX_MAX_RECORD_BYTES} bytes"),
            )
        })
    }

    /// The rule that governs `action`.
    pub fn rule_for(&self, action: Action) -> &Rule {
        match action {
            Action::List => &self.list_rule,
            Action::View => &self.view_rule,
            Action::Create => &self.create_rule,
            Action::Update => &self.update_rule,
            Action::Delete => &self.delete_rule,
        }
    }

    /// Each rule with the name of its option, in the order they are listed.
    pub fn named_rules(&self) -> [(Action, &'static str, &Rule); 5] {
        [
            (Action::List, "list_rule", &self.list_rule),
            (Action::View, "view_rule", &self.view_rule),
            (Action::Create, "create_rule", &self.create_rule),
            (Action::Update, "update_rule", &self.update_rule),
            (Action::Delete, "delete_rule", &self.delete_rule),
        ]
    }
}

/// What a caller may touch once a rule lets them in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every record.
    All,
    /// Only records owned by this user.
    OwnedBy(String),
    /// Only records matching this rule expression, which must be compiled for the caller
    /// and applied in SQL (or in memory by realtime delivery).
    Matching(String),
}

impl Scope {
    /// Whether a record with `owner_id` is within the scope. Never for
    /// [`Scope::Matching`], which only its expression decides: callers check that first.
    pub fn covers(&self, owner_id: Option<&str>) -> bool {
        match self {
            Self::All => true,
            Self::OwnedBy(user) => owner_id == Some(user.as_str()),
            Self::Matching(_) => false,
        }
    }
}

/// Checks `rule` for `caller`.
///
/// # Errors
/// 401 when the rule needs a signed-in caller and there is none; 403 when a signed-in
/// caller is not allowed.
pub fn authorize(rule: &Rule, caller: &Caller) -> Result<Scope> {
    match rule {
        Rule::Expression(_) if caller.is_admin => Ok(Scope::All),
        Rule::Expression(text) => Ok(Scope::Matching(text.clone())),
        Rule::Public => Ok(Scope::All),
        Rule::Auth => caller.require_signed_in().map(|()| Scope::All),
        Rule::Admin => caller.require_admin().map(|()| Scope::All),
        Rule::Owner => {
            caller.require_signed_in()?;
            match (&caller.user_id, caller.is_admin) {
                (Some(user), false) => Ok(Scope::OwnedBy(user.clone())),
                _ => Ok(Scope::All),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn every_rule_for_every_caller() {
        let anon = Caller::anonymous();
        let user = Caller::user("u1", false);
        let admin = Caller::user("a1", true);
        assert_eq!(authorize(&Rule::Public, &anon).unwrap(), Scope::All);
        assert_eq!(
            authorize(&Rule::Auth, &anon).unwrap_err().kind(),
            ErrorKind::Unauthorized
        );
        assert_eq!(
            authorize(&Rule::Owner, &anon).unwrap_err().kind(),
            ErrorKind::Unauthorized
        );
        assert_eq!(
            authorize(&Rule::Admin, &anon).unwrap_err().kind(),
            ErrorKind::Unauthorized
        );
        assert_eq!(authorize(&Rule::Auth, &user).unwrap(), Scope::All);
        assert_eq!(
            authorize(&Rule::Owner, &user).unwrap(),
            Scope::OwnedBy("u1".into())
        );
        assert_eq!(
            authorize(&Rule::Admin, &user).unwrap_err().kind(),
            ErrorKind::Forbidden
        );
        for rule in [Rule::Public, Rule::Auth, Rule::Owner, Rule::Admin] {
            assert_eq!(authorize(&rule, &admin).unwrap(), Scope::All);
            assert_eq!(authorize(&rule, &Caller::system()).unwrap(), Scope::All);
        }
    }

    #[test]
    fn owner_scope_covers_only_own_records() {
        let scope = Scope::OwnedBy("u1".into());
        assert!(scope.covers(Some("u1")));
        assert!(!scope.covers(Some("u2")));
        assert!(!scope.covers(None));
    }

    #[test]
    fn defaults_and_unknown_keys() {
        let options: CollectionOptions = serde_json::from_str(r#"{"list_rule": "auth"}"#).unwrap();
        assert_eq!(options.list_rule, Rule::Auth);
        assert_eq!(options.update_rule, Rule::Owner);
        assert!(serde_json::from_str::<CollectionOptions>(r#"{"lst_rule": "auth"}"#).is_err());
        let options: CollectionOptions =
            serde_json::from_str(r#"{"list_rule": "owner_id = @request.auth.id"}"#).unwrap();
        assert_eq!(
            options.list_rule,
            Rule::Expression("owner_id = @request.auth.id".into())
        );
        assert_eq!(
            serde_json::to_value(&options).unwrap()["list_rule"],
            "owner_id = @request.auth.id"
        );
        assert!(serde_json::from_str::<CollectionOptions>(r#"{"list_rule": 3}"#).is_err());
    }
}
