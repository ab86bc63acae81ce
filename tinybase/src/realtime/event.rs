//! The events a realtime stream carries, and their server-sent-events form.

use serde_json::{Value, json};

/// One event for one client.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The first event of every stream: the client's id.
    Connected {
        /// The id to subscribe with and to reconnect as.
        client_id: String,
    },
    /// A record was created, changed or deleted.
    Record {
        /// The change's place in the change log: the SSE event id, for resuming.
        seq: i64,
        /// `{"action", "collection", "record"}`, already serialised.
        data: String,
    },
    /// The change log no longer covers the gap since the client's last event: it should
    /// reload what it shows.
    Reset,
    /// A message a function published on a channel.
    Message {
        /// `{"channel", "data"}`, already serialised.
        data: String,
    },
    /// Delivery ends: the identity is no longer valid.
    Error {
        /// The error code, as in the API's error envelope.
        code: &'static str,
        /// What happened.
        message: String,
    },
}

impl Event {
    /// A record event's data: `{"action", "collection", "record"}`, with `record` the
    /// record's JSON text as stored in the change log.
    pub fn record_data(action: &str, collection: &str, record_json: &str) -> String {
        format!(
            "{{\"action\":{},\"collection\":{},\"record\":{record_json}}}",
            Value::from(action),
            Value::from(collection)
        )
    }

    /// A channel message's data.
    pub fn message_data(channel: &str, data: &Value) -> String {
        json!({"channel": channel, "data": data}).to_string()
    }
}
