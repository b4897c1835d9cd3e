//! The PII vault's cryptography: field encryption, key wrapping and blind
//! indexes. No I/O here; [`super::store`] holds the SQL.
//!
//! * **Key hierarchy.** A master key (`VANGUARD_MASTER_KEY`, or a KMS in
//!   production) is never used directly: HKDF-SHA256 derives from it a
//!   key-encryption key (KEK) that wraps one data key (DEK) per customer
//!   and the random root of the blind-index keys. Each master key is known
//!   by its id, the first 8 bytes (hex) of the SHA-256 of its KEK, so a
//!   wrapped key names the master key it needs without revealing it.
//! * **Field envelope.** `0x01 | 24-byte random nonce | XChaCha20-Poly1305
//!   ciphertext and tag`. The associated data binds the value to its place:
//!   `table 0x00 column 0x00 row_id 0x00 key_version`, so a ciphertext copied
//!   to another row or column does not decrypt.
//! * **Blind index.** HMAC-SHA256 of the normalised value under a key
//!   derived per column; equal values give equal indexes (exact-match search
//!   without decrypting), and the index key is not the encryption key.

use chacha20poly1305::{
    KeyInit as _, XChaCha20Poly1305, XNonce,
    aead::{Aead as _, Payload},
};
use hkdf::Hkdf;
use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};

use crate::encoding::hex;

/// The envelope format this code writes.
pub const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 24;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    #[error("the value is not a Vanguard envelope (format byte or length)")]
    Malformed,
    #[error(
        "the value does not decrypt here: wrong key, or it was moved from another row or column"
    )]
    Undecryptable,
    #[error("the master key `{0}` is not configured")]
    UnknownKey(String),
    #[error("the customer's personal data was erased")]
    Erased,
    #[error("the operating system's random number generator failed")]
    Random,
}

/// 32 secret bytes that never print.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

impl SecretKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A fresh key from the OS RNG.
    pub fn generate() -> Result<Self, VaultError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|_| VaultError::Random)?;
        Ok(Self(bytes))
    }

    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.0.into())
    }
}

fn hkdf(input: &[u8; 32], label: &str) -> SecretKey {
    let mut out = [0u8; 32];
    // `expand` fails only for outputs longer than 255 * 32 bytes.
    let _ = Hkdf::<Sha256>::new(Some(b"vanguard-vault"), input).expand(label.as_bytes(), &mut out);
    SecretKey(out)
}

/// The key of one column's blind index, derived from the blind-index root
/// (a random key of its own, never an encryption key).
pub fn index_key(root: &SecretKey, table: &str, column: &str) -> SecretKey {
    hkdf(root.expose(), &format!("blind-index v1 {table}.{column}"))
}

/// What a master key derives: the KEK, with the id that names it.
#[derive(Debug, Clone)]
pub struct MasterKey {
    pub id: String,
    kek: SecretKey,
}

impl MasterKey {
    pub fn derive(master: &[u8; 32]) -> Self {
        let kek = hkdf(master, "kek v1");
        let id = hex(&Sha256::digest(kek.expose())[..8]);
        Self { id, kek }
    }

    /// Wraps a key stored in `table` for `owner` (a customer id, a
    /// purpose); the wrapped form is bound to both and to this master key.
    pub fn wrap(&self, table: &str, owner: &str, key: &SecretKey) -> Result<Vec<u8>, VaultError> {
        seal(
            &self.kek,
            key.expose(),
            &aad(table, "wrapped_key", owner, &self.id),
        )
    }

    pub fn unwrap_key(
        &self,
        table: &str,
        owner: &str,
        wrapped: &[u8],
    ) -> Result<SecretKey, VaultError> {
        let bytes = open(
            &self.kek,
            wrapped,
            &aad(table, "wrapped_key", owner, &self.id),
        )?;
        let array: [u8; 32] = bytes.try_into().map_err(|_| VaultError::Malformed)?;
        Ok(SecretKey(array))
    }
}

/// Associated data binding a value to its table, column, row and key.
pub fn aad(table: &str, column: &str, row_id: &str, key_version: &str) -> Vec<u8> {
    [table, column, row_id, key_version].join("\0").into_bytes()
}

/// Encrypts `plaintext` into a v1 envelope.
pub fn seal(key: &SecretKey, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, VaultError> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(|_| VaultError::Random)?;
    let ciphertext = key
        .cipher()
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| VaultError::Undecryptable)?;
    let mut envelope = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
    envelope.push(FORMAT_V1);
    envelope.extend_from_slice(&nonce);
    envelope.extend_from_slice(&ciphertext);
    Ok(envelope)
}

