//! Access rules: who may list, view, create, update and delete a collection's records.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Result;
pub use crate::auth::Caller;

/// Who passes a rule. Admins pass every rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
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
}

/// A collection's access rules, one per action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    pub fn rule_for(&self, action: Action) -> Rule {
        match action {
            Action::List => self.list_rule,
            Action::View => self.view_rule,
            Action::Create => self.create_rule,
            Action::Update => self.update_rule,
            Action::Delete => self.delete_rule,
        }
    }
}

/// What a caller may touch once a rule lets them in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every record.
    All,
    /// Only records owned by this user.
    OwnedBy(String),
}

impl Scope {
    /// Whether a record with `owner_id` is within the scope.
    pub fn covers(&self, owner_id: Option<&str>) -> bool {
        match self {
            Self::All => true,
            Self::OwnedBy(user) => owner_id == Some(user.as_str()),
        }
    }
}

/// Checks `rule` for `caller`.
///
/// # Errors
/// 401 when the rule needs a signed-in caller and there is none; 403 when a signed-in
/// caller is not allowed.
pub fn authorize(rule: Rule, caller: &Caller) -> Result<Scope> {
    match rule {
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
        assert_eq!(authorize(Rule::Public, &anon).unwrap(), Scope::All);
        assert_eq!(
            authorize(Rule::Auth, &anon).unwrap_err().kind(),
            ErrorKind::Unauthorized
        );
        assert_eq!(
            authorize(Rule::Owner, &anon).unwrap_err().kind(),
            ErrorKind::Unauthorized
        );
        assert_eq!(
            authorize(Rule::Admin, &anon).unwrap_err().kind(),
            ErrorKind::Unauthorized
        );
        assert_eq!(authorize(Rule::Auth, &user).unwrap(), Scope::All);
        assert_eq!(
            authorize(Rule::Owner, &user).unwrap(),
            Scope::OwnedBy("u1".into())
        );
        assert_eq!(
            authorize(Rule::Admin, &user).unwrap_err().kind(),
            ErrorKind::Forbidden
        );
        for rule in [Rule::Public, Rule::Auth, Rule::Owner, Rule::Admin] {
            assert_eq!(authorize(rule, &admin).unwrap(), Scope::All);
            assert_eq!(authorize(rule, &Caller::system()).unwrap(), Scope::All);
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
        assert!(serde_json::from_str::<CollectionOptions>(r#"{"list_rule": "everyone"}"#).is_err());
    }
}
