//! What a push to a vendor is made of, apart from pushing it: how often and how long the
//! workers try ([`DeliveryOptions`]), the vendors' secrets and the signature they check,
//! and the payload in the vendor's shape.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use hmac::{Hmac, Mac as _};
use serde_json::Value;
use sha2::Sha256;

use super::RetryPolicy;

/// Vendors' HMAC secrets, by register id. Never printed.
#[derive(Clone, Default)]
pub struct VendorSecrets(BTreeMap<String, String>);

impl VendorSecrets {
    /// The secrets, by vendor id.
    pub fn new(secrets: BTreeMap<String, String>) -> Self {
        Self(secrets)
    }

    /// The secret of `vendor`.
    pub fn get(&self, vendor: &str) -> Option<&str> {
        self.0.get(vendor).map(String::as_str)
    }
}

impl fmt::Debug for VendorSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// How deliveries are pushed.
#[derive(Debug, Clone)]
pub struct DeliveryOptions {
    /// Retries and dead-lettering.
    pub retry: RetryPolicy,
    /// Pushes in flight per vendor.
    pub concurrency: usize,
    /// Timeout of one push.
    pub timeout: Duration,
    /// The vendors' secrets.
    pub secrets: VendorSecrets,
    /// How often the queue is checked when nothing wakes the worker.
    pub poll: Duration,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            concurrency: 4,
            timeout: Duration::from_secs(10),
            secrets: VendorSecrets::default(),
            poll: Duration::from_millis(100),
        }
    }
}

/// The HMAC-SHA256 of `body` with `secret`, as the `Sluice-Signature` header carries it.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The payload in the vendor's shape: each target pointer takes the value at its payload
/// pointer (absent values are left out). Without a shape, the payload as it is.
pub fn shaped(payload: &Value, shape: Option<&BTreeMap<String, String>>) -> Value {
    let Some(shape) = shape else {
        return payload.clone();
    };
    let mut out = Value::Object(Default::default());
    for (target, source) in shape {
        if let Some(v) = payload.pointer(source) {
            set(&mut out, target, v.clone());
        }
    }
    out
}

fn set(root: &mut Value, pointer: &str, value: Value) {
    let mut at = root;
    let parts: Vec<String> = sluice_rules::pointer::segments(pointer)
        .map(std::borrow::Cow::into_owned)
        .collect();
    for (i, part) in parts.iter().enumerate() {
        if !at.is_object() {
            *at = Value::Object(Default::default());
        }
        let map = at.as_object_mut().expect("made an object above");
        if i + 1 == parts.len() {
            map.insert(part.clone(), value);
            return;
        }
        at = map
            .entry(part.clone())
            .or_insert_with(|| Value::Object(Default::default()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_shape_picks_and_renames_payload_fields() {
        let payload =
            json!({"mac": "00:15:65:aa:bb:cc", "provisioning_url": "https://p/x", "password": "s"});
        let shape: BTreeMap<String, String> = [
            ("/device/mac".to_string(), "/mac".to_string()),
            ("/serverUrl".to_string(), "/provisioning_url".to_string()),
        ]
        .into();
        assert_eq!(
            shaped(&payload, Some(&shape)),
            json!({"device": {"mac": "00:15:65:aa:bb:cc"}, "serverUrl": "https://p/x"})
        );
        assert_eq!(shaped(&payload, None), payload);
    }

    #[test]
    fn the_signature_is_the_hmac_of_the_body() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn secrets_are_never_printed() {
        let s = VendorSecrets::new([("dpd".to_string(), "hunter2".to_string())].into());
        assert_eq!(format!("{s:?}"), "{\"dpd\"}");
    }
}
