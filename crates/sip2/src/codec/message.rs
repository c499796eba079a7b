//! Typed SIP2 2.00 messages: one struct per message, and [`Message`] over all 31.
//!
//! Each struct has its fixed fields first (wire order), then its variable fields in the order
//! the spec lists them (which is the order they are written), then `extra`: variable fields
//! this message does not define (vendor extensions such as Koha's `PB`/`PC`, or a second copy of
//! a non-repeatable field), kept in wire order and written back after the known ones.
//!
//! Variable fields are typed by presence rules: `String` = required (always written, possibly
//! empty; read as empty when a lenient peer leaves it out), `Option<String>` = optional,
//! `Vec<String>` = repeatable (`AF` screen messages, `AS`/`AT`/`AU`/`AV`/`BU`/`CD` item lists,
//! `BM`/`BN` renewed/unrenewed items). Flags inside variable fields (`BL`, `CQ`, `BO`, `BI` …)
//! stay strings; [`yes`] reads them.

use super::charset::Charset;
use super::date::SipDate;
use super::error::{DecodeError, EncodeError};
use super::fixed::{
    AsciiChar, CirculationStatus, Count4, Date18, Digits, FixedCodec, HoldMode, OkFlag, PatronStatus, Summary, Text, Tristate, YesNo,
};

/// `Some(true)` for `Y`/`y`, `Some(false)` for `N`/`n`, `None` for absent or anything else.
pub fn yes(field: &Option<String>) -> Option<bool> {
    match field.as_deref().map(str::trim) {
        Some("Y" | "y") => Some(true),
        Some("N" | "n") => Some(false),
        _ => None,
    }
}

/// Builds the bytes of one message body (command id, fixed fields, variable fields).
pub(crate) struct Writer {
    pub(crate) out: Vec<u8>,
    charset: Charset,
}

impl Writer {
    pub(crate) fn new(charset: Charset) -> Self {
        Writer { out: Vec::with_capacity(128), charset }
    }

    fn fixed<T, C: FixedCodec<T>>(&mut self, name: &'static str, value: &T) -> Result<(), EncodeError> {
        let before = self.out.len();
        C::write(name, value, &mut self.out)?;
        if self.out.len() - before != C::WIDTH {
            self.out.truncate(before);
            return Err(EncodeError::BadFixed { field: name, value: "wrong width".into() });
        }
        Ok(())
    }

    fn var(&mut self, id: &str, value: &str) -> Result<(), EncodeError> {
        if value.contains(['|', '\r', '\0']) {
            return Err(EncodeError::ForbiddenCharacter { field: id.to_owned() });
        }
        let bytes = self.charset.encode(id, value)?;
        self.out.extend_from_slice(id.as_bytes());
        self.out.extend_from_slice(&bytes);
        self.out.push(b'|');
        Ok(())
    }

    fn extras(&mut self, extra: &[(String, String)]) -> Result<(), EncodeError> {
        for (id, value) in extra {
            if !valid_field_id(id.as_bytes()) {
                return Err(EncodeError::BadFieldId(id.clone()));
            }
            self.var(id, value)?;
        }
        Ok(())
    }
}

fn valid_field_id(id: &[u8]) -> bool {
    matches!(id, [a, b] if a.is_ascii_graphic() && b.is_ascii_graphic() && *a != b'|' && *b != b'|')
}

/// Reads one message body after the command id.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    charset: Charset,
    command: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], charset: Charset, command: &'static str) -> Self {
        Reader { buf, pos: 0, charset, command }
    }

    fn fixed<T, C: FixedCodec<T>>(&mut self, name: &'static str) -> Result<T, DecodeError> {
        let end = self.pos + C::WIDTH;
        let Some(bytes) = self.buf.get(self.pos..end) else {
            return Err(DecodeError::Truncated {
                command: self.command,
                field: name,
                needed: C::WIDTH,
                available: self.buf.len().saturating_sub(self.pos),
            });
        };
        let v = C::read(bytes).ok_or_else(|| DecodeError::MalformedFixed {
            command: self.command,
            field: name,
            found: String::from_utf8_lossy(bytes).into_owned(),
        })?;
        self.pos = end;
        Ok(v)
    }

    /// The next `(id, value)`; tolerates stray delimiters and a last field without `|`.
    fn next_field(&mut self) -> Result<Option<(String, String)>, DecodeError> {
        while self.buf.get(self.pos) == Some(&b'|') {
            self.pos += 1;
        }
        let Some(rest) = self.buf.get(self.pos..) else {
            return Ok(None);
        };
        // Nothing left, or only the trailing blanks some systems add before the CR.
        if rest.iter().all(|b| *b == b' ' || *b == b'\t') {
            return Ok(None);
        }
        let Some(id_bytes) = rest.get(0..2) else {
            return Err(DecodeError::Garbage("field id cut short"));
        };
        if !valid_field_id(id_bytes) {
            return Err(DecodeError::Garbage("field id is not two ASCII characters"));
        }
        let id = String::from_utf8_lossy(id_bytes).into_owned();
        let value_bytes = rest.get(2..).unwrap_or_default();
        let (value_raw, consumed) = match self.charset.find_delimiter(value_bytes, b'|') {
            Some(end) => (value_bytes.get(..end).unwrap_or_default(), 2 + end + 1),
            None => (value_bytes, rest.len()),
        };
        let value = self.charset.decode(&id, value_raw)?;
        self.pos += consumed;
        Ok(Some((id, value)))
    }
}

