//! The delivery task: follows the change log after each commit and hands each change to
//! the clients that want it and may see it.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use super::identity::Identity;
use super::subscription::FilterVerdicts;
use super::{Client, Event, READ_BATCH, RESUME_GRACE, Realtime};
use crate::auth::Caller;
use crate::auth::sessions;
use crate::changes::{self, Change};
use crate::collections::filter::{RecordFilter, RecordView, SqlCondition};
use crate::collections::rules::{Action, Scope, authorize};
use crate::collections::{Record, Service, record_matches};
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
    /// The event sent, built once and shared by every subscriber.
    frame: bytes::Bytes,
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
}

fn prepare(batch: &[Change]) -> Vec<Prepared<'_>> {
    batch
        .iter()
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
                frame: Event::record_frame(
                    change.seq,
                    change.action.as_str(),
                    &change.collection,
                    &change.record,
                ),
                record,
                change,
            })
        })
        .collect()
}

impl Realtime {
    /// Delivers every change committed since the last one delivered.
    async fn catch_up(&self) {
        loop {
            let after = self
                .inner
                .dispatched
                .load(std::sync::atomic::Ordering::Acquire);
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
            let callers: HashSet<Caller> = self
                .lock()
                .values()
                .filter(|c| c.sender.is_some() && !c.subscriptions.is_empty() && !c.replaying)
                .map(|c| c.identity.caller())
                .collect();
            if callers.is_empty() {
                // Nobody listens: parsing each record (a large one costs many times its
                // size) would be memory and time spent for no one.
                let mut clients = self.lock();
                for client in clients.values_mut().filter(|c| !c.replaying) {
                    client.last_seq = client.last_seq.max(last);
                }
                self.inner
                    .dispatched
                    .store(last, std::sync::atomic::Ordering::Release);
                continue;
            }
            let prepared = prepare(&batch);
            let verdicts = self.database_verdicts(&prepared, &callers).await;
            let index = BatchIndex::of(&prepared);
            let mut clients = self.lock();
            for client in clients.values_mut() {
                if !client.replaying {
                    deliver(client, &index, &self.inner.collections, &verdicts);
                }
            }
            // Moved only under the lock: a replay compares against it (see `replay`).
            self.inner
                .dispatched
                .store(last, std::sync::atomic::Ordering::Release);
        }
    }

    /// Delivers `batch` to one client (a replay after it reconnected).
    pub(super) async fn deliver_to(&self, client_id: &str, batch: &[Change]) {
        self.check_identities().await;
        let prepared = prepare(batch);
        let Some(caller) = self.lock().get(client_id).map(|c| c.identity.caller()) else {
            return;
        };
        let verdicts = self
            .database_verdicts(&prepared, &HashSet::from([caller]))
            .await;
        let index = BatchIndex::of(&prepared);
        if let Some(client) = self.lock().get_mut(client_id) {
            deliver(client, &index, &self.inner.collections, &verdicts);
        }
    }

