//! Report API: the summary for every grouping, filter and time range, the raw Click and
//! Conversion Reports with time ranges, CSV (parsed back), partner-scoped keys, and the
//! dashboard's static routes.

mod support;

use actix_web::test::{self, TestRequest};
use clickstamp_collector::ids::TimeId;
use clickstamp_collector::model::{
    AttributedBy, Click, Conversion, ConversionRejection, ConversionSource, ConversionStatus, Impression, LinkKind,
    TrackingParams, Visitor,
};
use clickstamp_collector::money::Money;
use serde_json::Value;
use support::{get, json_of, Harness, TOKEN};

/// 2024-05-01T00:00:00Z.
const MAY_1: u64 = 1_714_521_600_000;
const HOUR: u64 = 3_600_000;
const MINUTE: u64 = 60_000;
const RANGE: &str = "from=2024-05-01&to=2024-05-02";

fn params(sub1: &str, source_id: &str) -> TrackingParams {
    let mut p = TrackingParams { source_id: source_id.into(), ..TrackingParams::default() };
    p.sub[0] = sub1.into();
    p
}

fn click(ms: u64, oid: u64, affid: u64, advertiser_id: u64, sub1: &str, ip: &str, error_code: u16) -> Click {
    Click {
        id: TimeId::generate(ms),
        oid,
        affid,
        advertiser_id,
        params: params(sub1, if sub1 == "summer" { "s9" } else { "" }),
        visitor: Visitor { ip: ip.into(), user_agent: "Mozilla/5.0".into(), referrer: String::new() },
        kind: LinkKind::Redirect,
        unique: true,
        error_code,
    }
}

struct Conv {
    ms: u64,
    affid: u64,
    event: &'static str,
    status: ConversionStatus,
    payout: &'static str,
    revenue: &'static str,
    sub1: &'static str,
    by: AttributedBy,
}

fn conversion(c: Conv) -> Conversion {
    Conversion {
        id: TimeId::generate(c.ms),
        status: c.status,
        rejection: (c.status == ConversionStatus::Rejected).then_some(ConversionRejection::SessionExpired),
        source: ConversionSource::Server,
        attributed_by: c.by,
        transaction_id: Some(TimeId::generate(c.ms - 20 * MINUTE)),
        oid: 1,
        affid: c.affid,
        advertiser_id: 1,
        event: c.event.into(),
        amount: None,
        payout: Money::parse(c.payout).unwrap(),
        revenue: Money::parse(c.revenue).unwrap(),
        order_id: format!("order-{}", c.ms),
        coupon_code: String::new(),
        adv: Default::default(),
        idempotency_key: String::new(),
        click_time_ms: Some(c.ms - 20 * MINUTE),
        click_params: params(c.sub1, if c.sub1 == "summer" { "s9" } else { "" }),
        visitor: Visitor::default(),
        duplicate_of: None,
    }
}

/// Two days of traffic (see each line) on offers 1 (advertiser 1) and 3 (advertiser 2).
async fn seed(h: &Harness) {
    let window = 60_000;
    let at = |hours: u64, minutes: u64| MAY_1 + hours * HOUR + minutes * MINUTE;
    for c in [
        click(at(10, 15), 1, 1, 1, "spring", "198.51.100.1", 0), // unique
        click(at(10, 15) + 30_000, 1, 1, 1, "spring", "198.51.100.1", 0), // duplicate (30 s later)
        click(at(11, 5), 1, 2, 1, "summer", "198.51.100.2", 0),  // unique, partner 2, source s9
        click(at(12, 0), 3, 1, 2, "spring", "198.51.100.3", 0),  // unique, offer 3 (advertiser 2)
        click(at(13, 0), 99, 1, 0, "", "198.51.100.4", 1),       // invalid: unknown offer
        click(at(13, 10), 1, 1, 1, "spring", "198.51.100.5", 4), // invalid: bot
        click(at(24 + 9, 0), 1, 1, 1, "autumn", "198.51.100.6", 0), // May 2, unique
    ] {
        h.store.record_click(c, window).await.unwrap();
    }
    h.store
        .record_impression(Impression {
            id: TimeId::generate(at(10, 0)),
            oid: 1,
            affid: 1,
            advertiser_id: 1,
            params: params("spring", ""),
            visitor: Visitor::default(),
            error_code: 0,
        })
        .await
        .unwrap();
    let approved = ConversionStatus::Approved;
    for c in [
        Conv {
            ms: at(10, 30),
            affid: 1,
            event: "",
            status: approved,
            payout: "5",
            revenue: "8",
            sub1: "spring",
            by: AttributedBy::TransactionId,
        },
        Conv {
            ms: at(10, 40),
            affid: 1,
            event: "renewal",
            status: approved,
            payout: "1",
            revenue: "2",
            sub1: "spring",
            by: AttributedBy::TransactionId,
        },
        Conv {
            ms: at(11, 30),
            affid: 2,
            event: "",
            status: ConversionStatus::Rejected,
            payout: "0",
            revenue: "0",
            sub1: "summer",
            by: AttributedBy::TransactionId,
        },
        Conv {
            ms: at(24 + 9, 30),
            affid: 1,
            event: "",
            status: approved,
            payout: "5",
            revenue: "8.5",
            sub1: "autumn",
            by: AttributedBy::Impression,
        },
    ] {
        h.store.record_conversion(conversion(c), vec![], vec![]).await.unwrap();
    }
}

