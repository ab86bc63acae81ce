//! The delivery task: follows the change log after each commit and hands each change to
//! the clients that want it and may see it.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::identity::Identity;
use super::subscription::FilterVerdicts;
use super::{Client, Event, READ_BATCH, RESUME_GRACE, Realtime};
use crate::auth::Caller;
use crate::auth::sessions;
use crate::changes::{self, Change};
use crate::collections::filter::{RecordFilter, RecordView, SqlCondition};
use crate::collections::rules::{Action, Scope, authorize};
use crate::collections::{LoadedCollection, Record, Service, record_matches};
use crate::db::format_timestamp;

/// How often clients gone longer than the resume grace are forgotten.
const SWEEP_EVERY: Duration = Duration::from_secs(30);

/// Runs until the change feed closes (or the task is aborted).
pub(super) async fn run(hub: Realtime) {
    let mut committed = hub.inner.collections.change_feed().subscribe();
    let mut sweep = tokio::time::interval(SWEEP_EVERY);
    loop {
        tokio::select! {
            changed = committed.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            _ = sweep.tick() => {
                hub.forget_gone_clients();
                continue;
            }
        }
        hub.catch_up().await;
    }
}

/// A change with its record parsed once for every subscriber.
struct Prepared<'a> {
    change: &'a Change,
    record: Record,
    created_at: String,
    updated_at: String,
    /// The change's collection as loaded now; `None` when it is gone (or its name now
    /// belongs to another one): nobody gets the change then.
    loaded: Option<Arc<LoadedCollection>>,
    /// The event sent, built once when the first subscriber gets it and shared by all.
    frame: OnceLock<bytes::Bytes>,
}

impl Prepared<'_> {
    fn view(&self) -> RecordView<'_> {
        RecordView {
            id: &self.record.id,
            owner_id: self.record.owner_id.as_deref(),
            created_at: &self.created_at,
            updated_at: &self.updated_at,
            data: &self.record.data,
        }
    }

    fn frame(&self) -> bytes::Bytes {
        self.frame
            .get_or_init(|| {
                let change = self.change;
                Event::record_frame(
                    change.seq,
                    change.action.as_str(),
                    &change.collection,
                    &change.record,
                )
            })
            .clone()
    }

    /// Whether its collection's view or list rule is an expression: only those may read
    /// other records and need [`Verdicts`].
    fn has_expression_rules(&self) -> bool {
        self.loaded.as_ref().is_some_and(|loaded| {
            let options = &loaded.collection.options;
            [Action::View, Action::List]
                .into_iter()
                .any(|action| options.rule_for(action).expression().is_some())
        })
    }
}

fn prepare<'a>(
    batch: impl Iterator<Item = &'a Change>,
    collections: &Service,
) -> Vec<Prepared<'a>> {
    batch
        .filter_map(|change| {
            let record: Record = match serde_json::from_str(&change.record) {
                Ok(record) => record,
                Err(err) => {
                    tracing::warn!(seq = change.seq, %err, "skipping an unreadable change");
                    return None;
                }
            };
            Some(Prepared {
                created_at: format_timestamp(record.created_at),
                updated_at: format_timestamp(record.updated_at),
                loaded: collections
                    .loaded(&change.collection)
                    .filter(|loaded| loaded.collection.id == change.collection_id),
                frame: OnceLock::new(),
                record,
                change,
            })
        })
        .collect()
}

