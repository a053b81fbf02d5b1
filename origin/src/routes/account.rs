//! `GET /api/events`: the caller's own feed — what happened to their credentials
//! outside any workspace (`token:leaked` for a PAT a report ended). People only.

use axum::extract::{Query, State};
use axum::Json;

use crate::db::account_events;
use crate::db::events::Events;
use crate::db::with_client;
use crate::http::{AppError, AppResult, HumanCaller};
use crate::openapi::refusals;
use crate::refusal::Refusal;
use crate::routes::members::After;
use crate::state::AppState;

refusals! {
    AccountEventsRefusals = [Refusal::InvalidRequestBody => "a bad after"]
}

#[utoipa::path(
    get,
    path = "/api/events",
    tag = "tokens",
    operation_id = "list_account_events",
    params(("after" = Option<i64>, Query, description = "Only events after this id")),
    responses(
        (status = 200, description = "At most 100 of the caller's own events, in id order", body = Events),
        AccountEventsRefusals
    ),
    security(("pat" = []), ("session" = []), ("session_cookie" = []))
)]
pub async fn events(
    State(state): State<AppState>,
    caller: HumanCaller,
    Query(after): Query<After>,
) -> AppResult<Json<Events>> {
    let (user, after) = (caller.user_id, after.after.unwrap_or(0));
    let events = with_client(&state.pool, |db| {
        Box::pin(async move { account_events::after(db, user, after).await })
    })
    .await
    .map_err(AppError::from)?;
    Ok(Json(events))
}
