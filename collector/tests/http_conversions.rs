//! The conversion side over HTTP: every attribution path, every rejection reason, duplicates
//! under concurrency, and partner postbacks against a real local HTTP server.

mod support;

use actix_web::test::{self, TestRequest};
use clickstamp_collector::ids::TransactionId;
use clickstamp_collector::model::{
    Click, Coupon, LinkKind, Offer, OfferStatus, Partner, PostbackTemplate, TrackingParams, Visitor,
};
use clickstamp_collector::postbacks::{PostbackWorker, RetryPolicy};
use support::{eventually, get, json_of, start_server, Harness, PostbackEndpoint, TOKEN};

async fn click_id(
    app: &impl actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
    >,
    uri: &str,
) -> String {
    let (_, body) = json_of(test::call_service(app, get(uri).to_request()).await).await;
    body["transaction_id"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn each_attribution_path_credits_the_right_partner() {
    let h = Harness::new().await;
    h.store
        .put_coupon(Coupon {
            code: "SPRING10".into(),
            offer_id: 1,
            partner_id: 2,
            valid_from_ms: None,
            valid_until_ms: None,
        })
        .await
        .unwrap();
    let app = h.app().await;
    let clicked = click_id(&app, "/clk?oid=1&affid=1&sub1=a&format=json").await;
    let other = click_id(&app, "/clk?oid=1&affid=2&sub1=b&format=json").await;
    let (_, imp) = json_of(test::call_service(&app, get("/imp?oid=1&affid=2&format=json").to_request()).await).await;
    let imp = imp["transaction_id"].as_str().unwrap().to_owned();

    let cases = [
        // (query, attributed transaction, partner, attributed_by)
        (format!("transaction_id={clicked}&cookie_tid={other}"), clicked.clone(), 1, "transaction_id"),
        (format!("cookie_tid={other}&event=renewal"), other.clone(), 2, "first_party_cookie"),
        (format!("cookie_tid={clicked}&coupon_code=spring10&event=renewal"), clicked.clone(), 1, "first_party_cookie"),
        ("oid=1&coupon_code=Spring10&order_id=C1".to_string(), String::new(), 2, "coupon"),
        (format!("transaction_id={imp}"), imp.clone(), 2, "impression"),
    ];
    for (query, tid, partner, by) in cases {
        let (status, body) =
            json_of(test::call_service(&app, get(&format!("/conversion?{query}")).to_request()).await).await;
        assert_eq!((status, body["status"].as_str()), (200, Some("approved")), "{query}: {body}");
        assert_eq!(body["transaction_id"], tid.as_str(), "{query}");
        let id = clickstamp_collector::ids::TimeId::parse(body["conversion_id"].as_str().unwrap()).unwrap();
        let stored = h.store.conversion(&id).unwrap().unwrap();
        assert_eq!((stored.affid, stored.attributed_by.as_str()), (partner, by), "{query}");
    }

    // The tracking-domain cookie a redirect link set, on an image pixel.
    let pixel = get("/pixel.gif?oid=1&event=renewal").insert_header(("Cookie", format!("other=1; cs_tid_o_1={other}")));
    let resp = test::call_service(&app, pixel.to_request()).await;
    assert_eq!(resp.headers().get("content-type").unwrap(), "image/gif");
    let newest = &h.store.conversions_page(None, 1, |_| true).unwrap().rows[0];
    assert_eq!((newest.affid, newest.attributed_by.as_str()), (2, "tracking_cookie"));

    // Nothing to credit: kept as "Others", by offer or by advertiser.
    for query in ["oid=1&order_id=U1", "advertiser_id=1&order_id=U2"] {
        let (status, body) =
            json_of(test::call_service(&app, get(&format!("/conversion?{query}")).to_request()).await).await;
        assert_eq!((status, body["status"].as_str()), (200, Some("unattributed")), "{query}");
    }
    let (status, body) = json_of(test::call_service(&app, get("/conversion?amount=5").to_request()).await).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("missing_parameter")));
}

