//! The walking skeleton over HTTP: a click, its conversion, duplicates and bad input.

mod support;

use actix_web::test::{self, TestRequest};
use support::{get, json_of, Harness, TOKEN};

#[actix_web::test]
async fn json_click_then_conversion_then_duplicate() {
    let h = Harness::new().await;
    let app = h.app().await;

    let (status, click) =
        json_of(test::call_service(&app, get("/clk?oid=1&affid=2&sub1=spring&format=json").to_request()).await).await;
    assert_eq!(status, 200);
    let tid = click["transaction_id"].as_str().unwrap().to_owned();
    assert_eq!(tid.len(), 32);
    assert_eq!(click["oid"], 1);
    assert_eq!(click["aid"], 2);
    assert_eq!(click["advertiser_id"], 1);
    assert_eq!(click["session_duration"], 24);
    assert_eq!(click["error_code"], 0);

    let post = |body: String| {
        TestRequest::post()
            .uri("/conversion")
            .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
            .set_payload(body)
            .to_request()
    };
    let (status, first) =
        json_of(test::call_service(&app, post(format!("transaction_id={tid}&amount=49.90&order_id=A1"))).await).await;
    assert_eq!(status, 200);
    assert_eq!(first["status"], "approved");
    assert_eq!(first["transaction_id"], tid.as_str());
    assert_eq!(first["error_code"], 0);

    let (_, second) =
        json_of(test::call_service(&app, post(format!("transaction_id={tid}&amount=10&order_id=A2"))).await).await;
    assert_eq!(second["status"], "duplicate");
    assert_eq!(second["error_code"], 105);

    let (_, reused_order) =
        json_of(test::call_service(&app, post(format!("transaction_id={tid}&event=renewal&order_id=A1"))).await).await;
    assert_eq!(reused_order["status"], "duplicate");
    assert_eq!(reused_order["error_code"], 106);

    let req = get("/api/reports/conversions?affid=2&status=approved")
        .insert_header(("Authorization", format!("Bearer {TOKEN}")));
    let (status, report) = json_of(test::call_service(&app, req.to_request()).await).await;
    assert_eq!(status, 200);
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["transaction_id"], tid.as_str());
    assert_eq!(rows[0]["sub1"], "spring");
    assert_eq!(rows[0]["amount"], "49.90");
    assert_eq!(rows[0]["payout"], "5.00");
    assert_eq!(rows[0]["revenue"], "4.99");
}

#[actix_web::test]
async fn redirect_click_fills_macros_encoded_and_sets_the_tracking_cookie() {
    let h = Harness::new().await;
    let app = h.app().await;
    let resp = test::call_service(&app, get("/clk?oid=1&affid=1&sub1=a%26b%3Dc%20d&gclid=x%2Fy").to_request()).await;
    assert_eq!(resp.status().as_u16(), 302);
    let location = resp.headers().get("location").unwrap().to_str().unwrap().to_owned();
    let cookie = resp.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
    let tid = location.split("tid=").nth(1).unwrap().split('&').next().unwrap();
    assert_eq!(location, format!("https://shop.example/land?tid={tid}&a=1&s1=a%26b%3Dc%20d&g=x%2Fy"));
    assert!(cookie.starts_with(&format!("cs_tid_o_1={tid}; Max-Age=86400; Path=/")), "{cookie}");
    assert_eq!(h.click_count(), 1);
}

#[actix_web::test]
async fn bad_click_input_gets_a_json_400_and_stores_nothing() {
    let h = Harness::new().await;
    let app = h.app().await;
    for (uri, field) in [
        ("/clk?affid=1", "oid"),
        ("/clk?oid=1", "affid"),
        ("/clk?oid=abc&affid=1&format=json", "oid"),
        ("/clk?oid=1&affid=1.5", "affid"),
        ("/clk?oid=1&affid=-3", "affid"),
    ] {
        let (status, body) = json_of(test::call_service(&app, get(uri).to_request()).await).await;
        assert_eq!(status, 400, "{uri}");
        assert_eq!(body["field"], field, "{uri}");
        assert!(body["message"].as_str().unwrap().contains(field), "{uri}: {body}");
        assert!(body["error_code"].as_u64().unwrap() > 0);
    }
    let (status, body) = json_of(test::call_service(&app, get("/clk?oid=1&affid=1&sub1=%ff").to_request()).await).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_encoding")));
    assert_eq!(h.click_count(), 0);
}