/// Decrypts a v1 envelope.
pub fn open(key: &SecretKey, envelope: &[u8], aad: &[u8]) -> Result<Vec<u8>, VaultError> {
    let (&format, rest) = envelope.split_first().ok_or(VaultError::Malformed)?;
    if format != FORMAT_V1 || rest.len() < NONCE_LEN + 16 {
        return Err(VaultError::Malformed);
    }
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| VaultError::Malformed)?;
    key.cipher()
        .decrypt(
            &XNonce::from(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| VaultError::Undecryptable)
}

/// The blind index of an already-normalised value, hex.
pub fn blind_index(key: &SecretKey, normalized: &str) -> String {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail here.
    let mut mac = <Hmac<Sha256>>::new_from_slice(key.expose()).unwrap_or_else(|_| unreachable!());
    mac.update(normalized.as_bytes());
    hex(&mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master() -> MasterKey {
        MasterKey::derive(&[42u8; 32])
    }

    #[test]
    fn a_sealed_value_opens_only_in_its_own_place() {
        let dek = SecretKey::generate().unwrap();
        let here = aad("customers", "email", "row-1", "1");
        let envelope = seal(&dek, b"jane@example.com", &here).unwrap();

        assert_eq!(open(&dek, &envelope, &here).unwrap(), b"jane@example.com");
        for elsewhere in [
            aad("customers", "email", "row-2", "1"),
            aad("customers", "phone", "row-1", "1"),
            aad("claims", "email", "row-1", "1"),
            aad("customers", "email", "row-1", "2"),
        ] {
            assert_eq!(
                open(&dek, &envelope, &elsewhere),
                Err(VaultError::Undecryptable)
            );
        }
        let other_key = SecretKey::generate().unwrap();
        assert_eq!(
            open(&other_key, &envelope, &here),
            Err(VaultError::Undecryptable)
        );
    }

    #[test]
    fn envelopes_carry_the_format_and_a_fresh_nonce_each_time() {
        let dek = SecretKey::generate().unwrap();
        let mut nonces = std::collections::HashSet::new();
        for _ in 0..100_000 {
            let envelope = seal(&dek, b"x", b"aad").unwrap();
            assert_eq!(envelope[0], FORMAT_V1);
            assert!(nonces.insert(envelope[1..25].to_vec()), "a nonce repeated");
        }
    }

    #[test]
    fn damaged_or_foreign_envelopes_are_refused_cleanly() {
        let dek = SecretKey::generate().unwrap();
        let mut envelope = seal(&dek, b"secret", b"aad").unwrap();
        assert_eq!(open(&dek, &[], b"aad"), Err(VaultError::Malformed));
        assert_eq!(
            open(&dek, &envelope[..20], b"aad"),
            Err(VaultError::Malformed)
        );
        envelope[0] = 9;
        assert_eq!(open(&dek, &envelope, b"aad"), Err(VaultError::Malformed));
        envelope[0] = FORMAT_V1;
        let last = envelope.len() - 1;
        envelope[last] ^= 1;
        assert_eq!(
            open(&dek, &envelope, b"aad"),
            Err(VaultError::Undecryptable)
        );
    }

    #[test]
    fn wrapped_keys_unwrap_only_for_their_owner_and_master_key() {
        let dek = SecretKey::generate().unwrap();
        let wrapped = master().wrap("customer_keys", "customer-1", &dek).unwrap();

        assert_eq!(
            master()
                .unwrap_key("customer_keys", "customer-1", &wrapped)
                .unwrap(),
            dek
        );
        assert!(
            master()
                .unwrap_key("customer_keys", "customer-2", &wrapped)
                .is_err()
        );
        assert!(
            master()
                .unwrap_key("vault_keys", "customer-1", &wrapped)
                .is_err()
        );
        let other = MasterKey::derive(&[7u8; 32]);
        assert!(
            other
                .unwrap_key("customer_keys", "customer-1", &wrapped)
                .is_err()
        );
    }

    #[test]
    fn blind_indexes_are_per_column_and_differ_from_encryption_keys() {
        let master = master();
        let root = SecretKey::generate().unwrap();
        let email = index_key(&root, "customers", "email");
        let national_id = index_key(&root, "customers", "national_id");

        assert_eq!(
            blind_index(&email, "a@x.com"),
            blind_index(&email, "a@x.com")
        );
        assert_ne!(
            blind_index(&email, "a@x.com"),
            blind_index(&national_id, "a@x.com")
        );
        assert_ne!(email, master.kek);
        assert_eq!(blind_index(&email, "a@x.com").len(), 64);
        assert_eq!(master.id.len(), 16);
        assert_ne!(master.id, MasterKey::derive(&[7u8; 32]).id);
    }
}
