//! What a client listens to: a collection (optionally one record, optionally filtered) or
//! a custom channel.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::collections::filter::{RecordFilter, RecordView};
use crate::collections::{LoadedCollection, Service};
use crate::{Error, Result};

/// One subscription as clients send and see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionSpec {
    /// A collection's name: its record changes (with `channel` absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection: Option<String>,
    /// Only this record of the collection; `null` for every record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_id: Option<String>,
    /// Only records matching this filter (the list filter language).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// A custom channel that functions publish on (with `collection` absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}

/// A checked subscription, its filter parsed once.
#[derive(Debug, Clone)]
pub(crate) enum Subscription {
    /// Changes of a collection's records.
    Collection {
        /// The collection's id: a renamed collection keeps its subscribers.
        collection_id: String,
        /// Only this record.
        record_id: Option<String>,
        /// Only records matching this; shared by every subscription with the same filter
        /// on the same version of the collection (see [`Filters`]).
        filter: Option<Arc<RecordFilter>>,
    },
    /// Messages on a channel.
    Channel(String),
}

/// The longest channel name accepted.
const MAX_CHANNEL_CHARS: usize = 200;

impl Subscription {
    /// Checks `spec` against the current collections.
    ///
    /// # Errors
    /// 404 for an unknown collection, 400 for a bad filter (with the parser's message),
    /// 422 for a subscription that names both or neither of collection and channel.
    pub(crate) fn check(
        spec: &SubscriptionSpec,
        collections: &Service,
        filters: &Filters,
        index: usize,
    ) -> Result<Self> {
        let field = |name: &str| format!("subscriptions.{index}.{name}");
        match (&spec.collection, &spec.channel) {
            (Some(name), None) => {
                let loaded = collections
                    .loaded(name)
                    .ok_or_else(|| Error::not_found(format!("no collection named `{name}`")))?;
                let filter = match spec.filter.as_deref().map(str::trim) {
                    Some(text) if !text.is_empty() => Some(
                        filters.shared(
                            &loaded,
                            text,
                            RecordFilter::parse(text, loaded.compiled.schema())
                                .map_err(|err| Error::bad_request(format!("bad filter: {err}")))?,
                        ),
                    ),
                    _ => None,
                };
                Ok(Self::Collection {
                    collection_id: loaded.collection.id.clone(),
                    record_id: spec.record_id.clone(),
                    filter,
                })
            }
            (None, Some(channel)) => {
                if channel.is_empty()
                    || channel.chars().count() > MAX_CHANNEL_CHARS
                    || spec.record_id.is_some()
                    || spec.filter.is_some()
                {
                    return Err(Error::invalid_field(
                        field("channel"),
                        format!(
                            "must be 1 to {MAX_CHANNEL_CHARS} characters, without record_id or filter"
                        ),
                    ));
                }
                Ok(Self::Channel(channel.clone()))
            }
            _ => Err(Error::invalid_field(
                field("collection"),
                "give either `collection` or `channel`",
            )),
        }
    }

    /// The collection whose record changes this subscription wants, if it is one.
    pub(crate) fn collection_id(&self) -> Option<&str> {
        match self {
            Self::Collection { collection_id, .. } => Some(collection_id),
            Self::Channel(_) => None,
        }
    }

    /// Whether a change to `record` (of the subscription's collection, see
    /// [`Self::collection_id`]) is one this subscription wants, leaving access rules
    /// aside. `whole_collection` is set for subscriptions without a record id, which also
    /// need the list rule.
    pub(crate) fn wants(&self, record: &RecordView<'_>, verdicts: &FilterVerdicts) -> Option<bool> {
        match self {
            Self::Collection {
                record_id, filter, ..
            } => {
                if record_id.as_deref().is_some_and(|id| id != record.id) {
                    return None;
                }
                if filter
                    .as_ref()
                    .is_some_and(|f| !verdicts.matches(f, record))
                {
                    return None;
                }
                Some(record_id.is_none())
            }
            Self::Channel(_) => None,
        }
    }
}

/// The filters of live subscriptions, one shared copy per collection version and filter
/// text. Many clients of one app subscribe with the same filter; sharing it lets delivery
/// evaluate it once per change for all of them ([`FilterVerdicts`]).
#[derive(Default)]
pub(crate) struct Filters {
    /// By collection id and filter text: the collection version it was parsed against
    /// (a schema change loads a new one) and the shared filter, while anyone holds it.
    shared: Mutex<HashMap<(String, String), SharedFilter>>,
}

/// A shared filter and the collection version it was parsed against, held weakly: the
/// subscriptions keep it alive.
type SharedFilter = (Weak<LoadedCollection>, Weak<RecordFilter>);

impl Filters {
    /// The shared copy of `parsed` (the filter `text` parsed against `loaded`).
    fn shared(
        &self,
        loaded: &Arc<LoadedCollection>,
        text: &str,
        parsed: RecordFilter,
    ) -> Arc<RecordFilter> {
        // A panic while holding this lock leaves the map itself intact.
        let mut shared = self
            .shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = (loaded.collection.id.clone(), text.to_owned());
        if let Some((version, filter)) = shared.get(&key)
            && version.ptr_eq(&Arc::downgrade(loaded))
            && let Some(filter) = filter.upgrade()
        {
            return filter;
        }
        // Forget the filters no subscription holds any more before adding one.
        shared.retain(|_, (_, filter)| filter.strong_count() > 0);
        let filter = Arc::new(parsed);
        shared.insert(key, (Arc::downgrade(loaded), Arc::downgrade(&filter)));
        filter
    }
}

/// What each shared filter said about one change, so that a filter many subscriptions
/// share is evaluated once per change however often delivery asks.
#[derive(Default)]
pub(crate) struct FilterVerdicts {
    /// Each filter asked about, held so that its address (the key) cannot be reused by
    /// another filter while these verdicts live.
    known: RefCell<Vec<(Arc<RecordFilter>, bool)>>,
}

impl FilterVerdicts {
    /// Whether `filter` takes `record` (the change these verdicts are about).
    pub(crate) fn matches(&self, filter: &Arc<RecordFilter>, record: &RecordView<'_>) -> bool {
        if let Some((_, verdict)) = self
            .known
            .borrow()
            .iter()
            .find(|(known, _)| Arc::ptr_eq(known, filter))
        {
            return *verdict;
        }
        let verdict = filter.matches(record);
        self.known.borrow_mut().push((Arc::clone(filter), verdict));
        verdict
    }
}
