//! The HTTP layer: the only module that knows actix. Handlers parse the request, call one
//! service function and shape its result; they hold no rules of their own.

mod api;
mod assets;
mod conversions;
mod demo_site;
pub mod errors;
mod manage;
pub mod rate_limit;
mod reports;
mod tracking;

use std::net::SocketAddr;
use std::path::PathBuf;

use actix_web::http::Method;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

pub use demo_site::demo_site_routes;
use errors::ApiError;

use crate::filters::BotFilter;
use crate::metrics::{route_of, Metrics};
use crate::model::Visitor;
use crate::params::Query;
use crate::store::Store;
use rate_limit::ClickRateLimiter;

/// Largest request body accepted (a conversion postback is well under 4 KB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest query string accepted on a tracking URL.
pub const MAX_QUERY_BYTES: usize = 8 * 1024;

/// What every handler shares.
pub struct AppState {
    pub store: Store,
    pub admin_token: String,
    /// Root of the static files (`www/`): the SDK build lives in `www/sdk`.
    pub www_dir: PathBuf,
    /// Take the client IP from `X-Forwarded-For` (only behind a proxy you run).
    pub trust_proxy: bool,
    pub bots: BotFilter,
    /// `None` disables the per-IP limit on `/clk` and `/imp`.
    pub click_limiter: Option<ClickRateLimiter>,
    pub metrics: Metrics,
}

impl AppState {
    /// Defaults: no proxy trust, the maintained bot list, no rate limit.
    pub fn new(store: Store, admin_token: String, www_dir: PathBuf) -> AppState {
        AppState {
            store,
            admin_token,
            www_dir,
            trust_proxy: false,
            bots: BotFilter::default(),
            click_limiter: None,
            metrics: Metrics::default(),
        }
    }
}

/// The collector application: its routes, with every request counted for `/metrics`. Used by
/// the server and by the HTTP tests alike.
pub fn build_app(
    state: web::Data<AppState>,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    use actix_web::dev::Service;
    let counted = state.clone();
    App::new().app_data(state).configure(routes).wrap_fn(move |req, srv| {
        let route = route_of(req.path());
        let state = counted.clone();
        let response = srv.call(req);
        async move {
            let response = response.await?;
            state.metrics.request(route, response.status().as_u16());
            Ok(response)
        }
    })
}

/// All routes of the collector.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .service(admin("/metrics").route(web::get().to(api::metrics)))
        .service(public(web::resource("/clk").route(web::get().to(tracking::click))))
        .service(public(web::resource("/imp").route(web::get().to(tracking::impression))))
        .service(public(
            web::resource("/conversion")
                .route(web::get().to(conversions::conversion))
                .route(web::post().to(conversions::conversion)),
        ))
        .service(public(web::resource("/pixel.gif").route(web::get().to(conversions::pixel))))
        .service(public(web::resource("/sdk/{name}").route(web::get().to(assets::sdk))))
        .configure(reports::routes)
        .configure(assets::dashboard_routes)
        .service(admin("/api/postbacks").route(web::get().to(api::postbacks)))
        .service(admin("/api/postbacks/{id}/retry").route(web::post().to(api::retry_postback)))
        .configure(manage::routes)
        .default_service(web::to(not_found));
}

/// A tracking resource: CORS open (no credentials), preflight answered, other methods 405.
/// CORS is open on these alone (no credentials): the SDK calls them from advertisers' pages.
/// The management API and the dashboard stay same-origin.
fn public(resource: actix_web::Resource) -> impl actix_web::dev::HttpServiceFactory {
    resource
        .route(web::method(Method::OPTIONS).to(preflight))
        .default_service(web::to(|| async { Err::<HttpResponse, _>(ApiError::method_not_allowed()) }))
        .wrap(actix_web::middleware::DefaultHeaders::new().add(("Access-Control-Allow-Origin", "*")))
}

fn admin(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(|| async { Err::<HttpResponse, _>(ApiError::method_not_allowed()) }))
}

