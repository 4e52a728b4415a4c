//! Partner-scoped API keys: a key lets one partner read its own report rows and nothing else.
//!
//! A key is 32 random hex characters (`ids::random_secret`), shown once when it is created.
//! The store keeps only its SHA-256, as a setting in the config tree whose ID is built from
//! the key's first 8 hex characters (its *prefix*, which the list shows and `DELETE` takes)
//! with the top bit set, so key settings never collide with the small IDs of other settings.
//! Checking a key is one read by that ID and a constant-time compare of hashes. Revoking
//! keeps the record with the time of revocation (an audit trail) and makes it unusable.

use serde::{Deserialize, Serialize};

use crate::attribution::constant_time_eq;
use crate::model::PartnerId;
use crate::store::{Store, StoreError};

/// Settings at or above this ID are API keys.
const KEY_SETTING_BASE: u64 = 1 << 63;
/// Hex characters of a key that name it in lists and in `DELETE /api/keys/{prefix}`.
pub const PREFIX_LEN: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct StoredKey {
    prefix: String,
    /// SHA-256 of the whole key, hex.
    sha256: String,
    partner_id: PartnerId,
    created_ms: u64,
    revoked_ms: Option<u64>,
}

/// A key as lists show it: never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeySummary {
    pub prefix: String,
    /// `3f2a9c1b••••••••••••••••••••••••`
    pub masked: String,
    pub partner_id: PartnerId,
    pub created_ms: u64,
    pub revoked_ms: Option<u64>,
}

/// A freshly created key: the only time the secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewKey {
    pub key: String,
    pub prefix: String,
    pub partner_id: PartnerId,
    pub created_ms: u64,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum KeyError {
    #[error("partner {0} does not exist")]
    UnknownPartner(PartnerId),
    #[error("no API key has the prefix '{0}'")]
    NotFound(String),
    #[error("a key prefix is {PREFIX_LEN} hexadecimal characters")]
    MalformedPrefix,
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn sha256_hex(key: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, key.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The setting ID of the key with this prefix; `None` when the prefix is not 8 hex chars.
fn setting_id(prefix: &str) -> Option<u64> {
    let prefix = prefix.get(..PREFIX_LEN)?;
    let value = u32::from_str_radix(prefix, 16).ok()?;
    prefix.bytes().all(|c| c.is_ascii_hexdigit()).then_some(KEY_SETTING_BASE | u64::from(value))
}

fn summary(k: &StoredKey) -> KeySummary {
    KeySummary {
        prefix: k.prefix.clone(),
        masked: format!("{}{}", k.prefix, "•".repeat(32 - PREFIX_LEN)),
        partner_id: k.partner_id,
        created_ms: k.created_ms,
        revoked_ms: k.revoked_ms,
    }
}

fn load(store: &Store, id: u64) -> Result<Option<StoredKey>, StoreError> {
    store
        .setting(id)?
        .map(|bytes| serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt(format!("API key record: {e}"))))
        .transpose()
}

async fn save(store: &Store, key: &StoredKey) -> Result<(), StoreError> {
    let id = setting_id(&key.prefix).ok_or_else(|| StoreError::Corrupt("API key prefix".into()))?;
    let bytes = serde_json::to_vec(key).map_err(|e| StoreError::Corrupt(format!("API key record: {e}")))?;
    store.put_setting(id, bytes).await
}

/// Create a key for an existing partner.
pub async fn create_key(store: &Store, partner_id: PartnerId, now_ms: u64) -> Result<NewKey, KeyError> {
    if store.partner(partner_id)?.is_none() {
        return Err(KeyError::UnknownPartner(partner_id));
    }
    // A prefix already taken (1 in 4 billion per key) draws again: prefixes name keys.
    let key = loop {
        let candidate = crate::ids::random_secret();
        let id = setting_id(&candidate).ok_or_else(|| StoreError::Corrupt("random secret is not hex".into()))?;
        if store.setting(id)?.is_none() {
            break candidate;
        }
    };
    let stored = StoredKey {
        prefix: key[..PREFIX_LEN].to_owned(),
        sha256: sha256_hex(&key),
        partner_id,
        created_ms: now_ms,
        revoked_ms: None,
    };
    save(store, &stored).await?;
    Ok(NewKey { prefix: stored.prefix, key, partner_id, created_ms: now_ms })
}

/// Every key, active and revoked, oldest first.
pub fn list_keys(store: &Store) -> Result<Vec<KeySummary>, StoreError> {
    let mut keys = Vec::new();
    for (id, bytes) in store.settings()? {
        if id >= KEY_SETTING_BASE {
            let k: StoredKey =
                serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt(format!("API key record: {e}")))?;
            keys.push(summary(&k));
        }
    }
    keys.sort_by(|a, b| a.created_ms.cmp(&b.created_ms).then_with(|| a.prefix.cmp(&b.prefix)));
    Ok(keys)
}

/// Revoke the key with this prefix; revoking twice keeps the first time.
pub async fn revoke_key(store: &Store, prefix: &str, now_ms: u64) -> Result<KeySummary, KeyError> {
    let prefix = prefix.to_ascii_lowercase();
    if prefix.len() != PREFIX_LEN {
        return Err(KeyError::MalformedPrefix);
    }
    let id = setting_id(&prefix).ok_or(KeyError::MalformedPrefix)?;
    let mut key = load(store, id)?.ok_or(KeyError::NotFound(prefix))?;
    if key.revoked_ms.is_none() {
        key.revoked_ms = Some(now_ms);
        save(store, &key).await?;
    }
    Ok(summary(&key))
}

/// The partner an active key belongs to; `None` for anything that is not an active key.
pub fn partner_of(store: &Store, presented: &str) -> Result<Option<PartnerId>, StoreError> {
    let presented = presented.trim().to_ascii_lowercase();
    if presented.len() != 32 {
        return Ok(None);
    }
    let Some(id) = setting_id(&presented) else { return Ok(None) };
    let Some(key) = load(store, id)? else { return Ok(None) };
    let matches = constant_time_eq(sha256_hex(&presented).as_bytes(), key.sha256.as_bytes());
    Ok((matches && key.revoked_ms.is_none()).then_some(key.partner_id))
}
