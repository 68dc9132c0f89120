//! Standard Webhooks signing: `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")).
//!
//! HMAC comes from RustCrypto's `hmac` (over the `sha2` pantau already uses) and base64 from the
//! `base64` crate reqwest already builds; see the note in Cargo.toml.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Reads the base64 of `whsec_` secrets as leniently as services write them: with or without
/// padding, and with stray low bits in the last character.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// The signing key of a configured secret: `whsec_` secrets are base64, others raw bytes.
pub fn secret_key(secret: &str) -> Vec<u8> {
    secret.strip_prefix("whsec_").and_then(base64_decode).unwrap_or_else(|| secret.as_bytes().to_vec())
}

/// The `webhook-signature` header value.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut msg = Vec::with_capacity(id.len() + body.len() + 24);
    msg.extend_from_slice(id.as_bytes());
    msg.push(b'.');
    msg.extend_from_slice(timestamp.to_string().as_bytes());
    msg.push(b'.');
    msg.extend_from_slice(body);
    format!("v1,{}", base64_encode(&hmac_sha256(key, &msg)))
}

/// HMAC (RFC 2104) over SHA-256.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    // HMAC takes a key of any length (a long one is hashed first), so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts keys of every length");
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

/// Standard base64 with padding.
pub fn base64_encode(data: &[u8]) -> String {
    STANDARD.encode(data)
}

/// Standard base64, read as leniently as pantau always has: any number of trailing `=`, and a
/// last character that cannot make a whole byte (a length of 4n+1) ignored; `None` on any other
/// character.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    // One character left over carries 6 bits, less than a byte: it adds nothing.
    let (whole, stray) = if s.len() % 4 == 1 { s.split_at(s.len() - 1) } else { (s, "") };
    if !stray.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/') {
        return None;
    }
    LENIENT.decode(whole).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn whsec_secrets_with_odd_padding_or_length_still_decode() {
        // Written by hand or by other tools: too many `=`, padding where none is due, and a
        // stray last character. Each reads as the bytes it carries (as before the base64 crate).
        assert_eq!(base64_decode("Zm9v==").unwrap(), b"foo");
        assert_eq!(base64_decode("Zm9vYmFy=").unwrap(), b"foobar");
        assert_eq!(base64_decode("Zm9vYmFyYmF6q").unwrap(), b"foobarbaz");
        assert_eq!(base64_decode("Zm9vYg").unwrap(), b"foob");
        assert_eq!(base64_decode("Zm9v!"), None);
        assert_eq!(secret_key("whsec_Zm9vYmFyYmF6q"), b"foobarbaz");
    }

    #[test]
    fn base64_round_trips() {
        for s in ["", "f", "fo", "foo", "foob", "fooba", "foobar"] {
            assert_eq!(base64_decode(&base64_encode(s.as_bytes())).unwrap(), s.as_bytes());
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_decode("!!"), None);
    }

    #[test]
    fn unpadded_secrets_decode_too() {
        assert_eq!(base64_decode("Zm8").unwrap(), b"fo");
        assert_eq!(base64_decode("Zm8=").unwrap(), b"fo");
    }

    #[test]
    fn a_key_longer_than_the_block_is_hashed_first() {
        // RFC 4231 test case 6: a 131-byte key.
        let mac = hmac_sha256(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    }

    #[test]
    fn standard_webhooks_signature_has_v1_prefix_and_uses_decoded_key() {
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        assert_eq!(key.len(), 24);
        let sig = signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, br#"{"test": 2432232314}"#);
        // The example of the Standard Webhooks specification.
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
