//! The management API over HTTP: set a partner up from nothing, then every validation rule,
//! conflicts, unknown IDs and authorisation — and that refused requests store nothing.

mod support;

use actix_web::test::{self, TestRequest};
use serde_json::{json, Value};
use support::{get, json_of, Harness, TOKEN};

fn authed(req: TestRequest) -> TestRequest {
    req.insert_header(("Authorization", format!("Bearer {TOKEN}")))
}

fn post(uri: &str, body: &Value) -> TestRequest {
    authed(TestRequest::post().uri(uri)).set_json(body)
}

fn put(uri: &str, body: &Value) -> TestRequest {
    authed(TestRequest::put().uri(uri)).set_json(body)
}

fn raw(method: &str, uri: &str, body: &str) -> TestRequest {
    let req = match method {
        "POST" => TestRequest::post(),
        "PUT" => TestRequest::put(),
        _ => TestRequest::get(),
    };
    authed(req.uri(uri)).insert_header(("Content-Type", "application/json")).set_payload(body.to_owned())
}

/// Everything the management API can change, for "nothing was stored" checks.
fn config_snapshot(h: &Harness) -> String {
    let s = &h.store;
    format!(
        "{:?}{:?}{:?}{:?}",
        s.advertisers().unwrap(),
        s.partners().unwrap(),
        s.offers().unwrap(),
        s.coupons().unwrap()
    )
}

