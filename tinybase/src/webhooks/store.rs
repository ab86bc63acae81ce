//! Webhooks as stored: create, read, list, change and delete, with every check a webhook
//! must pass before it is saved. The secret is written here and read only by delivery:
//! [`Webhook`] has no field for it, so no response can carry it.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::changes::{self, ChangeAction};
use crate::collections::Service as Collections;
use crate::db::{Database, format_timestamp, now, parse_timestamp};
use crate::pagination::{Page, Pagination, newest_first};
use crate::{Error, FieldErrors, Result};

/// The longest webhook URL, in bytes.
const MAX_URL_BYTES: usize = 2048;
/// The shortest secret: anything shorter is guessable enough to forge signatures.
const MIN_SECRET_CHARS: usize = 16;
/// The longest secret.
const MAX_SECRET_CHARS: usize = 256;
/// The most collections one webhook may name.
const MAX_COLLECTIONS: usize = 100;
/// The events a webhook may name, for the API's schema.
const EVENT_PATTERN: &str = "^(create|update|delete)$";

/// A webhook as the API shows it (never with its secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Webhook {
    /// UUIDv7 of the webhook.
    pub id: String,
    /// Where deliveries are POSTed (`http` or `https`).
    pub url: String,
    /// The collections whose record changes it gets.
    pub collections: Vec<String>,
    /// The changes it gets: `create`, `update`, `delete`.
    pub events: Vec<String>,
    /// Inactive webhooks get nothing (not even what committed while they were inactive).
    pub is_active: bool,
    /// When it was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When it last changed (UTC).
    pub updated_at: DateTime<Utc>,
}

/// A webhook to create.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// An `http` or `https` URL (any host, loopback and private addresses included).
    pub url: String,
    /// Existing collections whose record changes it gets (1 to 100, no repeats).
    #[schemars(length(min = 1, max = MAX_COLLECTIONS), inner(length(min = 1)), extend("uniqueItems" = true))]
    pub collections: Vec<String>,
    /// Which changes it gets: `create`, `update`, `delete` (at least one, no repeats).
    #[schemars(length(min = 1), inner(regex(pattern = EVENT_PATTERN)), extend("uniqueItems" = true))]
    pub events: Vec<String>,
    /// The key of each delivery's HMAC-SHA256 signature (16 to 256 characters). Write-only:
    /// no response ever contains it, so keep a copy.
    #[schemars(length(min = MIN_SECRET_CHARS, max = MAX_SECRET_CHARS))]
    pub secret: String,
    /// Whether it gets deliveries (default true).
    #[serde(default = "active_by_default")]
    pub is_active: bool,
}

fn active_by_default() -> bool {
    true
}

/// Changes to a webhook; omitted fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookChanges {
    /// New URL.
    #[serde(default)]
    pub url: Option<String>,
    /// New collections (1 to 100, no repeats).
    #[serde(default)]
    #[schemars(length(min = 1, max = MAX_COLLECTIONS), inner(length(min = 1)), extend("uniqueItems" = true))]
    pub collections: Option<Vec<String>>,
    /// New events (at least one, no repeats).
    #[serde(default)]
    #[schemars(length(min = 1), inner(regex(pattern = EVENT_PATTERN)), extend("uniqueItems" = true))]
    pub events: Option<Vec<String>>,
    /// A new secret (rotation): later attempts, retries included, are signed with it.
    #[serde(default)]
    #[schemars(length(min = MIN_SECRET_CHARS, max = MAX_SECRET_CHARS))]
    pub secret: Option<String>,
    /// Switch it on or off. Switched back on, it gets only changes committed from then on.
    #[serde(default)]
    pub is_active: Option<bool>,
}

/// A webhook with what delivery needs and the API never shows.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) url: String,
    pub(crate) secret: String,
    pub(crate) is_active: bool,
    /// The collections whose changes it gets.
    pub(crate) collections: Vec<String>,
    /// The events it gets (`create`, `update`, `delete`).
    pub(crate) events: Vec<String>,
    /// Changes up to here committed before it was created or last re-activated.
    pub(crate) after_seq: i64,
    /// Changes up to here its worker has dealt with, as last stored.
    pub(crate) sent_seq: i64,
}

impl Target {
    /// Where its worker reads on from: past what it never gets and what was dealt with.
    pub(crate) fn read_from(&self) -> i64 {
        self.after_seq.max(self.sent_seq)
    }

    /// Whether `change` is one it gets (its seq aside).
    pub(crate) fn wants(&self, change: &changes::Change) -> bool {
        self.events.iter().any(|e| e == change.action.as_str())
            && self.collections.contains(&change.collection)
    }
}

