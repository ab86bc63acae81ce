//! Realtime: clients follow record changes and channel messages over a stream.
//!
//! The change log is the one source of record events. One task (see `dispatch.rs`)
//! follows it after each commit and hands every change to the clients subscribed to its
//! collection, checking at delivery time that the client's identity may see the record
//! (its collection's `view_rule`, and `list_rule` for collection-wide subscriptions) and
//! that the record matches the subscription's filter, evaluated in memory. No SQL runs
//! per subscriber, and an index of the subscriptions (`index.rs`) means a change costs
//! work only for the clients whose subscriptions take it, however many are connected.
//!
//! Each connected client has a bounded buffer. A client that does not read fills it and
//! is cut off; the server never waits for it. A client that reconnects with its id and
//! the last event id it saw gets the events it missed from the change log, or a `reset`
//! event when the log no longer reaches back that far. Nothing here knows HTTP: the API
//! turns [`Event`]s into server-sent events.

mod clients;
mod dispatch;
mod event;
mod identity;
mod index;
mod queue;
mod subscription;

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

use clients::Clients;
pub use event::Event;
use identity::Identity;
pub use queue::Events;
use queue::Sender;
pub use subscription::SubscriptionSpec;
pub(crate) use subscription::{Filters, Subscription};

use crate::changes::{self, Change};
use crate::collections::Service;
use crate::db::Database;
use crate::{Error, ErrorKind, Result};

/// Events buffered per connected client; a client this far behind is cut off.
const CLIENT_BUFFER: usize = 256;

/// The most subscriptions one client may hold unless the app sets another limit
/// (`realtime.max_subscriptions`).
pub const DEFAULT_MAX_SUBSCRIPTIONS: usize = 100;

/// How long a disconnected client's id and subscriptions are kept for it to resume.
const RESUME_GRACE: Duration = Duration::from_secs(300);

/// Changes read from the log at a time.
const READ_BATCH: usize = 256;

/// The realtime hub. Cheap to clone.
#[derive(Clone)]
pub struct Realtime {
    inner: Arc<Inner>,
}

struct Inner {
    db: Database,
    collections: Service,
    clients: Mutex<Clients>,
    /// `realtime.max_subscriptions`; set once at start, read on every subscribe.
    max_subscriptions: AtomicUsize,
    /// The newest change handed to the clients. Every client that is not replaying has
    /// seen the log up to here (or its `last_seq`, when that is newer).
    dispatched: AtomicI64,
    /// The subscriptions' filters, shared.
    filters: Filters,
}

/// One client, connected or waiting to resume.
struct Client {
    /// Its id, as it subscribes and resumes with.
    id: String,
    /// Changed only through [`Clients::subscribe`], which keeps the index in step.
    subscriptions: Vec<Subscription>,
    /// Changed only through [`Clients`], which keeps the next token check in step.
    identity: Identity,
    /// Where its events go; `None` while it is disconnected.
    sender: Option<Sender>,
    /// Set while missed events are replayed to it: live delivery waits meanwhile.
    replaying: bool,
    /// The newest change it has seen, when that is newer than the hub's `dispatched`
    /// (a new client skips the changes committed before it connected) or while it
    /// replays. Live delivery does not move it for every client: a client that is not
    /// replaying has seen the log up to `dispatched` anyway, and live delivery only ever
    /// hands out changes above `dispatched`, so comparing them with this alone is enough.
    last_seq: i64,
    /// When it went away, for forgetting it after [`RESUME_GRACE`].
    disconnected_at: Option<Instant>,
}

/// A connected client's stream of events.
pub struct Connection {
    /// The client's id (new, or the one it resumed).
    pub client_id: String,
    /// Its events, starting with [`Event::Connected`]; ends when the client is cut off,
    /// its identity stops being valid or the server stops.
    pub events: Events,
}

impl Realtime {
    /// A hub over `collections` (whose change feed it follows). Call [`Realtime::start`]
    /// to begin delivering.
    pub fn new(db: Database, collections: Service) -> Self {
        let dispatched = collections.change_feed().latest();
        Self {
            inner: Arc::new(Inner {
                db,
                collections,
                clients: Mutex::new(Clients::default()),
                max_subscriptions: AtomicUsize::new(DEFAULT_MAX_SUBSCRIPTIONS),
                dispatched: AtomicI64::new(dispatched),
                filters: Filters::default(),
            }),
        }
    }

