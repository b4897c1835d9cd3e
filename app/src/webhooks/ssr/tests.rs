use super::*;

#[test]
fn a_signature_verifies_with_its_secret_only_and_only_while_fresh() {
    let body = br#"{"id":"e1","type":"claim.triaged"}"#;
    let header = signature("whsec_abc", 1_700_000_000, body);
    assert!(header.starts_with("t=1700000000,v1="));
    assert!(verify("whsec_abc", &header, body, 1_700_000_100));
    assert!(!verify("whsec_other", &header, body, 1_700_000_100));
    assert!(!verify("whsec_abc", &header, b"{}", 1_700_000_100));
    assert!(!verify("whsec_abc", &header, body, 1_700_000_000 + 301));
    assert!(!verify("whsec_abc", "v1=deadbeef", body, 1_700_000_000));
}

#[test]
fn the_signature_is_hmac_sha256_over_timestamp_dot_body() {
    // The known answer of `printf '1.body' | openssl dgst -sha256 -hmac key`.
    let header = signature("key", 1, b"body");
    assert_eq!(
        header,
        "t=1,v1=91b5374b153842ad05b2c4eab9349b8321b14703165bd3fb8b034dfb8be98ae5"
    );
}