const COLUMNS: &str = "id, url, collections, events, is_active, created_at, updated_at";

fn webhook_from_row(row: &Row<'_>) -> rusqlite::Result<Webhook> {
    let json = |index: usize, text: String| {
        serde_json::from_str(&text).map_err(|err| {
            rusqlite::Error::FromSqlConversionFailure(
                index,
                rusqlite::types::Type::Text,
                Box::new(err),
            )
        })
    };
    Ok(Webhook {
        id: row.get(0)?,
        url: row.get(1)?,
        collections: json(2, row.get(2)?)?,
        events: json(3, row.get(3)?)?,
        is_active: row.get(4)?,
        created_at: parse_timestamp(&row.get::<_, String>(5)?)?,
        updated_at: parse_timestamp(&row.get::<_, String>(6)?)?,
    })
}

/// Checks a URL: absolute, `http` or `https`, with a host, and not too long.
fn check_url(url: &str, problems: &mut FieldErrors) {
    if url.len() > MAX_URL_BYTES {
        problems.add("url", format!("must be at most {MAX_URL_BYTES} bytes"));
        return;
    }
    match oauth_http::Url::parse(url) {
        Err(err) => problems.add("url", format!("is not a URL: {err}")),
        Ok(parsed) if !matches!(parsed.scheme(), "http" | "https") => {
            problems.add("url", "must be an http or https URL");
        }
        Ok(parsed) if parsed.host_str().is_none_or(str::is_empty) => {
            problems.add("url", "must name a host");
        }
        Ok(_) => {}
    }
}

/// Checks the collection names: at least one, no repeats, each an existing collection.
fn check_collections(names: &[String], collections: &Collections, problems: &mut FieldErrors) {
    if names.is_empty() {
        problems.add("collections", "name at least one collection");
    } else if names.len() > MAX_COLLECTIONS {
        problems.add(
            "collections",
            format!("name at most {MAX_COLLECTIONS} collections"),
        );
    }
    for (index, name) in names.iter().enumerate() {
        if names[..index].contains(name) {
            problems.add(format!("collections.{index}"), "is listed twice");
        } else if collections.loaded(name).is_none() {
            problems.add(
                format!("collections.{index}"),
                format!("no collection named `{name}`"),
            );
        }
    }
}

/// Parses the event names: at least one, no repeats, each `create`, `update` or `delete`.
fn check_events(names: &[String], problems: &mut FieldErrors) -> Vec<String> {
    if names.is_empty() {
        problems.add("events", "name at least one of create, update, delete");
    }
    let mut events = Vec::new();
    for (index, name) in names.iter().enumerate() {
        let known = [
            ChangeAction::Create,
            ChangeAction::Update,
            ChangeAction::Delete,
        ]
        .iter()
        .any(|action| action.as_str() == name);
        if !known {
            problems.add(
                format!("events.{index}"),
                format!("unknown event `{name}` (expected create, update or delete)"),
            );
        } else if events.contains(name) {
            problems.add(format!("events.{index}"), "is listed twice");
        } else {
            events.push(name.clone());
        }
    }
    events
}

fn check_secret(secret: &str, problems: &mut FieldErrors) {
    let chars = secret.chars().count();
    if !(MIN_SECRET_CHARS..=MAX_SECRET_CHARS).contains(&chars) {
        problems.add(
            "secret",
            format!("must be {MIN_SECRET_CHARS} to {MAX_SECRET_CHARS} characters"),
        );
    }
}

fn get_in(conn: &Connection, id: &str) -> Result<Webhook> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM webhooks WHERE id = ?1"),
        [id],
        webhook_from_row,
    )
    .optional()?
    .ok_or_else(|| Error::not_found("no webhook with this id"))
}

/// Creates a webhook; it gets the changes that commit from now on.
///
/// # Errors
/// 422 listing every problem (URL, collections, events, secret).
pub(crate) async fn create(
    db: &Database,
    collections: &Collections,
    new: NewWebhook,
) -> Result<Webhook> {
    let mut problems = FieldErrors::default();
    check_url(&new.url, &mut problems);
    check_collections(&new.collections, collections, &mut problems);
    let events = check_events(&new.events, &mut problems);
    check_secret(&new.secret, &mut problems);
    problems.into_result("the webhook is not valid")?;
    let at = now();
    let webhook = Webhook {
        id: Uuid::now_v7().to_string(),
        url: new.url,
        collections: new.collections,
        events,
        is_active: new.is_active,
        created_at: at,
        updated_at: at,
    };
    let row = webhook.clone();
    let secret = new.secret;
    db.write(move |tx| {
        // Read inside the write: no change can commit between this and the insert.
        let after_seq = changes::latest_seq(tx)?;
        tx.execute(
            "INSERT INTO webhooks (id, url, collections, events, secret, is_active, after_seq,
                 created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
            params![
                row.id,
                row.url,
                serde_json::to_string(&row.collections)?,
                serde_json::to_string(&row.events)?,
                secret,
                row.is_active,
                after_seq,
                format_timestamp(at),
            ],
        )?;
        Ok(())
    })
    .await?;
    Ok(webhook)
}

