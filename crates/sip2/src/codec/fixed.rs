//! Fixed-length fields: their Rust types and how each is written and read.
//!
//! A fixed field is always ASCII and always exactly `WIDTH` bytes. Each wire form has a codec
//! type implementing [`FixedCodec`] for the Rust type the message struct uses, e.g. a `bool` is
//! written `Y`/`N` by [`YesNo`] and `1`/`0` by [`OkFlag`]. Readers are a little lenient where
//! real systems differ (a blank `Y`/`N` flag reads as "no", counts may be space-padded); writers
//! always produce the canonical form.

use super::date::SipDate;
use super::error::EncodeError;

/// Writes and reads one fixed-length field of type `T`.
pub trait FixedCodec<T> {
    /// Width in bytes.
    const WIDTH: usize;
    /// Append exactly `WIDTH` bytes, or fail if `value` does not fit.
    fn write(field: &'static str, value: &T, out: &mut Vec<u8>) -> Result<(), EncodeError>;
    /// Read from exactly `WIDTH` bytes; `None` if they are not a valid value.
    fn read(bytes: &[u8]) -> Option<T>;
}

fn bad(field: &'static str, value: impl std::fmt::Debug) -> EncodeError {
    EncodeError::BadFixed { field, value: format!("{value:?}") }
}

/// `Y` / `N` flag as `bool` (reads `y`, `n` and a blank as well; a blank is "no").
pub struct YesNo;
impl FixedCodec<bool> for YesNo {
    const WIDTH: usize = 1;
    fn write(_: &'static str, v: &bool, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.push(if *v { b'Y' } else { b'N' });
        Ok(())
    }
    fn read(b: &[u8]) -> Option<bool> {
        match b {
            [b'Y' | b'y'] => Some(true),
            [b'N' | b'n' | b' '] => Some(false),
            _ => None,
        }
    }
}

/// `1` / `0` "ok" flag as `bool` (reads `Y`/`N` as well).
pub struct OkFlag;
impl FixedCodec<bool> for OkFlag {
    const WIDTH: usize = 1;
    fn write(_: &'static str, v: &bool, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.push(if *v { b'1' } else { b'0' });
        Ok(())
    }
    fn read(b: &[u8]) -> Option<bool> {
        match b {
            [b'1' | b'Y' | b'y'] => Some(true),
            [b'0' | b'N' | b'n'] => Some(false),
            _ => None,
        }
    }
}

/// A `Y` / `N` / `U` field (magnetic media, desensitize).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Tristate {
    /// `Y`
    Yes,
    /// `N`
    No,
    /// `U` (or blank)
    #[default]
    Unknown,
}
impl FixedCodec<Tristate> for Tristate {
    const WIDTH: usize = 1;
    fn write(_: &'static str, v: &Tristate, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.push(match v {
            Tristate::Yes => b'Y',
            Tristate::No => b'N',
            Tristate::Unknown => b'U',
        });
        Ok(())
    }
    fn read(b: &[u8]) -> Option<Tristate> {
        match b {
            [b'Y' | b'y'] => Some(Tristate::Yes),
            [b'N' | b'n'] => Some(Tristate::No),
            [b'U' | b'u' | b' '] => Some(Tristate::Unknown),
            _ => None,
        }
    }
}

/// `N` zero-padded decimal digits as `u16` (reads space padding; all blank reads as 0).
pub struct Digits<const N: usize>;
impl<const N: usize> FixedCodec<u16> for Digits<N> {
    const WIDTH: usize = N;
    fn write(field: &'static str, v: &u16, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let s = format!("{v:0N$}");
        if s.len() != N {
            return Err(bad(field, v));
        }
        out.extend_from_slice(s.as_bytes());
        Ok(())
    }
    fn read(b: &[u8]) -> Option<u16> {
        if b.len() != N {
            return None;
        }
        let t = std::str::from_utf8(b).ok()?.trim_matches(' ');
        if t.is_empty() {
            return Some(0);
        }
        if !t.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    }
}

/// A 4-digit count that may be blank (`None` = four spaces, "not available").
pub struct Count4;
impl FixedCodec<Option<u16>> for Count4 {
    const WIDTH: usize = 4;
    fn write(field: &'static str, v: &Option<u16>, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match v {
            None => {
                out.extend_from_slice(b"    ");
                Ok(())
            }
            Some(n) => Digits::<4>::write(field, n, out),
        }
    }
    fn read(b: &[u8]) -> Option<Option<u16>> {
        if b.len() == 4 && b.iter().all(|&c| c == b' ') {
            return Some(None);
        }
        Digits::<4>::read(b).map(Some)
    }
}

