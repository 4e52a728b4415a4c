//! `/clk` and `/imp`: the click side of the tracking interface.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::errors::ApiError;
use super::{public_query, transparent_gif, visitor, AppState};
use crate::model::{ClickRejection, LinkKind, Visitor};
use crate::params::{ClickRequest, ParamError, Query};
use crate::service::clicks::{existing_click, track_click, track_impression, TrackedClick, VisitInput};
use crate::service::now_ms;

/// JSON for server-side clicks and the SDK; a redirect for links people click.
fn wants_json(req: &HttpRequest, q: &Query) -> bool {
    q.get("format") == Some("json")
        || q.get("async") == Some("json")
        || req
            .headers()
            .get("accept")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("application/json"))
}

fn click_json(t: &TrackedClick) -> serde_json::Value {
    let mut body = json!({
        "transaction_id": if t.rejection.is_none() { t.click.id.to_string() } else { String::new() },
        "oid": t.click.oid,
        "aid": t.click.affid,
        "advertiser_id": t.click.advertiser_id,
        "session_duration": t.session_hours(),
        "error_code": t.click.error_code,
    });
    if let Some(why) = t.rejection {
        body["message"] = why.message().into();
    }
    body
}

fn no_store_json(status: StatusCode, body: serde_json::Value) -> HttpResponse {
    HttpResponse::build(status).insert_header(("Cache-Control", "no-store")).json(body)
}

/// Refuse a visitor over the per-IP limit before anything is parsed or stored.
fn check_rate(state: &AppState, visitor: &Visitor) -> Result<(), ApiError> {
    let Some(limiter) = &state.click_limiter else { return Ok(()) };
    match visitor.ip.parse() {
        Ok(ip) if !limiter.allow(ip) => Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            1029,
            "rate_limited",
            "too many tracking requests from this IP address; slow down",
        )),
        _ => Ok(()),
    }
}

/// A server-side click reports the visitor it is made for with `user_ip` and `user_agent`;
/// the request itself comes from the advertiser's or partner's server.
fn server_side_visitor(q: &Query, mut visitor: Visitor) -> Result<Visitor, ApiError> {
    if let Some(ip) = q.get("user_ip") {
        let parsed: std::net::IpAddr = ip.parse().map_err(|_| {
            ApiError::from(ParamError::Invalid { field: "user_ip", reason: "must be an IPv4 or IPv6 address" })
        })?;
        visitor.ip = parsed.to_string();
    }
    if let Some(ua) = q.get("user_agent") {
        if ua.chars().count() > 512 || ua.chars().any(char::is_control) {
            return Err(ParamError::Invalid {
                field: "user_agent",
                reason: "must be at most 512 printable characters",
            }
            .into());
        }
        visitor.user_agent = ua.to_owned();
    }
    Ok(visitor)
}

pub async fn click(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let mut visitor = visitor(&req, &state);
    check_rate(&state, &visitor)?;
    let q = public_query(&req)?;
    let json = wants_json(&req, &q);
    let kind = match (q.get("kind"), json) {
        (Some("sdk"), _) => LinkKind::Sdk,
        (_, true) => LinkKind::ServerSide,
        (_, false) => LinkKind::Redirect,
    };
    if kind == LinkKind::ServerSide {
        visitor = server_side_visitor(&q, visitor)?;
    }
    let tracked = match ClickRequest::parse(&q)? {
        ClickRequest::Existing(tid) => {
            let found = existing_click(&state.store, &tid)?;
            let found = found.ok_or_else(|| {
                ApiError::new(StatusCode::NOT_FOUND, 1041, "unknown_transaction", "transaction ID not found")
            })?;
            return Ok(no_store_json(StatusCode::OK, click_json(&found)));
        }
        ClickRequest::New { oid, affid, params } => {
            let input = VisitInput { oid, affid, params, visitor, now_ms: now_ms() };
            let tracked = track_click(&state.store, &state.bots, input, kind).await?;
            state.metrics.click(tracked.click.error_code);
            tracked
        }
    };
    if json {
        return Ok(no_store_json(StatusCode::OK, click_json(&tracked)));
    }
    match (tracked.redirect_url(), tracked.rejection) {
        (Some(url), None) => {
            let max_age = u64::from(tracked.session_hours()) * 3600;
            // Third-party context (pixels) needs SameSite=None, which browsers accept only with Secure.
            let attributes =
                if req.connection_info().scheme() == "https" { "SameSite=None; Secure" } else { "SameSite=Lax" };
            let cookie = format!(
                "cs_tid_o_{}={}; Max-Age={max_age}; Path=/; HttpOnly; {attributes}",
                tracked.click.oid, tracked.click.id
            );
            Ok(HttpResponse::Found()
                .insert_header(("Location", url))
                .insert_header(("Set-Cookie", cookie))
                .insert_header(("Cache-Control", "no-store"))
                .finish())
        }
        (Some(fallback), Some(_)) => Ok(HttpResponse::Found()
            .insert_header(("Location", fallback))
            .insert_header(("Cache-Control", "no-store"))
            .finish()),
        (None, rejection) => {
            let why = rejection.unwrap_or(ClickRejection::UnknownOffer);
            Err(ApiError::new(StatusCode::NOT_FOUND, why.code(), "click_rejected", why.message()))
        }
    }
}

pub async fn impression(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let mut visitor = visitor(&req, &state);
    check_rate(&state, &visitor)?;
    let q = public_query(&req)?;
    let json = wants_json(&req, &q);
    let ClickRequest::New { oid, affid, params } = ClickRequest::parse(&q)? else {
        return Err(ApiError::from(ParamError::Missing("oid")));
    };
    if json && q.get("kind") != Some("sdk") {
        visitor = server_side_visitor(&q, visitor)?;
    }
    let input = VisitInput { oid, affid, params, visitor, now_ms: now_ms() };
    let tracked = track_impression(&state.store, &state.bots, input).await?;
    state.metrics.impression();
    if !json {
        return Ok(transparent_gif());
    }
    let mut body = json!({
        "transaction_id": if tracked.rejection.is_none() { tracked.impression.id.to_string() } else { String::new() },
        "oid": oid,
        "aid": affid,
        "advertiser_id": tracked.impression.advertiser_id,
        "session_duration": tracked.offer.as_ref().map_or(0, |o| o.view_through_hours),
        "error_code": tracked.impression.error_code,
    });
    if let Some(why) = tracked.rejection {
        body["message"] = why.message().into();
    }
    Ok(no_store_json(StatusCode::OK, body))
}
