//! The hub's clients by id, with what delivery needs to avoid visiting all of them: the
//! index of their subscriptions (`index.rs`), kept in step here with every client added,
//! removed or resubscribed, and the earliest moment a connected client's token is due
//! for a check.

use std::collections::HashMap;
use std::time::Instant;

use super::identity::Identity;
use super::index::Index;
use super::subscription::Subscription;
use super::{Client, Sender};

/// Every client, connected or waiting to resume. Clients live in slots (reused once
/// free) so that the index names them by a number, not by their id.
#[derive(Default)]
pub(super) struct Clients {
    by_id: HashMap<String, usize>,
    slots: Vec<Option<Client>>,
    free: Vec<usize>,
    index: Index,
    /// No connected client's token needs a check before this; `None` when none may.
    /// Kept no later than the true earliest due moment (it may be earlier: the next
    /// look then finds nothing due and moves it on).
    recheck_due: Option<Instant>,
}

impl Clients {
    /// Adds a new client (its subscriptions indexed), replacing one with the same id.
    pub(super) fn insert(&mut self, client: Client) {
        self.remove(&client.id);
        self.note_recheck(client.identity.recheck_at());
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        self.index.add(slot, &client.subscriptions);
        self.by_id.insert(client.id.clone(), slot);
        self.slots[slot] = Some(client);
    }

    /// The client with this id.
    pub(super) fn get(&self, id: &str) -> Option<&Client> {
        let slot = *self.by_id.get(id)?;
        self.slots.get(slot)?.as_ref()
    }

    /// The client with this id, to change anything but its subscriptions and identity
    /// (see [`Clients::subscribe`]).
    pub(super) fn get_mut(&mut self, id: &str) -> Option<&mut Client> {
        let slot = *self.by_id.get(id)?;
        self.slots.get_mut(slot)?.as_mut()
    }

    /// Whether a client has this id.
    pub(super) fn contains_key(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }

    /// Gives the client `id` these subscriptions and identity; `false` for an unknown id.
    pub(super) fn subscribe(
        &mut self,
        id: &str,
        subscriptions: Vec<Subscription>,
        identity: Identity,
    ) -> bool {
        let Some(&slot) = self.by_id.get(id) else {
            return false;
        };
        let Some(client) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return false;
        };
        self.index.remove(slot, &client.subscriptions);
        self.index.add(slot, &subscriptions);
        client.subscriptions = subscriptions;
        let due = identity.recheck_at();
        client.identity = identity;
        self.note_recheck(due);
        true
    }

    /// Gives the client `id` a newly checked identity.
    pub(super) fn set_identity(&mut self, id: &str, identity: Identity) {
        if let Some(client) = self.get_mut(id) {
            let due = identity.recheck_at();
            client.identity = identity;
            self.note_recheck(due);
        }
    }

    /// Connects the client `id` again through `sender`, replaying until told otherwise;
    /// `None` for an unknown id.
    pub(super) fn reattach(&mut self, id: &str, sender: &Sender) -> Option<()> {
        let client = self.get_mut(id)?;
        client.sender = Some(sender.clone());
        client.disconnected_at = None;
        client.replaying = true;
        // While it was away its token was not looked at (see `stale_tokens`).
        let due = client.identity.recheck_at();
        self.note_recheck(due);
        Some(())
    }

    /// Removes the client `id`, returning it.
    pub(super) fn remove(&mut self, id: &str) -> Option<Client> {
        let slot = self.by_id.remove(id)?;
        let client = self.slots.get_mut(slot)?.take()?;
        self.index.remove(slot, &client.subscriptions);
        self.free.push(slot);
        Some(client)
    }

    /// Keeps only the clients `keep` says yes to.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(&mut Client) -> bool) {
        let gone: Vec<String> = self
            .slots
            .iter_mut()
            .flatten()
            .filter_map(|client| (!keep(client)).then(|| client.id.clone()))
            .collect();
        for id in gone {
            self.remove(&id);
        }
    }

    /// Removes every client.
    pub(super) fn clear(&mut self) {
        self.by_id.clear();
        self.slots.clear();
        self.free.clear();
        self.index.clear();
        self.recheck_due = None;
    }

    /// Every client.
    pub(super) fn values(&self) -> impl Iterator<Item = &Client> {
        self.slots.iter().flatten()
    }

    /// Every client, to change anything but its subscriptions and identity.
    pub(super) fn values_mut(&mut self) -> impl Iterator<Item = &mut Client> {
        self.slots.iter_mut().flatten()
    }

    /// The subscription index with the clients it names by slot, for delivery.
    pub(super) fn indexed(&mut self) -> (&Index, &mut [Option<Client>]) {
        (&self.index, &mut self.slots)
    }

    /// The subscription index.
    pub(super) fn index(&self) -> &Index {
        &self.index
    }

    /// The client in `slot` (as the index names it).
    pub(super) fn in_slot(&self, slot: usize) -> Option<&Client> {
        self.slots.get(slot)?.as_ref()
    }

    /// The tokens of connected clients that are due for a check, by client id. Returns at
    /// once while none can be due, so that delivery may ask before every batch.
    pub(super) fn stale_tokens(&mut self, now: Instant) -> Vec<(String, String)> {
        if self.recheck_due.is_none_or(|due| now < due) {
            return Vec::new();
        }
        let mut due: Option<Instant> = None;
        let mut stale = Vec::new();
        for client in self.slots.iter().flatten() {
            // A disconnected client's token is looked at when it comes back.
            if client.sender.is_none() {
                continue;
            }
            if let Some(token) = client.identity.stale_token(now) {
                stale.push((client.id.clone(), token.to_owned()));
            }
            // A stale token that cannot be checked now keeps the next look due at once.
            due = min(due, client.identity.recheck_at());
        }
        self.recheck_due = due;
        stale
    }

    /// Keeps `recheck_due` no later than `due`, a connected client's next token check.
    fn note_recheck(&mut self, due: Option<Instant>) {
        self.recheck_due = min(self.recheck_due, due);
    }
}

/// The earlier of two optional moments (`None` = never).
fn min(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
