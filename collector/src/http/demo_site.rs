//! The demo advertiser site: `www/demo` on its own origin, so every SDK call in the demo is
//! cross-origin like a real tracking domain. Only `--demo-site` starts it.

use std::path::PathBuf;

use actix_web::{web, HttpRequest, HttpResponse};

use super::assets::serve_file;
use super::errors::ApiError;

pub struct DemoSite {
    pub dir: PathBuf,
    pub collector_url: String,
}

pub fn demo_site_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/config.js", web::get().to(config_js))
        .route(
            "/",
            web::get().to(|req: HttpRequest, site: web::Data<DemoSite>| async move {
                serve_file(&req, &site.dir, "index.html", "no-cache")
            }),
        )
        .route("/{name}", web::get().to(page));
}

/// Tells the pages where the tracking domain is.
async fn config_js(site: web::Data<DemoSite>) -> HttpResponse {
    let url = serde_json::to_string(&site.collector_url).unwrap_or_else(|_| "\"\"".into());
    HttpResponse::Ok()
        .insert_header(("Content-Type", "text/javascript; charset=utf-8"))
        .insert_header(("Cache-Control", "no-cache"))
        .body(format!("window.CLICKSTAMP_ENDPOINT = {url};\n"))
}

async fn page(req: HttpRequest, site: web::Data<DemoSite>, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    serve_file(&req, &site.dir, &name, "no-cache")
}