async fn preflight() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header(("Access-Control-Allow-Methods", "GET, POST, OPTIONS"))
        .insert_header(("Access-Control-Allow-Headers", "Content-Type"))
        .insert_header(("Access-Control-Max-Age", "86400"))
        .finish()
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found(format!("no route for {} {}", req.method(), req.path())))
}

/// The request body, refused with a JSON 413 past [`MAX_BODY_BYTES`].
pub(super) async fn read_body(mut payload: web::Payload) -> Result<web::BytesMut, ApiError> {
    use futures_util::StreamExt;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::new(actix_web::http::StatusCode::BAD_REQUEST, 1008, "unreadable_body", e.to_string())
        })?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ApiError::payload_too_large(MAX_BODY_BYTES));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn healthz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    // A read through the store proves the database answers.
    state.store.offer(0)?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(serde_json::json!({"status": "ok"})))
}

/// The query string of a tracking request, size-limited and decoded.
fn public_query(req: &HttpRequest) -> Result<Query, ApiError> {
    let raw = req.query_string();
    if raw.len() > MAX_QUERY_BYTES {
        return Err(ApiError::new(
            actix_web::http::StatusCode::URI_TOO_LONG,
            1052,
            "query_too_long",
            format!("the query string is longer than {MAX_QUERY_BYTES} bytes"),
        ));
    }
    Ok(Query::parse(raw.as_bytes())?)
}

fn header_text(req: &HttpRequest, name: &str, max_chars: usize) -> String {
    req.headers()
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).chars().filter(|c| !c.is_control()).take(max_chars).collect())
        .unwrap_or_default()
}

fn visitor(req: &HttpRequest, state: &AppState) -> Visitor {
    let ip = if state.trust_proxy {
        req.connection_info().realip_remote_addr().unwrap_or("").to_owned()
    } else {
        req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default()
    };
    Visitor { ip, user_agent: header_text(req, "user-agent", 512), referrer: header_text(req, "referer", 1024) }
}

/// The 1×1 transparent GIF pixels and impressions answer with.
fn transparent_gif() -> HttpResponse {
    const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff\x21\xf9\x04\x01\x00\x00\x00\x00\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b";
    HttpResponse::Ok()
        .insert_header(("Content-Type", "image/gif"))
        .insert_header(("Cache-Control", "no-store"))
        .body(GIF)
}

/// How to run the server.
pub struct ServerOptions {
    pub addr: SocketAddr,
    /// A second listener serving the demo advertiser site, and the collector URL it uses.
    pub demo_site: Option<(SocketAddr, String)>,
    pub workers: Option<usize>,
}

/// Run until SIGINT/SIGTERM; in-flight requests finish (actix's graceful shutdown).
pub async fn serve(state: AppState, options: ServerOptions) -> std::io::Result<()> {
    let www_dir = state.www_dir.clone();
    let state = web::Data::new(state);
    let mut server = HttpServer::new(move || build_app(state.clone()))
        .bind(options.addr)?
        // Slow or stuck clients are cut off instead of holding workers.
        .client_request_timeout(std::time::Duration::from_secs(5))
        .client_disconnect_timeout(std::time::Duration::from_secs(2))
        .shutdown_timeout(10);
    if let Some(workers) = options.workers {
        server = server.workers(workers);
    }
    let main = server.run();
    let demo = match options.demo_site {
        Some((addr, collector_url)) => {
            let site = web::Data::new(demo_site::DemoSite { dir: www_dir.join("demo"), collector_url });
            let server = HttpServer::new(move || App::new().app_data(site.clone()).configure(demo_site_routes))
                .workers(1)
                .bind(addr)?
                .run();
            let handle = server.handle();
            actix_web::rt::spawn(server);
            Some(handle)
        }
        None => None,
    };
    let result = main.await;
    if let Some(handle) = demo {
        handle.stop(true).await;
    }
    result
}