#[actix_web::test]
async fn a_partner_set_up_entirely_through_the_api_gets_working_links() {
    let h = Harness::new().await;
    let app = h.app().await;

    let resp = test::call_service(&app, post("/api/advertisers", &json!({"name": "Garden Shop"})).to_request()).await;
    let location = resp.headers().get("location").unwrap().to_str().unwrap().to_owned();
    let (status, advertiser) = json_of(resp).await;
    assert_eq!(status, 201);
    let aid = advertiser["id"].as_u64().unwrap();
    assert_eq!(location, format!("/api/advertisers/{aid}"));
    assert_eq!(advertiser, json!({"id": aid, "name": "Garden Shop", "verification_token": null}));

    let offer_body = json!({
        "advertiser_id": aid,
        "name": "Seeds — spring",
        "destination_url": "https://garden.example/welcome?cs_tid={transaction_id}&s={sub1}&utm_source=aff",
        "events": [
            {"name": "", "payout": "5.00", "revenue": "10", "revenue_type": "percent"},
            {"name": "signup", "payout": "0.5", "allow_duplicates": false}
        ],
        "blocked_ips": ["198.51.100.0/24"]
    });
    let resp = test::call_service(&app, post("/api/offers", &offer_body).to_request()).await;
    let location = resp.headers().get("location").unwrap().to_str().unwrap().to_owned();
    let (status, offer) = json_of(resp).await;
    assert_eq!(status, 201, "{offer}");
    let oid = offer["id"].as_u64().unwrap();
    assert_eq!(location, format!("/api/offers/{oid}"));
    assert_eq!(offer["status"], "active");
    assert_eq!(offer["session_hours"], 720);
    assert_eq!(offer["duplicate_click_window_secs"], 86_400);
    assert_eq!(
        offer["events"][0],
        json!({"name": "", "payout": "5.00", "payout_type": "fixed", "revenue": "10.00", "revenue_type": "percent", "allow_duplicates": false})
    );
    assert_eq!(offer["events"][1]["payout"], "0.50");

    let partner_body = json!({
        "name": "Green Blog",
        "postbacks": [{"url": "https://blog.example/pb?t={transaction_id}", "offer_id": oid, "event": ""}]
    });
    let (status, partner) =
        json_of(test::call_service(&app, post("/api/partners", &partner_body).to_request()).await).await;
    assert_eq!(status, 201, "{partner}");
    let affid = partner["id"].as_u64().unwrap();
    assert_eq!(partner["postbacks"][0]["offer_id"], oid);

    let coupon_body =
        json!({"code": "SPRING25", "offer_id": oid, "partner_id": affid, "valid_until_ms": 4_102_444_800_000u64});
    let resp = test::call_service(&app, post("/api/coupons", &coupon_body).to_request()).await;
    assert_eq!(resp.headers().get("location").unwrap(), "/api/coupons/spring25");
    let (status, coupon) = json_of(resp).await;
    assert_eq!(status, 201, "{coupon}");
    assert_eq!(coupon["code"], "spring25");

    // Reads give back what was stored, by ID and in lists.
    for (uri, expected) in [
        (format!("/api/advertisers/{aid}"), &advertiser),
        (format!("/api/offers/{oid}"), &offer),
        (format!("/api/partners/{affid}"), &partner),
        ("/api/coupons/Spring25".to_owned(), &coupon),
    ] {
        let (status, body) = json_of(test::call_service(&app, authed(get(&uri)).to_request()).await).await;
        assert_eq!((status, &body), (200, expected), "{uri}");
    }
    for (uri, id_field, id) in [
        ("/api/offers", "id", json!(oid)),
        ("/api/partners", "id", json!(affid)),
        ("/api/coupons", "code", json!("spring25")),
    ] {
        let (status, body) = json_of(test::call_service(&app, authed(get(uri)).to_request()).await).await;
        assert_eq!(status, 200);
        assert!(body["rows"].as_array().unwrap().iter().any(|r| r[id_field] == id), "{uri}: {body}");
    }
    assert_eq!(h.store.offer(oid).unwrap().unwrap().blocked_ips, vec!["198.51.100.0/24"]);

    // Links for the new offer and partner.
    let uri = format!("/api/links?oid={oid}&affid={affid}&sub1=spring%20mail&source_id=nl");
    let (status, links) = json_of(test::call_service(&app, authed(get(&uri)).to_request()).await).await;
    assert_eq!(status, 200, "{links}");
    let query = format!("oid={oid}&affid={affid}&sub1=spring%20mail&source_id=nl");
    let redirect = links["redirect_link"].as_str().unwrap();
    assert_eq!(redirect, format!("http://localhost:8080/clk?{query}"));
    assert_eq!(links["direct_link"], format!("https://garden.example/welcome?utm_source=aff&{query}"));
    assert_eq!(links["offer_status"], "active");

    // The redirect link counts a click and sends the visitor on with the transaction ID.
    let path = redirect.strip_prefix("http://localhost:8080").unwrap();
    let resp = test::call_service(&app, get(path).to_request()).await;
    assert_eq!(resp.status().as_u16(), 302);
    let target = resp.headers().get("location").unwrap().to_str().unwrap().to_owned();
    let tid = target.split("cs_tid=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    assert_eq!(tid.len(), 32);
    assert_eq!(target, format!("https://garden.example/welcome?cs_tid={tid}&s=spring%20mail&utm_source=aff"));

    // A server-side click on the same link answers JSON.
    let (status, click) =
        json_of(test::call_service(&app, get(&format!("{path}&format=json")).to_request()).await).await;
    assert_eq!(status, 200);
    assert_eq!((click["error_code"].as_u64(), click["advertiser_id"].as_u64()), (Some(0), Some(aid)));
    let json_tid = click["transaction_id"].as_str().unwrap().to_owned();

    let report_uri = format!("/api/reports/clicks?oid={oid}&affid={affid}");
    let (status, report) = json_of(test::call_service(&app, authed(get(&report_uri)).to_request()).await).await;
    assert_eq!(status, 200);
    let tids: Vec<&str> =
        report["rows"].as_array().unwrap().iter().map(|r| r["transaction_id"].as_str().unwrap()).collect();
    assert_eq!(tids, vec![json_tid.as_str(), tid.as_str()]);
    assert!(report["rows"].as_array().unwrap().iter().all(|r| r["sub1"] == "spring mail" && r["source_id"] == "nl"));

    // The coupon credits its partner when a conversion carries it (any case) and no click.
    let conversion = format!("/conversion?oid={oid}&coupon_code=Spring25&amount=20&order_id=C1");
    let (status, answer) = json_of(test::call_service(&app, get(&conversion).to_request()).await).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("approved")), "{answer}");
    let stored = &h.store.conversions_page(None, 1, |_| true).unwrap().rows[0];
    assert_eq!((stored.affid, stored.payout.to_string()), (affid, "5.00".to_owned()));
}