fn authed(uri: &str, token: &str) -> TestRequest {
    TestRequest::get().uri(uri).insert_header(("Authorization", format!("Bearer {token}")))
}

macro_rules! api {
    ($app:expr, $uri:expr) => {
        api!($app, $uri, TOKEN)
    };
    ($app:expr, $uri:expr, $token:expr) => {{
        let resp = test::call_service(&$app, authed(&$uri, $token).to_request()).await;
        json_of(resp).await
    }};
}

macro_rules! csv_of {
    ($app:expr, $uri:expr) => {{
        let resp = test::call_service(&$app, authed(&$uri, TOKEN).to_request()).await;
        assert_eq!(resp.status(), 200);
        let content_type = resp.headers().get("content-type").unwrap().to_str().unwrap().to_owned();
        assert_eq!(content_type, "text/csv; charset=utf-8");
        let next = resp.headers().get("x-next-cursor").map(|v| v.to_str().unwrap().to_owned());
        let body = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
        (parse_csv(&body), next)
    }};
}

/// RFC 4180: quoted fields with doubled quotes and embedded commas and line breaks.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut cell) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    assert!(!quoted, "unterminated quote in {text:?}");
    assert!(cell.is_empty() && row.is_empty(), "CSV must end with a line break: {text:?}");
    rows
}

/// The row whose group columns equal `group`.
fn row<'a>(summary: &'a Value, group: &[(&str, Value)]) -> &'a Value {
    summary["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| group.iter().all(|(k, v)| &r[k] == v))
        .unwrap_or_else(|| panic!("no row {group:?} in {summary:#}"))
}

fn metric(r: &Value, name: &str) -> Value {
    r["metrics"][name].clone()
}

#[actix_web::test]
async fn summary_by_day_has_every_metric_from_the_counters() {
    let h = Harness::new().await;
    seed(&h).await;
    let app = h.app().await;
    let (status, s) = api!(app, format!("/api/reports/summary?group_by=day&{RANGE}"));
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["source"], "counters");
    assert_eq!(s["from"], "2024-05-01T00:00:00Z");
    assert_eq!(s["to"], "2024-05-03T00:00:00Z", "a date as `to` includes that whole day");
    assert_eq!(s["group_by"], serde_json::json!(["day"]));
    assert_eq!(s["rows"].as_array().unwrap().len(), 2);
    let first = row(&s, &[("day", "2024-05-01".into())]);
    let m = &first["metrics"];
    assert_eq!(m["gross_clicks"], 6);
    assert_eq!(m["unique_clicks"], 3);
    assert_eq!(m["duplicate_clicks"], 1);
    assert_eq!(m["invalid_clicks"], 2);
    assert_eq!(
        m["invalid_by_reason"],
        serde_json::json!([
            {"error_code": 1, "reason": "offer not found", "clicks": 1},
            {"error_code": 4, "reason": "user agent is a known bot or crawler", "clicks": 1},
        ])
    );
    assert_eq!(m["impressions"], 1);
    assert_eq!(m["conversions"], 1, "base-event approvals only");
    assert_eq!(m["events"], 1, "the renewal");
    assert_eq!(m["rejected_conversions"], 1);
    assert_eq!(m["view_through_conversions"], 0);
    assert_eq!(m["revenue"], "10.00");
    assert_eq!(m["payout"], "6.00");
    assert_eq!(m["profit"], "4.00");
    assert_eq!(m["cvr"], "33.33", "1 conversion per 3 unique clicks");
    assert_eq!(m["epc"], "2.00", "6.00 payout over 3 unique clicks");
    let second = row(&s, &[("day", "2024-05-02".into())]);
    assert_eq!(metric(second, "view_through_conversions"), 1);
    assert_eq!(metric(second, "revenue"), "8.50");
    assert_eq!(metric(second, "profit"), "3.50");
    assert_eq!(metric(second, "cvr"), "100.00");
    assert_eq!(metric(second, "epc"), "5.00");
    assert_eq!(s["totals"]["gross_clicks"], 7);
    assert_eq!(s["totals"]["revenue"], "18.50");
    assert_eq!(s["totals"]["conversions"], 2);
}

