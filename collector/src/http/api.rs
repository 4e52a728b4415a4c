//! The management interface: bearer-token JSON API. Reports for now; CRUD grows here.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::errors::ApiError;
use super::AppState;
use crate::attribution::constant_time_eq;
use crate::ids::TimeId;
use crate::model::{ConversionStatus, PostbackDelivery};
use crate::params::{ParamError, Query};
use crate::service::reports::{click_report, conversion_report, RowFilter};

/// The token only ever travels in the Authorization header, never in a URL (URLs end up in
/// logs and browser history).
pub(super) fn authorize(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    let given = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(ApiError::unauthorized)?;
    if constant_time_eq(given.trim().as_bytes(), state.admin_token.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::unauthorized())
    }
}

fn integer(q: &Query, field: &'static str) -> Result<Option<u64>, ApiError> {
    q.get(field).map(|v| v.parse::<u64>().map_err(|_| ApiError::from(ParamError::NotAnInteger(field)))).transpose()
}

struct Paging {
    filter: RowFilter,
    cursor: Option<TimeId>,
    limit: usize,
}

fn paging(q: &Query) -> Result<Paging, ApiError> {
    let mut filter = RowFilter { oid: integer(q, "oid")?, affid: integer(q, "affid")?, ..RowFilter::default() };
    for (i, name) in ["sub1", "sub2", "sub3", "sub4", "sub5"].into_iter().enumerate() {
        filter.sub[i] = q.get(name).map(str::to_owned);
    }
    filter.status = match q.get("status") {
        None => None,
        Some("approved") => Some(ConversionStatus::Approved),
        Some("duplicate") => Some(ConversionStatus::Duplicate),
        Some("rejected") => Some(ConversionStatus::Rejected),
        Some("unattributed") => Some(ConversionStatus::Unattributed),
        Some(_) => {
            return Err(ParamError::Invalid {
                field: "status",
                reason: "must be approved, duplicate, rejected or unattributed",
            }
            .into())
        }
    };
    let cursor =
        q.get("cursor").map(TimeId::parse).transpose().map_err(|_| {
            ApiError::from(ParamError::Invalid { field: "cursor", reason: "must be a next_cursor value" })
        })?;
    let limit = integer(q, "limit")?.unwrap_or(100).clamp(1, 500) as usize;
    Ok(Paging { filter, cursor, limit })
}

pub async fn clicks(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let p = paging(&Query::parse(req.query_string().as_bytes())?)?;
    let page = click_report(&state.store, &p.filter, p.cursor, p.limit)?;
    Ok(HttpResponse::build(StatusCode::OK).insert_header(("Cache-Control", "no-store")).json(page))
}

pub async fn conversions(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let p = paging(&Query::parse(req.query_string().as_bytes())?)?;
    let page = conversion_report(&state.store, &p.filter, p.cursor, p.limit)?;
    Ok(HttpResponse::build(StatusCode::OK).insert_header(("Cache-Control", "no-store")).json(page))
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
