//! The events a realtime stream carries, and their server-sent-events form.

use bytes::Bytes;
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
        /// The whole event as sent (see [`Event::record_frame`]): built once per change
        /// and shared by every subscriber, so fan-out copies no bytes.
        frame: Bytes,
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
    /// A record event as sent: `id: <seq>`, `event: record` and the data
    /// `{"action", "collection", "record"}`, with `record` the record's JSON text as
    /// stored in the change log.
    pub fn record_frame(seq: i64, action: &str, collection: &str, record_json: &str) -> Bytes {
        let data = format!(
            "{{\"action\":{},\"collection\":{},\"record\":{record_json}}}",
            Value::from(action),
            Value::from(collection)
        );
        frame(Some(seq), "record", &data)
    }

    /// The event as sent on the stream.
    pub fn to_frame(&self) -> Bytes {
        match self {
            Event::Connected { client_id } => frame(
                None,
                "connected",
                &json!({"client_id": client_id}).to_string(),
            ),
            Event::Record { frame, .. } => frame.clone(),
            Event::Reset => frame(None, "reset", "{}"),
            Event::Message { data } => frame(None, "message", data),
            Event::Error { code, message } => frame(
                None,
                "error",
                &json!({"error": {"code": code, "message": message}}).to_string(),
            ),
        }
    }

    /// A channel message's data.
    pub fn message_data(channel: &str, data: &Value) -> String {
        json!({"channel": channel, "data": data}).to_string()
    }
}

/// One server-sent event: optional `id`, the event name, and `data` (one `data:` line per
/// line of it, as the format requires; compact JSON has none but one).
fn frame(id: Option<i64>, event: &str, data: &str) -> Bytes {
    let mut out = String::with_capacity(data.len() + event.len() + 32);
    if let Some(id) = id {
        out.push_str("id: ");
        out.push_str(&id.to_string());
        out.push('\n');
    }
    out.push_str("event: ");
    out.push_str(event);
    out.push('\n');
    for line in data.split('\n') {
        out.push_str("data: ");
        out.push_str(line.strip_suffix('\r').unwrap_or(line));
        out.push('\n');
    }
    out.push('\n');
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_framed_as_server_sent_events() {
        let record = Event::record_frame(7, "create", "posts", r#"{"id":"a"}"#);
        assert_eq!(
            record,
            "id: 7\nevent: record\ndata: {\"action\":\"create\",\"collection\":\"posts\",\
             \"record\":{\"id\":\"a\"}}\n\n"
        );
        assert_eq!(Event::Reset.to_frame(), "event: reset\ndata: {}\n\n");
        // Data with line breaks becomes several data lines, never a broken event.
        let message = Event::Message {
            data: "line one\nline two".to_owned(),
        };
        assert_eq!(
            message.to_frame(),
            "event: message\ndata: line one\ndata: line two\n\n"
        );
    }
}