    /// Sets the most subscriptions one client may hold (`realtime.max_subscriptions`).
    pub fn set_max_subscriptions(&self, max: usize) {
        self.inner.max_subscriptions.store(max, Ordering::Relaxed);
    }

    /// Starts the task that delivers changes; it ends when the returned handle is
    /// aborted.
    pub fn start(&self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(dispatch::run(self.clone()))
    }

    /// Opens a stream: a new client, or `resume` = `(client id, last event id)` for one
    /// that reconnects. An unknown or forgotten client id gets a new id and a `reset`
    /// event (its subscriptions and what happened since are lost).
    ///
    /// # Errors
    /// Internal errors reading the change log.
    pub async fn connect(&self, resume: Option<(String, Option<i64>)>) -> Result<Connection> {
        let (sender, events) = queue::channel(CLIENT_BUFFER);
        let asked_to_resume = resume.is_some();
        let resumed =
            resume.and_then(|(id, last)| self.reattach(&id, &sender).map(|()| (id, last)));
        let client_id = match &resumed {
            Some((id, _)) => id.clone(),
            None => {
                let id = crate::auth::token::random_hex(16)?;
                self.lock().insert(Client {
                    id: id.clone(),
                    subscriptions: Vec::new(),
                    identity: Identity::Anonymous,
                    sender: Some(sender.clone()),
                    replaying: false,
                    // Changes committed before it connected are not its business,
                    // even if delivery has not reached them yet.
                    last_seq: self.newest_committed(),
                    disconnected_at: None,
                });
                id
            }
        };
        // The buffer is empty: the first event always fits.
        let _ = sender.try_send(Event::Connected {
            client_id: client_id.clone(),
        });
        match resumed {
            Some((id, Some(last_event_id))) => self.replay(&id, last_event_id, &sender).await?,
            Some((id, None)) => self.finish_replay(&id),
            // A forgotten client lost its subscriptions and whatever happened since: it
            // must subscribe again and reload.
            None if asked_to_resume => {
                let _ = sender.try_send(Event::Reset);
            }
            None => {}
        }
        Ok(Connection { client_id, events })
    }