/// How a variable field is written and collected.
pub(crate) trait VarField: Default {
    fn emit(&self, id: &'static str, w: &mut Writer) -> Result<(), EncodeError>;
    /// Take a value read from the wire; hand it back if this field already has one.
    fn accept(&mut self, seen: &mut bool, value: String) -> Option<String>;
}

impl VarField for String {
    fn emit(&self, id: &'static str, w: &mut Writer) -> Result<(), EncodeError> {
        w.var(id, self)
    }
    fn accept(&mut self, seen: &mut bool, value: String) -> Option<String> {
        if *seen {
            return Some(value);
        }
        *seen = true;
        *self = value;
        None
    }
}

impl VarField for Option<String> {
    fn emit(&self, id: &'static str, w: &mut Writer) -> Result<(), EncodeError> {
        match self {
            Some(v) => w.var(id, v),
            None => Ok(()),
        }
    }
    fn accept(&mut self, seen: &mut bool, value: String) -> Option<String> {
        if *seen {
            return Some(value);
        }
        *seen = true;
        *self = Some(value);
        None
    }
}

impl VarField for Vec<String> {
    fn emit(&self, id: &'static str, w: &mut Writer) -> Result<(), EncodeError> {
        self.iter().try_for_each(|v| w.var(id, v))
    }
    fn accept(&mut self, _: &mut bool, value: String) -> Option<String> {
        self.push(value);
        None
    }
}

/// Proptest strategies for variable fields and extras (round-trip tests).
#[cfg(test)]
pub(crate) mod arb {
    use proptest::prelude::*;
    use std::any::Any;

    /// A type-erased generated field value, so one `Vec` of strategies can build a struct.
    pub struct Val(pub Box<dyn Any>);
    impl std::fmt::Debug for Val {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("<field>")
        }
    }
    pub fn erase<T: std::fmt::Debug + 'static>(s: BoxedStrategy<T>) -> BoxedStrategy<Val> {
        s.prop_map(|v| Val(Box::new(v))).boxed()
    }
    pub fn take<T: 'static>(it: &mut impl Iterator<Item = Val>) -> T {
        *it.next().unwrap().0.downcast::<T>().unwrap()
    }

    /// Values: printable ASCII without `|`, CJK (encodable in GBK; 亅 and 墊 have `|` as their
    /// GBK trail byte), some Latin-1.
    pub fn value() -> BoxedStrategy<String> {
        proptest::string::string_regex("[ -{}~\u{4e00}-\u{4e20}张三数据结构语言版亅億墊é\t]{0,12}").unwrap().boxed()
    }

    pub trait ArbVar: Sized {
        fn arb() -> BoxedStrategy<Self>;
    }
    impl ArbVar for String {
        fn arb() -> BoxedStrategy<Self> {
            value()
        }
    }
    impl ArbVar for Option<String> {
        fn arb() -> BoxedStrategy<Self> {
            proptest::option::of(value()).boxed()
        }
    }
    impl ArbVar for Vec<String> {
        fn arb() -> BoxedStrategy<Self> {
            proptest::collection::vec(value(), 0..4).boxed()
        }
    }

    /// Unknown fields: ids this message does not define (and not the AY/AZ trailer).
    pub fn extras(known: &'static [&'static str]) -> BoxedStrategy<Vec<(String, String)>> {
        let id = proptest::string::string_regex("[A-Z][A-Z0-9]")
            .unwrap()
            .prop_filter("unknown id", move |id| !known.contains(&id.as_str()) && id != "AY" && id != "AZ");
        proptest::collection::vec((id, value()), 0..3).boxed()
    }
}