/// An 18-character date.
pub struct Date18;
impl FixedCodec<SipDate> for Date18 {
    const WIDTH: usize = 18;
    fn write(_: &'static str, v: &SipDate, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(v.as_bytes());
        Ok(())
    }
    fn read(b: &[u8]) -> Option<SipDate> {
        SipDate::from_bytes(b)
    }
}

/// `N` printable ASCII characters as a `String` (protocol version `2.00`, currency `CNY`).
pub struct Text<const N: usize>;
impl<const N: usize> FixedCodec<String> for Text<N> {
    const WIDTH: usize = N;
    fn write(field: &'static str, v: &String, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if v.len() != N || !v.bytes().all(|c| (b' '..=b'~').contains(&c) && c != b'|') {
            return Err(bad(field, v));
        }
        out.extend_from_slice(v.as_bytes());
        Ok(())
    }
    fn read(b: &[u8]) -> Option<String> {
        if b.len() != N || !b.iter().all(|c| (b' '..=b'~').contains(c)) {
            return None;
        }
        String::from_utf8(b.to_vec()).ok()
    }
}

/// One printable ASCII character (login UID/PWD algorithm).
pub struct AsciiChar;
impl FixedCodec<char> for AsciiChar {
    const WIDTH: usize = 1;
    fn write(field: &'static str, v: &char, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match u8::try_from(*v) {
            Ok(c) if (b' '..=b'~').contains(&c) && c != b'|' => {
                out.push(c);
                Ok(())
            }
            _ => Err(bad(field, v)),
        }
    }
    fn read(b: &[u8]) -> Option<char> {
        // `|` separates fields: as a fixed field it is a malformed message, and accepting it would
        // decode what can never be encoded back.
        match b {
            [c] if (b' '..=b'~').contains(c) && *c != b'|' => Some(char::from(*c)),
            _ => None,
        }
    }
}

/// The 14-position patron status (`Y` = the condition holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct PatronStatus(pub [bool; 14]);

/// One position of [`PatronStatus`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatronFlag {
    /// 0
    ChargePrivilegesDenied,
    /// 1
    RenewalPrivilegesDenied,
    /// 2
    RecallPrivilegesDenied,
    /// 3
    HoldPrivilegesDenied,
    /// 4
    CardReportedLost,
    /// 5
    TooManyItemsCharged,
    /// 6
    TooManyItemsOverdue,
    /// 7
    TooManyRenewals,
    /// 8
    TooManyClaimsOfItemsReturned,
    /// 9
    TooManyItemsLost,
    /// 10
    ExcessiveOutstandingFines,
    /// 11
    ExcessiveOutstandingFees,
    /// 12
    RecallOverdue,
    /// 13
    TooManyItemsBilled,
}

impl PatronFlag {
    /// All flags in wire order.
    pub const ALL: [PatronFlag; 14] = [
        PatronFlag::ChargePrivilegesDenied,
        PatronFlag::RenewalPrivilegesDenied,
        PatronFlag::RecallPrivilegesDenied,
        PatronFlag::HoldPrivilegesDenied,
        PatronFlag::CardReportedLost,
        PatronFlag::TooManyItemsCharged,
        PatronFlag::TooManyItemsOverdue,
        PatronFlag::TooManyRenewals,
        PatronFlag::TooManyClaimsOfItemsReturned,
        PatronFlag::TooManyItemsLost,
        PatronFlag::ExcessiveOutstandingFines,
        PatronFlag::ExcessiveOutstandingFees,
        PatronFlag::RecallOverdue,
        PatronFlag::TooManyItemsBilled,
    ];
}

impl PatronStatus {
    /// Whether `flag` is set.
    pub fn has(&self, flag: PatronFlag) -> bool {
        self.0.get(flag as usize).copied().unwrap_or(false)
    }
    /// Set `flag`.
    pub fn with(mut self, flag: PatronFlag) -> Self {
        if let Some(b) = self.0.get_mut(flag as usize) {
            *b = true;
        }
        self
    }
    /// The flags that are set, in wire order.
    pub fn flags(&self) -> Vec<PatronFlag> {
        PatronFlag::ALL.into_iter().filter(|f| self.has(*f)).collect()
    }
}

