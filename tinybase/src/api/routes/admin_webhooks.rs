//! `/api/admin/webhooks`: admins create, list, change and delete webhooks, read each
//! one's delivery log and send a delivery again.

use aide::axum::ApiRouter;
use aide::axum::routing::{get_with, post_with};
use axum::extract::State;
use axum::response::NoContent;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::Result;
use crate::api::AppState;
use crate::api::extract::{AdminUser, Json, Path, Query};
use crate::api::response::Created;
use crate::pagination::{Page, PageRequest};
use crate::webhooks::{Delivery, DeliveryAttempt, NewWebhook, Webhook, WebhookChanges};

/// The path of one webhook.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct WebhookPath {
    /// The webhook's id.
    pub id: String,
}

/// The path of one delivery of a webhook.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DeliveryPath {
    /// The webhook's id.
    pub id: String,
    /// The delivery's id (`delivery_id` in the log, `x-tinybase-delivery`).
    pub delivery_id: String,
}

async fn list(
    State(state): State<AppState>,
    _admin: AdminUser,
    Query(page): Query<PageRequest>,
) -> Result<axum::Json<Page<Webhook>>> {
    Ok(axum::Json(state.webhooks.list(page.resolve()?).await?))
}

async fn create(
    State(state): State<AppState>,
    _admin: AdminUser,
    Json(body): Json<NewWebhook>,
) -> Result<Created<Webhook>> {
    let webhook = state.webhooks.create(body).await?;
    tracing::info!(webhook = %webhook.id, url = %webhook.url, "webhook created");
    Ok(Created(webhook))
}

async fn read(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(path): Path<WebhookPath>,
) -> Result<axum::Json<Webhook>> {
    Ok(axum::Json(state.webhooks.get(&path.id).await?))
}

async fn update(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(path): Path<WebhookPath>,
    Json(body): Json<WebhookChanges>,
) -> Result<axum::Json<Webhook>> {
    let webhook = state.webhooks.update(&path.id, body).await?;
    Ok(axum::Json(webhook))
}

async fn delete(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(path): Path<WebhookPath>,
) -> Result<NoContent> {
    state.webhooks.delete(&path.id).await?;
    tracing::info!(webhook = %path.id, "webhook deleted");
    Ok(NoContent)
}

async fn deliveries(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(path): Path<WebhookPath>,
    Query(page): Query<PageRequest>,
) -> Result<axum::Json<Page<DeliveryAttempt>>> {
    Ok(axum::Json(
        state.webhooks.attempts(&path.id, page.resolve()?).await?,
    ))
}

async fn redeliver(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(path): Path<DeliveryPath>,
) -> Result<axum::Json<Delivery>> {
    let delivery = state
        .webhooks
        .redeliver(&path.id, &path.delivery_id)
        .await?;
    Ok(axum::Json(delivery))
}

const TAG: &str = "admin: webhooks";

/// The admin webhook routes.
pub fn routes() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route(
            "/api/admin/webhooks",
            get_with(list, |op| {
                op.tag(TAG)
                    .summary("List webhooks")
                    .description("Newest first. The secret is never shown.")
            })
            .post_with(create, |op| {
                op.tag(TAG).summary("Create a webhook").description(
                    "`url`: any http(s) URL. `collections`: existing collection names. \
                     `events`: any of `create`, `update`, `delete`. `secret` (16 to 256 \
                     characters) keys each delivery's `x-tinybase-signature`; it is \
                     write-only. The webhook gets the changes that commit from now on. \
                     422 lists every problem; nothing is stored then.",
                )
            }),
        )
        .api_route(
            "/api/admin/webhooks/{id}",
            get_with(read, |op| op.tag(TAG).summary("Get a webhook"))
                .patch_with(update, |op| {
                    op.tag(TAG).summary("Change a webhook").description(
                        "Omitted fields stay. A new `secret` signs every later attempt. \
                         Switched back on, a webhook gets only changes committed from \
                         then on.",
                    )
                })
                .delete_with(delete, |op| {
                    op.tag(TAG)
                        .summary("Delete a webhook")
                        .description("Its pending deliveries and its delivery log go with it.")
                }),
        )
        .api_route(
            "/api/admin/webhooks/{id}/deliveries",
            get_with(deliveries, |op| {
                op.tag(TAG).summary("List delivery attempts").description(
                    "Every attempt to deliver a change to this webhook, newest first, with \
                     the receiver's status (or why none came), the attempt number and its \
                     duration. Finished deliveries are kept a week.",
                )
            }),
        )
        .api_route(
            "/api/admin/webhooks/{id}/deliveries/{delivery_id}/redeliver",
            post_with(redeliver, |op| {
                op.tag(TAG).summary("Redeliver").description(
                    "Sends the delivery again now: the same body under the same delivery \
                     id, retried with backoff for another 24 hours if it fails.",
                )
            }),
        )
}
