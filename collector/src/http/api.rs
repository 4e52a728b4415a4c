//! Admin authorisation for the management interface, and the partner-postback outbox API.
//! (Reports live in `reports.rs`, CRUD in `manage.rs`.)

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::errors::ApiError;
use super::AppState;
use crate::attribution::constant_time_eq;
use crate::ids::TimeId;
use crate::model::PostbackDelivery;
use crate::params::{ParamError, Query};

/// The bearer token of a request, if it sent one.
pub(super) fn bearer_token(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The token only ever travels in the Authorization header, never in a URL (URLs end up in
/// logs and browser history). Admin only: a partner-scoped API key is refused with 403.
pub(super) fn authorize(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    let given = bearer_token(req).ok_or_else(ApiError::unauthorized)?;
    if constant_time_eq(given.as_bytes(), state.admin_token.as_bytes()) {
        Ok(())
    } else if crate::service::keys::partner_of(&state.store, given)?.is_some() {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            1011,
            "forbidden",
            "a partner API key can read reports only; this needs the admin token",
        ))
    } else {
        Err(ApiError::unauthorized())
    }
}

fn integer(q: &Query, field: &'static str) -> Result<Option<u64>, ApiError> {
    q.get(field).map(|v| v.parse::<u64>().map_err(|_| ApiError::from(ParamError::NotAnInteger(field)))).transpose()
}

fn delivery_json(d: &PostbackDelivery) -> serde_json::Value {
    serde_json::json!({
        "id": d.id.to_string(),
        "conversion_id": d.conversion_id.to_string(),
        "partner_id": d.partner_id,
        "url": d.url,
        "attempts": d.attempts,
        "next_attempt_ms": d.next_attempt_ms,
        "status": d.status.as_str(),
        "last_error": d.last_error,
    })
}

/// The partner-postback outbox: deliveries still pending, and paused ones that gave up.
pub async fn postbacks(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let q = Query::parse(req.query_string().as_bytes())?;
    let status = q.get("status");
    if status.is_some_and(|s| s != "pending" && s != "paused") {
        return Err(ParamError::Invalid { field: "status", reason: "must be pending or paused" }.into());
    }
    let partner = integer(&q, "partner_id")?;
    let rows: Vec<serde_json::Value> = state
        .store
        .postbacks()?
        .iter()
        .filter(|d| status.is_none_or(|s| s == d.status.as_str()) && partner.is_none_or(|p| p == d.partner_id))
        .map(delivery_json)
        .collect();
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(serde_json::json!({ "rows": rows })))
}

/// Put a paused delivery back in line (after the partner fixed their endpoint).
pub async fn retry_postback(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let id = TimeId::parse(&id).map_err(|_| ApiError::not_found("no such postback delivery"))?;
    match state.store.retry_postback(id, crate::service::now_ms()).await? {
        Some(d) => Ok(HttpResponse::Ok().json(delivery_json(&d))),
        None => Err(ApiError::not_found("no such postback delivery (already delivered?)")),
    }
}

/// Prometheus text; scrape it with the admin token (`authorization: credentials` in Prometheus).
pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let rate_limited = state.click_limiter.as_ref().map_or(0, |l| l.refused.load(std::sync::atomic::Ordering::Relaxed));
    let body = state.metrics.render(&state.store.stats()?, rate_limited);
    Ok(HttpResponse::Ok()
        .insert_header(("Content-Type", "text/plain; version=0.0.4; charset=utf-8"))
        .insert_header(("Cache-Control", "no-store"))
        .body(body))
}
