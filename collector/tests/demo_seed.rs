//! The demo's seed: config on every start, one real click and conversion on the first.

use clickstamp_collector::service::setup::{seed_demo, seed_demo_traffic};
use clickstamp_collector::store::{Durability, Store};

#[actix_web::test]
async fn demo_traffic_is_one_attributed_conversion_recorded_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Durability::Durable).unwrap();
    seed_demo(&store, "http://127.0.0.1:8081").await.unwrap();
    let now = clickstamp_collector::service::now_ms();
    let (tid, conversion_id) = seed_demo_traffic(&store, now).await.unwrap().expect("first start records traffic");
    assert!(seed_demo_traffic(&store, now).await.unwrap().is_none(), "a restart records nothing more");

    let click = store.click(&tid).unwrap().unwrap();
    assert!(click.is_valid(), "the demo visitor passes the bot filter");
    assert_eq!((click.oid, click.affid, click.params.sub[0].as_str()), (1, 1, "spring"));
    let conversion = store.conversion(&conversion_id).unwrap().unwrap();
    assert_eq!(conversion.status.as_str(), "approved");
    assert_eq!((conversion.transaction_id, conversion.affid), (Some(tid), 1));
    assert_eq!(conversion.payout.to_string(), "5.00");
    assert_eq!(store.clicks_page(None, 10, |_| true).unwrap().rows.len(), 1);

    // Seeding again keeps what exists and follows a new demo-site address.
    seed_demo(&store, "http://127.0.0.1:9999").await.unwrap();
    let offer = store.offer(1).unwrap().unwrap();
    assert!(offer.destination_url.starts_with("http://127.0.0.1:9999/"));
}
