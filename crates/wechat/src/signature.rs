//! WeChat's signature scheme: `hex(sha1(concat(sort(parts))))`, used for the URL check
//! (token, timestamp, nonce) and for `msg_signature` (token, timestamp, nonce, Encrypt).

use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

/// Sorts the parts as plain byte strings, joins them with no separator and returns the lower-case
/// hex SHA-1. The inputs must be the exact strings received (never re-formatted numbers).
pub fn sign(parts: &[&str]) -> String {
    hex_sha1(parts).iter().map(|&b| char::from(b)).collect()
}

/// Checks a received signature in constant time. Case matters: WeChat sends lower-case hex.
pub fn verify(received: &str, parts: &[&str]) -> bool {
    let expected = hex_sha1(parts);
    received.len() == expected.len() && bool::from(received.as_bytes().ct_eq(&expected))
}

/// [`sign`] on the stack: every callback checks two signatures and signs its reply, so no
/// allocation and a table lookup per hex digit (the `hex` crate's char iterator was ~1 % of a
/// callback's cost).
fn hex_sha1(parts: &[&str]) -> [u8; 40] {
    // Callers pass three or four parts; more go to the heap.
    let mut small = [""; 8];
    let mut large = Vec::new();
    let sorted: &mut [&str] = if parts.len() <= small.len() {
        let s = &mut small[..parts.len()];
        s.copy_from_slice(parts);
        s
    } else {
        large.extend_from_slice(parts);
        &mut large
    };
    sorted.sort_unstable();
    let mut hasher = Sha1::new();
    for part in sorted.iter() {
        hasher.update(part.as_bytes());
    }
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 40];
    for (i, byte) in hasher.finalize().iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(byte >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(byte & 0x0f)];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_url_check_vectors() {
        assert_eq!(sign(&["AAAAA", "1714036504", "1514711492"]), "f464b24fc39322e44b38aa78f5edd27bd1441696");
        assert_eq!(sign(&["AAAAA", "1714037059", "486452656"]), "899cf89e464efb63f54ddac96b0a0a235f53aa78");
        assert!(verify("f464b24fc39322e44b38aa78f5edd27bd1441696", &["AAAAA", "1714036504", "1514711492"]));
        assert!(!verify("F464B24FC39322E44B38AA78F5EDD27BD1441696", &["AAAAA", "1714036504", "1514711492"]));
        assert!(!verify("", &["AAAAA", "1714036504", "1514711492"]));
    }

    #[test]
    fn order_of_parts_does_not_matter() {
        assert_eq!(sign(&["b", "a", "c"]), sign(&["c", "b", "a"]));
    }

    #[test]
    fn many_parts_sign_as_their_concatenation() {
        let parts: Vec<String> = (0..12).map(|i| format!("p{i:02}")).collect();
        let refs: Vec<&str> = parts.iter().rev().map(String::as_str).collect();
        assert_eq!(sign(&refs), hex::encode(Sha1::digest(parts.concat().as_bytes())));
    }
}
