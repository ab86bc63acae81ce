//! Every hook registered with `#[tinybase::hook]`, collected and checked at start-up, and
//! the lookup the write path does for `before_*` hooks.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use rusqlite::Connection;
use serde_json::{Map, Value};

use super::before::{BeforeWrite, Driver, run_within_budget};
use super::{BeforeHandler, HookDescriptor, HookEvent, HookHandler};
use crate::auth::Caller;
use crate::collections::Record;
use crate::{Error, Result};

/// The registered hooks.
#[derive(Debug, Default)]
pub struct Hooks {
    /// Every hook, by name.
    by_name: BTreeMap<&'static str, &'static HookDescriptor>,
    /// `before_*` hooks by collection and event, in name order.
    before: HashMap<(&'static str, HookEvent), Vec<(&'static str, BeforeHandler)>>,
    /// What drives async before-hooks, and their time budget.
    driver: Option<Driver>,
}

impl Hooks {
    /// Collects every hook linked into the binary. `runtime` drives `async fn` before-hooks
    /// on the writer thread; `budget` bounds each before-hook.
    ///
    /// # Errors
    /// When two hooks share a name, or a hook's handler does not fit its event, naming
    /// their definitions (`file:line`).
    pub fn collect(runtime: Option<tokio::runtime::Handle>, budget: Duration) -> Result<Self> {
        Self::from_descriptors(inventory::iter::<HookDescriptor>, runtime, budget)
    }

    /// Exactly these hooks.
    ///
    /// # Errors
    /// As for [`Hooks::collect`].
    pub fn from_descriptors(
        descriptors: impl IntoIterator<Item = &'static HookDescriptor>,
        runtime: Option<tokio::runtime::Handle>,
        budget: Duration,
    ) -> Result<Self> {
        let mut all: Vec<_> = descriptors.into_iter().collect();
        // Sorted first so a clash is reported the same way on every build, and hooks on
        // one event run in a stable order (by name).
        all.sort_by_key(|d| (d.name, d.file, d.line));
        let mut hooks = Self {
            driver: Some(Driver { runtime, budget }),
            ..Self::default()
        };
        for hook in all {
            check_handler(hook)?;
            if let Some(first) = hooks.by_name.insert(hook.name, hook) {
                return Err(Error::internal(format!(
                    "two hooks are named `{}`: {} ({}) and {} ({}); rename one, e.g. with \
                     #[tinybase::hook(name = \"...\")]",
                    hook.name,
                    first.module_path,
                    first.location(),
                    hook.module_path,
                    hook.location(),
                )));
            }
            if let HookHandler::Before(handler) = hook.handler {
                hooks
                    .before
                    .entry((hook.collection, hook.event))
                    .or_default()
                    .push((hook.name, handler));
            }
        }
        Ok(hooks)
    }

    /// Every hook, sorted by name.
    pub fn all(&self) -> impl Iterator<Item = &'static HookDescriptor> + '_ {
        self.by_name.values().copied()
    }

    /// The hook called `name`.
    pub fn get(&self, name: &str) -> Option<&'static HookDescriptor> {
        self.by_name.get(name).copied()
    }

    /// True when no hook is registered.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// True when `collection` has hooks for `event` that run before the write.
    pub fn has_before(&self, collection: &str, event: HookEvent) -> bool {
        !self.before.is_empty() && self.before_hooks(collection, event).is_some()
    }

    fn before_hooks<'s>(
        &'s self,
        collection: &'s str,
        event: HookEvent,
    ) -> Option<&'s [(&'static str, BeforeHandler)]> {
        // The map is covariant in its keys: seen with shorter-lived keys, it can be asked
        // about a borrowed name without allocating one per write.
        let before: &HashMap<(&str, HookEvent), Vec<(&'static str, BeforeHandler)>> = &self.before;
        before.get(&(collection, event)).map(Vec::as_slice)
    }

    /// Runs the `before_*` hooks of `collection` for `event`, in name order, each within
    /// the budget; the first error stops the write.
    ///
    /// # Errors
    /// The first hook's error, or a timeout.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn run_before(
        &self,
        event: HookEvent,
        collection: &str,
        conn: &Connection,
        caller: &Caller,
        record_id: Option<&str>,
        existing: Option<&Record>,
        data: &mut Map<String, Value>,
    ) -> Result<()> {
        let Some(hooks) = self.before_hooks(collection, event) else {
            return Ok(());
        };
        let driver = self.driver.clone().unwrap_or(Driver {
            runtime: None,
            budget: Duration::from_millis(crate::constants::HOOK_BUDGET_MS),
        });
        for (name, handler) in hooks {
            let mut write = BeforeWrite {
                event,
                collection,
                record_id,
                data,
                existing,
                caller,
                conn,
                driver: driver.clone(),
            };
            run_within_budget(name, *handler, &mut write)?;
        }
        Ok(())
    }
}

/// The macro only pairs events with their handler kind, but a descriptor written by hand
/// could mix them up.
fn check_handler(hook: &HookDescriptor) -> Result<()> {
    let fits = match hook.handler {
        HookHandler::Before(_) => matches!(
            hook.event,
            HookEvent::BeforeCreate | HookEvent::BeforeUpdate | HookEvent::BeforeDelete
        ),
        HookHandler::After(_) => matches!(
            hook.event,
            HookEvent::AfterCreate | HookEvent::AfterUpdate | HookEvent::AfterDelete
        ),
        HookHandler::Auth(_) => hook.event.is_auth(),
    };
    let collection_ok = hook.event.is_auth() == hook.collection.is_empty();
    if fits && collection_ok {
        Ok(())
    } else {
        Err(Error::internal(format!(
            "the hook `{}` ({}) does not fit its event `{}`",
            hook.name,
            hook.location(),
            hook.event
        )))
    }
}
