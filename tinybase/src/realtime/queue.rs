//! A connected client's event buffer: bounded, and holding memory only while events wait.
//!
//! Most streams are idle most of the time, so what an idle stream costs is what many
//! connected clients cost. tokio's bounded channel allocates a block of 32 slots up front
//! (1.5 KiB for an [`Event`]) beside a cache-padded channel state (0.5 KiB), for every
//! client and for as long as it is connected. Here the buffer is a `VecDeque` behind a
//! lock that is given back each time the client has read everything: an idle client
//! holds the shared state only (about a hundred bytes).
//!
//! The semantics are those of the channel it replaces, as far as realtime uses them: one
//! receiver, cloneable senders, `try_send` that fails when the buffer is full or the
//! receiver is gone, and a receiver that drains what is buffered before it ends.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

use super::Event;

/// A bounded buffer of `capacity` events: the sending side for the hub and the receiving
/// side for the client's stream.
pub(crate) fn channel(capacity: usize) -> (Sender, Events) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            events: VecDeque::new(),
            closed: false,
            senders: 1,
        }),
        ready: Notify::new(),
        capacity,
    });
    (
        Sender {
            shared: Arc::clone(&shared),
        },
        Events { shared },
    )
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the receiver when an event arrives or the last sender goes. `notify_one`
    /// keeps a permit when the receiver is not waiting yet, so no wake-up is lost
    /// between its look at the buffer and its wait.
    ready: Notify,
    capacity: usize,
}

struct State {
    events: VecDeque<Event>,
    /// The receiver closed the buffer or went away: nothing more is accepted.
    closed: bool,
    /// Live senders; at zero, the receiver ends once the buffer is drained.
    senders: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update leaves the state consistent, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Why an event was not queued.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SendError {
    /// The buffer holds `capacity` events: the client is not keeping up.
    Full,
    /// The receiver closed the buffer or went away.
    Closed,
}

/// The hub's side of a client's buffer.
pub(crate) struct Sender {
    shared: Arc<Shared>,
}

impl Sender {
    /// Queues `event` unless the buffer is full or closed; never waits.
    pub(crate) fn try_send(&self, event: Event) -> Result<(), SendError> {
        let mut state = self.shared.lock();
        if state.closed {
            return Err(SendError::Closed);
        }
        if state.events.len() >= self.shared.capacity {
            return Err(SendError::Full);
        }
        state.events.push_back(event);
        drop(state);
        self.shared.ready.notify_one();
        Ok(())
    }

    /// Whether the receiver closed the buffer or went away.
    pub(crate) fn is_closed(&self) -> bool {
        self.shared.lock().closed
    }
}

impl Clone for Sender {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.senders -= 1;
        let last = state.senders == 0;
        drop(state);
        if last {
            self.shared.ready.notify_one();
        }
    }
}

/// A connected client's events, in the order they were queued.
pub struct Events {
    shared: Arc<Shared>,
}

impl Events {
    /// The next event; `None` once the buffer is drained and either closed or without
    /// senders (the hub cut the client off or forgot it).
    pub async fn recv(&mut self) -> Option<Event> {
        loop {
            {
                let mut state = self.shared.lock();
                if let Some(event) = pop(&mut state) {
                    return Some(event);
                }
                if state.closed || state.senders == 0 {
                    return None;
                }
            }
            self.shared.ready.notified().await;
        }
    }

    /// The next event if one is waiting.
    pub fn try_recv(&mut self) -> Option<Event> {
        pop(&mut self.shared.lock())
    }

    /// Accepts nothing more; what is buffered can still be read.
    pub fn close(&mut self) {
        self.shared.lock().closed = true;
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.closed = true;
        // Nobody will read them: free them now rather than with the last sender.
        state.events = VecDeque::new();
    }
}

/// Takes the oldest event, and gives the buffer's memory back once it is empty.
fn pop(state: &mut State) -> Option<Event> {
    let event = state.events.pop_front()?;
    if state.events.is_empty() {
        state.events = VecDeque::new();
    }
    Some(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(n: usize) -> Event {
        Event::Message {
            data: n.to_string(),
        }
    }

    #[tokio::test]
    async fn events_arrive_in_order_and_a_full_buffer_refuses_more() {
        let (sender, mut events) = channel(2);
        assert_eq!(sender.try_send(message(1)), Ok(()));
        assert_eq!(sender.try_send(message(2)), Ok(()));
        assert_eq!(sender.try_send(message(3)), Err(SendError::Full));
        assert_eq!(events.recv().await, Some(message(1)));
        assert_eq!(events.try_recv(), Some(message(2)));
        assert_eq!(events.try_recv(), None);
        // Room again once read.
        assert_eq!(sender.try_send(message(4)), Ok(()));
        assert_eq!(events.recv().await, Some(message(4)));
    }

    #[tokio::test]
    async fn a_waiting_receiver_wakes_for_an_event_sent_from_another_task() {
        let (sender, mut events) = channel(4);
        let waiting = tokio::spawn(async move { events.recv().await });
        tokio::task::yield_now().await;
        sender.try_send(message(7)).unwrap();
        assert_eq!(waiting.await.unwrap(), Some(message(7)));
    }

    #[tokio::test]
    async fn the_receiver_drains_then_ends_when_the_last_sender_goes() {
        let (sender, mut events) = channel(4);
        let second = sender.clone();
        sender.try_send(message(1)).unwrap();
        drop(sender);
        second.try_send(message(2)).unwrap();
        drop(second);
        assert_eq!(events.recv().await, Some(message(1)));
        assert_eq!(events.recv().await, Some(message(2)));
        assert_eq!(events.recv().await, None);
    }

    #[tokio::test]
    async fn closing_refuses_new_events_but_keeps_the_buffered_ones() {
        let (sender, mut events) = channel(4);
        sender.try_send(message(1)).unwrap();
        assert!(!sender.is_closed());
        events.close();
        assert!(sender.is_closed());
        assert_eq!(sender.try_send(message(2)), Err(SendError::Closed));
        assert_eq!(events.recv().await, Some(message(1)));
        assert_eq!(events.recv().await, None);
    }

    #[test]
    fn a_dropped_receiver_closes_the_buffer() {
        let (sender, events) = channel(4);
        drop(events);
        assert!(sender.is_closed());
        assert_eq!(sender.try_send(message(1)), Err(SendError::Closed));
    }

    #[test]
    fn a_drained_buffer_holds_no_memory() {
        let (sender, mut events) = channel(8);
        for n in 0..5 {
            sender.try_send(message(n)).unwrap();
        }
        assert!(sender.shared.lock().events.capacity() >= 5);
        while events.try_recv().is_some() {}
        assert_eq!(sender.shared.lock().events.capacity(), 0);
    }
}
