//! Publisher keys and bundle signatures (ed25519).
//!
//! A publisher signs a package's statement ([`Package::statement`]) with its secret key;
//! the gateway accepts a published package only when the signature verifies with one of
//! the public keys it is configured to trust.
//!
//! Key files are one line of text: `ed25519-secret:<base64 seed>` (the secret key, kept by
//! the publisher) and `ed25519:<base64 public key>` (given to the gateways that trust it).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer as _, Verifier as _};
pub use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::package::{Package, Signature};

const SECRET_PREFIX: &str = "ed25519-secret:";
const PUBLIC_PREFIX: &str = "ed25519:";

/// Why a key or a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The package carries no signature and unsigned bundles are not allowed.
    #[error(
        "the bundle is unsigned; sign it with `sluice bundle sign` (or start the gateway with \
         --allow-unsigned-bundles for local development)"
    )]
    Unsigned,
    /// The signing key is not among the trusted publisher keys.
    #[error("the bundle is signed by {0}, which is not a trusted publisher key of this gateway")]
    UnknownKey(String),
    /// The signature does not verify against the package's content.
    #[error("the bundle's signature by {0} does not match its content")]
    BadSignature(String),
    /// A key or signature could not be decoded.
    #[error("{0}")]
    Malformed(String),
}

/// The id of a public key: `ed25519:<first 16 hex digits of sha256(key)>`.
pub fn key_id(key: &VerifyingKey) -> String {
    let digest = Sha256::digest(key.as_bytes());
    format!("ed25519:{}", &hex::encode(digest)[..16])
}

/// A new secret key from the operating system's random source.
pub fn generate() -> anyhow::Result<SigningKey> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("reading random bytes: {e}"))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// The text of a secret key file.
pub fn secret_key_text(key: &SigningKey) -> String {
    format!("{SECRET_PREFIX}{}\n", B64.encode(key.to_bytes()))
}

/// The text of a public key file.
pub fn public_key_text(key: &VerifyingKey) -> String {
    format!("{PUBLIC_PREFIX}{}\n", B64.encode(key.as_bytes()))
}

/// Parses a secret key file's text.
pub fn parse_secret_key(text: &str) -> Result<SigningKey, SignatureError> {
    let b64 = text.trim().strip_prefix(SECRET_PREFIX).ok_or_else(|| {
        SignatureError::Malformed(format!(
            "not a secret key (expected a line starting with `{SECRET_PREFIX}`)"
        ))
    })?;
    let bytes: [u8; 32] = B64
        .decode(b64)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| SignatureError::Malformed("the secret key is not 32 base64 bytes".into()))?;
    Ok(SigningKey::from_bytes(&bytes))
}

/// Parses a public key file's text (also accepts a secret key's, deriving its public key).
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, SignatureError> {
    let text = text.trim();
    if text.starts_with(SECRET_PREFIX) {
        return parse_secret_key(text).map(|k| k.verifying_key());
    }
    let b64 = text.strip_prefix(PUBLIC_PREFIX).ok_or_else(|| {
        SignatureError::Malformed(format!(
            "not a public key (expected a line starting with `{PUBLIC_PREFIX}`)"
        ))
    })?;
    decode_public(b64)
}

fn decode_public(b64: &str) -> Result<VerifyingKey, SignatureError> {
    let bytes: [u8; 32] = B64
        .decode(b64)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| SignatureError::Malformed("the public key is not 32 base64 bytes".into()))?;
    VerifyingKey::from_bytes(&bytes)
        .map_err(|e| SignatureError::Malformed(format!("invalid public key: {e}")))
}

/// Signs `package` with `key`.
pub fn sign(package: &Package, key: &SigningKey) -> Signature {
    let public = key.verifying_key();
    Signature {
        key: key_id(&public),
        public: B64.encode(public.as_bytes()),
        signature: B64.encode(key.sign(package.statement().as_bytes()).to_bytes()),
    }
}

/// The publisher keys a gateway trusts.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    keys: Vec<VerifyingKey>,
    allow_unsigned: bool,
}

impl TrustedKeys {
    /// Trusts `keys`; `allow_unsigned` also accepts packages without a signature (a
    /// development setting: any signature present must still verify).
    pub fn new(keys: Vec<VerifyingKey>, allow_unsigned: bool) -> Self {
        Self {
            keys,
            allow_unsigned,
        }
    }

    /// The ids of the trusted keys.
    pub fn ids(&self) -> Vec<String> {
        self.keys.iter().map(key_id).collect()
    }

    /// Whether unsigned packages are accepted.
    pub fn allows_unsigned(&self) -> bool {
        self.allow_unsigned
    }

    /// Checks `package`'s signature; returns the signing key's id (`None` when unsigned
    /// and unsigned packages are allowed).
    pub fn verify(&self, package: &Package) -> Result<Option<String>, SignatureError> {
        let Some(sig) = &package.signature else {
            return if self.allow_unsigned {
                Ok(None)
            } else {
                Err(SignatureError::Unsigned)
            };
        };
        let public = decode_public(&sig.public)?;
        let id = key_id(&public);
        if !self.keys.contains(&public) {
            return Err(SignatureError::UnknownKey(id));
        }
        let bytes: [u8; 64] = B64
            .decode(&sig.signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| SignatureError::BadSignature(id.clone()))?;
        public
            .verify(
                package.statement().as_bytes(),
                &ed25519_dalek::Signature::from_bytes(&bytes),
            )
            .map_err(|_| SignatureError::BadSignature(id.clone()))?;
        Ok(Some(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package() -> Package {
        Package {
            manifest: "format = 1\n".into(),
            plugins: [("a".to_string(), "sha256:00".to_string())].into(),
            cases: Default::default(),
            signature: None,
        }
    }

    /// [`package`] signed with `key`.
    fn signed(key: &SigningKey) -> Package {
        let mut p = package();
        p.signature = Some(sign(&p, key));
        p
    }

    /// Trusts `key`'s signatures only, and no unsigned package.
    fn trusting(key: &SigningKey) -> TrustedKeys {
        TrustedKeys::new(vec![key.verifying_key()], false)
    }

    #[test]
    fn a_signed_package_verifies_with_its_key_only() {
        let key = generate().unwrap();
        let other = generate().unwrap();
        let p = signed(&key);
        assert_eq!(
            trusting(&key).verify(&p).unwrap(),
            Some(key_id(&key.verifying_key()))
        );
        assert!(matches!(
            trusting(&other).verify(&p),
            Err(SignatureError::UnknownKey(_))
        ));
    }

    #[test]
    fn a_changed_package_no_longer_verifies() {
        let key = generate().unwrap();
        let mut p = signed(&key);
        p.plugins.insert("a".into(), "sha256:01".into());
        assert!(matches!(
            trusting(&key).verify(&p),
            Err(SignatureError::BadSignature(_))
        ));
    }

    #[test]
    fn unsigned_packages_need_the_development_setting() {
        let p = package();
        assert_eq!(
            TrustedKeys::new(vec![], false).verify(&p),
            Err(SignatureError::Unsigned)
        );
        assert_eq!(TrustedKeys::new(vec![], true).verify(&p), Ok(None));
    }

    #[test]
    fn key_files_round_trip() {
        let key = generate().unwrap();
        let secret = parse_secret_key(&secret_key_text(&key)).unwrap();
        assert_eq!(secret.to_bytes(), key.to_bytes());
        let public = parse_public_key(&public_key_text(&key.verifying_key())).unwrap();
        assert_eq!(public, key.verifying_key());
        assert!(parse_public_key("nonsense").is_err());
    }
}