impl FixedCodec<PatronStatus> for PatronStatus {
    const WIDTH: usize = 14;
    fn write(_: &'static str, v: &PatronStatus, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend(v.0.iter().map(|&b| if b { b'Y' } else { b' ' }));
        Ok(())
    }
    fn read(b: &[u8]) -> Option<PatronStatus> {
        let mut flags = [false; 14];
        if b.len() != 14 {
            return None;
        }
        for (slot, &c) in flags.iter_mut().zip(b) {
            *slot = match c {
                b'Y' | b'y' => true,
                b' ' | b'N' | b'n' => false,
                _ => return None,
            };
        }
        Some(PatronStatus(flags))
    }
}

/// The 10-position summary of a Patron Information request: which item list to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Summary(pub [bool; 10]);

/// Which item list a Patron Information request asks for (one per request, per the spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SummaryKind {
    /// Position 0: hold items (`AS`).
    Hold,
    /// Position 1: overdue items (`AT`).
    Overdue,
    /// Position 2: charged items (`AU`).
    Charged,
    /// Position 3: fine items (`AV`).
    Fine,
    /// Position 4: recall items (`BU`).
    Recall,
    /// Position 5: unavailable holds (`CD`).
    UnavailableHold,
}

impl Summary {
    /// No list.
    pub const NONE: Summary = Summary([false; 10]);

    /// Ask for one list.
    pub fn of(kind: SummaryKind) -> Summary {
        let mut s = [false; 10];
        if let Some(b) = s.get_mut(kind as usize) {
            *b = true;
        }
        Summary(s)
    }

    /// Whether `kind` is asked for.
    pub fn wants(&self, kind: SummaryKind) -> bool {
        self.0.get(kind as usize).copied().unwrap_or(false)
    }
}

impl FixedCodec<Summary> for Summary {
    const WIDTH: usize = 10;
    fn write(_: &'static str, v: &Summary, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend(v.0.iter().map(|&b| if b { b'Y' } else { b' ' }));
        Ok(())
    }
    fn read(b: &[u8]) -> Option<Summary> {
        let mut s = [false; 10];
        if b.len() != 10 {
            return None;
        }
        for (slot, &c) in s.iter_mut().zip(b) {
            *slot = match c {
                b'Y' | b'y' => true,
                b' ' | b'N' | b'n' => false,
                _ => return None,
            };
        }
        Some(Summary(s))
    }
}

/// Circulation status of an item (2 digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum CirculationStatus {
    /// 01
    #[default]
    Other,
    /// 02
    OnOrder,
    /// 03
    Available,
    /// 04
    Charged,
    /// 05
    ChargedNotToBeRecalled,
    /// 06
    InProcess,
    /// 07
    Recalled,
    /// 08
    WaitingOnHoldShelf,
    /// 09
    WaitingToBeReshelved,
    /// 10
    InTransit,
    /// 11
    ClaimedReturned,
    /// 12
    Lost,
    /// 13
    Missing,
    /// Any other number (00, 14–99).
    Unknown(u8),
}

impl CirculationStatus {
    /// The status for a code.
    pub fn from_code(code: u8) -> CirculationStatus {
        use CirculationStatus::*;
        match code {
            1 => Other,
            2 => OnOrder,
            3 => Available,
            4 => Charged,
            5 => ChargedNotToBeRecalled,
            6 => InProcess,
            7 => Recalled,
            8 => WaitingOnHoldShelf,
            9 => WaitingToBeReshelved,
            10 => InTransit,
            11 => ClaimedReturned,
            12 => Lost,
            13 => Missing,
            n => Unknown(n),
        }
    }

    /// The code.
    pub fn code(self) -> u8 {
        use CirculationStatus::*;
        match self {
            Other => 1,
            OnOrder => 2,
            Available => 3,
            Charged => 4,
            ChargedNotToBeRecalled => 5,
            InProcess => 6,
            Recalled => 7,
            WaitingOnHoldShelf => 8,
            WaitingToBeReshelved => 9,
            InTransit => 10,
            ClaimedReturned => 11,
            Lost => 12,
            Missing => 13,
            Unknown(n) => n,
        }
    }

    /// Whether the item is on loan (charged or recalled).
    pub fn is_on_loan(self) -> bool {
        matches!(self, CirculationStatus::Charged | CirculationStatus::ChargedNotToBeRecalled | CirculationStatus::Recalled)
    }
}