#[actix_web::test]
async fn every_rejection_is_stored_with_its_reason() {
    let h = Harness::new().await;
    let old = Click {
        id: TransactionId::generate(clickstamp_collector::service::now_ms() - 25 * 3_600_000),
        oid: 1,
        affid: 1,
        advertiser_id: 1,
        params: TrackingParams::default(),
        visitor: Visitor::default(),
        kind: LinkKind::Redirect,
        unique: true,
        error_code: 0,
    };
    h.store.record_click(old.clone(), 0).await.unwrap();
    let app = h.app().await;
    let fresh = click_id(&app, "/clk?oid=1&affid=1&format=json").await;
    let s2s = click_id(&app, "/clk?oid=3&affid=1&format=json").await;
    let unknown = TransactionId::generate(1);
    let cases = [
        (format!("transaction_id={unknown}"), 200, 101),
        (format!("transaction_id={}", old.id), 200, 102),
        (format!("transaction_id={fresh}&event=refund"), 200, 104),
        (format!("transaction_id={fresh}&oid=3"), 200, 108),
        (format!("transaction_id={s2s}&verification_token=guess"), 403, 107),
        (format!("transaction_id={s2s}"), 403, 109),
    ];
    for (query, status, code) in &cases {
        let (got, body) =
            json_of(test::call_service(&app, get(&format!("/conversion?{query}")).to_request()).await).await;
        assert_eq!(
            (got, body["status"].as_str(), body["error_code"].as_u64()),
            (*status, Some("rejected"), Some(*code)),
            "{query}: {body}"
        );
        assert!(!body["error"].as_str().unwrap().is_empty());
    }
    // With the right token the S2S-only offer accepts it, as a server conversion.
    let (got, body) = json_of(
        test::call_service(
            &app,
            get(&format!("/conversion?transaction_id={s2s}&verification_token=s3cret")).to_request(),
        )
        .await,
    )
    .await;
    assert_eq!((got, body["status"].as_str()), (200, Some("approved")));
    // Paused after the click.
    h.store.put_offer(Offer { status: OfferStatus::Paused, ..support::offer(1, 1) }).await.unwrap();
    let (_, body) =
        json_of(test::call_service(&app, get(&format!("/conversion?transaction_id={fresh}")).to_request()).await).await;
    assert_eq!(body["error_code"], 103);

    let report =
        get("/api/reports/conversions?status=rejected").insert_header(("Authorization", format!("Bearer {TOKEN}")));
    let (_, report) = json_of(test::call_service(&app, report.to_request()).await).await;
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), cases.len() + 1, "every rejection is kept for the Conversion Report");
    assert!(rows.iter().all(|r| !r["reason"].as_str().unwrap().is_empty()));
    let totals = h.store.counters(0, u32::MAX).unwrap();
    assert_eq!(totals.iter().map(|t| t.3.rejected_conversions).sum::<u64>(), 7);
    assert_eq!(totals.iter().map(|t| t.3.conversions).sum::<u64>(), 1);
}

#[actix_web::test]
async fn bad_conversion_input_is_refused_and_stores_nothing() {
    let h = Harness::new().await;
    let app = h.app().await;
    let tid = click_id(&app, "/clk?oid=1&affid=1&format=json").await;
    for (uri, field) in [
        (format!("/conversion?transaction_id={tid}&amount=12.5.1"), "amount"),
        (format!("/conversion?transaction_id={tid}&amount=1e3"), "amount"),
        (format!("/conversion?transaction_id={tid}&amount=0.00001"), "amount"),
        (format!("/conversion?transaction_id={tid}&amount=-4"), "amount"),
        ("/conversion?transaction_id=nothex".into(), "transaction_id"),
        (format!("/conversion?transaction_id={tid}&order_id={}", "o".repeat(129)), "order_id"),
        (format!("/conversion?transaction_id={tid}&idempotency_key=a%20b"), "idempotency_key"),
        ("/conversion?oid=one".into(), "oid"),
    ] {
        let (status, body) = json_of(test::call_service(&app, get(&uri).to_request()).await).await;
        assert_eq!((status, body["field"].as_str()), (400, Some(field)), "{uri}: {body}");
    }
    let post = TestRequest::post()
        .uri("/conversion")
        .insert_header(("Content-Type", "application/json"))
        .set_payload("{\"transaction_id\": [1]}");
    let (status, _) = json_of(test::call_service(&app, post.to_request()).await).await;
    assert_eq!(status, 400);
    let big = TestRequest::post().uri("/conversion").set_payload(vec![b'a'; 70_000]);
    let (status, body) = json_of(test::call_service(&app, big.to_request()).await).await;
    assert_eq!((status, body["code"].as_str()), (413, Some("payload_too_large")));
    assert_eq!(h.conversion_count(), 0);
}

