//! Reports over HTTP: `/api/reports/summary|clicks|conversions` (JSON or CSV) and the
//! partner-scoped API keys that may read them (`/api/keys`).
//!
//! Reports accept the admin token or a partner key. A partner key sees only its partner's
//! rows: its `affid` filter is forced, and asking for another partner's rows is refused
//! with 403. Keys are managed with the admin token only.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::api::{authorize, bearer_token};
use super::errors::ApiError;
use super::{admin, read_body, AppState};
use crate::attribution::constant_time_eq;
use crate::ids::TimeId;
use crate::model::{ConversionStatus, PartnerId};
use crate::params::{ParamError, Query};
use crate::service::keys::{self, KeyError};
use crate::service::now_ms;
use crate::service::reports::{
    self, click_report, conversion_report, parse_time, RangeEnd, RowFilter, SummaryFilter, SummaryRequest, MAX_EXPORT,
    MAX_PAGE,
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(admin("/api/reports/summary").route(web::get().to(summary)))
        .service(admin("/api/reports/clicks").route(web::get().to(clicks)))
        .service(admin("/api/reports/conversions").route(web::get().to(conversions)))
        .service(admin("/api/keys").route(web::get().to(list_keys)).route(web::post().to(create_key)))
        .service(admin("/api/keys/{prefix}").route(web::delete().to(revoke_key)));
}

/// Who is reading a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reader {
    Admin,
    Partner(PartnerId),
}

/// The admin token or an active partner key, from the Authorization header (never a URL).
pub(super) fn authorize_reader(req: &HttpRequest, state: &AppState) -> Result<Reader, ApiError> {
    let given = bearer_token(req).ok_or_else(ApiError::unauthorized)?;
    if constant_time_eq(given.as_bytes(), state.admin_token.as_bytes()) {
        return Ok(Reader::Admin);
    }
    match keys::partner_of(&state.store, given)? {
        Some(partner) => Ok(Reader::Partner(partner)),
        None => Err(ApiError::unauthorized()),
    }
}

fn other_partner_refused(own: PartnerId) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        1012,
        "forbidden",
        format!("this API key reads partner {own}'s rows only; leave out affid or ask for affid={own}"),
    )
}

/// The `affid` filter a reader may use: a partner's own, whatever it asked for.
fn scoped_affid(reader: Reader, asked: Option<PartnerId>) -> Result<Option<PartnerId>, ApiError> {
    match (reader, asked) {
        (Reader::Admin, asked) => Ok(asked),
        (Reader::Partner(own), Some(asked)) if asked != own => Err(other_partner_refused(own)),
        (Reader::Partner(own), _) => Ok(Some(own)),
    }
}

fn integer(q: &Query, field: &'static str) -> Result<Option<u64>, ApiError> {
    q.get(field).map(|v| v.parse::<u64>().map_err(|_| ApiError::from(ParamError::NotAnInteger(field)))).transpose()
}

fn subs(q: &Query) -> [Option<String>; 5] {
    ["sub1", "sub2", "sub3", "sub4", "sub5"].map(|name| q.get(name).map(str::to_owned))
}

fn time(q: &Query, field: &'static str, end: RangeEnd) -> Result<Option<u64>, ApiError> {
    q.get(field)
        .map(|v| {
            parse_time(v, end).map_err(|_| {
                ApiError::from(ParamError::Invalid { field, reason: "must be an RFC 3339 time or a YYYY-MM-DD date" })
            })
        })
        .transpose()
}

fn check_range(from: u64, to: u64) -> Result<std::ops::Range<u64>, ApiError> {
    if from >= to {
        return Err(ParamError::Invalid { field: "to", reason: "must be later than from" }.into());
    }
    Ok(from..to)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
}

fn format(q: &Query) -> Result<Format, ApiError> {
    match q.get("format") {
        None | Some("json") => Ok(Format::Json),
        Some("csv") => Ok(Format::Csv),
        Some(_) => Err(ParamError::Invalid { field: "format", reason: "must be json or csv" }.into()),
    }
}

fn json(body: &impl Serialize) -> HttpResponse {
    HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(body)
}

fn csv(file_name: &str, body: String, next_cursor: Option<String>) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    response
        .insert_header(("Content-Type", "text/csv; charset=utf-8"))
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{file_name}\"")))
        .insert_header(("Cache-Control", "no-store"));
    // The next page of a long export: pass it back as `cursor`.
    if let Some(cursor) = next_cursor {
        response.insert_header(("X-Next-Cursor", cursor));
    }
    response.body(body)
}

fn csv_error(e: serde_json::Error) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, 1098, "internal", format!("cannot write CSV: {e}"))
}

// ---- summary ----

