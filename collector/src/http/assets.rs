//! Static files: the SDK (`/sdk/*`) on the tracking domain, and the demo advertiser site.

use std::path::{Path, PathBuf};

use actix_web::{web, HttpRequest, HttpResponse};

use super::errors::ApiError;
use super::AppState;

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ts" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// A file name is served only if it is a plain name: no separators, no dot-files.
fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
}

/// Serve `dir/name`, pre-compressed `name.gz` when the client accepts gzip.
pub fn serve_file(req: &HttpRequest, dir: &Path, name: &str, cache: &str) -> Result<HttpResponse, ApiError> {
    if !safe_name(name) {
        return Err(ApiError::not_found("no such file"));
    }
    let path: PathBuf = dir.join(name);
    let accepts_gzip = req
        .headers()
        .get("accept-encoding")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let gz = path.with_file_name(format!("{name}.gz"));
    let mut response = HttpResponse::Ok();
    response
        .insert_header(("Content-Type", content_type(name)))
        .insert_header(("Cache-Control", cache.to_owned()))
        .insert_header(("Vary", "Accept-Encoding"))
        .insert_header(("X-Content-Type-Options", "nosniff"));
    if accepts_gzip {
        if let Ok(bytes) = std::fs::read(&gz) {
            return Ok(response.insert_header(("Content-Encoding", "gzip")).body(bytes));
        }
    }
    match std::fs::read(&path) {
        Ok(bytes) => Ok(response.body(bytes)),
        Err(_) => Err(ApiError::not_found(format!("{name} not found"))),
    }
}

pub async fn sdk(
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    // Not content-hashed names: short cache so a new SDK reaches pages within minutes.
    serve_file(&req, &state.www_dir.join("sdk"), &name, "public, max-age=300")
}

/// The dashboard: `/` and `/dashboard` lead to it, `/dashboard/` is its page, and its files
/// are served from `www/dashboard/`.
pub fn dashboard_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(to_dashboard))
        .route("/dashboard", web::get().to(to_dashboard))
        .route("/dashboard/", web::get().to(dashboard_index))
        .route("/dashboard/{file}", web::get().to(dashboard_file));
}

async fn to_dashboard() -> HttpResponse {
    HttpResponse::Found().insert_header(("Location", "/dashboard/")).finish()
}

async fn dashboard_index(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    dashboard(&req, &state, "index.html")
}

async fn dashboard_file(
    req: HttpRequest,
    state: web::Data<AppState>,
    file: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    dashboard(&req, &state, &file)
}

fn dashboard(req: &HttpRequest, state: &AppState, name: &str) -> Result<HttpResponse, ApiError> {
    // Revalidate every time: the page and its script must change together.
    let mut response = serve_file(req, &state.www_dir.join("dashboard"), name, "no-cache")?;
    let headers = response.headers_mut();
    use actix_web::http::header::{HeaderName, HeaderValue};
    // Everything the dashboard loads is its own: no inline script, no other origin.
    headers.insert(
        HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    );
    headers.insert(HeaderName::from_static("referrer-policy"), HeaderValue::from_static("no-referrer"));
    headers.remove("access-control-allow-origin");
    Ok(response)
}
