//! The HTTP layer: the router, the error envelope, extractors and one file per route group.
//! Everything below this module is HTTP-agnostic; handlers translate between the two.

mod admin_ui;
mod collection_docs;
mod docs;
mod docs_page;
pub mod error;
mod event_streams;
pub mod extract;
mod fallback;
pub mod forward;
mod function_docs;
mod layers;
mod request_head;
mod request_id;
pub mod response;
pub mod routes;
pub(crate) mod serve;
mod slow_clients;
mod uploads;

use std::sync::Arc;

use aide::axum::ApiRouter;
use aide::openapi::{OpenApi, SecurityScheme};
use aide::transform::TransformOpenApi;
use axum::Router;
use axum::extract::FromRef;

pub use docs::ApiDocs;
pub use request_id::{MAX_REQUEST_ID_LEN, REQUEST_ID_HEADER};

use crate::api::extract::BEARER_SCHEME;
use crate::auth::oauth2::Providers as OAuth2Providers;
use crate::auth::{LoginRateLimiter, MailRateLimiter, RegistrationRateLimiter, Users};
use crate::collections::Service as Collections;
use crate::config::Settings;
use crate::db::Database;
use crate::functions::{Calls, Executor, FunctionCatalog};
use crate::mail::Mailer;
use crate::realtime::Realtime;
use crate::replication::Supervision;
use crate::scheduling::{SchedulerHandle, Schedules};
use crate::webhooks::Webhooks;

/// Everything a handler may need. Cheap to clone: handles share one [`Services`], so
/// the per-request clone axum makes of the state is one reference count, not one per
/// service.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// The services behind an [`AppState`].
pub struct Services {
    /// The database.
    pub db: Database,
    /// The settings the server started with.
    pub settings: Arc<Settings>,
    /// Login throttling.
    pub login_limiter: Arc<LoginRateLimiter>,
    /// Registration throttling.
    pub registration_limiter: Arc<RegistrationRateLimiter>,
    /// Throttling of requests that send mail.
    pub mail_limiter: Arc<MailRateLimiter>,
    /// Sends account mails; `None` without `mail.smtp_host`.
    pub mailer: Option<Mailer>,
    /// OAuth2 / OpenID Connect sign-in providers.
    pub oauth2: OAuth2Providers,
    /// Collections and records.
    pub collections: Collections,
    /// Runs functions.
    pub functions: Executor,
    /// Describes functions to clients.
    pub function_catalog: Arc<FunctionCatalog>,
    /// Schedules (changes wake the scheduler).
    pub schedules: Schedules,
    /// The function call history.
    pub calls: Calls,
    /// User accounts.
    pub users: Users,
    /// The served OpenAPI document.
    pub docs: ApiDocs,
    /// Realtime streams and their subscriptions.
    pub realtime: Realtime,
    /// The Litestream this server runs, when `[replication]` is set.
    pub replication: Supervision,
    /// Delivers record changes to webhooks.
    pub webhooks: Webhooks,
}

impl FromRef<AppState> for Database {
    fn from_ref(state: &AppState) -> Self {
        state.db.clone()
    }
}

impl AppState {
    /// State for a server over `db` with `settings`, the loaded `collections`, the
    /// function `executor` and the `mailer` (if mail is set up).
    pub fn new(
        db: Database,
        settings: Settings,
        collections: Collections,
        functions: Executor,
        mailer: Option<Mailer>,
    ) -> Self {
        let login_limiter = LoginRateLimiter::new(
            settings.auth.login_limit_per_email,
            settings.auth.login_limit_per_ip,
        );
        let registration_limiter =
            RegistrationRateLimiter::new(settings.auth.registration_limit_per_ip);
        let mail_limiter = MailRateLimiter::new(
            settings.auth.mail_limit_per_email,
            settings.auth.mail_limit_per_ip,
        );
        let oauth2 = OAuth2Providers::new(&settings.auth.oauth2);
        let docs = ApiDocs::default();
        let refreshed = docs.clone();
        // Rebuilt synchronously, so the response to a schema change already implies an
        // up-to-date document.
        collections.on_change(move |all| refreshed.refresh(all));
        let webhooks = Webhooks::new(db.clone(), collections.clone(), &settings.webhooks);
        let schedules = Schedules::new(db.clone(), functions.clone(), SchedulerHandle::default());
        let calls = Calls::new(db.clone());
        let users = Users::new(db.clone());
        Self(Arc::new(Services {
            webhooks,
            db,
            settings: Arc::new(settings),
            login_limiter: Arc::new(login_limiter),
            registration_limiter: Arc::new(registration_limiter),
            mail_limiter: Arc::new(mail_limiter),
            mailer,
            oauth2,
            collections,
            function_catalog: Arc::new(FunctionCatalog::new(functions.registry())),
            schedules,
            calls,
            users,
            realtime: functions.realtime().clone(),
            functions,
            docs,
            replication: Supervision::default(),
        }))
    }
}

/// Builds the complete router: every route, the OpenAPI document, fallbacks and middleware.
pub fn router(state: AppState) -> Router {
    aide::generate::extract_schemas(true);
    aide::generate::on_error(|err| tracing::warn!(%err, "OpenAPI generation"));
    let mut api = OpenApi::default();
    let routes = ApiRouter::new()
        .merge(routes::health::routes())
        .merge(routes::auth::routes())
        .merge(routes::accounts::routes())
        .merge(routes::mfa::routes())
        .merge(routes::oauth2::routes())
        .merge(routes::admin_users::routes())
        .merge(routes::collections::routes())
        .merge(routes::records::routes())
        .merge(routes::batch::routes())
        .merge(routes::files::routes())
        .merge(routes::functions::routes())
        .merge(routes::admin_functions::routes())
        .merge(routes::admin_hooks::routes())
        .merge(routes::admin_schedules::routes())
        .merge(routes::admin_backup::routes())
        .merge(routes::admin_replication::routes())
        .merge(routes::admin_webhooks::routes())
        .merge(routes::realtime::routes())
        .merge(routes::docs::routes())
        .merge(admin_ui::routes())
        .finish_api_with(&mut api, describe_api)
        .fallback(fallback::not_found)
        .method_not_allowed_fallback(fallback::method_not_allowed);
    match serde_json::to_value(&api) {
        Ok(mut base) => {
            function_docs::add_functions(&mut base, state.functions.registry());
            state.docs.set_base(base, &state.collections.all());
        }
        Err(err) => tracing::error!(%err, "cannot serialise the OpenAPI document"),
    }
    let settings = Arc::clone(&state.settings);
    layers::apply(routes.with_state(state), &settings)
}

fn describe_api(api: TransformOpenApi<'_>) -> TransformOpenApi<'_> {
    api.title("TinyBase API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "Auth, collections, functions and schedules. Send `Authorization: Bearer <token>` \
             (from `/api/auth/login`) to act as a user. Errors always have the shape \
             `{\"error\": {\"code\", \"message\", \"details\"}}`.",
        )
        .security_scheme(
            BEARER_SCHEME,
            SecurityScheme::Http {
                scheme: "bearer".to_owned(),
                bearer_format: Some("opaque token".to_owned()),
                description: Some("A token from /api/auth/login or /api/auth/register.".to_owned()),
                extensions: Default::default(),
            },
        )
}
