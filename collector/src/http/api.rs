//! The management interface: bearer-token JSON API. Reports for now; CRUD grows here.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::errors::ApiError;
use super::AppState;
use crate::attribution::constant_time_eq;
use crate::ids::TimeId;
use crate::model::ConversionStatus;
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