    /// Decides with SQL the rules that read other records (relation paths,
    /// `@collection`), for each change and caller, in one read before delivery: delivery
    /// itself runs under the clients' lock and must not wait for the database. A rule
    /// that reads only the record itself is decided in memory during delivery.
    async fn database_verdicts(
        &self,
        batch: &[Prepared<'_>],
        callers: &HashSet<Caller>,
    ) -> Verdicts {
        let collections = &self.inner.collections;
        let mut jobs = Vec::new();
        for prepared in batch {
            let Some(loaded) = collections
                .loaded(&prepared.change.collection)
                .filter(|loaded| loaded.collection.id == prepared.change.collection_id)
            else {
                continue;
            };
            for action in [Action::View, Action::List] {
                for caller in callers {
                    let Ok(Some(rule)) = collections.compiled_rule(&loaded, action, caller, None)
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
    /// longer valid gets an `error` event and its stream ends.
    async fn check_identities(&self) {
        let now = Instant::now();
        let stale: Vec<(String, String)> = self
            .lock()
            .iter()
            .filter(|(_, client)| client.sender.is_some())
            .filter_map(|(id, client)| {
                client
                    .identity
                    .stale_token(now)
                    .map(|token| (id.clone(), token.to_owned()))
            })
            .collect();
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
            let Some(client) = clients.get_mut(&client_id) else {
                continue;
            };
            match user {
                Some(user) => client.identity = Identity::checked(token, &user),
                None => {
                    client.send(Event::Error {
                        code: "unauthorized",
                        message: "the token is invalid or has expired; subscribe again".to_owned(),
                    });
                    clients.remove(&client_id);
                }
            }
        }
    }

    /// Forgets clients disconnected for longer than the resume grace.
    fn forget_gone_clients(&self) {
        let now = Instant::now();
        self.lock().retain(|_, client| {
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

/// A batch of changes with what delivery works out once per batch rather than once per
/// client and change.
struct BatchIndex<'a> {
    /// The changes.
    batch: &'a [Prepared<'a>],
    /// The collections the batch's changes belong to (usually one), by id.
    collections: Vec<&'a str>,
    /// For each change, its collection's place in `collections`.
    collection_of: Vec<usize>,
    /// For each change, what the subscriptions' shared filters said about it so far.
    filtered: Vec<FilterVerdicts>,
    /// Room reused for each client: which of its subscriptions (by place) name which of
    /// `collections` (by place). Found once per client and batch, so a change is then
    /// checked only against the subscriptions to its collection.
    wanted: RefCell<Vec<(usize, usize)>>,
}

impl<'a> BatchIndex<'a> {
    fn of(batch: &'a [Prepared<'a>]) -> Self {
        let mut collections: Vec<&str> = Vec::new();
        let collection_of = batch
            .iter()
            .map(|prepared| {
                let id = prepared.change.collection_id.as_str();
                collections
                    .iter()
                    .position(|c| *c == id)
                    .unwrap_or_else(|| {
                        collections.push(id);
                        collections.len() - 1
                    })
            })
            .collect();
        Self {
            batch,
            collections,
            collection_of,
            filtered: batch.iter().map(|_| FilterVerdicts::default()).collect(),
            wanted: RefCell::new(Vec::new()),
        }
    }
}

/// Sends `client` the changes of the batch it subscribed to and may see, newer than its
/// last one.
fn deliver(
    client: &mut Client,
    index: &BatchIndex<'_>,
    collections: &Service,
    verdicts: &Verdicts,
) {
    let mut wanted = index.wanted.borrow_mut();
    wanted.clear();
    if client.sender.is_some() {
        for (place, subscription) in client.subscriptions.iter().enumerate() {
            if let Some(collection) = subscription
                .collection_id()
                .and_then(|id| index.collections.iter().position(|c| *c == id))
            {
                wanted.push((collection, place));
            }
        }
    }
    let batch = index.batch;
    if wanted.is_empty() {
        // Nothing in this batch is for it.
        if let Some(last) = batch.last() {
            client.last_seq = client.last_seq.max(last.change.seq);
        }
        return;
    }
    let caller = client.identity.caller();
    for (i, prepared) in batch.iter().enumerate() {
        let seq = prepared.change.seq;
        if seq <= client.last_seq {
            continue;
        }
        client.last_seq = seq;
        let view = prepared.view();
        let collection = index.collection_of[i];
        let Some(whole_collection) = wanted
            .iter()
            .filter(|(c, _)| *c == collection)
            .filter_map(|(_, place)| client.subscriptions[*place].wants(&view, &index.filtered[i]))
            // A record-specific subscription needs only the view rule: prefer it.
            .min()
        else {
            continue;
        };
        let Some(loaded) = collections
            .loaded(&prepared.change.collection)
            .filter(|loaded| loaded.collection.id == prepared.change.collection_id)
        else {
            continue;
        };
        let options = &loaded.collection.options;
        let may = |action: Action| match authorize(options.rule_for(action), &caller) {
            Err(_) => false,
            Ok(Scope::Matching(_)) => match collections
                .compiled_rule(&loaded, action, &caller, None)
            {
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
            continue;
        }
        if !client.send(Event::Record {
            seq,
            frame: prepared.frame.clone(),
        }) {
            return;
        }
    }
}