#[actix_web::test]
async fn summary_groups_by_hour_offer_partner_and_advertiser_from_the_counters() {
    let h = Harness::new().await;
    seed(&h).await;
    let app = h.app().await;

    let (_, s) = api!(app, format!("/api/reports/summary?group_by=hour&{RANGE}"));
    assert_eq!(s["source"], "counters");
    assert_eq!(metric(row(&s, &[("hour", "2024-05-01T10:00:00Z".into())]), "gross_clicks"), 2);
    assert_eq!(metric(row(&s, &[("hour", "2024-05-01T10:00:00Z".into())]), "impressions"), 1);
    assert_eq!(metric(row(&s, &[("hour", "2024-05-01T13:00:00Z".into())]), "invalid_clicks"), 2);
    assert_eq!(metric(row(&s, &[("hour", "2024-05-02T09:00:00Z".into())]), "conversions"), 1);

    let (_, s) = api!(app, format!("/api/reports/summary?group_by=day,offer&{RANGE}"));
    assert_eq!(s["source"], "counters");
    assert_eq!(s["group_by"], serde_json::json!(["day", "offer"]));
    let r = row(&s, &[("day", "2024-05-01".into()), ("offer", 1.into())]);
    assert_eq!(metric(r, "gross_clicks"), 4);
    assert_eq!(metric(row(&s, &[("day", "2024-05-01".into()), ("offer", 3.into())]), "gross_clicks"), 1);
    assert_eq!(metric(row(&s, &[("day", "2024-05-01".into()), ("offer", 99.into())]), "invalid_clicks"), 1);
    assert_eq!(metric(row(&s, &[("day", "2024-05-02".into()), ("offer", 1.into())]), "gross_clicks"), 1);
    // Rows come sorted by their group values.
    let keys: Vec<(String, u64)> = s["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["day"].as_str().unwrap().to_owned(), r["offer"].as_u64().unwrap()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);

    let (_, s) = api!(app, format!("/api/reports/summary?group_by=partner&{RANGE}"));
    assert_eq!(metric(row(&s, &[("partner", 2.into())]), "gross_clicks"), 1);
    assert_eq!(metric(row(&s, &[("partner", 2.into())]), "rejected_conversions"), 1);
    assert_eq!(metric(row(&s, &[("partner", 1.into())]), "gross_clicks"), 6);
    assert_eq!(metric(row(&s, &[("partner", 1.into())]), "payout"), "11.00");

    let (_, s) = api!(app, format!("/api/reports/summary?group_by=advertiser&{RANGE}"));
    assert_eq!(s["source"], "counters");
    assert_eq!(metric(row(&s, &[("advertiser", 2.into())]), "gross_clicks"), 1);
    assert_eq!(metric(row(&s, &[("advertiser", 1.into())]), "gross_clicks"), 5);
    assert_eq!(metric(row(&s, &[("advertiser", 0.into())]), "invalid_clicks"), 1, "unknown offer: no advertiser");
}

#[actix_web::test]
async fn summary_groups_by_sub_values_source_and_event_by_scanning_the_range() {
    let h = Harness::new().await;
    seed(&h).await;
    let app = h.app().await;

    let (_, s) = api!(app, format!("/api/reports/summary?group_by=sub1&{RANGE}"));
    assert_eq!(s["source"], "scan");
    let spring = row(&s, &[("sub1", "spring".into())]);
    assert_eq!(metric(spring, "gross_clicks"), 4);
    assert_eq!(metric(spring, "unique_clicks"), 2);
    assert_eq!(metric(spring, "duplicate_clicks"), 1);
    assert_eq!(metric(spring, "invalid_clicks"), 1);
    assert_eq!(metric(spring, "impressions"), 1);
    assert_eq!(metric(spring, "conversions"), 1);
    assert_eq!(metric(spring, "events"), 1);
    assert_eq!(metric(spring, "revenue"), "10.00");
    assert_eq!(metric(row(&s, &[("sub1", "summer".into())]), "rejected_conversions"), 1);
    assert_eq!(metric(row(&s, &[("sub1", "autumn".into())]), "view_through_conversions"), 1);
    assert_eq!(metric(row(&s, &[("sub1", "".into())]), "invalid_clicks"), 1);

    let (_, s) = api!(app, format!("/api/reports/summary?group_by=day,sub1&{RANGE}"));
    assert_eq!(metric(row(&s, &[("day", "2024-05-02".into()), ("sub1", "autumn".into())]), "gross_clicks"), 1);

    // sub2..sub5 are empty everywhere: one group holding all traffic.
    for sub in ["sub2", "sub3", "sub4", "sub5"] {
        let (status, s) = api!(app, format!("/api/reports/summary?group_by={sub}&{RANGE}"));
        assert_eq!(status, 200);
        assert_eq!(s["rows"].as_array().unwrap().len(), 1, "{sub}: {s}");
        assert_eq!(metric(row(&s, &[(sub, "".into())]), "gross_clicks"), 7);
    }

    let (_, s) = api!(app, format!("/api/reports/summary?group_by=source_id&{RANGE}"));
    assert_eq!(metric(row(&s, &[("source_id", "s9".into())]), "gross_clicks"), 1);
    assert_eq!(metric(row(&s, &[("source_id", "s9".into())]), "rejected_conversions"), 1);

    let (_, s) = api!(app, format!("/api/reports/summary?group_by=event&{RANGE}"));
    assert_eq!(s["source"], "scan");
    let renewal = row(&s, &[("event", "renewal".into())]);
    assert_eq!(metric(renewal, "events"), 1);
    assert_eq!(metric(renewal, "payout"), "1.00");
    let base = row(&s, &[("event", "".into())]);
    assert_eq!(metric(base, "conversions"), 2);
    assert_eq!(metric(base, "gross_clicks"), 0, "clicks have no event");

    // The scan and the counters agree on the totals.
    let (_, counted) = api!(app, format!("/api/reports/summary?group_by=day&{RANGE}"));
    let (_, scanned) = api!(app, format!("/api/reports/summary?group_by=day,sub1&{RANGE}"));
    assert_eq!(counted["totals"], scanned["totals"]);
}

#[actix_web::test]
async fn summary_filters_and_time_ranges() {
    let h = Harness::new().await;
    seed(&h).await;
    let app = h.app().await;
    let total = |s: &Value, m: &str| s["totals"][m].clone();

    let (_, s) = api!(app, format!("/api/reports/summary?group_by=day&oid=3&{RANGE}"));
    assert_eq!(total(&s, "gross_clicks"), 1);
    let (_, s) = api!(app, format!("/api/reports/summary?group_by=day&affid=2&{RANGE}"));
    assert_eq!(total(&s, "gross_clicks"), 1);
    assert_eq!(total(&s, "rejected_conversions"), 1);
    let (_, s) = api!(app, format!("/api/reports/summary?group_by=offer&advertiser_id=1&{RANGE}"));
    assert_eq!(s["source"], "counters");
    assert_eq!(total(&s, "gross_clicks"), 5);
    let (_, s) = api!(app, format!("/api/reports/summary?group_by=day&sub1=spring&{RANGE}"));
    assert_eq!(s["source"], "scan", "the counters do not know sub values");
    assert_eq!(total(&s, "gross_clicks"), 4);
    assert_eq!(total(&s, "revenue"), "10.00");
    let (_, s) = api!(app, format!("/api/reports/summary?group_by=day&sub1=spring&advertiser_id=2&{RANGE}"));
    assert_eq!(total(&s, "gross_clicks"), 1);

    // Ranges: one date, RFC 3339 with an offset, and a range widened to whole hours.
    let (_, s) = api!(app, "/api/reports/summary?group_by=day&from=2024-05-02&to=2024-05-02");
    assert_eq!(total(&s, "gross_clicks"), 1);
    let (_, s) =
        api!(app, "/api/reports/summary?group_by=hour&from=2024-05-01T12:00:00%2B02:00&to=2024-05-01T11:00:00Z");
    assert_eq!(s["from"], "2024-05-01T10:00:00Z");
    assert_eq!(total(&s, "gross_clicks"), 2, "10:00-11:00 UTC");
    let (_, s) = api!(app, "/api/reports/summary?group_by=hour&from=2024-05-01T10:59:00Z&to=2024-05-01T11:01:00Z");
    assert_eq!(s["from"], "2024-05-01T10:00:00Z");
    assert_eq!(s["to"], "2024-05-01T12:00:00Z");
    assert_eq!(total(&s, "gross_clicks"), 3);
    let (_, s) = api!(app, "/api/reports/summary?group_by=sub1&from=2024-05-01T10:59:00Z&to=2024-05-01T11:01:00Z");
    assert_eq!(total(&s, "gross_clicks"), 3, "the scan counts the same whole hours");

    // Default: the last 7 days, which hold none of 2024's traffic but today's click.
    let resp = test::call_service(&app, get("/clk?oid=1&affid=2&sub1=today&format=json").to_request()).await;
    assert_eq!(resp.status(), 200);
    let (_, s) = api!(app, "/api/reports/summary?group_by=day,partner");
    assert_eq!(total(&s, "gross_clicks"), 1);
    assert_eq!(s["rows"][0]["partner"], 2);
}

#[actix_web::test]
async fn invalid_clicks_over_http_are_counted_by_reason() {
    let h = Harness::new().await;
    let app = h.app().await;
    let bot = get("/clk?oid=1&affid=1&format=json").insert_header(("User-Agent", "Googlebot/2.1")).to_request();
    let empty = get("/clk?oid=1&affid=1&format=json").insert_header(("User-Agent", "")).to_request();
    let paused = get("/clk?oid=2&affid=1&format=json").to_request();
    let good = get("/clk?oid=1&affid=1&format=json").to_request();
    for req in [bot, empty, paused, good] {
        test::call_service(&app, req).await;
    }
    let (_, s) = api!(app, "/api/reports/summary?group_by=day");
    let m = &s["totals"];
    assert_eq!(m["gross_clicks"], 4);
    assert_eq!(m["invalid_clicks"], 3);
    let codes: Vec<u64> =
        m["invalid_by_reason"].as_array().unwrap().iter().map(|r| r["error_code"].as_u64().unwrap()).collect();
    assert_eq!(codes, vec![2, 4, 5], "paused offer, bot, empty user agent: {m}");
    // The CSV has a column per reason.
    let (csv, _) = csv_of!(app, "/api/reports/summary?group_by=day&format=csv");
    let header = &csv[0];
    let col = |name: &str| header.iter().position(|h| h == name).unwrap_or_else(|| panic!("{name} in {header:?}"));
    assert_eq!(csv[1][col("invalid_4")], "1");
    assert_eq!(csv[1][col("invalid_1")], "0");
    assert_eq!(csv[1][col("invalid_clicks")], "3");
}

#[actix_web::test]
async fn summary_csv_parses_back_to_the_json_numbers() {
    let h = Harness::new().await;
    seed(&h).await;
    let app = h.app().await;
    let (_, s) = api!(app, format!("/api/reports/summary?group_by=day,sub1&{RANGE}"));
    let (csv, _) = csv_of!(app, format!("/api/reports/summary?group_by=day,sub1&{RANGE}&format=csv"));
    let header = &csv[0];
    assert_eq!(&header[..4], &["day", "sub1", "gross_clicks", "unique_clicks"]);
    assert_eq!(csv.len() - 1, s["rows"].as_array().unwrap().len());
    for (line, json) in csv[1..].iter().zip(s["rows"].as_array().unwrap()) {
        assert_eq!(line[0], json["day"].as_str().unwrap());
        assert_eq!(line[1], json["sub1"].as_str().unwrap());
        for (i, name) in
            header.iter().enumerate().skip(2).filter(|(_, n)| !n.starts_with("invalid_") || *n == "invalid_clicks")
        {
            let want = match &json["metrics"][name] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            assert_eq!(line[i], want, "{name}");
        }
    }
}

#[actix_web::test]
async fn raw_reports_take_time_ranges_and_page_by_cursor() {
    let h = Harness::new().await;
    seed(&h).await;
    let app = h.app().await;

    let (_, page) = api!(app, "/api/reports/clicks?from=2024-05-01T10:00:00Z&to=2024-05-01T12:00:00Z");
    let rows = page["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.windows(2).all(|w| w[0]["time_ms"].as_u64() >= w[1]["time_ms"].as_u64()), "newest first");
    assert_eq!(rows[0]["sub1"], "summer");
    assert_eq!(rows[0]["source_id"], "s9");

    // Paging inside a range: two, then one, then done.
    let (_, first) = api!(app, "/api/reports/clicks?from=2024-05-01T10:00:00Z&to=2024-05-01T12:00:00Z&limit=2");
    assert_eq!(first["rows"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let (_, second) = api!(
        app,
        format!("/api/reports/clicks?from=2024-05-01T10:00:00Z&to=2024-05-01T12:00:00Z&limit=2&cursor={cursor}")
    );
    assert_eq!(second["rows"].as_array().unwrap().len(), 1);
    assert!(second["next_cursor"].is_null());

    let (_, page) = api!(app, "/api/reports/clicks?from=2024-05-02");
    assert_eq!(page["rows"].as_array().unwrap().len(), 1);
    assert_eq!(page["rows"][0]["sub1"], "autumn");
    let (_, page) = api!(app, "/api/reports/clicks?to=2024-05-01&affid=1&sub1=spring");
    assert_eq!(page["rows"].as_array().unwrap().len(), 4, "offers 1 and 3, the duplicate and the bot too");

    // A conversion row shows its click's time, the delay and the reason it was refused.
    let (_, page) = api!(app, "/api/reports/conversions?from=2024-05-01&to=2024-05-01&status=rejected");
    let rows = page["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["affid"], 2);
    assert_eq!(rows[0]["reason"], "click is older than the offer's session duration");
    assert_eq!(rows[0]["click_to_conversion_ms"], 20 * MINUTE);
    assert_eq!(rows[0]["click_time_ms"], MAY_1 + 11 * HOUR + 10 * MINUTE);
    let (_, page) = api!(app, "/api/reports/conversions?from=2024-05-02");
    assert_eq!(page["rows"].as_array().unwrap().len(), 1);

    for bad in ["from=yesterday", "to=2024-02-30", "from=2024-05-02&to=2024-05-01", "format=xml"] {
        let (status, e) = api!(app, format!("/api/reports/clicks?{bad}"));
        assert_eq!(status, 400, "{bad}: {e}");
        assert_eq!(e["error_code"], 1002, "{bad}: {e}");
        assert!(e["message"].is_string() && e["code"] == "invalid_parameter");
    }
    for bad in ["group_by=country", "group_by=,", "from=2024-05-03&to=2024-05-01", "oid=x"] {
        let (status, e) = api!(app, format!("/api/reports/summary?{bad}"));
        assert_eq!(status, 400, "{bad}: {e}");
        assert!(e["code"].is_string() && e["message"].is_string(), "{e}");
    }
}

#[actix_web::test]
async fn raw_reports_as_csv_are_quoted_and_formula_safe() {
    let h = Harness::new().await;
    let app = h.app().await;
    let nasty = "=HYPERLINK(\"http://evil\",\"x\")";
    let uri = format!(
        "/clk?oid=1&affid=1&format=json&sub1={}&sub2={}&sub3={}",
        percent_encoding::utf8_percent_encode(nasty, percent_encoding::NON_ALPHANUMERIC),
        "a%2C%22b%22",
        "%40me"
    );
    let (status, c) = json_of(test::call_service(&app, get(&uri).to_request()).await).await;
    assert_eq!(status, 200, "{c}");
    let tid = c["transaction_id"].as_str().unwrap().to_owned();
    let (csv, next) = csv_of!(app, "/api/reports/clicks?format=csv");
    assert!(next.is_none());
    let header = &csv[0];
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(&header[..3], &["transaction_id", "time_ms", "oid"], "JSON field order");
    assert_eq!(csv.len(), 2);
    assert_eq!(csv[1][col("transaction_id")], tid);
    assert_eq!(csv[1][col("sub1")], format!("'{nasty}"));
    assert_eq!(csv[1][col("sub2")], "a,\"b\"");
    assert_eq!(csv[1][col("sub3")], "'@me");
    assert_eq!(csv[1][col("unique")], "true");

    // Conversions: an unattributed one, as CSV; an empty export still has its header.
    let (status, _) =
        json_of(test::call_service(&app, get("/conversion?oid=1&amount=10&order_id=-1").to_request()).await).await;
    assert_eq!(status, 200);
    let (csv, _) = csv_of!(app, "/api/reports/conversions?format=csv");
    let col = |name: &str| csv[0].iter().position(|h| h == name).unwrap();
    assert_eq!(csv.len(), 2);
    assert_eq!(csv[1][col("status")], "unattributed");
    assert_eq!(csv[1][col("order_id")], "'-1");
    assert_eq!(csv[1][col("amount")], "10.00");
    let (csv, _) = csv_of!(app, "/api/reports/conversions?format=csv&status=rejected");
    assert_eq!(csv.len(), 1);
    assert_eq!(csv[0][0], "conversion_id");

    // A long export pages too: the next cursor comes in a header.
    for i in 0..3 {
        test::call_service(&app, get(&format!("/clk?oid=1&affid=2&sub1=n{i}&format=json")).to_request()).await;
    }
    let (csv, next) = csv_of!(app, "/api/reports/clicks?format=csv&limit=2");
    assert_eq!(csv.len(), 3);
    let (rest, last) = csv_of!(app, format!("/api/reports/clicks?format=csv&limit=2&cursor={}", next.unwrap()));
    assert_eq!(rest.len(), 3);
    assert!(last.is_none());
}

#[actix_web::test]
async fn partner_keys_see_their_own_rows_only() {
    let h = Harness::new().await;
    seed(&h).await;
    let app = h.app().await;
    let create = |partner: u64, token: &str| {
        TestRequest::post()
            .uri("/api/keys")
            .insert_header(("Authorization", format!("Bearer {token}")))
            .insert_header(("Content-Type", "application/json"))
            .set_payload(format!("{{\"partner_id\": {partner}}}"))
            .to_request()
    };
    let (status, created) = json_of(test::call_service(&app, create(2, TOKEN)).await).await;
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().unwrap().to_owned();
    assert_eq!(key.len(), 32);
    assert!(key.bytes().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(created["partner_id"], 2);
    assert_eq!(created["prefix"], &key[..8]);

    // Summary: forced to partner 2 whatever the grouping.
    let (status, s) = api!(app, format!("/api/reports/summary?group_by=partner&{RANGE}"), &key);
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["rows"].as_array().unwrap().len(), 1);
    assert_eq!(s["rows"][0]["partner"], 2);
    let (_, s) = api!(app, format!("/api/reports/summary?group_by=sub1&{RANGE}"), &key);
    assert_eq!(s["totals"]["gross_clicks"], 1);
    assert_eq!(s["rows"][0]["sub1"], "summer");
    let (status, s) = api!(app, format!("/api/reports/summary?affid=2&{RANGE}"), &key);
    assert_eq!(status, 200);
    assert_eq!(s["totals"]["gross_clicks"], 1);

    // Raw reports: only partner 2's rows.
    let (_, clicks) = api!(app, "/api/reports/clicks", &key);
    let rows = clicks["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows.iter().all(|r| r["affid"] == 2));
    let (_, conversions) = api!(app, "/api/reports/conversions", &key);
    assert!(conversions["rows"].as_array().unwrap().iter().all(|r| r["affid"] == 2));
    assert_eq!(conversions["rows"].as_array().unwrap().len(), 1);

    // Another partner's rows: refused with a JSON 403.
    for uri in [
        "/api/reports/clicks?affid=1".to_owned(),
        "/api/reports/conversions?affid=1".to_owned(),
        format!("/api/reports/summary?affid=1&{RANGE}"),
        "/api/reports/clicks?affid=1&format=csv".to_owned(),
    ] {
        let (status, e) = api!(app, uri, &key);
        assert_eq!(status, 403, "{uri}: {e}");
        assert_eq!(e["code"], "forbidden");
        assert!(e["error_code"].is_number() && e["message"].as_str().unwrap().contains("partner 2"));
    }

    // Management: refused with 403 (the key is real, it is just not the admin's).
    for uri in
        ["/api/offers", "/api/partners", "/api/advertisers", "/api/keys", "/api/postbacks", "/api/links?oid=1&affid=2"]
    {
        let (status, e) = api!(app, uri, &key);
        assert_eq!(status, 403, "{uri}: {e}");
        assert_eq!(e["code"], "forbidden");
    }
    let (status, _) = json_of(test::call_service(&app, create(2, &key)).await).await;
    assert_eq!(status, 403, "a partner key cannot mint keys");

    // The list shows keys masked, never the secret.
    let list_resp = test::call_service(&app, authed("/api/keys", TOKEN).to_request()).await;
    let body = String::from_utf8(test::read_body(list_resp).await.to_vec()).unwrap();
    assert!(!body.contains(&key), "the list must not show the key: {body}");
    let list: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list["rows"][0]["prefix"], &key[..8]);
    assert_eq!(list["rows"][0]["partner_id"], 2);
    assert!(list["rows"][0]["revoked_ms"].is_null());
    assert!(list["rows"][0]["masked"].as_str().unwrap().starts_with(&key[..8]));

    // A wrong key of the right shape, an unknown partner, then revocation.
    let wrong = format!("{}{}", &key[..8], "0".repeat(24));
    let (status, _) = api!(app, "/api/reports/clicks", &wrong);
    assert_eq!(status, 401);
    let (status, e) = json_of(test::call_service(&app, create(77, TOKEN)).await).await;
    assert_eq!(status, 400, "{e}");
    assert_eq!(e["field"], "partner_id");
    let revoke = |prefix: &str| {
        TestRequest::delete()
            .uri(&format!("/api/keys/{prefix}"))
            .insert_header(("Authorization", format!("Bearer {TOKEN}")))
            .to_request()
    };
    let (status, revoked) = json_of(test::call_service(&app, revoke(&key[..8].to_uppercase())).await).await;
    assert_eq!(status, 200, "{revoked}");
    assert!(revoked["revoked_ms"].is_number());
    let (status, e) = api!(app, "/api/reports/clicks", &key);
    assert_eq!(status, 401, "a revoked key reads nothing: {e}");
    let (status, _) = api!(app, "/api/offers", &key);
    assert_eq!(status, 401);
    let (status, _) = json_of(test::call_service(&app, revoke("00000000")).await).await;
    assert_eq!(status, 404);
    let (status, _) = json_of(test::call_service(&app, revoke("xyz")).await).await;
    assert_eq!(status, 404);

    // The admin token still sees everyone.
    let (_, s) = api!(app, format!("/api/reports/summary?group_by=partner&{RANGE}"));
    assert_eq!(s["rows"].as_array().unwrap().len(), 2);
    let (status, _) = api!(app, "/api/reports/summary", "not-a-key");
    assert_eq!(status, 401);
    let resp = test::call_service(&app, TestRequest::get().uri("/api/reports/summary").to_request()).await;
    assert_eq!(resp.status(), 401);
}

#[actix_web::test]
async fn the_dashboard_is_served_with_a_strict_content_policy() {
    let h = Harness::new().await;
    let app = h.app().await;
    let resp = test::call_service(&app, TestRequest::get().uri("/").to_request()).await;
    assert_eq!(resp.status(), 302);
    assert_eq!(resp.headers().get("location").unwrap(), "/dashboard/");
    let resp = test::call_service(&app, TestRequest::get().uri("/dashboard/").to_request()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers().get("content-type").unwrap(), "text/html; charset=utf-8");
    let csp = resp.headers().get("content-security-policy").unwrap().to_str().unwrap().to_owned();
    assert!(csp.contains("default-src 'self'") && csp.contains("connect-src 'self'"), "{csp}");
    let html = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert!(html.contains("<script src=\"app.js\""), "the page loads its own script");
    assert!(!html.contains("http://") && !html.contains("https://"), "no CDN: works offline");
    for file in ["app.js", "style.css"] {
        let resp = test::call_service(&app, TestRequest::get().uri(&format!("/dashboard/{file}")).to_request()).await;
        assert_eq!(resp.status(), 200, "{file}");
    }
    for bad in ["/dashboard/..%2Fdemo%2Findex.html", "/dashboard/.hidden", "/dashboard/missing.js"] {
        let resp = test::call_service(&app, TestRequest::get().uri(bad).to_request()).await;
        assert_eq!(resp.status(), 404, "{bad}");
    }
}

/// Four days of mixed traffic (2024-04-30 to 2024-05-03) on offers 1 and 3 (advertisers 1
/// and 2), partners 1 and 2: valid, duplicate and invalid clicks, impressions, and approved,
/// rejected, event and view-through conversions, at uneven hours so every day and its edges
/// hold something.
async fn seed_four_days(h: &Harness) {
    let start = MAY_1 - 24 * HOUR;
    for i in 0..160u64 {
        let ms = start + i * 37 * MINUTE + (i % 7) * 1_000;
        let (oid, advertiser) = if i % 3 == 0 { (3, 2) } else { (1, 1) };
        let affid = 1 + i % 2;
        let error_code = if i % 11 == 0 { 4 } else { 0 };
        let c = click(ms, oid, affid, advertiser, "spring", &format!("198.51.100.{}", i % 40), error_code);
        h.store.record_click(c, 3 * HOUR).await.unwrap();
        if i % 4 == 0 {
            let imp = Impression {
                id: TimeId::generate(ms + 1),
                oid,
                affid,
                advertiser_id: advertiser,
                params: params("spring", ""),
                visitor: Visitor::default(),
                error_code: 0,
            };
            h.store.record_impression(imp).await.unwrap();
        }
        if i % 5 == 0 {
            let status = if i % 15 == 0 { ConversionStatus::Rejected } else { ConversionStatus::Approved };
            let mut conv = conversion(Conv {
                ms: ms + 25 * MINUTE,
                affid,
                event: if i % 10 == 0 { "renewal" } else { "" },
                status,
                payout: if status == ConversionStatus::Approved { "1.25" } else { "0" },
                revenue: if status == ConversionStatus::Approved { "3.3333" } else { "0" },
                sub1: "spring",
                by: if i % 20 == 0 { AttributedBy::Impression } else { AttributedBy::TransactionId },
            });
            conv.oid = oid;
            conv.advertiser_id = advertiser;
            h.store.record_conversion(conv, vec![], vec![]).await.unwrap();
        }
    }
}

#[actix_web::test]
async fn daily_rollups_give_the_same_summary_as_the_hourly_counters() {
    use clickstamp_collector::service::reports::{
        summary, summary_from_hourly_counters, Dimension, SummaryFilter, SummaryRequest, SummarySource,
    };
    let h = Harness::new().await;
    seed_four_days(&h).await;
    let day = 24 * HOUR;
    let ranges = [
        ("aligned, one day", MAY_1..MAY_1 + day),
        ("aligned, three days", MAY_1 - day..MAY_1 + 2 * day),
        ("partial days at both edges", MAY_1 - 17 * HOUR..MAY_1 + 2 * day + 5 * HOUR),
        ("partial start, aligned end", MAY_1 + 3 * HOUR..MAY_1 + 2 * day),
        ("aligned start, partial end", MAY_1..MAY_1 + day + 13 * HOUR),
        ("not on hours either", MAY_1 - 5 * HOUR - 17 * MINUTE..MAY_1 + day + 2 * HOUR + 59 * MINUTE),
        ("inside one day", MAY_1 + 2 * HOUR..MAY_1 + 20 * HOUR),
        ("across midnight, no whole day", MAY_1 + 20 * HOUR..MAY_1 + day + 4 * HOUR),
        ("all time", 0..u64::MAX),
    ];
    let groupings: [&[Dimension]; 8] = [
        &[Dimension::Day],
        &[Dimension::Day, Dimension::Offer],
        &[Dimension::Offer],
        &[Dimension::Partner],
        &[Dimension::Advertiser],
        &[Dimension::Day, Dimension::Partner, Dimension::Advertiser],
        &[Dimension::Hour, Dimension::Offer],
        &[],
    ];
    let filters = [
        SummaryFilter::default(),
        SummaryFilter { oid: Some(1), ..SummaryFilter::default() },
        SummaryFilter { affid: Some(2), ..SummaryFilter::default() },
        SummaryFilter { advertiser_id: Some(2), ..SummaryFilter::default() },
        SummaryFilter { oid: Some(1), affid: Some(1), ..SummaryFilter::default() },
    ];
    let mut compared = 0;
    for (name, range) in &ranges {
        for group_by in groupings {
            for filter in &filters {
                let request =
                    SummaryRequest { group_by: group_by.to_vec(), time_ms: range.clone(), filter: filter.clone() };
                let rolled = summary(&h.store, &request).unwrap();
                let hourly = summary_from_hourly_counters(&h.store, &request).unwrap();
                assert_eq!(rolled.source, SummarySource::Counters);
                assert_eq!(
                    serde_json::to_value(&rolled).unwrap(),
                    serde_json::to_value(&hourly).unwrap(),
                    "{name}, group_by {group_by:?}, {filter:?}"
                );
                compared += 1;
            }
        }
    }
    assert_eq!(compared, ranges.len() * groupings.len() * filters.len());

    // The data is not trivial: the big ranges count clicks and money on every path.
    let request = SummaryRequest {
        group_by: vec![Dimension::Day],
        time_ms: ranges[2].1.clone(),
        filter: SummaryFilter::default(),
    };
    let s = summary(&h.store, &request).unwrap();
    assert_eq!(s.rows.len(), 4, "a partial day, two whole days, a partial day");
    let t = serde_json::to_value(&s.totals).unwrap();
    assert!(t["gross_clicks"].as_u64().unwrap() > 50 && t["conversions"].as_u64().unwrap() > 5, "{t}");
    assert!(t["invalid_clicks"].as_u64().unwrap() > 0 && t["impressions"].as_u64().unwrap() > 0, "{t}");

    // Over HTTP the summary (daily roll-ups inside) equals the hourly path, and the scan.
    let app = h.app().await;
    let range = "from=2024-04-30T07:00:00Z&to=2024-05-02T05:00:00Z";
    let (status, http) = api!(app, format!("/api/reports/summary?group_by=day,offer&{range}"));
    assert_eq!(status, 200);
    let request = SummaryRequest {
        group_by: vec![Dimension::Day, Dimension::Offer],
        time_ms: MAY_1 - 17 * HOUR..MAY_1 + day + 5 * HOUR,
        filter: SummaryFilter::default(),
    };
    assert_eq!(http, serde_json::to_value(summary_from_hourly_counters(&h.store, &request).unwrap()).unwrap());
    let (_, scanned) = api!(app, format!("/api/reports/summary?group_by=day,source_id&{range}"));
    assert_eq!(scanned["source"], "scan");
    assert_eq!(http["totals"], scanned["totals"]);
}