impl Realtime {
    /// Delivers every change committed since the last one delivered. A change costs
    /// work for the clients whose subscriptions take it (found through the index), not
    /// for every client.
    async fn catch_up(&self) {
        let collections = &self.inner.collections;
        loop {
            let after = self.inner.dispatched.load(Ordering::Acquire);
            let batch = match self
                .inner
                .db
                .read(move |conn| changes::read_after(conn, after, READ_BATCH))
                .await
            {
                Ok(batch) => batch,
                Err(err) => {
                    tracing::warn!(%err, "could not read the change log for realtime delivery");
                    return;
                }
            };
            let Some(last) = batch.last().map(|c| c.seq) else {
                return;
            };
            self.check_identities().await;
            let watched: Vec<&Change> = {
                let clients = self.lock();
                let index = clients.index();
                let watched: Vec<&Change> = batch
                    .iter()
                    .filter(|change| index.watches(&change.collection_id))
                    .collect();
                if watched.is_empty() {
                    // Nobody listens: parsing each record (a large one costs many times
                    // its size) would be memory and time spent for no one. Moved under
                    // the lock, as below.
                    self.inner.dispatched.store(last, Ordering::Release);
                    continue;
                }
                watched
            };
            let prepared = prepare(watched.into_iter(), collections);
            let filtered: Vec<FilterVerdicts> =
                prepared.iter().map(|_| FilterVerdicts::default()).collect();
            let verdicts = if prepared.iter().any(Prepared::has_expression_rules) {
                let callers = self.reached_callers(&prepared, &filtered);
                self.database_verdicts(&prepared, &callers).await
            } else {
                Verdicts::new()
            };
            let mut clients = self.lock();
            let (index, slots) = clients.indexed();
            let mut reached = Vec::new();
            // (client slot, change's place in `prepared`, whole collection)
            let mut offers: Vec<(usize, usize, bool)> = Vec::new();
            let mut changes_reaching = 0;
            for (place, (prepared, filtered)) in prepared.iter().zip(&filtered).enumerate() {
                let change = prepared.change;
                let view = prepared.view();
                index.reach(&change.collection_id, &view, filtered, &mut reached);
                changes_reaching += usize::from(!reached.is_empty());
                offers.extend(reached.iter().map(|&(slot, whole)| (slot, place, whole)));
            }
            if changes_reaching > 1 {
                // Client by client, each one's changes in order (the sort is stable): its
                // stream then wakes once and writes them together.
                offers.sort_by_key(|&(slot, _, _)| slot);
            }
            for (slot, place, whole_collection) in offers {
                let Some(client) = slots.get_mut(slot).and_then(Option::as_mut) else {
                    continue;
                };
                let prepared = &prepared[place];
                // A replaying client is brought level by its replay; one with a newer
                // `last_seq` connected after this change committed.
                if client.replaying || prepared.change.seq <= client.last_seq {
                    continue;
                }
                offer(client, prepared, whole_collection, collections, &verdicts);
            }
            // Moved only under the lock: a replay compares against it (see `replay`). It
            // also stands for `last_seq` of every client not replaying (see `Client`).
            self.inner.dispatched.store(last, Ordering::Release);
        }
    }