    /// Replaces `client_id`'s subscriptions; `token` (the subscribing request's bearer
    /// token, if any) becomes the identity events are delivered as.
    ///
    /// # Errors
    /// 404 for an unknown client or collection, 400 for a bad filter, 422 for too many
    /// subscriptions or a malformed one; nothing changes then.
    pub async fn subscribe(
        &self,
        client_id: &str,
        token: Option<String>,
        specs: &[SubscriptionSpec],
    ) -> Result<()> {
        let max = self.inner.max_subscriptions.load(Ordering::Relaxed);
        if specs.len() > max {
            return Err(Error::invalid_field(
                "subscriptions",
                format!("at most {max} subscriptions per client"),
            ));
        }
        if !self.lock().contains_key(client_id) {
            return Err(unknown_client());
        }
        let subscriptions = specs
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                Subscription::check(spec, &self.inner.collections, &self.inner.filters, i)
            })
            .collect::<Result<Vec<_>>>()?;
        let identity = Identity::resolve(&self.inner.db, token).await?;
        if self.lock().subscribe(client_id, subscriptions, identity) {
            Ok(())
        } else {
            Err(unknown_client())
        }
    }

    /// Sends `data` to every client subscribed to `channel`; returns how many got it.
    /// Channel messages are not logged: a client that is not connected misses them.
    pub fn publish(&self, channel: &str, data: &Value) -> usize {
        let event = Event::Message {
            data: Event::message_data(channel, data),
        };
        let mut delivered = 0;
        for client in self.lock().values_mut() {
            let listening = client
                .subscriptions
                .iter()
                .any(|s| matches!(s, Subscription::Channel(c) if c == channel));
            if listening && client.send(event.clone()) {
                delivered += 1;
            }
        }
        delivered
    }

    /// Ends every stream (the server is stopping).
    pub fn close_all(&self) {
        self.lock().clear();
    }

    /// How many clients are connected now.
    pub fn connected_clients(&self) -> usize {
        self.lock().values().filter(|c| c.sender.is_some()).count()
    }

    /// Marks the client's stream as gone once its receiving end is closed (the HTTP
    /// side dropped it). A newer stream of the same client is left alone.
    pub fn disconnected(&self, client_id: &str) {
        if let Some(client) = self.lock().get_mut(client_id)
            && client.sender.as_ref().is_some_and(Sender::is_closed)
        {
            client.sender = None;
            client.disconnected_at = Some(Instant::now());
        }
    }

    fn reattach(&self, client_id: &str, sender: &Sender) -> Option<()> {
        self.lock().reattach(client_id, sender)
    }

    /// Sends `client_id` what it missed after `last_event_id`, then hands it back to live
    /// delivery with nothing lost or repeated in between.
    async fn replay(&self, client_id: &str, last_event_id: i64, sender: &Sender) -> Result<()> {
        let oldest = self
            .inner
            .db
            .read(changes::bounds)
            .await?
            .map(|(oldest, _)| oldest);
        let covered = match oldest {
            Some(oldest) => last_event_id >= oldest - 1,
            // An empty log covers the gap only if nothing was written since.
            None => last_event_id >= self.inner.dispatched.load(Ordering::Acquire),
        };
        if !covered {
            let _ = sender.try_send(Event::Reset);
            if let Some(client) = self.lock().get_mut(client_id) {
                client.last_seq = self.newest_committed();
            }
            self.finish_replay(client_id);
            return Ok(());
        }
        if let Some(client) = self.lock().get_mut(client_id) {
            client.last_seq = last_event_id;
        }
        loop {
            let target = self.inner.dispatched.load(Ordering::Acquire);
            let mut after = self.lock().get(client_id).map_or(target, |c| c.last_seq);
            while after < target {
                let batch = self
                    .inner
                    .db
                    .read(move |conn| changes::read_after(conn, after, READ_BATCH))
                    .await?;
                let Some(last) = batch.last().map(|c| c.seq) else {
                    break;
                };
                let batch: Vec<Change> = batch.into_iter().filter(|c| c.seq <= target).collect();
                self.deliver_to(client_id, &batch).await;
                after = last;
            }
            // Live delivery moves `dispatched` only under the lock: if it has not moved,
            // the client is level with it and can rejoin. From then on `dispatched`
            // stands for what it has seen, as for every client not replaying (see
            // `Client::last_seq`): the next batch live delivery hands out starts above it.
            let mut clients = self.lock();
            if self.inner.dispatched.load(Ordering::Acquire) == target {
                if let Some(client) = clients.get_mut(client_id) {
                    client.replaying = false;
                    client.last_seq = client.last_seq.max(target);
                }
                return Ok(());
            }
        }
    }

    /// The newest change known to have committed: announced by the writer's caller
    /// before it answers, so it covers every write a client has seen answered.
    fn newest_committed(&self) -> i64 {
        self.inner
            .collections
            .change_feed()
            .latest()
            .max(self.inner.dispatched.load(Ordering::Acquire))
    }

    fn finish_replay(&self, client_id: &str) {
        if let Some(client) = self.lock().get_mut(client_id) {
            client.replaying = false;
        }
    }

    fn lock(&self) -> MutexGuard<'_, Clients> {
        // Every update leaves the map consistent, so a poisoned lock is still usable.
        self.inner
            .clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Client {
    /// Queues `event`; a full buffer cuts the client off. Returns whether it was queued.
    fn send(&mut self, event: Event) -> bool {
        let Some(sender) = &self.sender else {
            return false;
        };
        match sender.try_send(event) {
            Ok(()) => true,
            Err(_) => {
                // Full (it stopped reading) or closed (it went away): either way it is
                // disconnected now, and may resume from the change log.
                self.sender = None;
                self.disconnected_at = Some(Instant::now());
                false
            }
        }
    }
}

fn unknown_client() -> Error {
    Error::new(
        ErrorKind::NotFound,
        "no realtime client with this id: connect to /api/realtime first",
    )
}