#[actix_web::test]
async fn updates_replace_the_editable_fields() {
    let h = Harness::new().await;
    let app = h.app().await;

    let body = json!({"name": "Bank & Co", "verification_token": "new-token-123"});
    let (status, adv) = json_of(test::call_service(&app, put("/api/advertisers/2", &body).to_request()).await).await;
    assert_eq!((status, &adv), (200, &json!({"id": 2, "name": "Bank & Co", "verification_token": "new-token-123"})));
    // Lists never show the token itself.
    let (_, list) = json_of(test::call_service(&app, authed(get("/api/advertisers")).to_request()).await).await;
    let row = list["rows"].as_array().unwrap().iter().find(|r| r["id"] == 2).unwrap().clone();
    assert_eq!(row, json!({"id": 2, "name": "Bank & Co", "verification_token_set": true}));
    // Full replacement: a PUT without the token removes it.
    let (status, _) = json_of(
        test::call_service(&app, put("/api/advertisers/2", &json!({"id": 2, "name": "Bank"})).to_request()).await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(h.store.advertiser(2).unwrap().unwrap().verification_token, None);

    // What a GET returns can be sent back with a change.
    let (_, mut offer) = json_of(test::call_service(&app, authed(get("/api/offers/1")).to_request()).await).await;
    offer["status"] = json!("paused");
    offer["session_hours"] = json!(48);
    let (status, updated) = json_of(test::call_service(&app, put("/api/offers/1", &offer).to_request()).await).await;
    assert_eq!((status, &updated), (200, &offer));
    let stored = h.store.offer(1).unwrap().unwrap();
    assert_eq!((stored.status, stored.session_hours), (clickstamp_collector::model::OfferStatus::Paused, 48));
    assert_eq!(h.store.offers().unwrap().len(), 3, "a PUT creates nothing");

    let body = json!({"name": "P2 renamed", "postbacks": []});
    let (status, partner) = json_of(test::call_service(&app, put("/api/partners/2", &body).to_request()).await).await;
    assert_eq!((status, partner["name"].as_str()), (200, Some("P2 renamed")));

    let created = json!({"code": "moved", "offer_id": 1, "partner_id": 1});
    assert_eq!(test::call_service(&app, post("/api/coupons", &created).to_request()).await.status().as_u16(), 201);
    let body = json!({"offer_id": 3, "partner_id": 2, "valid_from_ms": 1000});
    let (status, coupon) = json_of(test::call_service(&app, put("/api/coupons/MOVED", &body).to_request()).await).await;
    assert_eq!(status, 200, "{coupon}");
    assert_eq!(
        coupon,
        json!({"code": "moved", "offer_id": 3, "partner_id": 2, "valid_from_ms": 1000, "valid_until_ms": null})
    );
    assert_eq!(h.store.coupon("moved").unwrap().unwrap().partner_id, 2);
}

/// method, URI, body, expected status, error code and field.
type Case = (&'static str, &'static str, String, u16, &'static str, Option<&'static str>);

#[actix_web::test]
async fn every_validation_rule_answers_with_the_field_and_stores_nothing() {
    let h = Harness::new().await;
    let app = h.app().await;
    let before = config_snapshot(&h);
    let offer = |change: Value| {
        let mut body =
            json!({"advertiser_id": 1, "name": "O", "destination_url": "https://shop.example/?t={transaction_id}"});
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        body.to_string()
    };
    let cases: Vec<Case> = vec![
        ("POST", "/api/advertisers", "{}".into(), 400, "missing_field", Some("name")),
        ("POST", "/api/advertisers", r#"{"name": "   "}"#.into(), 400, "invalid_value", Some("name")),
        ("POST", "/api/advertisers", r#"{"name": "A", "token": "x"}"#.into(), 400, "unknown_field", Some("token")),
        ("POST", "/api/advertisers", r#"{"name": ["A"]}"#.into(), 400, "wrong_type", Some("name")),
        (
            "POST",
            "/api/advertisers",
            r#"{"name": "A", "verification_token": "short"}"#.into(),
            400,
            "invalid_value",
            Some("verification_token"),
        ),
        ("POST", "/api/advertisers", r#"{"id": 9, "name": "A"}"#.into(), 400, "invalid_value", Some("id")),
        ("POST", "/api/advertisers", "name=A".into(), 400, "malformed_json", None),
        ("POST", "/api/advertisers", r#"{"name": "A""#.into(), 400, "malformed_json", None),
        ("POST", "/api/advertisers", "".into(), 400, "malformed_json", None),
        ("POST", "/api/advertisers", "[]".into(), 400, "malformed_json", None),
        ("PUT", "/api/advertisers/1", r#"{"id": 2, "name": "A"}"#.into(), 400, "invalid_value", Some("id")),
        (
            "POST",
            "/api/offers",
            offer(json!({"destination_url": "javascript:alert(1)"})),
            400,
            "invalid_value",
            Some("destination_url"),
        ),
        (
            "POST",
            "/api/offers",
            offer(json!({"destination_url": "https://{sub1}.evil.example/"})),
            400,
            "invalid_value",
            Some("destination_url"),
        ),
        (
            "POST",
            "/api/offers",
            offer(json!({"destination_url": "/landing"})),
            400,
            "invalid_value",
            Some("destination_url"),
        ),
        (
            "POST",
            "/api/offers",
            offer(json!({"fallback_url": "data:text/html,hi"})),
            400,
            "invalid_value",
            Some("fallback_url"),
        ),
        (
            "POST",
            "/api/offers",
            offer(json!({"alternate_destinations": {"b": "https://x.example/", "a": "ftp://x"}})),
            400,
            "invalid_value",
            Some("alternate_destinations.a"),
        ),
        ("POST", "/api/offers", offer(json!({"name": ""})), 400, "invalid_value", Some("name")),
        ("POST", "/api/offers", offer(json!({"advertiser_id": 99})), 400, "unknown_reference", Some("advertiser_id")),
        ("POST", "/api/offers", offer(json!({"advertiser_id": "1"})), 400, "wrong_type", Some("advertiser_id")),
        ("POST", "/api/offers", offer(json!({"session_hours": 0})), 400, "invalid_value", Some("session_hours")),
        ("POST", "/api/offers", offer(json!({"session_hours": 2161})), 400, "invalid_value", Some("session_hours")),
        ("POST", "/api/offers", offer(json!({"session_hours": -1})), 400, "wrong_type", Some("session_hours")),
        ("POST", "/api/offers", offer(json!({"status": "deleted"})), 400, "wrong_type", Some("status")),
        (
            "POST",
            "/api/offers",
            offer(json!({"events": [{"payout": 5.5}]})),
            400,
            "wrong_type",
            Some("events[0].payout"),
        ),
        (
            "POST",
            "/api/offers",
            offer(json!({"events": [{"payout": "1"}, {"name": "s", "payout": 2}]})),
            400,
            "wrong_type",
            Some("events[1].payout"),
        ),
        (
            "POST",
            "/api/offers",
            offer(json!({"events": [{"payout": "-1"}]})),
            400,
            "invalid_value",
            Some("events[0].payout"),
        ),
        (
            "POST",
            "/api/offers",
            offer(json!({"events": [{"payout": "1", "revenue": "abc"}]})),
            400,
            "invalid_value",
            Some("events[0].revenue"),
        ),
        (
            "POST",
            "/api/offers",
            offer(json!({"events": [{"payout": "120", "payout_type": "percent"}]})),
            400,
            "invalid_value",
            Some("events[0].payout"),
        ),
        (
            "POST",
            "/api/offers",
            offer(json!({"events": [{"payout": "1", "payout_type": "share"}]})),
            400,
            "wrong_type",
            Some("events[0].payout_type"),
        ),
        (
            "POST",
            "/api/offers",
            offer(json!({"events": [{"name": "sale", "payout": "1"}]})),
            400,
            "invalid_value",
            Some("events"),
        ),
        (
            "POST",
            "/api/offers",
            offer(json!({"events": [{"payout": "1", "bonus": "2"}]})),
            400,
            "unknown_field",
            Some("events[0].bonus"),
        ),
        (
            "POST",
            "/api/offers",
            offer(json!({"blocked_ips": ["10.0.0.0/8", "10.0.0.300"]})),
            400,
            "invalid_value",
            Some("blocked_ips[1]"),
        ),
        ("POST", "/api/offers", offer(json!({"colour": "red"})), 400, "unknown_field", Some("colour")),
        (
            "PUT",
            "/api/offers/1",
            offer(json!({"destination_url": "javascript:alert(1)"})),
            400,
            "invalid_value",
            Some("destination_url"),
        ),
        (
            "POST",
            "/api/partners",
            r#"{"name": "P", "postbacks": [{"url": "https://{affid}.example/"}]}"#.into(),
            400,
            "invalid_value",
            Some("postbacks[0].url"),
        ),
        (
            "POST",
            "/api/partners",
            r#"{"name": "P", "postbacks": [{"url": "https://p.example/", "offer_id": 99}]}"#.into(),
            400,
            "unknown_reference",
            Some("postbacks[0].offer_id"),
        ),
        (
            "POST",
            "/api/partners",
            r#"{"name": "P", "postbacks": {"url": "https://p.example/"}}"#.into(),
            400,
            "wrong_type",
            Some("postbacks"),
        ),
        (
            "POST",
            "/api/coupons",
            r#"{"code": "two words", "offer_id": 1, "partner_id": 1}"#.into(),
            400,
            "invalid_value",
            Some("code"),
        ),
        ("POST", "/api/coupons", r#"{"offer_id": 1, "partner_id": 1}"#.into(), 400, "missing_field", Some("code")),
        (
            "POST",
            "/api/coupons",
            r#"{"code": "c1", "offer_id": 99, "partner_id": 1}"#.into(),
            400,
            "unknown_reference",
            Some("offer_id"),
        ),
        (
            "POST",
            "/api/coupons",
            r#"{"code": "c1", "offer_id": 1, "partner_id": 99}"#.into(),
            400,
            "unknown_reference",
            Some("partner_id"),
        ),
        (
            "POST",
            "/api/coupons",
            r#"{"code": "c1", "offer_id": 1, "partner_id": 1, "valid_from_ms": "2026-01-01"}"#.into(),
            400,
            "wrong_type",
            Some("valid_from_ms"),
        ),
        (
            "POST",
            "/api/coupons",
            r#"{"code": "c1", "offer_id": 1, "partner_id": 1, "valid_from_ms": 5, "valid_until_ms": 4}"#.into(),
            400,
            "invalid_value",
            Some("valid_until_ms"),
        ),
        ("GET", "/api/links?oid=1", String::new(), 400, "missing_field", Some("affid")),
        ("GET", "/api/links?oid=1&affid=1&sub9=x", String::new(), 400, "unknown_field", Some("sub9")),
        ("GET", "/api/links?oid=99&affid=1", String::new(), 404, "not_found", Some("oid")),
        ("GET", "/api/links?oid=1&affid=99", String::new(), 404, "not_found", Some("affid")),
        ("GET", "/api/offers/99", String::new(), 404, "not_found", None),
        ("GET", "/api/offers/abc", String::new(), 404, "not_found", None),
        ("GET", "/api/advertisers/99", String::new(), 404, "not_found", None),
        ("GET", "/api/partners/99", String::new(), 404, "not_found", None),
        ("GET", "/api/coupons/nope", String::new(), 404, "not_found", None),
        ("PUT", "/api/offers/99", offer(json!({})), 404, "not_found", None),
        ("PUT", "/api/advertisers/99", r#"{"name": "A"}"#.into(), 404, "not_found", None),
        ("PUT", "/api/partners/99", r#"{"name": "A"}"#.into(), 404, "not_found", None),
        ("PUT", "/api/coupons/nope", r#"{"offer_id": 1, "partner_id": 1}"#.into(), 404, "not_found", None),
    ];
    for (method, uri, body, status, code, field) in cases {
        let (got, answer) = json_of(test::call_service(&app, raw(method, uri, &body).to_request()).await).await;
        let what = format!("{method} {uri} {body}: {answer}");
        assert_eq!(got, status, "{what}");
        assert_eq!(answer["code"].as_str(), Some(code), "{what}");
        assert_eq!(answer["field"].as_str(), field, "{what}");
        let message = answer["message"].as_str().unwrap();
        if let Some(field) = field {
            assert!(message.contains(field), "the message names the field: {what}");
        }
        if body.contains("5.5") {
            assert!(message.contains("string"), "float money says to send a string: {what}");
        }
    }
    assert_eq!(config_snapshot(&h), before, "refused requests stored nothing");
}

#[actix_web::test]
async fn a_body_over_the_limit_is_refused_with_413() {
    let h = Harness::new().await;
    let app = h.app().await;
    let before = config_snapshot(&h);
    let huge = format!(r#"{{"name": "{}"}}"#, "x".repeat(70 * 1024));
    for (method, uri) in [("POST", "/api/advertisers"), ("PUT", "/api/advertisers/1"), ("POST", "/api/offers")] {
        let (status, body) = json_of(test::call_service(&app, raw(method, uri, &huge).to_request()).await).await;
        assert_eq!((status, body["code"].as_str()), (413, Some("payload_too_large")), "{method} {uri}");
    }
    assert_eq!(config_snapshot(&h), before);
}

#[actix_web::test]
async fn a_coupon_code_belongs_to_one_partner_whatever_its_case() {
    let h = Harness::new().await;
    let app = h.app().await;
    let first = json!({"code": "Summer", "offer_id": 1, "partner_id": 1});
    assert_eq!(test::call_service(&app, post("/api/coupons", &first).to_request()).await.status().as_u16(), 201);
    for partner_id in [2, 1] {
        let again = json!({"code": "SUMMER", "offer_id": 1, "partner_id": partner_id});
        let (status, body) = json_of(test::call_service(&app, post("/api/coupons", &again).to_request()).await).await;
        assert_eq!(
            (status, body["code"].as_str(), body["field"].as_str()),
            (409, Some("conflict"), Some("code")),
            "{body}"
        );
        assert!(body["message"].as_str().unwrap().contains("partner 1"), "{body}");
    }
    let coupons = h.store.coupons().unwrap();
    assert_eq!(coupons.len(), 1);
    assert_eq!((coupons[0].code.as_str(), coupons[0].partner_id), ("summer", 1));
}

#[actix_web::test]
async fn every_route_needs_the_admin_token() {
    let h = Harness::new().await;
    let app = h.app().await;
    let before = config_snapshot(&h);
    let routes = [
        ("POST", "/api/advertisers", r#"{"name": "A"}"#),
        ("GET", "/api/advertisers", ""),
        ("GET", "/api/advertisers/1", ""),
        ("PUT", "/api/advertisers/1", r#"{"name": "A"}"#),
        ("POST", "/api/partners", r#"{"name": "P"}"#),
        ("GET", "/api/partners", ""),
        ("GET", "/api/partners/1", ""),
        ("PUT", "/api/partners/1", r#"{"name": "P"}"#),
        ("POST", "/api/offers", r#"{"advertiser_id": 1, "name": "O", "destination_url": "https://x.example/"}"#),
        ("GET", "/api/offers", ""),
        ("GET", "/api/offers/1", ""),
        ("PUT", "/api/offers/1", r#"{"advertiser_id": 1, "name": "O", "destination_url": "https://x.example/"}"#),
        ("POST", "/api/coupons", r#"{"code": "c", "offer_id": 1, "partner_id": 1}"#),
        ("GET", "/api/coupons", ""),
        ("GET", "/api/coupons/c", ""),
        ("PUT", "/api/coupons/c", r#"{"offer_id": 1, "partner_id": 1}"#),
        ("GET", "/api/links?oid=1&affid=1", ""),
    ];
    for (method, uri, body) in routes {
        for auth in [None, Some("Bearer wrong-token"), Some(TOKEN), Some("Basic dGVzdA==")] {
            let mut req = match method {
                "POST" => TestRequest::post(),
                "PUT" => TestRequest::put(),
                _ => TestRequest::get(),
            }
            .uri(uri)
            .insert_header(("Content-Type", "application/json"))
            .set_payload(body.to_owned());
            if let Some(a) = auth {
                req = req.insert_header(("Authorization", a));
            }
            let (status, answer) = json_of(test::call_service(&app, req.to_request()).await).await;
            assert_eq!((status, answer["code"].as_str()), (401, Some("unauthorized")), "{method} {uri} {auth:?}");
        }
    }
    assert_eq!(config_snapshot(&h), before);
}

#[actix_web::test]
async fn other_methods_answer_json_405() {
    let h = Harness::new().await;
    let app = h.app().await;
    for uri in ["/api/offers/1", "/api/offers", "/api/coupons/x", "/api/links"] {
        let req = authed(TestRequest::delete().uri(uri)).to_request();
        let (status, body) = json_of(test::call_service(&app, req).await).await;
        assert_eq!((status, body["code"].as_str()), (405, Some("method_not_allowed")), "{uri}");
    }
    let req = authed(TestRequest::patch().uri("/api/advertisers/1")).to_request();
    assert_eq!(json_of(test::call_service(&app, req).await).await.0, 405);
    let (status, _) = json_of(test::call_service(&app, authed(get("/api/nothing")).to_request()).await).await;
    assert_eq!(status, 404);
}

#[actix_web::test]
async fn links_drop_macro_parameters_and_say_when_no_direct_link_is_possible() {
    let h = Harness::new().await;
    let app = h.app().await;
    // Harness offer 1: https://shop.example/land?tid={transaction_id}&a={affid}&s1={sub1}&g={gclid}
    let req = authed(get("/api/links?oid=1&affid=2")).insert_header(("Host", "track.example:9000"));
    let (status, links) = json_of(test::call_service(&app, req.to_request()).await).await;
    assert_eq!(status, 200);
    assert_eq!(links["redirect_link"], "http://track.example:9000/clk?oid=1&affid=2");
    assert_eq!(links["direct_link"], "https://shop.example/land?oid=1&affid=2");
    assert!(links.get("direct_link_unavailable").is_none());

    let mut offer = h.store.offer(1).unwrap().unwrap();
    offer.destination_url = "https://shop.example/{sub1}/land?t={transaction_id}".into();
    h.store.put_offer(offer).await.unwrap();
    let (status, links) =
        json_of(test::call_service(&app, authed(get("/api/links?oid=1&affid=2")).to_request()).await).await;
    assert_eq!(status, 200);
    assert_eq!(links["direct_link"], Value::Null);
    assert!(links["direct_link_unavailable"].as_str().unwrap().contains("path"), "{links}");
}
