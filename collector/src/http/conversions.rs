//! `/conversion` (server-to-server postbacks and the SDK) and `/pixel.gif` (image pixels).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::errors::ApiError;
use super::{public_query, read_body, transparent_gif, visitor, AppState};
use crate::ids::TransactionId;
use crate::model::{Conversion, ConversionRejection};
use crate::params::{ConversionRequest, Query};
use crate::service::conversions::{record_conversion, ConversionContext};
use crate::service::now_ms;

/// Query parameters, then the form or JSON body of a POST.
fn conversion_query(req: &HttpRequest, body: &[u8]) -> Result<Query, ApiError> {
    let mut q = public_query(req)?;
    if body.is_empty() {
        return Ok(q);
    }
    let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    if content_type.starts_with("application/json") {
        let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, 1007, "invalid_json", format!("the body is not valid JSON: {e}"))
        })?;
        let object = value.as_object().ok_or_else(|| {
            ApiError::new(StatusCode::BAD_REQUEST, 1007, "invalid_json", "the body must be a JSON object")
        })?;
        for (name, value) in object {
            match value {
                serde_json::Value::String(s) => q.push(name, s),
                serde_json::Value::Number(n) => q.push(name, &n.to_string()),
                serde_json::Value::Null => {}
                _ => {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        1002,
                        "invalid_parameter",
                        format!("{name} must be a string or a number"),
                    ))
                }
            }
        }
    } else {
        // Form-encoded, or text/plain from `fetch` bodies that avoid a CORS preflight.
        q.extend(Query::parse(body)?);
    }
    Ok(q)
}

/// The tracking-domain cookie for the offer (or, without an offer, the newest one).
fn tracking_cookie(req: &HttpRequest, oid: Option<u64>) -> Option<TransactionId> {
    let header = req.headers().get("cookie")?.to_str().ok()?;
    let wanted = oid.map(|oid| format!("cs_tid_o_{oid}"));
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| match &wanted {
            Some(w) => name == w,
            None => name.starts_with("cs_tid_o_"),
        })
        .filter_map(|(_, value)| TransactionId::parse(value).ok())
        .max()
}

fn conversion_json(c: &Conversion) -> serde_json::Value {
    json!({
        "conversion_id": c.id.to_string(),
        "transaction_id": c.transaction_id.map(|t| t.to_string()).unwrap_or_default(),
        "status": c.status.as_str(),
        "error_code": c.error_code(),
        "error": c.error_message(),
    })
}

async fn process(req: &HttpRequest, state: &AppState, body: &[u8]) -> Result<Conversion, ApiError> {
    let q = conversion_query(req, body)?;
    let request = ConversionRequest::parse(&q)?;
    let ctx = ConversionContext {
        visitor: visitor(req, state),
        tracking_cookie: tracking_cookie(req, request.oid),
        now_ms: now_ms(),
    };
    let stored = record_conversion(&state.store, request, ctx).await?;
    state.metrics.conversion(&stored);
    Ok(stored)
}

pub async fn conversion(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(payload).await?;
    let stored = process(&req, &state, &body).await?;
    // Token failures are refusals of the sender, not verdicts on the conversion.
    let status = match stored.rejection {
        Some(ConversionRejection::BadVerificationToken | ConversionRejection::BrowserConversionsRefused) => {
            StatusCode::FORBIDDEN
        }
        _ => StatusCode::OK,
    };
    Ok(HttpResponse::build(status).insert_header(("Cache-Control", "no-store")).json(conversion_json(&stored)))
}

/// An image pixel always answers with the image: a broken image on a thank-you page helps
/// nobody. What happened is in the Conversion Report and the log.
pub async fn pixel(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Err(e) = process(&req, &state, &[]).await {
        tracing::info!(code = e.code, message = %e.message, "pixel conversion not recorded");
    }
    transparent_gif()
}
