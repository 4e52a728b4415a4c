//! The click side over HTTP: filtering, invalid clicks, duplicates, impressions, abuse.

mod support;

use actix_web::test::{self, TestRequest};
use clickstamp_collector::model::Offer;
use support::{get, json_of, Harness};

const CHROME: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

fn from(ip: &str, ua: Option<&str>, uri: &str) -> TestRequest {
    let req = TestRequest::get().uri(uri).peer_addr(format!("{ip}:40000").parse().unwrap());
    match ua {
        Some(ua) => req.insert_header(("User-Agent", ua)),
        None => req,
    }
}

#[actix_web::test]
async fn filtered_clicks_are_stored_invalid_with_their_reason() {
    let h = Harness::new().await;
    h.store.put_offer(Offer { blocked_ips: vec!["192.0.2.0/24".into()], ..support::offer(1, 1) }).await.unwrap();
    let app = h.app().await;
    let cases = [
        (
            from(
                "198.51.100.1",
                Some("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
                "/clk?oid=1&affid=1&format=json",
            ),
            4,
        ),
        (from("198.51.100.1", None, "/clk?oid=1&affid=1&format=json"), 5),
        (from("192.0.2.44", Some(CHROME), "/clk?oid=1&affid=1&format=json"), 6),
        (from("198.51.100.1", Some(CHROME), "/clk?oid=2&affid=1&format=json"), 2),
        (from("198.51.100.1", Some(CHROME), "/clk?oid=99&affid=1&format=json"), 1),
        (from("198.51.100.1", Some(CHROME), "/clk?oid=1&affid=99&format=json"), 3),
    ];
    for (i, (req, code)) in cases.into_iter().enumerate() {
        let (status, body) = json_of(test::call_service(&app, req.to_request()).await).await;
        assert_eq!(status, 200, "case {i}");
        assert_eq!(body["error_code"], code, "case {i}: {body}");
        assert_eq!(body["transaction_id"], "", "an invalid click gets no transaction ID");
        assert!(!body["message"].as_str().unwrap().is_empty());
    }
    let stored = h.store.clicks_page(None, 100, |_| true).unwrap().rows;
    assert_eq!(stored.len(), 6);
    assert!(stored.iter().all(|c| !c.is_valid() && !c.unique));
    let totals = h.store.counters(0, u32::MAX).unwrap();
    assert_eq!(totals.iter().map(|t| t.3.invalid_clicks).sum::<u64>(), 6);
    assert_eq!(totals.iter().map(|t| t.3.unique_clicks).sum::<u64>(), 0);
}

#[actix_web::test]
async fn a_filtered_redirect_click_goes_to_the_fallback_never_the_advertiser() {
    let h = Harness::new().await;
    let app = h.app().await;
    let req = from("198.51.100.1", Some("curl/8.4.0"), "/clk?oid=1&affid=1");
    let resp = test::call_service(&app, req.to_request()).await;
    assert_eq!(resp.status().as_u16(), 302);
    assert_eq!(resp.headers().get("location").unwrap(), "https://shop.example/sorry");
    assert!(resp.headers().get("set-cookie").is_none());
    // Unknown offer: no fallback to go to, so a JSON 404 with the click's error code.
    let (status, body) =
        json_of(test::call_service(&app, from("198.51.100.1", Some(CHROME), "/clk?oid=77&affid=1").to_request()).await)
            .await;
    assert_eq!((status, body["error_code"].as_u64()), (404, Some(1)));
    assert_eq!(h.click_count(), 2);
}

#[actix_web::test]
async fn repeat_clicks_inside_the_window_are_duplicates() {
    let h = Harness::new().await;
    let app = h.app().await;
    for _ in 0..3 {
        test::call_service(&app, from("198.51.100.1", Some(CHROME), "/clk?oid=1&affid=1&format=json").to_request())
            .await;
    }
    test::call_service(&app, from("198.51.100.2", Some(CHROME), "/clk?oid=1&affid=1&format=json").to_request()).await;
    test::call_service(&app, from("198.51.100.1", Some(CHROME), "/clk?oid=1&affid=2&format=json").to_request()).await;
    let clicks = h.store.clicks_page(None, 100, |_| true).unwrap().rows;
    assert_eq!(clicks.iter().filter(|c| c.unique).count(), 3);
    assert_eq!(clicks.iter().filter(|c| c.is_valid() && !c.unique).count(), 2);
}

#[actix_web::test]
async fn no_parameter_can_choose_the_destination() {
    let h = Harness::new().await;
    let app = h.app().await;
    for uri in [
        "/clk?oid=1&affid=1&uid=https://evil.example/",
        "/clk?oid=1&affid=1&uid=summer%2F..%2F..%2Fevil",
        "/clk?oid=1&affid=1&sub1=%2F%2Fevil.example%2F&url=https://evil.example",
        "/clk?oid=1&affid=1&sub1=x%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    ] {
        let resp = test::call_service(&app, get(uri).to_request()).await;
        assert_eq!(resp.status().as_u16(), 302, "{uri}");
        let location = resp.headers().get("location").unwrap().to_str().unwrap();
        assert!(location.starts_with("https://shop.example/land?tid="), "{uri} -> {location}");
        assert!(
            !location.contains("evil.example/") && !location.contains('<') && !location.contains('"'),
            "{location}"
        );
    }
    let resp = test::call_service(&app, get("/clk?oid=1&affid=1&uid=summer").to_request()).await;
    assert!(resp.headers().get("location").unwrap().to_str().unwrap().starts_with("https://shop.example/summer?tid="));
}

#[actix_web::test]
async fn hostile_input_gets_a_clear_error_and_stores_nothing() {
    let h = Harness::new().await;
    let app = h.app().await;
    let huge = "x".repeat(300);
    let cases: Vec<(String, u16, &str)> = vec![
        (format!("/clk?oid=1&affid=1&sub1={huge}"), 400, "parameter_too_long"),
        (format!("/clk?oid=1&affid=1&sub1={}", "y".repeat(9000)), 414, "query_too_long"),
        ("/clk?oid=1&affid=1&sub2=%C0%AF".into(), 400, "invalid_encoding"),
        ("/clk?oid=1&affid=1&sub2=%E0%A4".into(), 400, "invalid_encoding"),
        ("/clk?oid=1&affid=1&sub3=%".into(), 400, "invalid_encoding"),
        ("/clk?oid=1&affid=1&idfa=1234".into(), 400, "invalid_parameter"),
        ("/clk?oid=1&affid=1&sub1=a%00b".into(), 400, "invalid_parameter"),
        ("/clk?oid=1%20OR%201=1&affid=1".into(), 400, "invalid_parameter"),
        ("/clk?oid=1&affid=1&format=json&user_ip=not-an-ip".into(), 400, "invalid_parameter"),
        ("/imp?affid=1".into(), 400, "missing_parameter"),
    ];
    for (uri, status, code) in cases {
        let (got, body) = json_of(test::call_service(&app, get(&uri).to_request()).await).await;
        assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{}", &uri[..uri.len().min(60)]);
    }
    assert_eq!(h.click_count(), 0);
    assert!(h.store.counters(0, u32::MAX).unwrap().is_empty());
}

#[actix_web::test]
async fn server_side_clicks_report_the_visitor_they_are_made_for() {
    let h = Harness::new().await;
    let app = h.app().await;
    let uri = "/clk?oid=1&affid=1&format=json&user_ip=198.51.100.77&user_agent=Mozilla%2F5.0%20(iPhone)";
    let req = from("10.1.1.1", Some("python-requests/2.31"), uri);
    let (status, body) = json_of(test::call_service(&app, req.to_request()).await).await;
    assert_eq!((status, body["error_code"].as_u64()), (200, Some(0)));
    let click = &h.store.clicks_page(None, 1, |_| true).unwrap().rows[0];
    assert_eq!(click.visitor.ip, "198.51.100.77");
    assert_eq!(click.visitor.user_agent, "Mozilla/5.0 (iPhone)");
}

#[actix_web::test]
async fn impressions_answer_a_gif_or_json() {
    let h = Harness::new().await;
    let app = h.app().await;
    let resp = test::call_service(&app, get("/imp?oid=1&affid=1&sub1=banner").to_request()).await;
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers().get("content-type").unwrap(), "image/gif");
    assert!(test::read_body(resp).await.starts_with(b"GIF89a"));
    let (status, body) =
        json_of(test::call_service(&app, get("/imp?oid=1&affid=2&format=json").to_request()).await).await;
    assert_eq!((status, body["error_code"].as_u64()), (200, Some(0)));
    let id = clickstamp_collector::ids::TimeId::parse(body["transaction_id"].as_str().unwrap()).unwrap();
    let stored = h.store.impression(&id).unwrap().unwrap();
    assert_eq!((stored.oid, stored.affid), (1, 2));
    let totals = h.store.counters(0, u32::MAX).unwrap();
    assert_eq!(totals.iter().map(|t| t.3.impressions).sum::<u64>(), 2);
}

#[actix_web::test]
async fn the_rate_limit_refuses_floods_without_storing_them() {
    use clickstamp_collector::http::rate_limit::ClickRateLimiter;
    use std::num::NonZeroU32;
    let h = Harness::new().await;
    let app = h
        .app_with(|state| {
            state.click_limiter = Some(ClickRateLimiter::new(NonZeroU32::new(1).unwrap(), NonZeroU32::new(5).unwrap()))
        })
        .await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let resp =
            test::call_service(&app, from("198.51.100.9", Some(CHROME), "/clk?oid=1&affid=1&format=json").to_request())
                .await;
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 5);
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 3);
    let other =
        test::call_service(&app, from("198.51.100.10", Some(CHROME), "/clk?oid=1&affid=1&format=json").to_request())
            .await;
    assert_eq!(other.status().as_u16(), 200);
    // Conversions are never limited: an advertiser's server sends them from one IP.
    for _ in 0..10 {
        let resp = test::call_service(&app, from("198.51.100.9", Some(CHROME), "/conversion?oid=1").to_request()).await;
        assert_eq!(resp.status().as_u16(), 200);
    }
    assert_eq!(h.click_count(), 6);
}