#[actix_web::test]
async fn conversion_retry_with_the_same_idempotency_key_gets_the_same_answer() {
    let h = Harness::new().await;
    let app = h.app().await;
    let (_, click) = json_of(test::call_service(&app, get("/clk?oid=1&affid=1&format=json").to_request()).await).await;
    let tid = click["transaction_id"].as_str().unwrap();
    let uri = format!("/conversion?cookie_tid={tid}&amount=5&idempotency_key=abc123");
    let (_, first) = json_of(test::call_service(&app, get(&uri).to_request()).await).await;
    let (_, retry) = json_of(test::call_service(&app, get(&uri).to_request()).await).await;
    assert_eq!(first["status"], "approved");
    assert_eq!(first, retry);
    assert_eq!(h.conversion_count(), 1);
}

#[actix_web::test]
async fn reports_need_the_admin_token() {
    let h = Harness::new().await;
    let app = h.app().await;
    for auth in [None, Some("Bearer wrong"), Some("test-admin-token")] {
        let mut req = get("/api/reports/clicks");
        if let Some(a) = auth {
            req = req.insert_header(("Authorization", a));
        }
        let (status, body) = json_of(test::call_service(&app, req.to_request()).await).await;
        assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")), "{auth:?}");
    }
}

#[actix_web::test]
async fn unknown_routes_and_methods_answer_json() {
    let h = Harness::new().await;
    let app = h.app().await;
    let (status, body) = json_of(test::call_service(&app, get("/wp-admin").to_request()).await).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let req = TestRequest::delete().uri("/clk?oid=1&affid=1").to_request();
    let (status, body) = json_of(test::call_service(&app, req).await).await;
    assert_eq!((status, body["code"].as_str()), (405, Some("method_not_allowed")));
    assert_eq!(h.click_count(), 0);
}

#[actix_web::test]
async fn metrics_count_requests_clicks_and_conversions_for_the_admin_only() {
    let h = Harness::new().await;
    let app = h.app().await;
    let (_, click) = json_of(test::call_service(&app, get("/clk?oid=1&affid=1&format=json").to_request()).await).await;
    let tid = click["transaction_id"].as_str().unwrap();
    test::call_service(&app, get(&format!("/conversion?transaction_id={tid}")).to_request()).await;
    test::call_service(&app, get("/clk?oid=abc&affid=1").to_request()).await;

    let (status, _) = json_of(test::call_service(&app, get("/metrics").to_request()).await).await;
    assert_eq!(status, 401);
    let req = get("/metrics").insert_header(("Authorization", format!("Bearer {TOKEN}"))).to_request();
    let resp = test::call_service(&app, req).await;
    assert_eq!(resp.status().as_u16(), 200);
    let text = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    for line in [
        "clickstamp_http_requests_total{route=\"clk\",status=\"2xx\"} 1",
        "clickstamp_http_requests_total{route=\"clk\",status=\"4xx\"} 1",
        "clickstamp_clicks_total{result=\"valid\",reason=\"\"} 1",
        "clickstamp_conversions_total{status=\"approved\"} 1",
        "clickstamp_store_durable 1",
        "clickstamp_postback_outbox_depth 0",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
    assert!(text.contains("clickstamp_store_commit_seconds_count "));
}

#[actix_web::test]
async fn cors_is_open_on_tracking_endpoints_only() {
    let h = Harness::new().await;
    let app = h.app().await;
    let acao = |resp: &actix_web::dev::ServiceResponse<_>| {
        resp.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap().to_owned())
    };
    for uri in [
        "/clk?oid=1&affid=1&format=json",
        "/clk?oid=x&affid=1",
        "/imp?oid=1&affid=1",
        "/conversion?oid=1",
        "/pixel.gif",
    ] {
        let resp = test::call_service(&app, get(uri).to_request()).await;
        assert_eq!(acao(&resp).as_deref(), Some("*"), "{uri}");
    }
    let preflight = TestRequest::default().method(actix_web::http::Method::OPTIONS).uri("/conversion").to_request();
    let resp = test::call_service(&app, preflight).await;
    assert_eq!((resp.status().as_u16(), acao(&resp).as_deref()), (204, Some("*")));
    for uri in ["/api/reports/clicks", "/api/offers", "/metrics", "/nowhere"] {
        let req = get(uri).insert_header(("Authorization", format!("Bearer {TOKEN}"))).to_request();
        let resp = test::call_service(&app, req).await;
        assert_eq!(acao(&resp), None, "{uri} must stay same-origin");
    }
}
