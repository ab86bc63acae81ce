//! Which clients a record change may be for: the collection subscriptions of every
//! known client, grouped by collection, record id and shared filter, so that delivery
//! evaluates each filter once per change and then visits only the clients it picked,
//! however many others are connected.
//!
//! Clients are named by their slot in the hub (see `clients.rs`), which keeps this
//! index in step with every change to a client's subscriptions. The index knows nothing
//! of connection state or access rules: delivery checks those for the clients reached.

use std::collections::HashMap;
use std::sync::Arc;

use super::subscription::{FilterVerdicts, Subscription};
use crate::collections::filter::{RecordFilter, RecordView};

/// The collection subscriptions of all clients, by collection id.
#[derive(Default)]
pub(super) struct Index {
    collections: HashMap<String, Watchers>,
}

/// The subscriptions to one collection.
#[derive(Default)]
struct Watchers {
    /// Those without a record id (they also need the list rule).
    every: Groups,
    /// Those naming one record, by its id.
    records: HashMap<String, Groups>,
}

/// Subscriptions grouped by their shared filter.
#[derive(Default)]
struct Groups(Vec<Group>);

/// The clients holding subscriptions with one filter (or none).
struct Group {
    /// Shared by the group's subscriptions (see `Filters`): one evaluation per change
    /// serves them all.
    filter: Option<Arc<RecordFilter>>,
    /// Client slot -> how many of its subscriptions are in the group (a client may send
    /// the same subscription twice; the group keeps it until the last one goes).
    clients: HashMap<usize, u32>,
}

/// The collection subscriptions among `subscriptions` (channels are not indexed), as
/// collection id, record id and shared filter.
fn collection_subscriptions(
    subscriptions: &[Subscription],
) -> impl Iterator<Item = (&String, &Option<String>, &Option<Arc<RecordFilter>>)> {
    subscriptions
        .iter()
        .filter_map(|subscription| match subscription {
            Subscription::Collection {
                collection_id,
                record_id,
                filter,
            } => Some((collection_id, record_id, filter)),
            Subscription::Channel(_) => None,
        })
}

/// One client a change reached: its slot, and whether only collection-wide
/// subscriptions took the change (the list rule then applies on top of the view rule).
pub(super) type Reached = (usize, bool);

impl Index {
    /// Adds the collection subscriptions of the client in `slot`.
    pub(super) fn add(&mut self, slot: usize, subscriptions: &[Subscription]) {
        for (collection_id, record_id, filter) in collection_subscriptions(subscriptions) {
            let watchers = self.collections.entry(collection_id.clone()).or_default();
            let groups = match record_id {
                Some(id) => watchers.records.entry(id.clone()).or_default(),
                None => &mut watchers.every,
            };
            groups.add(slot, filter);
        }
    }

    /// Removes what [`Index::add`] added for the same `slot` and `subscriptions`.
    pub(super) fn remove(&mut self, slot: usize, subscriptions: &[Subscription]) {
        for (collection_id, record_id, filter) in collection_subscriptions(subscriptions) {
            let Some(watchers) = self.collections.get_mut(collection_id) else {
                continue;
            };
            match record_id {
                Some(id) => {
                    if let Some(groups) = watchers.records.get_mut(id) {
                        groups.remove(slot, filter);
                        if groups.0.is_empty() {
                            watchers.records.remove(id);
                        }
                    }
                }
                None => watchers.every.remove(slot, filter),
            }
            if watchers.every.0.is_empty() && watchers.records.is_empty() {
                self.collections.remove(collection_id);
            }
        }
    }

    /// Forgets every subscription.
    pub(super) fn clear(&mut self) {
        self.collections.clear();
    }

    /// Whether any client subscribed to the collection with this id.
    pub(super) fn watches(&self, collection_id: &str) -> bool {
        self.collections.contains_key(collection_id)
    }

    /// Puts into `out` (emptied first) each client whose subscriptions want a change to
    /// `record` of the collection `collection_id`, once, leaving access rules aside.
    /// `verdicts` holds what the shared filters said about this change so far.
    pub(super) fn reach(
        &self,
        collection_id: &str,
        record: &RecordView<'_>,
        verdicts: &FilterVerdicts,
        out: &mut Vec<Reached>,
    ) {
        out.clear();
        let Some(watchers) = self.collections.get(collection_id) else {
            return;
        };
        let mut groups_taken = 0;
        // Record-specific first: a client they take needs only the view rule, and the
        // dedup below keeps a client's first entry.
        if let Some(groups) = watchers.records.get(record.id) {
            groups_taken += groups.reach(record, verdicts, false, out);
        }
        groups_taken += watchers.every.reach(record, verdicts, true, out);
        if groups_taken > 1 {
            // A client in several groups that took the change gets it once. The sort is
            // stable, so each client's record-specific entry stays ahead of the others.
            out.sort_by_key(|(slot, _)| *slot);
            out.dedup_by_key(|(slot, _)| *slot);
        }
    }
}

impl Groups {
    fn add(&mut self, slot: usize, filter: &Option<Arc<RecordFilter>>) {
        let group = match self.0.iter_mut().position(|g| same(&g.filter, filter)) {
            Some(i) => &mut self.0[i],
            None => {
                self.0.push(Group {
                    filter: filter.clone(),
                    clients: HashMap::new(),
                });
                let last = self.0.len() - 1;
                &mut self.0[last]
            }
        };
        *group.clients.entry(slot).or_insert(0) += 1;
    }

    fn remove(&mut self, slot: usize, filter: &Option<Arc<RecordFilter>>) {
        let Some(i) = self.0.iter().position(|g| same(&g.filter, filter)) else {
            return;
        };
        let clients = &mut self.0[i].clients;
        if let Some(count) = clients.get_mut(&slot) {
            *count -= 1;
            if *count == 0 {
                clients.remove(&slot);
            }
        }
        if clients.is_empty() {
            // Dropping the group also lets go of its filter.
            self.0.swap_remove(i);
        }
    }

    /// Adds to `out` the clients of the groups whose filter takes `record`; returns how
    /// many groups did.
    fn reach(
        &self,
        record: &RecordView<'_>,
        verdicts: &FilterVerdicts,
        whole_collection: bool,
        out: &mut Vec<Reached>,
    ) -> usize {
        let mut taken = 0;
        for group in &self.0 {
            if group
                .filter
                .as_ref()
                .is_some_and(|f| !verdicts.matches(f, record))
            {
                continue;
            }
            taken += 1;
            out.extend(group.clients.keys().map(|slot| (*slot, whole_collection)));
        }
        taken
    }
}

/// Whether two subscriptions' filters are the same shared one (or both absent).
fn same(a: &Option<Arc<RecordFilter>>, b: &Option<Arc<RecordFilter>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        _ => false,
    }
}