#[actix_web::test]
async fn fifty_identical_postbacks_at_once_approve_exactly_one() {
    let h = Harness::new().await;
    let (addr, server) = start_server(&h).await;
    let tid = {
        let app = h.app().await;
        click_id(&app, "/clk?oid=1&affid=1&format=json").await
    };
    let statuses = actix_web::rt::task::spawn_blocking(move || {
        let threads: Vec<_> = (0..50)
            .map(|_| {
                let url = format!("http://{addr}/conversion?transaction_id={tid}&amount=10&order_id=ORD-1");
                std::thread::spawn(move || {
                    let body = ureq::get(&url).call().unwrap().into_body().read_to_string().unwrap();
                    serde_json::from_str::<serde_json::Value>(&body).unwrap()["status"].as_str().unwrap().to_owned()
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect::<Vec<String>>()
    })
    .await
    .unwrap();
    server.stop(true).await;
    assert_eq!(statuses.iter().filter(|s| *s == "approved").count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| *s == "duplicate").count(), 49);
    let approved = h.store.conversions_page(None, 100, |c| c.status.as_str() == "approved").unwrap().rows;
    assert_eq!(approved.len(), 1);
}

fn fast_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy { first_delay_ms: 20, max_delay_ms: 100, max_attempts, ..RetryPolicy::default() }
}

async fn partner_with_postback(h: &Harness, endpoint: &PostbackEndpoint) {
    let url =
        format!("http://{}/pb?tid={{transaction_id}}&payout={{payout}}&sub1={{sub1}}&event={{event}}", endpoint.addr);
    h.store
        .put_partner(Partner {
            id: 1,
            name: "P1".into(),
            postbacks: vec![PostbackTemplate { url, offer_id: Some(1), event: None }],
        })
        .await
        .unwrap();
}

#[actix_web::test]
async fn partner_postbacks_retry_until_the_endpoint_recovers() {
    let h = Harness::new().await;
    let endpoint = PostbackEndpoint::start(&[500, 503]);
    partner_with_postback(&h, &endpoint).await;
    let app = h.app().await;
    let tid = click_id(&app, "/clk?oid=1&affid=1&sub1=sp%20ring&format=json").await;
    let (_, body) =
        json_of(test::call_service(&app, get(&format!("/conversion?transaction_id={tid}")).to_request()).await).await;
    assert_eq!(body["status"], "approved");
    // A duplicate owes no postback.
    test::call_service(&app, get(&format!("/conversion?transaction_id={tid}")).to_request()).await;
    assert_eq!(h.store.postbacks().unwrap().len(), 1);

    let worker = PostbackWorker::spawn(h.store.clone(), fast_retries(5)).unwrap();
    let store = h.store.clone();
    let delivered =
        actix_web::rt::task::spawn_blocking(move || eventually(10, || store.postbacks().unwrap().is_empty()))
            .await
            .unwrap();
    worker.stop();
    assert!(delivered, "the outbox emptied once the endpoint answered 200");
    let expected = format!("/pb?tid={tid}&payout=5.00&sub1=sp%20ring&event=");
    assert_eq!(endpoint.seen(), vec![expected.clone(), expected.clone(), expected]);
}

#[actix_web::test]
async fn a_failing_postback_pauses_visibly_and_resumes_on_retry() {
    let h = Harness::new().await;
    let endpoint = PostbackEndpoint::start(&[500, 500, 500]);
    partner_with_postback(&h, &endpoint).await;
    let app = h.app().await;
    let tid = click_id(&app, "/clk?oid=1&affid=1&format=json").await;
    test::call_service(&app, get(&format!("/conversion?transaction_id={tid}")).to_request()).await;

    let worker = PostbackWorker::spawn(h.store.clone(), fast_retries(3)).unwrap();
    let store = h.store.clone();
    let paused = actix_web::rt::task::spawn_blocking(move || {
        eventually(10, || store.postbacks().unwrap().first().is_some_and(|d| d.status.as_str() == "paused"))
    })
    .await
    .unwrap();
    assert!(paused);
    assert_eq!(endpoint.seen().len(), 3, "bounded tries, then paused");

    let auth = ("Authorization", format!("Bearer {TOKEN}"));
    let (status, list) = json_of(
        test::call_service(&app, get("/api/postbacks?status=paused").insert_header(auth.clone()).to_request()).await,
    )
    .await;
    assert_eq!(status, 200);
    let row = &list["rows"][0];
    assert_eq!((row["attempts"].as_u64(), row["last_error"].as_str()), (Some(3), Some("HTTP 500")));
    let id = row["id"].as_str().unwrap();
    let retry = TestRequest::post().uri(&format!("/api/postbacks/{id}/retry")).insert_header(auth.clone());
    let (status, _) = json_of(test::call_service(&app, retry.to_request()).await).await;
    assert_eq!(status, 200);
    let store = h.store.clone();
    let delivered =
        actix_web::rt::task::spawn_blocking(move || eventually(10, || store.postbacks().unwrap().is_empty()))
            .await
            .unwrap();
    worker.stop();
    assert!(delivered);
    assert_eq!(endpoint.seen().len(), 4);
}

#[test]
fn a_restart_neither_loses_nor_doubles_a_pending_postback() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = PostbackEndpoint::start(&[]);
    actix_web::rt::System::new().block_on(async {
        let h = Harness::in_dir(dir.path()).await;
        partner_with_postback(&h, &endpoint).await;
        let app = h.app().await;
        let tid = click_id(&app, "/clk?oid=1&affid=1&format=json").await;
        test::call_service(&app, get(&format!("/conversion?transaction_id={tid}")).to_request()).await;
        h.store.close();
    });
    assert!(endpoint.seen().is_empty(), "no worker ran before the restart");
    actix_web::rt::System::new().block_on(async {
        let h = Harness::in_dir(dir.path()).await;
        assert_eq!(h.store.postbacks().unwrap().len(), 1, "the pending postback survived the restart");
        let worker = PostbackWorker::spawn(h.store.clone(), fast_retries(3)).unwrap();
        let store = h.store.clone();
        let delivered =
            actix_web::rt::task::spawn_blocking(move || eventually(10, || store.postbacks().unwrap().is_empty()))
                .await
                .unwrap();
        worker.stop();
        assert!(delivered);
    });
    assert_eq!(endpoint.seen().len(), 1, "delivered exactly once");
}
