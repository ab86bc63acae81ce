//! `/api/admin/schedules`: admins create, list, change and delete schedules.

use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use axum::extract::State;
use axum::response::NoContent;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::Result;
use crate::api::AppState;
use crate::api::extract::AdminUser;
use crate::api::extract::Path;
use crate::api::extract::{Json, Query};
use crate::api::response::Created;
use crate::pagination::{Page, PageRequest};
use crate::scheduling::{NewSchedule, Schedule, ScheduleChanges, ScheduleFilter};

/// Query parameters of the schedule list.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ScheduleListQuery {
    /// Page number, from 1 (default 1).
    #[schemars(range(min = 1, max = u32::MAX))]
    pub page: Option<u32>,
    /// Items per page (default 20, at most 500; larger values are clamped).
    #[schemars(range(min = 1, max = u32::MAX))]
    pub per_page: Option<u32>,
    /// Only schedules of this function.
    pub function_name: Option<String>,
    /// Only active (`true`) or inactive (`false`) schedules.
    pub is_active: Option<bool>,
}

/// The path of one schedule.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SchedulePath {
    /// The schedule's id.
    pub id: String,
}

async fn list(
    State(state): State<AppState>,
    _admin: AdminUser,
    Query(query): Query<ScheduleListQuery>,
) -> Result<axum::Json<Page<Schedule>>> {
    let page = PageRequest {
        page: query.page,
        per_page: query.per_page,
    }
    .resolve()?;
    let filter = ScheduleFilter {
        function_name: query.function_name,
        is_active: query.is_active,
    };
    Ok(axum::Json(state.schedules.list(filter, page).await?))
}

async fn create(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Json(body): Json<NewSchedule>,
) -> Result<Created<Schedule>> {
    let schedule = state.schedules.create(Some(&admin.id), body).await?;
    tracing::info!(schedule = %schedule.id, function = %schedule.function_name, "schedule created");
    Ok(Created(schedule))
}

async fn read(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(path): Path<SchedulePath>,
) -> Result<axum::Json<Schedule>> {
    Ok(axum::Json(state.schedules.get(&path.id).await?))
}

async fn update(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(path): Path<SchedulePath>,
    Json(body): Json<ScheduleChanges>,
) -> Result<axum::Json<Schedule>> {
    let schedule = state.schedules.update(&path.id, body).await?;
    Ok(axum::Json(schedule))
}

async fn delete(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(path): Path<SchedulePath>,
) -> Result<NoContent> {
    state.schedules.delete(&path.id).await?;
    Ok(NoContent)
}

const TAG: &str = "admin: schedules";

/// The admin schedule routes.
pub fn routes() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route(
            "/api/admin/schedules",
            get_with(list, |op| {
                op.tag(TAG)
                    .summary("List schedules")
                    .description("Newest first; filter by function and by active.")
            })
            .post_with(create, |op| {
                op.tag(TAG).summary("Create a schedule").description(
                    "`schedule` is `{method: once, date, time, timezone}`, \
                     `{method: interval, unit, value, timezone}` or \
                     `{method: cron, cron, timezone, description}`. The function must be \
                     registered and `input` must suit its input type (422 otherwise).",
                )
            }),
        )
        .api_route(
            "/api/admin/schedules/{id}",
            get_with(read, |op| op.tag(TAG).summary("Get a schedule"))
                .patch_with(update, |op| {
                    op.tag(TAG).summary("Change a schedule").description(
                        "A new timetable or re-activation computes the next run from now; \
                         `input: null` clears the input.",
                    )
                })
                .delete_with(delete, |op| op.tag(TAG).summary("Delete a schedule")),
        )
}
