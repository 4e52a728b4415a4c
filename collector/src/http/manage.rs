//! The management API over HTTP: advertisers, partners, offers, coupons and tracking links.
//! Each handler authorises, reads the body or query, calls one `service::manage` function and
//! shapes the answer; the rules live in the service.

use std::borrow::Cow;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::api::authorize;
use super::errors::ApiError;
use super::{admin, read_body, AppState};
use crate::params::Query;
use crate::service::manage::{self, FieldProblem, LinkRequest, ManageError};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        admin("/api/advertisers").route(web::get().to(list_advertisers)).route(web::post().to(create_advertiser)),
    )
    .service(
        admin("/api/advertisers/{id}").route(web::get().to(get_advertiser)).route(web::put().to(update_advertiser)),
    )
    .service(admin("/api/partners").route(web::get().to(list_partners)).route(web::post().to(create_partner)))
    .service(admin("/api/partners/{id}").route(web::get().to(get_partner)).route(web::put().to(update_partner)))
    .service(admin("/api/offers").route(web::get().to(list_offers)).route(web::post().to(create_offer)))
    .service(admin("/api/offers/{id}").route(web::get().to(get_offer)).route(web::put().to(update_offer)))
    .service(admin("/api/coupons").route(web::get().to(list_coupons)).route(web::post().to(create_coupon)))
    .service(admin("/api/coupons/{code}").route(web::get().to(get_coupon)).route(web::put().to(update_coupon)))
    .service(admin("/api/links").route(web::get().to(links)));
}

impl From<ManageError> for ApiError {
    fn from(e: ManageError) -> ApiError {
        let (status, error_code, code, field) = match &e {
            ManageError::MalformedJson(_) => (StatusCode::BAD_REQUEST, 1020, "malformed_json", None),
            ManageError::Field { field, problem, .. } => {
                let (error_code, code) = match problem {
                    FieldProblem::Missing => (1021, "missing_field"),
                    FieldProblem::Unknown => (1022, "unknown_field"),
                    FieldProblem::WrongType => (1023, "wrong_type"),
                    FieldProblem::Invalid => (1024, "invalid_value"),
                    FieldProblem::UnknownReference => (1025, "unknown_reference"),
                };
                (StatusCode::BAD_REQUEST, error_code, code, Some(field.clone()))
            }
            ManageError::NotFound { field, .. } => (StatusCode::NOT_FOUND, 1040, "not_found", field.clone()),
            ManageError::Conflict { field, .. } => (StatusCode::CONFLICT, 1060, "conflict", Some(field.clone())),
            ManageError::Store(s) => return s.clone().into(),
        };
        ApiError { field: field.map(Cow::Owned), ..ApiError::new(status, error_code, code, e.to_string()) }
    }
}

fn json(status: StatusCode, body: &impl Serialize) -> HttpResponse {
    HttpResponse::build(status).insert_header(("Cache-Control", "no-store")).json(body)
}

fn created(location: String, body: &impl Serialize) -> HttpResponse {
    HttpResponse::Created()
        .insert_header(("Location", location))
        .insert_header(("Cache-Control", "no-store"))
        .json(body)
}

/// Lists answer `{"rows": [...]}`, like the reports.
fn rows<T: Serialize>(rows: Vec<T>) -> HttpResponse {
    #[derive(Serialize)]
    struct Rows<T> {
        rows: Vec<T>,
    }
    json(StatusCode::OK, &Rows { rows })
}

async fn body_of<T: serde::de::DeserializeOwned>(payload: web::Payload) -> Result<T, ApiError> {
    Ok(manage::parse_json(&read_body(payload).await?)?)
}

// ---- advertisers ----

async fn create_advertiser(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let advertiser = manage::create_advertiser(&state.store, body_of(payload).await?).await?;
    Ok(created(format!("/api/advertisers/{}", advertiser.id), &advertiser))
}

async fn list_advertisers(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    Ok(rows(manage::advertisers(&state.store)?))
}

async fn get_advertiser(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let id = manage::path_id("advertiser", &id)?;
    Ok(json(StatusCode::OK, &manage::advertiser(&state.store, id)?))
}

async fn update_advertiser(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let id = manage::path_id("advertiser", &id)?;
    let advertiser = manage::update_advertiser(&state.store, id, body_of(payload).await?).await?;
    Ok(json(StatusCode::OK, &advertiser))
}

// ---- partners ----

async fn create_partner(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let partner = manage::create_partner(&state.store, body_of(payload).await?).await?;
    Ok(created(format!("/api/partners/{}", partner.id), &partner))
}

async fn list_partners(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    Ok(rows(manage::partners(&state.store)?))
}

async fn get_partner(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let id = manage::path_id("partner", &id)?;
    Ok(json(StatusCode::OK, &manage::partner(&state.store, id)?))
}

async fn update_partner(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let id = manage::path_id("partner", &id)?;
    let partner = manage::update_partner(&state.store, id, body_of(payload).await?).await?;
    Ok(json(StatusCode::OK, &partner))
}

// ---- offers ----

async fn create_offer(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let offer = manage::create_offer(&state.store, body_of(payload).await?).await?;
    Ok(created(format!("/api/offers/{}", offer.id), &offer))
}

async fn list_offers(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    Ok(rows(manage::offers(&state.store)?))
}

async fn get_offer(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let id = manage::path_id("offer", &id)?;
    Ok(json(StatusCode::OK, &manage::offer(&state.store, id)?))
}

async fn update_offer(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let id = manage::path_id("offer", &id)?;
    let offer = manage::update_offer(&state.store, id, body_of(payload).await?).await?;
    Ok(json(StatusCode::OK, &offer))
}

// ---- coupons ----

async fn create_coupon(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let coupon = manage::create_coupon(&state.store, body_of(payload).await?).await?;
    Ok(created(format!("/api/coupons/{}", coupon.code), &coupon))
}

async fn list_coupons(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    Ok(rows(manage::coupons(&state.store)?))
}

async fn get_coupon(
    req: HttpRequest,
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    Ok(json(StatusCode::OK, &manage::coupon(&state.store, &code)?))
}

async fn update_coupon(
    req: HttpRequest,
    state: web::Data<AppState>,
    code: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let coupon = manage::update_coupon(&state.store, &code, body_of(payload).await?).await?;
    Ok(json(StatusCode::OK, &coupon))
}

// ---- links ----

async fn links(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let request = LinkRequest::parse(&Query::parse(req.query_string().as_bytes())?)?;
    // The collector as the caller reaches it (scheme and host of this request).
    let collector_url = {
        let info = req.connection_info();
        format!("{}://{}", info.scheme(), info.host())
    };
    Ok(json(StatusCode::OK, &manage::tracking_links(&state.store, &collector_url, &request)?))
}
