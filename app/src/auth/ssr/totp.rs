//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP) as every
//! authenticator app computes them: HMAC-SHA-1, 6 digits, 30-second steps.
//! No I/O here: the factor's storage, replay state and audit are in
//! [`super::mfa`].
//!
//! SHA-1 is what the apps implement (Google Authenticator ignores any other
//! `algorithm`); HMAC-SHA-1 has no known weakness that matters here.

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac as _};
use sha1::Sha1;
use subtle::ConstantTimeEq as _;

/// Seconds per step (RFC 6238's default, and the only value apps honour).
pub const STEP_SECONDS: u64 = 30;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Bytes of a shared secret: 160 bits, RFC 4226's recommendation, which is
/// 32 base32 characters to type.
pub const SECRET_LEN: usize = 20;

/// RFC 4226's HOTP: HMAC-SHA-1 of the big-endian counter, dynamically
/// truncated to `digits` decimal digits.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    // HMAC takes a key of any length; `new_from_slice` cannot fail.
    let mut mac = <Hmac<Sha1>>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let word = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    word % 10u32.pow(digits)
}

/// The step a Unix time falls in.
pub fn step_at(unix_seconds: u64) -> u64 {
    unix_seconds / STEP_SECONDS
}

/// The 6-digit code of `step`, zero-padded.
pub fn code_at(secret: &[u8], step: u64) -> String {
    format!("{:06}", hotp(secret, step, DIGITS))
}

/// `input` as a 6-digit code (spaces and dashes people type are dropped),
/// or `None` when it is not one.
pub fn normalize_code(input: &str) -> Option<String> {
    let digits: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    (digits.len() == DIGITS as usize && digits.bytes().all(|b| b.is_ascii_digit()))
        .then_some(digits)
}

/// The step whose code `code` is, among the current step and one either
/// side (a phone's clock a little off, a code typed as it turned over), and
/// only if that step is later than `last_used_step`: a code is accepted
/// once, and an older one never after a newer one. Compared in constant
/// time.
pub fn matching_step(secret: &[u8], code: &str, now_step: u64, last_used_step: u64) -> Option<u64> {
    let code = normalize_code(code)?;
    [now_step.saturating_sub(1), now_step, now_step + 1]
        .into_iter()
        .filter(|step| *step > last_used_step)
        .find(|step| bool::from(code_at(secret, *step).as_bytes().ct_eq(code.as_bytes())))
}

/// The secret in base32 (RFC 4648, no padding), as the QR code carries it.
pub fn encode_secret(secret: &[u8]) -> String {
    BASE32_NOPAD.encode(secret)
}

/// The secret for typing by hand: base32 in groups of four.
pub fn grouped_secret(secret: &[u8]) -> String {
    group(&encode_secret(secret), 4)
}

/// `text` in space-separated groups of `size` characters.
pub fn group(text: &str, size: usize) -> String {
    text.as_bytes()
        .chunks(size)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `otpauth://` URI authenticator apps read from the QR code
/// (the Key Uri Format Google documented, which every app follows).
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    // `+` is a space in a query string but not in the label's path part.
    let label = format!("{}:{}", encode(issuer), encode(account)).replace('+', "%20");
    format!(
        "otpauth://totp/{label}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        encode_secret(secret),
        encode(issuer).replace('+', "%20"),
    )
}

/// `data` as a QR code in an inline `<svg>` element (no XML declaration,
/// no script, no external reference: it is drawn by the page itself, so the
/// CSP needs nothing for it and no request leaves the server).
pub fn qr_svg(data: &str) -> Result<String, qrcode::types::QrError> {
    let code = qrcode::QrCode::with_error_correction_level(data, qrcode::EcLevel::M)?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    Ok(match svg.find("<svg") {
        Some(start) => svg[start..].to_owned(),
        None => svg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B: the SHA-1 seed is the ASCII of "1234567890"
    /// twice, and the codes are 8 digits.
    const RFC_SEED: &[u8] = b"12345678901234567890";

    #[test]
    fn the_codes_match_the_rfc_6238_sha1_test_vectors() {
        for (time, expected) in [
            (59_u64, 94_287_082_u32),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ] {
            assert_eq!(
                hotp(RFC_SEED, step_at(time), 8),
                expected,
                "T = {time} s (step {})",
                step_at(time)
            );
        }
    }

    #[test]
    fn six_digit_codes_are_the_last_six_digits_of_the_rfc_values() {
        assert_eq!(code_at(RFC_SEED, step_at(59)), "287082");
        assert_eq!(code_at(RFC_SEED, step_at(1_111_111_109)), "081804");
    }

    #[test]
    fn a_code_matches_its_step_and_one_either_side_only() {
        let now = step_at(1_234_567_890);
        for step in [now - 1, now, now + 1] {
            assert_eq!(
                matching_step(RFC_SEED, &code_at(RFC_SEED, step), now, 0),
                Some(step)
            );
        }
        for step in [now - 2, now + 2] {
            assert_eq!(
                matching_step(RFC_SEED, &code_at(RFC_SEED, step), now, 0),
                None
            );
        }
    }

    #[test]
    fn a_code_of_a_step_already_used_or_earlier_is_refused() {
        let now = step_at(1_234_567_890);
        let code = code_at(RFC_SEED, now);
        assert_eq!(matching_step(RFC_SEED, &code, now, now), None, "replay");
        assert_eq!(
            matching_step(RFC_SEED, &code_at(RFC_SEED, now - 1), now, now),
            None,
            "an older code after a newer one"
        );
        assert_eq!(
            matching_step(RFC_SEED, &code_at(RFC_SEED, now + 1), now, now),
            Some(now + 1)
        );
    }

    #[test]
    fn typed_codes_may_carry_spaces_and_dashes_but_only_six_digits() {
        assert_eq!(normalize_code(" 123 456 "), Some("123456".into()));
        assert_eq!(normalize_code("123-456"), Some("123456".into()));
        assert_eq!(normalize_code("12345"), None);
        assert_eq!(normalize_code("1234567"), None);
        assert_eq!(normalize_code("12345a"), None);
    }

    #[test]
    fn the_manual_key_is_base32_in_groups_of_four() {
        assert_eq!(
            grouped_secret(RFC_SEED),
            "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"
        );
    }

    #[test]
    fn the_otpauth_uri_names_issuer_account_and_parameters() {
        let uri = otpauth_uri("Vanguard", "ann@example.com", RFC_SEED);
        assert_eq!(
            uri,
            "otpauth://totp/Vanguard:ann%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Vanguard&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn the_qr_code_is_a_bare_svg_element() {
        let svg = qr_svg("otpauth://totp/Vanguard:a?secret=GEZDGNBV").expect("encodes");
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(!svg.contains("<script"));
    }
}