async fn summary(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let reader = authorize_reader(&req, &state)?;
    let q = Query::parse(req.query_string().as_bytes())?;
    let format = format(&q)?;
    let mut group_by = Vec::new();
    for name in q.get("group_by").unwrap_or("day").split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let dim = reports::Dimension::parse(name).ok_or(ParamError::Invalid {
            field: "group_by",
            reason: "takes day, hour, offer, partner, advertiser, sub1..sub5, source_id or event, comma-separated",
        })?;
        if !group_by.contains(&dim) {
            group_by.push(dim);
        }
    }
    if group_by.is_empty() {
        return Err(ParamError::Invalid { field: "group_by", reason: "needs at least one dimension" }.into());
    }
    let now = now_ms();
    let to = time(&q, "to", RangeEnd::To)?;
    let from = time(&q, "from", RangeEnd::From)?;
    let default = reports::last_seven_days(to.unwrap_or(now));
    let time_ms = check_range(from.unwrap_or(default.start), to.unwrap_or(default.end))?;
    let filter = SummaryFilter {
        oid: integer(&q, "oid")?,
        affid: scoped_affid(reader, integer(&q, "affid")?)?,
        advertiser_id: integer(&q, "advertiser_id")?,
        sub: subs(&q),
    };
    let store = state.store.clone();
    let request = SummaryRequest { group_by, time_ms, filter };
    // A scan of a busy range can take a while: off the async workers.
    let summary = web::block(move || reports::summary(&store, &request))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, 1098, "internal", e.to_string()))??;
    Ok(match format {
        Format::Json => json(&summary),
        Format::Csv => csv("summary.csv", reports::summary_csv(&summary), None),
    })
}

// ---- raw rows ----

struct Paging {
    filter: RowFilter,
    cursor: Option<TimeId>,
    limit: usize,
    format: Format,
}

fn paging(q: &Query, reader: Reader) -> Result<Paging, ApiError> {
    let format = format(q)?;
    let mut filter = RowFilter {
        oid: integer(q, "oid")?,
        affid: scoped_affid(reader, integer(q, "affid")?)?,
        sub: subs(q),
        ..RowFilter::default()
    };
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
    let (from, to) = (time(q, "from", RangeEnd::From)?, time(q, "to", RangeEnd::To)?);
    if from.is_some() || to.is_some() {
        filter.time_ms = Some(check_range(from.unwrap_or(0), to.unwrap_or(u64::MAX))?);
    }
    let cursor =
        q.get("cursor").map(TimeId::parse).transpose().map_err(|_| {
            ApiError::from(ParamError::Invalid { field: "cursor", reason: "must be a next_cursor value" })
        })?;
    let (default, max) = match format {
        Format::Json => (100, MAX_PAGE),
        Format::Csv => (10_000, MAX_EXPORT),
    };
    let limit = integer(q, "limit")?.unwrap_or(default).clamp(1, max as u64) as usize;
    Ok(Paging { filter, cursor, limit, format })
}

fn rows_response<T: Serialize>(
    page: reports::RowsPage<T>,
    format: Format,
    file_name: &str,
    empty: impl FnOnce() -> Result<String, serde_json::Error>,
) -> Result<HttpResponse, ApiError> {
    match format {
        Format::Json => Ok(json(&page)),
        Format::Csv => {
            let body = if page.rows.is_empty() { empty() } else { reports::rows_csv(&page.rows) }.map_err(csv_error)?;
            Ok(csv(file_name, body, page.next_cursor))
        }
    }
}

pub async fn clicks(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let reader = authorize_reader(&req, &state)?;
    let p = paging(&Query::parse(req.query_string().as_bytes())?, reader)?;
    let store = state.store.clone();
    let page = web::block(move || click_report(&store, &p.filter, p.cursor, p.limit))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, 1098, "internal", e.to_string()))??;
    rows_response(page, p.format, "clicks.csv", reports::click_header_csv)
}

pub async fn conversions(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let reader = authorize_reader(&req, &state)?;
    let p = paging(&Query::parse(req.query_string().as_bytes())?, reader)?;
    let store = state.store.clone();
    let page = web::block(move || conversion_report(&store, &p.filter, p.cursor, p.limit))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, 1098, "internal", e.to_string()))??;
    rows_response(page, p.format, "conversions.csv", reports::conversion_header_csv)
}

// ---- partner keys (admin only) ----

impl From<KeyError> for ApiError {
    fn from(e: KeyError) -> ApiError {
        match &e {
            KeyError::UnknownPartner(_) => ApiError {
                field: Some("partner_id".into()),
                ..ApiError::new(StatusCode::BAD_REQUEST, 1025, "unknown_reference", e.to_string())
            },
            KeyError::NotFound(_) => ApiError::not_found(e.to_string()),
            KeyError::MalformedPrefix => ApiError::not_found(e.to_string()),
            KeyError::Store(s) => s.clone().into(),
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateKey {
    partner_id: PartnerId,
}

async fn create_key(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let body = read_body(payload).await?;
    let CreateKey { partner_id } = serde_json::from_slice(&body).map_err(|e| ApiError {
        field: Some("partner_id".into()),
        ..ApiError::new(
            StatusCode::BAD_REQUEST,
            1020,
            "malformed_json",
            format!("expected {{\"partner_id\": <integer>}}: {e}"),
        )
    })?;
    let key = keys::create_key(&state.store, partner_id, now_ms()).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/keys/{}", key.prefix)))
        .insert_header(("Cache-Control", "no-store"))
        .json(key))
}

async fn list_keys(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    Ok(json(&serde_json::json!({ "rows": keys::list_keys(&state.store)? })))
}

async fn revoke_key(
    req: HttpRequest,
    state: web::Data<AppState>,
    prefix: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    Ok(json(&keys::revoke_key(&state.store, &prefix, now_ms()).await?))
}