/// One webhook.
///
/// # Errors
/// 404 when there is none with this id.
pub(crate) async fn get(db: &Database, id: &str) -> Result<Webhook> {
    let id = id.to_owned();
    db.read(move |conn| get_in(conn, &id)).await
}

/// A page of webhooks, newest first.
///
/// # Errors
/// Database errors.
pub(crate) async fn list(db: &Database, page: Pagination) -> Result<Page<Webhook>> {
    db.read(move |conn| newest_first(conn, "webhooks", COLUMNS, "1", &[], page, webhook_from_row))
        .await
}

/// Applies `changes` to a webhook; returns it as it now is.
///
/// # Errors
/// 404 when there is none with this id; 422 listing every problem.
pub(crate) async fn update(
    db: &Database,
    collections: &Collections,
    id: &str,
    changes: WebhookChanges,
) -> Result<Webhook> {
    let mut problems = FieldErrors::default();
    if let Some(url) = &changes.url {
        check_url(url, &mut problems);
    }
    if let Some(names) = &changes.collections {
        check_collections(names, collections, &mut problems);
    }
    let events = changes
        .events
        .as_ref()
        .map(|names| check_events(names, &mut problems));
    if let Some(secret) = &changes.secret {
        check_secret(secret, &mut problems);
    }
    problems.into_result("the webhook is not valid")?;
    let id = id.to_owned();
    db.write(move |tx| {
        let mut webhook = get_in(tx, &id)?;
        let reactivated = changes.is_active == Some(true) && !webhook.is_active;
        if let Some(url) = changes.url {
            webhook.url = url;
        }
        if let Some(names) = changes.collections {
            webhook.collections = names;
        }
        if let Some(events) = events {
            webhook.events = events;
        }
        if let Some(is_active) = changes.is_active {
            webhook.is_active = is_active;
        }
        webhook.updated_at = now();
        tx.execute(
            "UPDATE webhooks SET url = ?2, collections = ?3, events = ?4, is_active = ?5,
                 updated_at = ?6, secret = COALESCE(?7, secret)
             WHERE id = ?1",
            params![
                webhook.id,
                webhook.url,
                serde_json::to_string(&webhook.collections)?,
                serde_json::to_string(&webhook.events)?,
                webhook.is_active,
                format_timestamp(webhook.updated_at),
                changes.secret,
            ],
        )?;
        if reactivated {
            // What committed while it was off is not its business.
            tx.execute(
                "UPDATE webhooks SET after_seq = ?2 WHERE id = ?1",
                params![webhook.id, changes::latest_seq(tx)?],
            )?;
        }
        Ok(webhook)
    })
    .await
}

/// Deletes a webhook with its pending deliveries and its delivery log.
///
/// # Errors
/// 404 when there is none with this id.
pub(crate) async fn delete(db: &Database, id: &str) -> Result<()> {
    let id = id.to_owned();
    db.write(move |tx| {
        if tx.execute("DELETE FROM webhooks WHERE id = ?1", [&id])? == 0 {
            return Err(Error::not_found("no webhook with this id"));
        }
        Ok(())
    })
    .await
}

/// What delivery needs of one webhook, or `None` once it is deleted.
pub(crate) fn target(conn: &Connection, id: &str) -> Result<Option<Target>> {
    let row = conn
        .prepare_cached(
            "SELECT url, secret, is_active, collections, events, after_seq, sent_seq
             FROM webhooks WHERE id = ?1",
        )?
        .query_row([id], |row| {
            Ok((
                Target {
                    url: row.get(0)?,
                    secret: row.get(1)?,
                    is_active: row.get(2)?,
                    collections: Vec::new(),
                    events: Vec::new(),
                    after_seq: row.get(5)?,
                    sent_seq: row.get(6)?,
                },
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
            ))
        })
        .optional()?;
    let Some((mut target, collections, events)) = row else {
        return Ok(None);
    };
    target.collections = serde_json::from_str(&collections)?;
    target.events = serde_json::from_str(&events)?;
    Ok(Some(target))
}

/// The ids of every webhook.
pub(crate) fn all_ids(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT id FROM webhooks")?;
    let ids = stmt
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(ids)
}
