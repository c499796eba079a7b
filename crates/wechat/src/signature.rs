//! WeChat's signature scheme: `hex(sha1(concat(sort(parts))))`, used for the URL check
//! (token, timestamp, nonce) and for `msg_signature` (token, timestamp, nonce, Encrypt).

use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

/// Sorts the parts as plain byte strings, joins them with no separator and returns the lower-case
/// hex SHA-1. The inputs must be the exact strings received (never re-formatted numbers).
pub fn sign(parts: &[&str]) -> String {
    let mut sorted: Vec<&str> = parts.to_vec();
    sorted.sort_unstable();
    let mut hasher = Sha1::new();
    for part in sorted {
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Checks a received signature in constant time. Case matters: WeChat sends lower-case hex.
pub fn verify(received: &str, parts: &[&str]) -> bool {
    let expected = sign(parts);
    received.len() == expected.len() && bool::from(received.as_bytes().ct_eq(expected.as_bytes()))
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
}