macro_rules! messages {
    ($(
        $(#[$meta:meta])*
        $name:ident = $code:literal, $dir:ident, $resp:expr, {
            fixed { $( $(#[$fmeta:meta])* $fname:ident : $fty:ty => $fcodec:ty ),* $(,)? }
            var { $( $(#[$vmeta:meta])* $vname:ident : $vty:ty = $vid:literal ),* $(,)? }
        }
    )*) => {
        $(
            $(#[$meta])*
            #[derive(Debug, Clone, PartialEq, Eq, Default)]
            pub struct $name {
                $( $(#[$fmeta])* pub $fname: $fty, )*
                $( $(#[$vmeta])* #[doc = concat!("`", $vid, "`")] pub $vname: $vty, )*
                /// Variable fields this message does not define, in wire order.
                pub extra: Vec<(String, String)>,
            }

            impl $name {
                /// Two-digit command id.
                pub const CODE: &'static str = $code;
                /// Ids of the variable fields this message defines, in write order.
                pub const FIELD_IDS: &'static [&'static str] = &[$($vid),*];

                fn write_body(&self, w: &mut Writer) -> Result<(), EncodeError> {
                    w.out.extend_from_slice($code.as_bytes());
                    $( w.fixed::<$fty, $fcodec>(stringify!($fname), &self.$fname)?; )*
                    $( VarField::emit(&self.$vname, $vid, w)?; )*
                    w.extras(&self.extra)
                }

                fn read_body(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                    $( let $fname = r.fixed::<$fty, $fcodec>(stringify!($fname))?; )*
                    $( let mut $vname: (bool, $vty) = (false, Default::default()); )*
                    let mut extra = Vec::new();
                    while let Some((id, value)) = r.next_field()? {
                        let back = match id.as_str() {
                            $( $vid => VarField::accept(&mut $vname.1, &mut $vname.0, value), )*
                            _ => Some(value),
                        };
                        if let Some(v) = back {
                            extra.push((id, v));
                        }
                    }
                    Ok(Self { $( $fname, )* $( $vname: $vname.1, )* extra })
                }

                #[cfg(test)]
                pub(crate) fn arb() -> proptest::strategy::BoxedStrategy<Self> {
                    use proptest::strategy::{BoxedStrategy, Strategy};
                    #[allow(unused_imports, reason = "unused by the messages that have no fixed fields")]
                    use super::fixed::arb::ArbFixed;
                    #[allow(unused_imports, reason = "unused by the messages that have no variable fields")]
                    use arb::ArbVar;
                    let parts: Vec<BoxedStrategy<arb::Val>> = vec![
                        $( arb::erase(<$fcodec as ArbFixed<$fty>>::arb()), )*
                        $( arb::erase(<$vty as ArbVar>::arb()), )*
                        arb::erase(arb::extras(Self::FIELD_IDS)),
                    ];
                    parts
                        .prop_map(|vals| {
                            let mut it = vals.into_iter();
                            Self {
                                $( $fname: arb::take(&mut it), )*
                                $( $vname: arb::take(&mut it), )*
                                extra: arb::take(&mut it),
                            }
                        })
                        .boxed()
                }
            }

            impl From<$name> for Message {
                fn from(m: $name) -> Message {
                    Message::$name(m)
                }
            }
        )*

        /// Any SIP2 2.00 message.
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[allow(
            clippy::large_enum_variant,
            reason = "a client holds one message per exchange; boxing the large variants would put a Box in every constructor and pattern"
        )]
        pub enum Message {
            $( $(#[$meta])* $name($name), )*
        }

        impl Message {
            /// Two-digit command id.
            pub fn code(&self) -> &'static str {
                match self { $( Message::$name(_) => $code, )* }
            }

            /// Name of the message type.
            pub fn name(&self) -> &'static str {
                match self { $( Message::$name(_) => stringify!($name), )* }
            }

            /// Sent by the self-check side (SC → ACS).
            pub fn is_request(&self) -> bool {
                match self { $( Message::$name(_) => Direction::$dir == Direction::Request, )* }
            }

            /// For a request, the command id of the response it expects (`None` for `97`).
            pub fn expected_response(&self) -> Option<&'static str> {
                match self { $( Message::$name(_) => $resp, )* }
            }

            /// The unknown fields of this message.
            pub fn extra(&self) -> &[(String, String)] {
                match self { $( Message::$name(m) => &m.extra, )* }
            }

            pub(crate) fn write_body(&self, w: &mut Writer) -> Result<(), EncodeError> {
                match self { $( Message::$name(m) => m.write_body(w), )* }
            }

            /// Known command ids.
            pub const CODES: &'static [&'static str] = &[$($code),*];

            pub(crate) fn read_body(code: &[u8], body: &[u8], charset: Charset) -> Result<Message, DecodeError> {
                $(
                    if code == $code.as_bytes() {
                        let mut r = Reader::new(body, charset, $code);
                        return $name::read_body(&mut r).map(Message::$name);
                    }
                )*
                Err(DecodeError::UnknownCommand(String::from_utf8_lossy(code).into_owned()))
            }

            /// A strategy over every message type (round-trip tests).
            #[cfg(test)]
            pub(crate) fn arb() -> proptest::strategy::BoxedStrategy<Message> {
                use proptest::strategy::Strategy;
                proptest::strategy::Union::new(vec![
                    $( $name::arb().prop_map(Message::$name).boxed(), )*
                ]).boxed()
            }

            /// One strategy per message type, with its name.
            #[cfg(test)]
            pub(crate) fn arb_each() -> Vec<(&'static str, proptest::strategy::BoxedStrategy<Message>)> {
                use proptest::strategy::Strategy;
                vec![ $( (stringify!($name), $name::arb().prop_map(Message::$name).boxed()), )* ]
            }
        }
    };
}

#[derive(PartialEq, Eq)]
enum Direction {
    Request,
    Response,
}

messages! {
    // ---------------------------------------------------------------- requests (SC → ACS)

    /// `93` Login.
    LoginRequest = "93", Request, Some("94"), {
        fixed {
            /// UID algorithm (`0` = plain).
            uid_algorithm: char => AsciiChar,
            /// PWD algorithm (`0` = plain).
            pwd_algorithm: char => AsciiChar,
        }
        var {
            /// Login user id.
            login_user_id: String = "CN",
            /// Login password.
            login_password: String = "CO",
            /// Location code.
            location_code: Option<String> = "CP",
        }
    }

    /// `99` SC Status.
    ScStatusRequest = "99", Request, Some("98"), {
        fixed {
            /// 0 OK, 1 out of paper, 2 shutting down.
            status_code: u16 => Digits<1>,
            /// Max print width.
            max_print_width: u16 => Digits<3>,
            /// Protocol version, `2.00`.
            protocol_version: String => Text<4>,
        }
        var {}
    }

    /// `97` Request ACS Resend.
    RequestAcsResend = "97", Request, None, {
        fixed {}
        var {}
    }

    /// `23` Patron Status Request.
    PatronStatusRequest = "23", Request, Some("24"), {
        fixed {
            /// Language code (`000` unknown, `001` English, `019` Chinese).
            language: u16 => Digits<3>,
            /// Transaction date.
            transaction_date: SipDate => Date18,
        }
        var {
            /// Institution id.
            institution_id: String = "AO",
            /// Patron identifier (card).
            patron_identifier: String = "AA",
            /// Terminal password.
            terminal_password: String = "AC",
            /// Patron password (PIN).
            patron_password: String = "AD",
        }
    }

    /// `63` Patron Information.
    PatronInformationRequest = "63", Request, Some("64"), {
        fixed {
            /// Language code.
            language: u16 => Digits<3>,
            /// Transaction date.
            transaction_date: SipDate => Date18,
            /// Which item list to return.
            summary: Summary => Summary,
        }
        var {
            /// Institution id.
            institution_id: String = "AO",
            /// Patron identifier.
            patron_identifier: String = "AA",
            /// Terminal password.
            terminal_password: Option<String> = "AC",
            /// Patron password.
            patron_password: Option<String> = "AD",
            /// First item to return (1-based).
            start_item: Option<String> = "BP",
            /// Last item to return.
            end_item: Option<String> = "BQ",
        }
    }

    /// `11` Checkout.
    CheckoutRequest = "11", Request, Some("12"), {
        fixed {
            /// SC renewal policy.
            sc_renewal_policy: bool => YesNo,
            /// No block (offline transaction).
            no_block: bool => YesNo,
            /// Transaction date.
            transaction_date: SipDate => Date18,
            /// No-block due date.
            nb_due_date: SipDate => Date18,
        }
        var {
            /// Institution id.
            institution_id: String = "AO",
            /// Patron identifier.
            patron_identifier: String = "AA",
            /// Item identifier.
            item_identifier: String = "AB",
            /// Terminal password.
            terminal_password: String = "AC",
            /// Item properties.
            item_properties: Option<String> = "CH",
            /// Patron password.
            patron_password: Option<String> = "AD",
            /// Fee acknowledged (`Y`/`N`).
            fee_acknowledged: Option<String> = "BO",
            /// Cancel (`Y`/`N`).
            cancel: Option<String> = "BI",
        }
    }

    /// `09` Checkin.
    CheckinRequest = "09", Request, Some("10"), {
        fixed {
            /// No block.
            no_block: bool => YesNo,
            /// Transaction date.
            transaction_date: SipDate => Date18,
            /// Return date.
            return_date: SipDate => Date18,
        }
        var {
            /// Current location.
            current_location: String = "AP",
            /// Institution id.
            institution_id: String = "AO",
            /// Item identifier.
            item_identifier: String = "AB",
            /// Terminal password.
            terminal_password: String = "AC",
            /// Item properties.
            item_properties: Option<String> = "CH",
            /// Cancel.
            cancel: Option<String> = "BI",
        }
    }

    /// `29` Renew.
    RenewRequest = "29", Request, Some("30"), {
        fixed {
            /// Third party allowed.
            third_party_allowed: bool => YesNo,
            /// No block.
            no_block: bool => YesNo,
            /// Transaction date.
            transaction_date: SipDate => Date18,
            /// No-block due date.
            nb_due_date: SipDate => Date18,
        }
        var {
            /// Institution id.
            institution_id: String = "AO",
            /// Patron identifier.
            patron_identifier: String = "AA",
            /// Patron password.
            patron_password: Option<String> = "AD",
            /// Item identifier.
            item_identifier: Option<String> = "AB",
            /// Title identifier.
            title_identifier: Option<String> = "AJ",
            /// Terminal password.
            terminal_password: Option<String> = "AC",
            /// Item properties.
            item_properties: Option<String> = "CH",
            /// Fee acknowledged.
            fee_acknowledged: Option<String> = "BO",
        }
    }

    /// `65` Renew All.
    RenewAllRequest = "65", Request, Some("66"), {
        fixed {
            /// Transaction date.
            transaction_date: SipDate => Date18,
        }
        var {
            /// Institution id.
            institution_id: String = "AO",
            /// Patron identifier.
            patron_identifier: String = "AA",
            /// Patron password.
            patron_password: Option<String> = "AD",
            /// Terminal password.
            terminal_password: Option<String> = "AC",
            /// Fee acknowledged.
            fee_acknowledged: Option<String> = "BO",
        }
    }

    /// `15` Hold.
    HoldRequest = "15", Request, Some("16"), {
        fixed {
            /// Place, cancel or change.
            hold_mode: HoldMode => HoldMode,
            /// Transaction date.
            transaction_date: SipDate => Date18,
        }
        var {
            /// Expiration date (18-character date).
            expiration_date: Option<String> = "BW",
            /// Pickup location.
            pickup_location: Option<String> = "BS",
            /// Hold type (1 other, 2 any copy of title, 3 this copy, 4 any copy at a branch).
            hold_type: Option<String> = "BY",
            /// Institution id.
            institution_id: String = "AO",
            /// Patron identifier.
            patron_identifier: String = "AA",
            /// Patron password.
            patron_password: Option<String> = "AD",
            /// Item identifier.
            item_identifier: Option<String> = "AB",
            /// Title identifier.
            title_identifier: Option<String> = "AJ",
            /// Terminal password.
            terminal_password: Option<String> = "AC",
            /// Fee acknowledged.
            fee_acknowledged: Option<String> = "BO",
        }
    }

    /// `17` Item Information.
    ItemInformationRequest = "17", Request, Some("18"), {
        fixed {
            /// Transaction date.
            transaction_date: SipDate => Date18,
        }
        var {
            /// Institution id.
            institution_id: String = "AO",
            /// Item identifier.
            item_identifier: String = "AB",
            /// Terminal password.
            terminal_password: Option<String> = "AC",
        }
    }

    /// `35` End Patron Session.
    EndPatronSessionRequest = "35", Request, Some("36"), {
        fixed {
            /// Transaction date.
            transaction_date: SipDate => Date18,
        }
        var {
            /// Institution id.
            institution_id: String = "AO",
            /// Patron identifier.
            patron_identifier: String = "AA",
            /// Terminal password.
            terminal_password: Option<String> = "AC",
            /// Patron password.
            patron_password: Option<String> = "AD",
        }
    }

    /// `37` Fee Paid.
    FeePaidRequest = "37", Request, Some("38"), {
        fixed {
            /// Transaction date.
            transaction_date: SipDate => Date18,
            /// Fee type (01 other … 09).
            fee_type: u16 => Digits<2>,
            /// Payment type (00 cash, 01 VISA, 02 credit card).
            payment_type: u16 => Digits<2>,
            /// ISO 4217 currency, e.g. `CNY`.
            currency_type: String => Text<3>,
        }
        var {
            /// Amount.
            fee_amount: String = "BV",
            /// Institution id.
            institution_id: String = "AO",
            /// Patron identifier.
            patron_identifier: String = "AA",
            /// Terminal password.
            terminal_password: Option<String> = "AC",
            /// Patron password.
            patron_password: Option<String> = "AD",
            /// Fee identifier.
            fee_identifier: Option<String> = "CG",
            /// Transaction id.
            transaction_id: Option<String> = "BK",
        }
    }

    /// `01` Block Patron.
    BlockPatronRequest = "01", Request, Some("24"), {
        fixed {
            /// Card retained.
            card_retained: bool => YesNo,
            /// Transaction date.
            transaction_date: SipDate => Date18,
        }
        var {
            /// Institution id.
            institution_id: String = "AO",
            /// Blocked card message.
            blocked_card_message: String = "AL",
            /// Patron identifier.
            patron_identifier: String = "AA",
            /// Terminal password.
            terminal_password: String = "AC",
        }
    }

    /// `19` Item Status Update.
    ItemStatusUpdateRequest = "19", Request, Some("20"), {
        fixed {
            /// Transaction date.
            transaction_date: SipDate => Date18,
        }
        var {
            /// Institution id.
            institution_id: String = "AO",
            /// Item identifier.
            item_identifier: String = "AB",
            /// Terminal password.
            terminal_password: Option<String> = "AC",
            /// Item properties.
            item_properties: String = "CH",
        }
    }

    /// `25` Patron Enable.
    PatronEnableRequest = "25", Request, Some("26"), {
        fixed {
            /// Transaction date.
            transaction_date: SipDate => Date18,
        }
        var {
            /// Institution id.
            institution_id: String = "AO",
            /// Patron identifier.
            patron_identifier: String = "AA",
            /// Terminal password.
            terminal_password: Option<String> = "AC",
            /// Patron password.
            patron_password: Option<String> = "AD",
        }
    }

    // ---------------------------------------------------------------- responses (ACS → SC)

    /// `94` Login Response.
    LoginResponse = "94", Response, None, {
        fixed {
            /// Login accepted.
            ok: bool => OkFlag,
        }
        var {}
    }

    /// `98` ACS Status.
    AcsStatusResponse = "98", Response, None, {
        fixed {
            /// On-line status.
            online_status: bool => YesNo,
            /// Checkin ok.
            checkin_ok: bool => YesNo,
            /// Checkout ok.
            checkout_ok: bool => YesNo,
            /// ACS renewal policy.
            acs_renewal_policy: bool => YesNo,
            /// Status update ok.
            status_update_ok: bool => YesNo,
            /// Off-line ok.
            offline_ok: bool => YesNo,
            /// Timeout period (tenths of a second).
            timeout_period: u16 => Digits<3>,
            /// Retries allowed.
            retries_allowed: u16 => Digits<3>,
            /// Date/time sync.
            date_time_sync: SipDate => Date18,
            /// Protocol version.
            protocol_version: String => Text<4>,
        }
        var {
            /// Institution id.
            institution_id: String = "AO",
            /// Library name.
            library_name: Option<String> = "AM",
            /// Supported messages (16 `Y`/`N`: 23 11 09 01 99 97 93 63 35 37 17 19 25 15 29 65).
            supported_messages: String = "BX",
            /// Terminal location.
            terminal_location: Option<String> = "AN",
            /// Screen messages.
            screen_message: Vec<String> = "AF",
            /// Print lines.
            print_line: Vec<String> = "AG",
        }
    }

    /// `96` Request SC Resend.
    RequestScResend = "96", Response, None, {
        fixed {}
        var {}
    }

    /// `24` Patron Status Response.
    PatronStatusResponse = "24", Response, None, {
        fixed {
            /// Patron status flags.
            patron_status: PatronStatus => PatronStatus,
            /// Language code.
            language: u16 => Digits<3>,
            /// Transaction date.
            transaction_date: SipDate => Date18,
        }
        var {
            /// Institution id.
            institution_id: String = "AO",
            /// Patron identifier.
            patron_identifier: String = "AA",
            /// Personal name.
            personal_name: String = "AE",
            /// Valid patron (`Y`/`N`).
            valid_patron: Option<String> = "BL",
            /// Valid patron password (`Y`/`N`).
            valid_patron_password: Option<String> = "CQ",
            /// Currency type.
            currency_type: Option<String> = "BH",
            /// Fee amount.
            fee_amount: Option<String> = "BV",
            /// Screen messages.
            screen_message: Vec<String> = "AF",
            /// Print lines.
            print_line: Vec<String> = "AG",
        }
    }

    /// `64` Patron Information Response.
    PatronInformationResponse = "64", Response, None, {
        fixed {
            /// Patron status flags.
            patron_status: PatronStatus => PatronStatus,
            /// Language code.
            language: u16 => Digits<3>,
            /// Transaction date.
            transaction_date: SipDate => Date18,
            /// Hold items count.
            hold_items_count: Option<u16> => Count4,
            /// Overdue items count.
            overdue_items_count: Option<u16> => Count4,
            /// Charged items count.
            charged_items_count: Option<u16> => Count4,
            /// Fine items count.
            fine_items_count: Option<u16> => Count4,
            /// Recall items count.
            recall_items_count: Option<u16> => Count4,
            /// Unavailable holds count.
            unavailable_holds_count: Option<u16> => Count4,
        }
        var {
            /// Institution id.
            institution_id: String = "AO",
            /// Patron identifier.
            patron_identifier: String = "AA",
            /// Personal name.
            personal_name: String = "AE",
            /// Hold items limit.
            hold_items_limit: Option<String> = "BZ",
            /// Overdue items limit.
            overdue_items_limit: Option<String> = "CA",
            /// Charged items limit.
            charged_items_limit: Option<String> = "CB",
            /// Valid patron.
            valid_patron: Option<String> = "BL",
            /// Valid patron password.
            valid_patron_password: Option<String> = "CQ",
            /// Currency type.
            currency_type: Option<String> = "BH",
            /// Fee amount.
            fee_amount: Option<String> = "BV",
            /// Fee limit.
            fee_limit: Option<String> = "CC",
            /// Hold items.
            hold_items: Vec<String> = "AS",
            /// Overdue items.
            overdue_items: Vec<String> = "AT",
            /// Charged items.
            charged_items: Vec<String> = "AU",
            /// Fine items.
            fine_items: Vec<String> = "AV",
            /// Recall items.
            recall_items: Vec<String> = "BU",
            /// Unavailable hold items.
            unavailable_hold_items: Vec<String> = "CD",
            /// Home address.
            home_address: Option<String> = "BD",
            /// E-mail address.
            email_address: Option<String> = "BE",
            /// Home phone number.
            home_phone_number: Option<String> = "BF",
            /// Screen messages.
            screen_message: Vec<String> = "AF",
            /// Print lines.
            print_line: Vec<String> = "AG",
        }
    }

    /// `12` Checkout Response.
    CheckoutResponse = "12", Response, None, {
        fixed {
            /// Checkout done.
            ok: bool => OkFlag,
            /// Renewal ok.
            renewal_ok: bool => YesNo,
            /// Magnetic media.
            magnetic_media: Tristate => Tristate,
            /// Desensitize.
            desensitize: Tristate => Tristate,
            /// Transaction date.
            transaction_date: SipDate => Date18,
        }
        var {
            /// Institution id.
            institution_id: String = "AO",
            /// Patron identifier.
            patron_identifier: String = "AA",
            /// Item identifier.
            item_identifier: String = "AB",
            /// Title identifier.
            title_identifier: String = "AJ",
            /// Due date (free form).
            due_date: String = "AH",
            /// Fee type.
            fee_type: Option<String> = "BT",
            /// Security inhibit.
            security_inhibit: Option<String> = "CI",
            /// Currency type.
            currency_type: Option<String> = "BH",
            /// Fee amount.
            fee_amount: Option<String> = "BV",
            /// Media type.
            media_type: Option<String> = "CK",
            /// Item properties.
            item_properties: Option<String> = "CH",
            /// Transaction id.
            transaction_id: Option<String> = "BK",
            /// Screen messages.
            screen_message: Vec<String> = "AF",
            /// Print lines.
            print_line: Vec<String> = "AG",
        }
    }

    /// `10` Checkin Response.
    CheckinResponse = "10", Response, None, {
        fixed {
            /// Checkin done.
            ok: bool => OkFlag,
            /// Resensitize.
            resensitize: bool => YesNo,
            /// Magnetic media.
            magnetic_media: Tristate => Tristate,
            /// Alert.
            alert: bool => YesNo,
            /// Transaction date.
            transaction_date: SipDate => Date18,
        }
        var {
            /// Institution id.
            institution_id: String = "AO",
            /// Item identifier.
            item_identifier: String = "AB",
            /// Permanent location.
            permanent_location: String = "AQ",
            /// Title identifier.
            title_identifier: Option<String> = "AJ",
            /// Sort bin.
            sort_bin: Option<String> = "CL",
            /// Patron identifier.
            patron_identifier: Option<String> = "AA",
            /// Media type.
            media_type: Option<String> = "CK",
            /// Item properties.
            item_properties: Option<String> = "CH",
            /// Screen messages.
            screen_message: Vec<String> = "AF",
            /// Print lines.
            print_line: Vec<String> = "AG",
        }
    }

    /// `30` Renew Response.
    RenewResponse = "30", Response, None, {
        fixed {
            /// Renewed.
            ok: bool => OkFlag,
            /// Renewal ok.
            renewal_ok: bool => YesNo,
            /// Magnetic media.
            magnetic_media: Tristate => Tristate,
            /// Desensitize.
            desensitize: Tristate => Tristate,
            /// Transaction date.
            transaction_date: SipDate => Date18,
        }
        var {
            /// Institution id.
            institution_id: String = "AO",
            /// Patron identifier.
            patron_identifier: String = "AA",
            /// Item identifier.
            item_identifier: String = "AB",
            /// Title identifier.
            title_identifier: String = "AJ",
            /// Due date (free form).
            due_date: String = "AH",
            /// Fee type.
            fee_type: Option<String> = "BT",
            /// Security inhibit.
            security_inhibit: Option<String> = "CI",
            /// Currency type.
            currency_type: Option<String> = "BH",
            /// Fee amount.
            fee_amount: Option<String> = "BV",
            /// Media type.
            media_type: Option<String> = "CK",
            /// Item properties.
            item_properties: Option<String> = "CH",
            /// Transaction id.
            transaction_id: Option<String> = "BK",
            /// Screen messages (the reason on failure).
            screen_message: Vec<String> = "AF",
            /// Print lines.
            print_line: Vec<String> = "AG",
        }
    }

    /// `66` Renew All Response.
    RenewAllResponse = "66", Response, None, {
        fixed {
            /// Request processed.
            ok: bool => OkFlag,
            /// Renewed count.
            renewed_count: u16 => Digits<4>,
            /// Unrenewed count.
            unrenewed_count: u16 => Digits<4>,
            /// Transaction date.
            transaction_date: SipDate => Date18,
        }
        var {
            /// Institution id.
            institution_id: String = "AO",
            /// Renewed items.
            renewed_items: Vec<String> = "BM",
            /// Unrenewed items.
            unrenewed_items: Vec<String> = "BN",
            /// Screen messages.
            screen_message: Vec<String> = "AF",
            /// Print lines.
            print_line: Vec<String> = "AG",
        }
    }

    /// `16` Hold Response.
    HoldResponse = "16", Response, None, {
        fixed {
            /// Done.
            ok: bool => OkFlag,
            /// Item available.
            available: bool => YesNo,
            /// Transaction date.
            transaction_date: SipDate => Date18,
        }
        var {
            /// Expiration date.
            expiration_date: Option<String> = "BW",
            /// Queue position.
            queue_position: Option<String> = "BR",
            /// Pickup location.
            pickup_location: Option<String> = "BS",
            /// Institution id.
            institution_id: String = "AO",
            /// Patron identifier.
            patron_identifier: String = "AA",
            /// Item identifier.
            item_identifier: Option<String> = "AB",
            /// Title identifier.
            title_identifier: Option<String> = "AJ",
            /// Screen messages.
            screen_message: Vec<String> = "AF",
            /// Print lines.
            print_line: Vec<String> = "AG",
        }
    }

    /// `18` Item Information Response.
    ItemInformationResponse = "18", Response, None, {
        fixed {
            /// Circulation status.
            circulation_status: CirculationStatus => CirculationStatus,
            /// Security marker (00 other, 01 none, 02 3M Tattle-Tape, 03 whisper tape).
            security_marker: u16 => Digits<2>,
            /// Fee type.
            fee_type: u16 => Digits<2>,
            /// Transaction date.
            transaction_date: SipDate => Date18,
        }
        var {
            /// Hold queue length.
            hold_queue_length: Option<String> = "CF",
            /// Due date (free form).
            due_date: Option<String> = "AH",
            /// Recall date.
            recall_date: Option<String> = "CJ",
            /// Hold pickup date.
            hold_pickup_date: Option<String> = "CM",
            /// Item identifier.
            item_identifier: String = "AB",
            /// Title identifier.
            title_identifier: String = "AJ",
            /// Owner.
            owner: Option<String> = "BG",
            /// Currency type.
            currency_type: Option<String> = "BH",
            /// Fee amount.
            fee_amount: Option<String> = "BV",
            /// Media type.
            media_type: Option<String> = "CK",
            /// Permanent location.
            permanent_location: Option<String> = "AQ",
            /// Current location.
            current_location: Option<String> = "AP",
            /// Item properties.
            item_properties: Option<String> = "CH",
            /// Screen messages.
            screen_message: Vec<String> = "AF",
            /// Print lines.
            print_line: Vec<String> = "AG",
        }
    }

    /// `36` End Session Response.
    EndSessionResponse = "36", Response, None, {
        fixed {
            /// Session ended.
            end_session: bool => YesNo,
            /// Transaction date.
            transaction_date: SipDate => Date18,
        }
        var {
            /// Institution id.
            institution_id: String = "AO",
            /// Patron identifier.
            patron_identifier: String = "AA",
            /// Screen messages.
            screen_message: Vec<String> = "AF",
            /// Print lines.
            print_line: Vec<String> = "AG",
        }
    }

    /// `38` Fee Paid Response.
    FeePaidResponse = "38", Response, None, {
        fixed {
            /// Payment accepted.
            payment_accepted: bool => YesNo,
            /// Transaction date.
            transaction_date: SipDate => Date18,
        }
        var {
            /// Institution id.
            institution_id: String = "AO",
            /// Patron identifier.
            patron_identifier: String = "AA",
            /// Transaction id.
            transaction_id: Option<String> = "BK",
            /// Screen messages.
            screen_message: Vec<String> = "AF",
            /// Print lines.
            print_line: Vec<String> = "AG",
        }
    }

    /// `20` Item Status Update Response.
    ItemStatusUpdateResponse = "20", Response, None, {
        fixed {
            /// Item properties ok.
            item_properties_ok: bool => OkFlag,
            /// Transaction date.
            transaction_date: SipDate => Date18,
        }
        var {
            /// Item identifier.
            item_identifier: String = "AB",
            /// Title identifier.
            title_identifier: Option<String> = "AJ",
            /// Item properties.
            item_properties: Option<String> = "CH",
            /// Screen messages.
            screen_message: Vec<String> = "AF",
            /// Print lines.
            print_line: Vec<String> = "AG",
        }
    }

    /// `26` Patron Enable Response.
    PatronEnableResponse = "26", Response, None, {
        fixed {
            /// Patron status flags.
            patron_status: PatronStatus => PatronStatus,
            /// Language code.
            language: u16 => Digits<3>,
            /// Transaction date.
            transaction_date: SipDate => Date18,
        }
        var {
            /// Institution id.
            institution_id: String = "AO",
            /// Patron identifier.
            patron_identifier: String = "AA",
            /// Personal name.
            personal_name: String = "AE",
            /// Valid patron.
            valid_patron: Option<String> = "BL",
            /// Valid patron password.
            valid_patron_password: Option<String> = "CQ",
            /// Screen messages.
            screen_message: Vec<String> = "AF",
            /// Print lines.
            print_line: Vec<String> = "AG",
        }
    }
}
