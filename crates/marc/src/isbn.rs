//! ISBN normalisation: every valid ISBN becomes 13 digits.
//!
//! Catalogue ISBN subfields carry more than the number ("7101003044 (pbk.) :",
//! "ISBN 7-5011-1234-5", "978-7-5327-4524-4"), and ISBN-10 and ISBN-13 of the same
//! book must match in search, so both are reduced to ISBN-13 digits. Values whose
//! check digit fails are *not* silently kept as ISBNs: the caller gets `None` and
//! files the raw value separately.
//!
//! Rule (the Python cross-check implements the same): drop a leading "ISBN" label
//! (and ':'/spaces after it), take the leading run of digits, `X`/`x`, hyphens and
//! spaces (a space after 10 or 13 characters ends it), drop hyphens and spaces;
//! 10 characters with a valid mod-11 check → convert to 978-prefixed ISBN-13;
//! 13 digits starting 978/979 with a valid mod-10 check → as is; anything else → `None`.

/// Normalise a raw ISBN subfield to ISBN-13 digits, or `None` if invalid.
pub fn normalize(raw: &str) -> Option<String> {
    let mut s = raw.trim_start();
    if s.len() >= 4 && s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("isbn")) {
        s = s.get(4..).unwrap_or("").trim_start_matches([':', ' ']);
    }
    let mut core = String::new();
    for c in s.chars() {
        match c {
            '0'..='9' => core.push(c),
            'X' | 'x' => core.push('X'),
            '-' => {}
            // A space separates groups inside one ISBN, or ends it when a full
            // number has been read ("9787101003048 7101003044").
            ' ' if core.len() == 10 || core.len() == 13 => break,
            ' ' => {}
            _ => break,
        }
    }
    match core.len() {
        10 if valid10(&core) => {
            let body = format!("978{}", core.get(..9)?);
            let check = check13(&body)?;
            Some(format!("{body}{check}"))
        }
        13 if (core.starts_with("978") || core.starts_with("979")) && valid13(&core) => Some(core),
        _ => None,
    }
}

fn digit(c: char) -> Option<u32> {
    c.to_digit(10)
}

fn valid10(s: &str) -> bool {
    let mut sum = 0u32;
    for (i, c) in s.chars().enumerate() {
        let v = match (i, c) {
            (9, 'X') => 10,
            (_, c) => match digit(c) {
                Some(v) => v,
                None => return false,
            },
        };
        sum += v * (10 - i as u32);
    }
    sum.is_multiple_of(11)
}

fn check13(first12: &str) -> Option<char> {
    let mut sum = 0u32;
    for (i, c) in first12.chars().enumerate() {
        let v = digit(c)?;
        sum += if i % 2 == 0 { v } else { v * 3 };
    }
    char::from_digit((10 - sum % 10) % 10, 10)
}

fn valid13(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_digit()) && check13(s.get(..12).unwrap_or("")) == s.chars().nth(12)
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn cases() {
        assert_eq!(normalize("7560123139").as_deref(), Some("9787560123134"));
        assert_eq!(normalize("0-596-00027-8 (pbk.)").as_deref(), Some("9780596000271"));
        assert_eq!(normalize("ISBN 0-596-00027-8").as_deref(), Some("9780596000271"));
        assert_eq!(normalize("isbn: 9780596000271 7101003044").as_deref(), Some("9780596000271"));
        assert_eq!(normalize("9780596000271 :").as_deref(), Some("9780596000271"));
        assert_eq!(normalize("088730866x").as_deref(), Some("9780887308666"));
        assert_eq!(normalize("7560123130"), None); // bad check digit
        assert_eq!(normalize("(pbk.)"), None);
        assert_eq!(normalize(""), None);
        assert_eq!(normalize("9791234567896").as_deref(), Some("9791234567896"));
    }
}
