//! Why a filter or sort was rejected, and how that reaches a client.

use std::fmt;

use serde_json::json;

use crate::Error;

/// Why a filter or sort was rejected: a message and the character offset it points at.
///
/// The message is complete and meant for people: it says what is wrong, ends the first
/// clause with `at position N`, and may add a hint after a `;`, e.g.
/// "unknown field `ratng` at position 0; fields: title, rating, id, …". `position` is the
/// same offset for programs (a UI can put a caret under it); it counts characters, not
/// bytes, from 0, and equals the text's length when the problem is the end of the text.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryError {
    /// The human-readable explanation, including `at position N`.
    pub message: String,
    /// The character offset the error points at.
    pub position: usize,
}

impl QueryError {
    /// "`what` at position N".
    pub(crate) fn at(position: usize, what: impl fmt::Display) -> Self {
        Self {
            message: format!("{what} at position {position}"),
            position,
        }
    }

    /// Appends "; `hint`" to the message.
    pub(crate) fn hint(mut self, hint: impl fmt::Display) -> Self {
        self.message.push_str("; ");
        self.message.push_str(&hint.to_string());
        self
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for QueryError {}

impl From<QueryError> for Error {
    /// A 400 whose details carry `{"position": N}`.
    fn from(err: QueryError) -> Self {
        Error::bad_request(err.message).with_details(json!({ "position": err.position }))
    }
}

/// Shows user text inside an error message: quoted, invisible and control characters
/// escaped and long text shortened, so a message stays one readable line whatever was typed.
pub(crate) fn quote(text: &str) -> String {
    const MAX_CHARS: usize = 40;
    let mut shown: String = text
        .chars()
        .take(MAX_CHARS)
        .map(|c| match c {
            // Printable as they are; escaping them would only confuse.
            '\\' | '\'' | '"' => c.to_string(),
            _ => c.escape_debug().to_string(),
        })
        .collect();
    if text.chars().nth(MAX_CHARS).is_some() {
        shown.push('…');
    }
    format!("`{shown}`")
}
