//! The checkpoint signing key (Ed25519) and the signed note.
//!
//! The key comes from `VANGUARD_AUDIT_SIGNING_KEY` (base64 of a 32-byte
//! seed) or, when that is unset, is derived from the master key with
//! HKDF-SHA256 under a label of its own; either way it is never stored in
//! the database, so whoever can write the database cannot sign a
//! checkpoint. It is parsed once at start-up and held in the state.
//!
//! The signed text ([`checkpoint_note`]) is what `openssl pkeyutl -verify
//! -rawin` checks byte for byte:
//!
//! ```text
//! vanguard-audit-checkpoint v1
//! <origin>
//! <tree_size>
//! <root hash, lowercase hex>
//! <sealed_at, microseconds since the Unix epoch>
//! ```

use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest as _, Sha256};

/// Names this log in every note.
pub const ORIGIN: &str = "vanguard-audit";

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), before
/// the 32 key bytes.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// The text a checkpoint's signature covers.
pub fn checkpoint_note(origin: &str, tree_size: i64, root_hex: &str, sealed_at: i64) -> String {
    format!("vanguard-audit-checkpoint v1\n{origin}\n{tree_size}\n{root_hex}\n{sealed_at}\n")
}

/// Signs checkpoints; also verifies them with its own public key.
#[derive(Clone)]
pub struct AuditSigner {
    key: SigningKey,
    key_id: String,
}

impl std::fmt::Debug for AuditSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditSigner")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl AuditSigner {
    /// From the configured 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let key = SigningKey::from_bytes(seed);
        let key_id = key_id(&key.verifying_key());
        Self { key, key_id }
    }

    /// Derived from the master key when no signing key is configured.
    pub fn derived_from_master_key(master_key: &[u8; 32]) -> Self {
        let mut seed = [0_u8; 32];
        // `expand` fails only for outputs longer than 255 * 32 bytes.
        let _ = hkdf::Hkdf::<Sha256>::new(Some(b"vanguard-audit"), master_key)
            .expand(b"audit checkpoint signing key v1", &mut seed);
        Self::from_seed(&seed)
    }

    /// The first 8 bytes of the SHA-256 of the public key, in hex: which key
    /// signed a checkpoint (stored with it, so a rotated key is recognised).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn sign(&self, note: &str) -> [u8; 64] {
        self.key.sign(note.as_bytes()).to_bytes()
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Whether `signature` is this key's over `note`.
    pub fn verifies(&self, note: &str, signature: &[u8]) -> bool {
        Signature::from_slice(signature)
            .is_ok_and(|sig| self.verifying_key().verify(note.as_bytes(), &sig).is_ok())
    }

    /// The raw 32-byte public key, base64.
    pub fn public_key_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.verifying_key().as_bytes())
    }

    /// The public key as a PEM SubjectPublicKeyInfo, for `openssl pkeyutl`.
    pub fn public_key_pem(&self) -> String {
        let mut der = SPKI_PREFIX.to_vec();
        der.extend_from_slice(self.verifying_key().as_bytes());
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(der)
        )
    }
}

fn key_id(key: &VerifyingKey) -> String {
    crate::encoding::hex(&Sha256::digest(key.as_bytes())[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_note_and_its_key() {
        let signer = AuditSigner::from_seed(&[7; 32]);
        let note = checkpoint_note(ORIGIN, 3, "ab", 1);
        let signature = signer.sign(&note);
        assert!(signer.verifies(&note, &signature));
        assert!(!signer.verifies(&checkpoint_note(ORIGIN, 4, "ab", 1), &signature));
        assert!(!AuditSigner::from_seed(&[8; 32]).verifies(&note, &signature));
        assert!(!signer.verifies(&note, b"short"));
    }

    #[test]
    fn the_derived_key_depends_on_the_master_key_and_is_not_the_master_key() {
        let one = AuditSigner::derived_from_master_key(&[1; 32]);
        assert_eq!(
            one.key_id(),
            AuditSigner::derived_from_master_key(&[1; 32]).key_id()
        );
        assert_ne!(
            one.key_id(),
            AuditSigner::derived_from_master_key(&[2; 32]).key_id()
        );
        assert_ne!(one.key_id(), AuditSigner::from_seed(&[1; 32]).key_id());
        assert!(
            one.public_key_pem()
                .starts_with("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA")
        );
    }
}
