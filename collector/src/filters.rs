//! Which clicks are valid, and where a valid one goes. Pure: the caller loads the offer and
//! partner; this module only decides.

use crate::model::{ClickRejection, Offer, OfferStatus, Partner};

/// Why this click must not reach the advertiser, if it must not.
pub fn click_rejection(offer: Option<&Offer>, partner: Option<&Partner>) -> Option<ClickRejection> {
    let Some(offer) = offer else { return Some(ClickRejection::UnknownOffer) };
    if offer.status == OfferStatus::Paused {
        return Some(ClickRejection::OfferPaused);
    }
    if partner.is_none() {
        return Some(ClickRejection::UnknownPartner);
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

    #[test]
    fn rejects_unknown_and_paused() {
        let partner = Partner { id: 1, name: "p".into(), postbacks: vec![] };
        assert_eq!(click_rejection(None, Some(&partner)), Some(ClickRejection::UnknownOffer));
        assert_eq!(
            click_rejection(Some(&offer(OfferStatus::Paused)), Some(&partner)),
            Some(ClickRejection::OfferPaused)
        );
        assert_eq!(click_rejection(Some(&offer(OfferStatus::Active)), None), Some(ClickRejection::UnknownPartner));
        assert_eq!(click_rejection(Some(&offer(OfferStatus::Active)), Some(&partner)), None);
    }

    #[test]
    fn uid_picks_only_configured_destinations() {
        let o = offer(OfferStatus::Active);
        assert_eq!(destination_template(&o, "summer"), "https://shop.example/summer");
        assert_eq!(destination_template(&o, "https://evil.example"), "https://shop.example/");
        assert_eq!(destination_template(&o, ""), "https://shop.example/");
    }
}
