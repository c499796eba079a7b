//! The SIP2 checksum: the two's complement of the low 16 bits of the byte sum of everything from
//! the first byte of the message through the letters `AZ`, written as four upper-case hex digits.
//! A frame checks out when `sum(bytes through "AZ") + checksum ≡ 0 (mod 65536)`.

/// The checksum for `prefix` (every byte from the start of the message through `AZ`).
pub fn checksum(prefix: &[u8]) -> u16 {
    let sum = prefix.iter().fold(0u16, |acc, &b| acc.wrapping_add(u16::from(b)));
    sum.wrapping_neg()
}

/// Four upper-case hex digits for `prefix`'s checksum.
pub fn checksum_hex(prefix: &[u8]) -> [u8; 4] {
    let c = checksum(prefix);
    let hex = b"0123456789ABCDEF";
    let digit = |shift: u16| hex.get(usize::from((c >> shift) & 0xF)).copied().unwrap_or(b'0');
    [digit(12), digit(8), digit(4), digit(0)]
}

/// Parse four hex digits (either case).
pub(crate) fn parse_hex4(bytes: &[u8]) -> Option<u16> {
    if bytes.len() != 4 || !bytes.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let s = std::str::from_utf8(bytes).ok()?;
    u16::from_str_radix(s, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_vectors() {
        assert_eq!(&checksum_hex(b"9900802.00AY1AZ"), b"FCA0");
        assert_eq!(&checksum_hex(b"9300CNinfo@test.org|COtester|CPselfcheck_location|AY0AZ"), b"EB8C");
        assert_eq!(&checksum_hex(b"09N20160419    12200820160419    122008APReading Room 1|AO830|AB830$28170815|AC|AY2AZ"), b"EB80");
        assert_eq!(&checksum_hex(b"96AZ"), b"FEF6");
    }
}
