//! Which clicks are valid, and where a valid one goes. Pure: the caller loads the offer and
//! partner; this module only decides.

use std::net::IpAddr;

use crate::model::{ClickRejection, Offer, OfferStatus, Partner, Visitor};

/// Known bots and crawlers by user agent: the maintained isbot pattern list, compiled once.
#[derive(Default)]
pub struct BotFilter {
    bots: isbot::Bots,
}

impl BotFilter {
    pub fn is_bot(&self, user_agent: &str) -> bool {
        self.bots.is_bot(user_agent)
    }
}

impl std::fmt::Debug for BotFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BotFilter")
    }
}

/// Whether `ip` is one of `blocked` (single addresses or CIDR ranges). Entries that do not
/// parse are ignored here; the management API refuses them when an offer is saved.
pub fn ip_is_blocked(ip: &str, blocked: &[String]) -> bool {
    let Ok(ip) = ip.parse::<IpAddr>() else { return false };
    blocked.iter().any(|entry| match entry.parse::<ipnet::IpNet>() {
        Ok(net) => net.contains(&ip),
        Err(_) => entry.parse::<IpAddr>().is_ok_and(|single| single == ip),
    })
}

/// Why this click must not reach the advertiser, if it must not.
pub fn click_rejection(
    offer: Option<&Offer>,
    partner: Option<&Partner>,
    visitor: &Visitor,
    bots: &BotFilter,
) -> Option<ClickRejection> {
    let Some(offer) = offer else { return Some(ClickRejection::UnknownOffer) };
    if offer.status == OfferStatus::Paused {
        return Some(ClickRejection::OfferPaused);
    }
    if partner.is_none() {
        return Some(ClickRejection::UnknownPartner);
    }
    if visitor.user_agent.trim().is_empty() {
        return Some(ClickRejection::EmptyUserAgent);
    }
    if bots.is_bot(&visitor.user_agent) {
        return Some(ClickRejection::BotUserAgent);
    }
    if ip_is_blocked(&visitor.ip, &offer.blocked_ips) {
        return Some(ClickRejection::BlockedIp);
    }
    None
}

/// The destination template for a click: the alternate one its `uid` names, else the
/// offer's default. A `uid` that names nothing configured falls back to the default, so no
/// parameter can pick an arbitrary URL.
pub fn destination_template<'a>(offer: &'a Offer, uid: &str) -> &'a str {
    offer
        .alternate_destinations
        .iter()
        .find(|(name, _)| !uid.is_empty() && name == uid)
        .map_or(offer.destination_url.as_str(), |(_, url)| url.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DEFAULT_SESSION_HOURS;

    fn offer(status: OfferStatus) -> Offer {
        Offer {
            id: 1,
            advertiser_id: 1,
            name: "o".into(),
            status,
            destination_url: "https://shop.example/".into(),
            alternate_destinations: vec![("summer".into(), "https://shop.example/summer".into())],
            fallback_url: None,
            session_hours: DEFAULT_SESSION_HOURS,
            view_through_hours: 24,
            events: vec![],
            accept_browser_conversions: true,
            duplicate_click_window_secs: 0,
            blocked_ips: vec![],
        }
    }

    const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

    fn visitor(ip: &str, ua: &str) -> Visitor {
        Visitor { ip: ip.into(), user_agent: ua.into(), referrer: String::new() }
    }

    #[test]
    fn rejects_unknown_paused_and_filtered_traffic() {
        let bots = BotFilter::default();
        let partner = Partner { id: 1, name: "p".into(), postbacks: vec![] };
        let active = offer(OfferStatus::Active);
        let person = visitor("198.51.100.4", CHROME);
        let check = |o: Option<&Offer>, p: Option<&Partner>, v: &Visitor| click_rejection(o, p, v, &bots);
        assert_eq!(check(None, Some(&partner), &person), Some(ClickRejection::UnknownOffer));
        assert_eq!(
            check(Some(&offer(OfferStatus::Paused)), Some(&partner), &person),
            Some(ClickRejection::OfferPaused)
        );
        assert_eq!(check(Some(&active), None, &person), Some(ClickRejection::UnknownPartner));
        assert_eq!(
            check(Some(&active), Some(&partner), &visitor("198.51.100.4", " ")),
            Some(ClickRejection::EmptyUserAgent)
        );
        for bot in [
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "curl/8.4.0",
            "python-requests/2.31.0",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
        ] {
            assert_eq!(check(Some(&active), Some(&partner), &visitor("198.51.100.4", bot)), Some(ClickRejection::BotUserAgent), "{bot}");
        }
        let mut blocking = offer(OfferStatus::Active);
        blocking.blocked_ips = vec!["203.0.113.0/24".into(), "2001:db8::1".into()];
        assert_eq!(
            check(Some(&blocking), Some(&partner), &visitor("203.0.113.99", CHROME)),
            Some(ClickRejection::BlockedIp)
        );
        assert_eq!(
            check(Some(&blocking), Some(&partner), &visitor("2001:db8::1", CHROME)),
            Some(ClickRejection::BlockedIp)
        );
        assert_eq!(check(Some(&blocking), Some(&partner), &visitor("203.0.114.1", CHROME)), None);
        assert_eq!(check(Some(&active), Some(&partner), &person), None);
    }

    #[test]
    fn uid_picks_only_configured_destinations() {
        let o = offer(OfferStatus::Active);
        assert_eq!(destination_template(&o, "summer"), "https://shop.example/summer");
        assert_eq!(destination_template(&o, "https://evil.example"), "https://shop.example/");
        assert_eq!(destination_template(&o, ""), "https://shop.example/");
    }
}
