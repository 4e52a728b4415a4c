//! Record encoding: one version byte, then postcard. A future layout bumps the version and
//! keeps a decoder for the old one, so a data directory never needs a migration pause.

use serde::{de::DeserializeOwned, Serialize};

use super::StoreError;

const VERSION: u8 = 1;

pub fn encode<T: Serialize>(record: &T) -> Result<Vec<u8>, StoreError> {
    let mut out = postcard::to_stdvec(record).map_err(|e| StoreError::Corrupt(format!("encode: {e}")))?;
    out.insert(0, VERSION);
    Ok(out)
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    match bytes.split_first() {
        Some((&VERSION, body)) => postcard::from_bytes(body).map_err(|e| StoreError::Corrupt(format!("decode: {e}"))),
        Some((v, _)) => Err(StoreError::Corrupt(format!("unknown record version {v}"))),
        None => Err(StoreError::Corrupt("empty record".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::TimeId;
    use crate::model::{Click, LinkKind, TrackingParams, Visitor};

    #[test]
    fn round_trips_a_click_and_refuses_unknown_versions() {
        let click = Click {
            id: TimeId::generate(1),
            oid: 1,
            affid: 2,
            advertiser_id: 3,
            params: TrackingParams { gclid: "abc".into(), ..Default::default() },
            visitor: Visitor { ip: "127.0.0.1".into(), user_agent: "UA".into(), referrer: String::new() },
            kind: LinkKind::Sdk,
            unique: true,
            error_code: 0,
        };
        let bytes = encode(&click).unwrap();
        assert_eq!(bytes[0], VERSION);
        assert_eq!(decode::<Click>(&bytes).unwrap(), click);
        let mut wrong = bytes.clone();
        wrong[0] = 99;
        assert!(matches!(decode::<Click>(&wrong), Err(StoreError::Corrupt(_))));
        assert!(matches!(decode::<Click>(&bytes[..bytes.len() / 2]), Err(StoreError::Corrupt(_))));
    }
}