impl FixedCodec<CirculationStatus> for CirculationStatus {
    const WIDTH: usize = 2;
    fn write(field: &'static str, v: &CirculationStatus, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Digits::<2>::write(field, &u16::from(v.code()), out)
    }
    fn read(b: &[u8]) -> Option<CirculationStatus> {
        let n = Digits::<2>::read(b)?;
        u8::try_from(n).ok().map(CirculationStatus::from_code)
    }
}

/// Hold mode of a Hold request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum HoldMode {
    /// `+` place a hold.
    #[default]
    Add,
    /// `-` cancel a hold.
    Delete,
    /// `*` change a hold.
    Change,
}

impl FixedCodec<HoldMode> for HoldMode {
    const WIDTH: usize = 1;
    fn write(_: &'static str, v: &HoldMode, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.push(match v {
            HoldMode::Add => b'+',
            HoldMode::Delete => b'-',
            HoldMode::Change => b'*',
        });
        Ok(())
    }
    fn read(b: &[u8]) -> Option<HoldMode> {
        match b {
            [b'+'] => Some(HoldMode::Add),
            [b'-'] => Some(HoldMode::Delete),
            [b'*'] => Some(HoldMode::Change),
            _ => None,
        }
    }
}

/// Proptest strategies for the fixed-field types (round-trip tests).
#[cfg(test)]
pub(crate) mod arb {
    use super::*;
    use proptest::prelude::*;

    /// A strategy producing values a codec can write.
    pub trait ArbFixed<T> {
        fn arb() -> BoxedStrategy<T>;
    }
    impl ArbFixed<bool> for YesNo {
        fn arb() -> BoxedStrategy<bool> {
            any::<bool>().boxed()
        }
    }
    impl ArbFixed<bool> for OkFlag {
        fn arb() -> BoxedStrategy<bool> {
            any::<bool>().boxed()
        }
    }
    impl ArbFixed<Tristate> for Tristate {
        fn arb() -> BoxedStrategy<Tristate> {
            prop_oneof![Just(Tristate::Yes), Just(Tristate::No), Just(Tristate::Unknown)].boxed()
        }
    }
    impl<const N: usize> ArbFixed<u16> for Digits<N> {
        fn arb() -> BoxedStrategy<u16> {
            let max = 10u32.pow(N as u32).min(65_536) - 1;
            (0..=max).prop_map(|v| v as u16).boxed()
        }
    }
    impl ArbFixed<Option<u16>> for Count4 {
        fn arb() -> BoxedStrategy<Option<u16>> {
            proptest::option::of(0u16..=9999).boxed()
        }
    }
    impl ArbFixed<SipDate> for Date18 {
        fn arb() -> BoxedStrategy<SipDate> {
            prop_oneof![
                1 => Just(SipDate::BLANK),
                8 => (1900u16..2100, 1u8..=12, 1u8..=28, 0u8..24, 0u8..60, 0u8..60, any::<bool>()).prop_map(
                    |(y, mo, d, h, mi, s, utc)| if utc {
                        SipDate::utc(y, mo, d, h, mi, s).unwrap()
                    } else {
                        SipDate::local(y, mo, d, h, mi, s).unwrap()
                    }
                ),
            ]
            .boxed()
        }
    }
    impl<const N: usize> ArbFixed<String> for Text<N> {
        fn arb() -> BoxedStrategy<String> {
            proptest::string::string_regex(&format!("[A-Z0-9.]{{{N}}}")).unwrap().boxed()
        }
    }
    impl ArbFixed<char> for AsciiChar {
        fn arb() -> BoxedStrategy<char> {
            proptest::char::range(' ', '~').prop_filter("no delimiter", |c| *c != '|').boxed()
        }
    }
    impl ArbFixed<PatronStatus> for PatronStatus {
        fn arb() -> BoxedStrategy<PatronStatus> {
            any::<[bool; 14]>().prop_map(PatronStatus).boxed()
        }
    }
    impl ArbFixed<Summary> for Summary {
        fn arb() -> BoxedStrategy<Summary> {
            any::<[bool; 10]>().prop_map(Summary).boxed()
        }
    }
    impl ArbFixed<CirculationStatus> for CirculationStatus {
        fn arb() -> BoxedStrategy<CirculationStatus> {
            (0u8..=99).prop_map(CirculationStatus::from_code).boxed()
        }
    }
    impl ArbFixed<HoldMode> for HoldMode {
        fn arb() -> BoxedStrategy<HoldMode> {
            prop_oneof![Just(HoldMode::Add), Just(HoldMode::Delete), Just(HoldMode::Change)].boxed()
        }
    }
}