    /// For each change whose collection has expression rules, the callers of the
    /// clients it reaches and would be offered to: the identities [`Verdicts`] are needed
    /// for.
    fn reached_callers(
        &self,
        prepared: &[Prepared<'_>],
        filtered: &[FilterVerdicts],
    ) -> Vec<Vec<Caller>> {
        let clients = self.lock();
        let mut reached = Vec::new();
        prepared
            .iter()
            .zip(filtered)
            .map(|(prepared, filtered)| {
                if !prepared.has_expression_rules() {
                    return Vec::new();
                }
                let change = prepared.change;
                let view = prepared.view();
                clients
                    .index()
                    .reach(&change.collection_id, &view, filtered, &mut reached);
                let callers: HashSet<&Caller> = reached
                    .iter()
                    .filter_map(|(slot, _)| clients.in_slot(*slot))
                    .filter(|c| c.sender.is_some() && !c.replaying && change.seq > c.last_seq)
                    .map(|c| c.identity.caller())
                    .collect();
                callers.into_iter().cloned().collect()
            })
            .collect()
    }

    /// Delivers `batch` to one client (a replay after it reconnected).
    pub(super) async fn deliver_to(&self, client_id: &str, batch: &[Change]) {
        self.check_identities().await;
        let collections = &self.inner.collections;
        let prepared = prepare(batch.iter(), collections);
        let Some(caller) = self
            .lock()
            .get(client_id)
            .map(|c| c.identity.caller().clone())
        else {
            return;
        };
        let callers = vec![vec![caller]; prepared.len()];
        let verdicts = self.database_verdicts(&prepared, &callers).await;
        let mut clients = self.lock();
        let Some(client) = clients.get_mut(client_id) else {
            return;
        };
        let newest = batch.last().map_or(client.last_seq, |c| c.seq);
        if client.sender.is_none() {
            client.last_seq = client.last_seq.max(newest);
            return;
        }
        for prepared in &prepared {
            let change = prepared.change;
            if change.seq <= client.last_seq {
                continue;
            }
            client.last_seq = change.seq;
            let view = prepared.view();
            // Filters are evaluated per subscription here: a replay is one client's.
            let filtered = FilterVerdicts::default();
            let Some(whole_collection) = client
                .subscriptions
                .iter()
                .filter(|s| s.collection_id() == Some(change.collection_id.as_str()))
                .filter_map(|s| s.wants(&view, &filtered))
                // A record-specific subscription needs only the view rule: prefer it.
                .min()
            else {
                continue;
            };
            if !offer(client, prepared, whole_collection, collections, &verdicts) {
                return;
            }
        }
        client.last_seq = client.last_seq.max(newest);
    }

    /// Decides with SQL the rules that read other records (relation paths,
    /// `@collection`), for each change and the callers it may go to (`callers`, by the
    /// change's place in `batch`), in one read before delivery: delivery itself runs
    /// under the clients' lock and must not wait for the database. A rule that reads only
    /// the record itself is decided in memory during delivery.
    async fn database_verdicts(&self, batch: &[Prepared<'_>], callers: &[Vec<Caller>]) -> Verdicts {
        let collections = &self.inner.collections;
        let mut jobs = Vec::new();
        for (prepared, callers) in batch.iter().zip(callers) {
            let Some(loaded) = &prepared.loaded else {
                continue;
            };
            for action in [Action::View, Action::List] {
                for caller in callers {
                    let Ok(Some(rule)) = collections.compiled_rule(loaded, action, caller, None)
                    else {
                        continue;
                    };
                    if rule.reads_other_records {
                        jobs.push(VerdictJob {
                            key: (prepared.change.seq, caller.clone(), action),
                            condition: rule.condition,
                            collection_id: loaded.collection.id.clone(),
                            record: prepared.record.clone(),
                        });
                    }
                }
            }
        }
        if jobs.is_empty() {
            return Verdicts::new();
        }
        let decided = self
            .inner
            .db
            .read(move |conn| {
                let mut verdicts = Verdicts::new();
                for job in jobs {
                    let holds =
                        record_matches(conn, &job.condition, &job.collection_id, &job.record)?;
                    verdicts.insert(job.key, holds);
                }
                Ok(verdicts)
            })
            .await;
        decided.unwrap_or_else(|err| {
            // Undecided rules deliver nothing: failing closed never leaks a record.
            tracing::warn!(%err, "could not decide realtime rules that read other records");
            Verdicts::new()
        })
    }

    /// Checks again the tokens whose last check is too old; a client whose token is no
    /// longer valid gets an `error` event and its stream ends. Costs nothing while no
    /// token is due.
    async fn check_identities(&self) {
        let stale = self.lock().stale_tokens(Instant::now());
        for (client_id, token) in stale {
            let user = match sessions::user_for_token(&self.inner.db, &token).await {
                Ok(user) => user,
                Err(err) => {
                    // Keep the last answer rather than cut everyone off on a read error.
                    tracing::warn!(%err, "could not check a realtime client's token");
                    continue;
                }
            };
            let mut clients = self.lock();
            match user {
                Some(user) => clients.set_identity(&client_id, Identity::checked(token, &user)),
                None => {
                    if let Some(mut client) = clients.remove(&client_id) {
                        client.send(Event::Error {
                            code: "unauthorized",
                            message: "the token is invalid or has expired; subscribe again"
                                .to_owned(),
                        });
                    }
                }
            }
        }
    }

    /// Forgets clients disconnected for longer than the resume grace.
    fn forget_gone_clients(&self) {
        let now = Instant::now();
        self.lock().retain(|client| {
            if client.sender.as_ref().is_some_and(super::Sender::is_closed) {
                client.sender = None;
                client.disconnected_at = Some(now);
            }
            client
                .disconnected_at
                .is_none_or(|at| now.duration_since(at) < RESUME_GRACE)
        });
    }
}

/// Whether a rule holds, by change seq, caller and action: for the rules only SQL can
/// decide.
type Verdicts = HashMap<(i64, Caller, Action), bool>;

/// One rule to decide with SQL for [`Verdicts`].
struct VerdictJob {
    key: (i64, Caller, Action),
    condition: SqlCondition,
    collection_id: String,
    record: Record,
}

/// Sends `client` the change its subscriptions took if its identity may see the record
/// (the view rule, and the list rule when only collection-wide subscriptions took it).
/// Returns `false` once the client is disconnected or cut off.
fn offer(
    client: &mut Client,
    prepared: &Prepared<'_>,
    whole_collection: bool,
    collections: &Service,
    verdicts: &Verdicts,
) -> bool {
    if client.sender.is_none() {
        return false;
    }
    let Some(loaded) = &prepared.loaded else {
        return true;
    };
    let seq = prepared.change.seq;
    let view = prepared.view();
    let caller = client.identity.caller();
    let may = |action: Action| match authorize(loaded.collection.options.rule_for(action), caller) {
        Err(_) => false,
        Ok(Scope::Matching(_)) => match collections.compiled_rule(loaded, action, caller, None) {
            Ok(Some(rule)) if rule.reads_other_records => verdicts
                .get(&(seq, caller.clone(), action))
                .copied()
                .unwrap_or(false),
            Ok(Some(rule)) => RecordFilter::from_rule(&rule).is_ok_and(|f| f.matches(&view)),
            Ok(None) => true,
            Err(_) => false,
        },
        Ok(scope) => scope.covers(view.owner_id),
    };
    if !may(Action::View) || (whole_collection && !may(Action::List)) {
        return true;
    }
    client.send(Event::Record {
        seq,
        frame: prepared.frame(),
    })
}
