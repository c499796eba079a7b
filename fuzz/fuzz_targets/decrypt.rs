//! The inbound decrypt path as the server runs it, checked against a small reference model.
//!
//! The first byte picks a mode:
//! - 0 `raw`: the rest is the `Encrypt` field, as received (byte 1 picks the app id).
//! - 1 `round_trip`: `AesKey::encrypt` → decrypt returns the input; key rotation; `seal_reply`.
//! - 2 `layout`: a plaintext built by hand with a fuzzer-chosen layout (random-prefix length,
//!   length field, app id, padding value and count), AES-CBC-encrypted here, so the fuzzer reaches
//!   the padding / length / app id checks that sit behind AES.
//! - 3 `mutate`: a valid ciphertext, then truncated / bit-flipped / blocks swapped / re-encoded.
//! - 4 `pipeline`: inner XML → encrypt → outer envelope → `xml::parse` → `encrypt_field` →
//!   `open` with a correct `msg_signature` → `Inbound::parse`.
//! - 5 `envelope`: the rest is the outer body; parse → `encrypt_field` → `open` → `Inbound::parse`.
//! - 6 `key`: the rest as an EncodingAESKey.
//!
//! Every decryption result (modes 0-5) is compared with `reference_open`, an independent
//! re-statement of the layout rules, so a wrong accept/reject is caught, not only a panic.
#![no_main]

use std::sync::OnceLock;

use aes::Aes256;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::NoPadding};
use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use libfuzzer_sys::fuzz_target;
use wechat::crypto::Decrypted;
use wechat::{AesKey, CryptoError, Inbound, MessageCrypto, envelope, xml};

const K: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const K2: &str = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
const APP_ID: &str = "wx1234567890abcdef";
const TOKEN: &str = "fuzztoken";
/// App ids of the published vectors that use key K (so seeds can decrypt fully in mode 0).
const APP_IDS: [&str; 4] = [APP_ID, "wxb11529c136998cb6", "wx2c2769f8efd9abc2", ""];

const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true).with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const STRICT: GeneralPurpose = base64::engine::general_purpose::STANDARD;
const NO_PAD: GeneralPurpose = base64::engine::general_purpose::STANDARD_NO_PAD;

struct Keys {
    k: [u8; 32],
    k2: [u8; 32],
    key: AesKey,
    key2: AesKey,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let raw = |s: &str| -> [u8; 32] { LENIENT.decode(s).unwrap().try_into().unwrap() };
        let (k, k2) = (raw(K), raw(K2));
        let key = AesKey::from_encoding_aes_key(K).unwrap();
        let key2 = AesKey::from_encoding_aes_key(K2).unwrap();
        assert_eq!(key, AesKey::from_bytes(k));
        assert_eq!(key2, AesKey::from_bytes(k2));
        Keys { k, k2, key, key2 }
    })
}

/// A cursor over the fuzz input that yields zeros once exhausted.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
    fn array16(&mut self) -> [u8; 16] {
        let mut out = [0u8; 16];
        let got = self.take(16);
        out[..got.len()].copy_from_slice(got);
        out
    }
    /// A length-prefixed string (1-byte length).
    fn short_str(&mut self) -> String {
        let n = self.u8() as usize;
        String::from_utf8_lossy(self.take(n)).into_owned()
    }
    fn rest(&mut self) -> &'a [u8] {
        self.take(usize::MAX)
    }
}

fn cbc_encrypt(key: &[u8; 32], plain: &[u8]) -> Vec<u8> {
    assert!(plain.len().is_multiple_of(16));
    let mut buf = plain.to_vec();
    let iv: [u8; 16] = key[..16].try_into().unwrap();
    cbc::Encryptor::<Aes256>::new(key.into(), &iv.into()).encrypt_padded_mut::<NoPadding>(&mut buf, plain.len()).unwrap();
    buf
}

fn cbc_decrypt(key: &[u8; 32], cipher: &[u8]) -> Vec<u8> {
    let mut buf = cipher.to_vec();
    let iv: [u8; 16] = key[..16].try_into().unwrap();
    cbc::Decryptor::<Aes256>::new(key.into(), &iv.into()).decrypt_padded_mut::<NoPadding>(&mut buf).unwrap();
    buf
}

/// The outcome class of a decryption, for comparing the crate with the reference model.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Ok(Vec<u8>, usize),
    Base64,
    CipherLength(usize),
    Padding,
    Buffer,
    AppId(String),
    Signature,
}

fn outcome_of_err(e: &CryptoError) -> Outcome {
    match e {
        CryptoError::Base64 => Outcome::Base64,
        CryptoError::CipherLength(n) => Outcome::CipherLength(*n),
        CryptoError::Padding => Outcome::Padding,
        CryptoError::IllegalBuffer(_) => Outcome::Buffer,
        CryptoError::AppIdMismatch { found } => Outcome::AppId(found.clone()),
        CryptoError::Signature => Outcome::Signature,
        CryptoError::IllegalKey(_) => panic!("IllegalKey from decrypt: {e}"),
    }
}

/// The layout rules restated: pad32 PKCS#7 (1..=32, all bytes equal), 16 random bytes, a
/// big-endian u32 length, the message, then exactly the app id.
fn reference_unpack(plain: &[u8], app_id: &str) -> Outcome {
    let Some(&pad) = plain.last() else {
        return Outcome::Padding;
    };
    let pad = pad as usize;
    if pad == 0 || pad > 32 || pad > plain.len() || plain[plain.len() - pad..].iter().any(|&b| b as usize != pad) {
        return Outcome::Padding;
    }
    let content = &plain[..plain.len() - pad];
    if content.len() < 20 {
        return Outcome::Buffer;
    }
    let len = u32::from_be_bytes(content[16..20].try_into().unwrap()) as u64;
    if 20 + len > content.len() as u64 {
        return Outcome::Buffer;
    }
    let end = 20 + len as usize;
    if &content[end..] != app_id.as_bytes() {
        return Outcome::AppId(String::from_utf8_lossy(&content[end..]).into_owned());
    }
    Outcome::Ok(content[20..end].to_vec(), 0)
}

fn reference_decrypt(key: &[u8; 32], encrypted: &str, app_id: &str) -> Outcome {
    let Ok(cipher) = LENIENT.decode(encrypted.trim()) else {
        return Outcome::Base64;
    };
    if cipher.is_empty() || cipher.len() % 16 != 0 {
        return Outcome::CipherLength(cipher.len());
    }
    reference_unpack(&cbc_decrypt(key, &cipher), app_id)
}

/// What `MessageCrypto::decrypt` should return with these keys (current first).
fn reference_open(keys: &[&[u8; 32]], encrypted: &str, app_id: &str) -> Outcome {
    let mut first_err = None;
    for (i, key) in keys.iter().enumerate() {
        match reference_decrypt(key, encrypted, app_id) {
            Outcome::Ok(msg, _) => {
                return if std::str::from_utf8(&msg).is_ok() { Outcome::Ok(msg, i) } else { Outcome::Buffer };
            }
            e @ (Outcome::Base64 | Outcome::CipherLength(_)) => return e,
            e => {
                first_err.get_or_insert(e);
            }
        }
    }
    first_err.unwrap()
}

fn outcome_of_open(r: &Result<Decrypted, CryptoError>) -> Outcome {
    match r {
        Ok(d) => Outcome::Ok(d.xml.as_bytes().to_vec(), d.key_index),
        Err(e) => outcome_of_err(e),
    }
}

/// Decrypts `encrypted` every way the server can and checks each against the model.
/// Returns the crate's result with the current key only.
fn check_decrypt(encrypted: &str, app_id: &str) -> Result<Decrypted, CryptoError> {
    let ks = keys();
    // AesKey::decrypt alone.
    let direct = ks.key.decrypt(encrypted, app_id);
    let got = match &direct {
        Ok(m) => Outcome::Ok(m.clone(), 0),
        Err(e) => outcome_of_err(e),
    };
    assert_eq!(got, reference_decrypt(&ks.k, encrypted, app_id), "AesKey::decrypt disagrees with the model for {encrypted:?}");

    // One key.
    let single = MessageCrypto::new(TOKEN, app_id, ks.key.clone(), None);
    let opened = single.decrypt(encrypted);
    assert_eq!(outcome_of_open(&opened), reference_open(&[&ks.k], encrypted, app_id), "MessageCrypto::decrypt (one key)");

    // Rotation: K is the previous key, then the current one.
    let rotated = MessageCrypto::new(TOKEN, app_id, ks.key2.clone(), Some(ks.key.clone()));
    assert_eq!(outcome_of_open(&rotated.decrypt(encrypted)), reference_open(&[&ks.k2, &ks.k], encrypted, app_id), "rotation K2,K");
    let rotated = MessageCrypto::new(TOKEN, app_id, ks.key.clone(), Some(ks.key2.clone()));
    assert_eq!(outcome_of_open(&rotated.decrypt(encrypted)), reference_open(&[&ks.k, &ks.k2], encrypted, app_id), "rotation K,K2");

    // open() = signature check + decrypt.
    let sig = single.msg_signature("1700000000", "42", encrypted);
    assert_eq!(outcome_of_open(&single.open(&sig, "1700000000", "42", encrypted)), outcome_of_open(&opened));
    let mut bad = sig.clone().into_bytes();
    bad[0] = if bad[0] == b'0' { b'1' } else { b'0' };
    assert_eq!(single.open(std::str::from_utf8(&bad).unwrap(), "1700000000", "42", encrypted), Err(CryptoError::Signature));

    if let Ok(d) = &opened {
        // Whatever decrypts is fed on, as the server does.
        inbound(d.xml.as_bytes());
    }
    opened
}

fn inbound(body: &[u8]) {
    if let Ok(m) = Inbound::parse(body) {
        let _ = m.dedupe_key();
        if let Some(e) = m.event() {
            let _ = e.name();
        }
    }
}

fn raw(mut inp: Input) {
    let app_id = APP_IDS[inp.u8() as usize % APP_IDS.len()];
    let s = String::from_utf8_lossy(inp.rest());
    let _ = check_decrypt(&s, app_id);
}

fn round_trip(mut inp: Input) {
    let ks = keys();
    let random = inp.array16();
    let app_id = if inp.u8() & 1 == 0 { APP_ID.to_owned() } else { inp.short_str() };
    let msg = inp.rest();

    let enc = ks.key.encrypt(msg, &app_id, random);
    // Differential: the crate's layout is exactly random ‖ u32be(len) ‖ msg ‖ appid ‖ pad32.
    let mut plain = random.to_vec();
    plain.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    plain.extend_from_slice(msg);
    plain.extend_from_slice(app_id.as_bytes());
    let pad = 32 - plain.len() % 32;
    plain.extend(std::iter::repeat_n(pad as u8, pad));
    assert_eq!(enc, STRICT.encode(cbc_encrypt(&ks.k, &plain)), "AesKey::encrypt layout");

    assert_eq!(ks.key.decrypt(&enc, &app_id).as_deref(), Ok(msg), "round trip");
    let d = check_decrypt(&enc, &app_id);
    match std::str::from_utf8(msg) {
        Ok(text) => {
            assert_eq!(d, Ok(Decrypted { xml: text.to_owned(), key_index: 0 }));
            let c = MessageCrypto::new(TOKEN, app_id.as_str(), ks.key2.clone(), Some(ks.key.clone()));
            assert_eq!(c.decrypt(&enc), Ok(Decrypted { xml: text.to_owned(), key_index: 1 }));
            // Replies are sealed with the key that opened the request, and open again.
            let body = c.seal_reply(1, text, "1700000001", "nonce", random);
            let (e, sig, ts, nonce) = envelope::parse_encrypted_reply(body.as_bytes()).expect("sealed reply parses");
            assert_eq!(c.open(&sig, &ts, &nonce, &e), Ok(Decrypted { xml: text.to_owned(), key_index: 1 }));
        }
        Err(_) => assert!(matches!(d, Err(CryptoError::IllegalBuffer(_)))),
    }
}

fn layout(mut inp: Input) {
    let ks = keys();
    let flags = inp.u8();
    let flags2 = inp.u8();
    let random_len = if flags2 & 1 != 0 { (inp.u8() % 24) as usize } else { 16 };
    enum LenField {
        Correct,
        Off(i64),
        Raw(u32),
    }
    let len_field = match flags & 3 {
        0 => LenField::Correct,
        1 => LenField::Off(i64::from(inp.u8()) - 128),
        2 => LenField::Off(i64::from(inp.u32()) - (1 << 31)),
        _ => LenField::Raw(inp.u32()),
    };
    let app_id: Vec<u8> = match (flags >> 2) & 3 {
        0 => APP_ID.as_bytes().to_vec(),
        1 => {
            let n = inp.u8() % 40;
            inp.take(n as usize).to_vec()
        }
        2 => APP_ID.as_bytes()[..(inp.u8() as usize % APP_ID.len())].to_vec(),
        _ => Vec::new(),
    };
    let pad_mode = (flags >> 4) & 3;
    let pad_value = inp.u8();
    let extra_blocks = (inp.u8() % 4) as usize;
    let corrupt = inp.u16();
    let msg_len = inp.u16() as usize % 4096;
    let msg = inp.take(msg_len);

    let mut plain = Vec::new();
    plain.extend(std::iter::repeat_n(0xA5u8, random_len));
    let len = match len_field {
        LenField::Correct => msg.len() as u32,
        LenField::Off(d) => (msg.len() as i64 + d) as u32,
        LenField::Raw(v) => v,
    };
    plain.extend_from_slice(&len.to_be_bytes());
    plain.extend_from_slice(msg);
    plain.extend_from_slice(&app_id);
    match pad_mode {
        0 => {
            let pad = 32 - plain.len() % 32;
            plain.extend(std::iter::repeat_n(pad as u8, pad));
        }
        1 => {
            // PKCS#7 to the AES block size: the classic mistake, valid only when it is also pad32.
            let pad = 16 - plain.len() % 16;
            plain.extend(std::iter::repeat_n(pad as u8, pad));
        }
        _ => {
            let pad = (16 - plain.len() % 16) % 16 + 16 * extra_blocks;
            plain.extend(std::iter::repeat_n(pad_value, pad));
        }
    }
    if plain.len() % 16 != 0 {
        plain.extend(std::iter::repeat_n(0, 16 - plain.len() % 16));
    }
    if flags & 0x40 != 0 && !plain.is_empty() {
        let i = plain.len() - 1 - (corrupt as usize % plain.len().min(40));
        plain[i] ^= (corrupt >> 8) as u8 | 1;
    }
    if plain.is_empty() {
        return;
    }
    let expected = reference_unpack(&plain, APP_ID);
    let enc = STRICT.encode(cbc_encrypt(&ks.k, &plain));
    let got = check_decrypt(&enc, APP_ID);
    // The model's view of the plaintext we built must be what the crate decided.
    match (&expected, &got) {
        (Outcome::Ok(m, _), Ok(d)) => assert_eq!(m, d.xml.as_bytes()),
        (Outcome::Ok(m, _), Err(CryptoError::IllegalBuffer(_))) => {
            assert!(std::str::from_utf8(m).is_err())
        }
        (e, Err(g)) => assert_eq!(e, &outcome_of_err(g)),
        (e, Ok(d)) => panic!("model says {e:?}, crate accepted {d:?}"),
    }
}

fn mutate(mut inp: Input) {
    let ks = keys();
    let op = inp.u8();
    let a = inp.u16() as usize;
    let b = inp.u16() as usize;
    let c = inp.u8();
    let msg = inp.rest();
    let enc = ks.key.encrypt(msg, APP_ID, [7; 16]);
    let mut cipher = STRICT.decode(&enc).unwrap();
    let n = cipher.len();
    match op % 6 {
        0 => cipher.truncate(a % (n + 1)),
        1 => cipher[a % n] ^= c | 1,
        2 => {
            // swap two blocks
            let blocks = n / 16;
            let (x, y) = (a % blocks, b % blocks);
            for i in 0..16 {
                cipher.swap(x * 16 + i, y * 16 + i);
            }
        }
        3 => cipher.extend(std::iter::repeat_n(c, a % 48)),
        4 => {
            cipher.drain(..16.min(n));
        }
        _ => {
            // flip a byte in the second-to-last block: a controlled change to the last block's
            // plaintext, i.e. to the padding.
            if n >= 32 {
                cipher[n - 32 + a % 16] ^= c | 1;
            }
        }
    }
    let mut s = match (op >> 3) & 3 {
        0 => STRICT.encode(&cipher),
        1 => NO_PAD.encode(&cipher),
        2 => format!(" \n{}\r\n ", STRICT.encode(&cipher)),
        _ => {
            let mut s = STRICT.encode(&cipher);
            if !s.is_empty() {
                let i = b % s.len();
                if s.is_char_boundary(i) {
                    s.insert(i, c as char);
                }
            }
            s
        }
    };
    if op & 0x80 != 0 {
        s = s.replace('+', "-").replace('/', "_"); // URL-safe alphabet: must be refused
    }
    let got = check_decrypt(&s, APP_ID);
    if s.trim() == enc {
        // An unchanged ciphertext (a no-op mutation, or only surrounding whitespace) still opens.
        match std::str::from_utf8(msg) {
            Ok(text) => assert_eq!(got.map(|d| d.xml), Ok(text.to_owned())),
            Err(_) => assert!(matches!(got, Err(CryptoError::IllegalBuffer(_)))),
        }
    }
}

fn pipeline(mut inp: Input) {
    let ks = keys();
    let flags = inp.u8();
    let random = inp.array16();
    let to_user = inp.short_str();
    let timestamp = inp.short_str();
    let nonce = inp.short_str();
    let inner = String::from_utf8_lossy(inp.rest()).into_owned();
    let crypto = if flags & 1 == 0 {
        MessageCrypto::new(TOKEN, APP_ID, ks.key.clone(), None)
    } else {
        MessageCrypto::new(TOKEN, APP_ID, ks.key2.clone(), Some(ks.key.clone()))
    };
    let key_index = usize::from(flags & 1 == 1);
    let enc = crypto.encrypt(key_index, &inner, random);
    let body = match (flags >> 1) & 3 {
        0 => envelope::encrypted_request(&to_user, &enc),
        // Compatible mode: plain fields next to Encrypt, with whitespace the parser must keep out.
        1 => format!(
            "<xml>\n  <ToUserName><![CDATA[gh_x]]></ToUserName>\n  <Encrypt>\n<![CDATA[{enc}]]>\n</Encrypt>\n  <FromUserName>u</FromUserName>\n</xml>\n"
        ),
        2 => format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><xml><Encrypt>{enc}</Encrypt><!-- c --></xml>"),
        _ => {
            format!("<xml><ToUserName/><Encrypt><![CDATA[{}]]><![CDATA[{}]]></Encrypt></xml>", &enc[..enc.len() / 2], &enc[enc.len() / 2..])
        }
    };
    let root = xml::parse(body.as_bytes()).unwrap_or_else(|e| panic!("envelope does not parse: {e}: {body:?}"));
    let field = envelope::encrypt_field(&root).expect("Encrypt present");
    assert_eq!(field, enc);
    let sig = crypto.msg_signature(&timestamp, &nonce, field);
    let d = crypto.open(&sig, &timestamp, &nonce, field).expect("valid request opens");
    assert_eq!(d, Decrypted { xml: inner.clone(), key_index });
    assert_eq!(crypto.open(&sig, &timestamp, &format!("{nonce}x"), field), Err(CryptoError::Signature));
    let _ = check_decrypt(field, APP_ID);
    let via = Inbound::parse(d.xml.as_bytes());
    let direct = Inbound::parse(inner.as_bytes());
    assert_eq!(via.is_ok(), direct.is_ok());
    if let (Ok(a), Ok(b)) = (via, direct) {
        assert_eq!(a.dedupe_key(), b.dedupe_key());
        assert_eq!(a.event().map(|e| e.name().to_owned()), b.event().map(|e| e.name().to_owned()));
    }
}

fn envelope_body(mut inp: Input) {
    let body = inp.rest();
    let Ok(root) = xml::parse(body) else { return };
    let Some(field) = envelope::encrypt_field(&root) else {
        return;
    };
    let ks = keys();
    let crypto = MessageCrypto::new(TOKEN, APP_ID, ks.key.clone(), None);
    let sig = crypto.msg_signature("1700000000", "1", field);
    let opened = crypto.open(&sig, "1700000000", "1", field);
    assert_eq!(outcome_of_open(&opened), reference_open(&[&ks.k], field, APP_ID));
    if let Ok(d) = opened {
        inbound(d.xml.as_bytes());
    }
}

fn key(mut inp: Input) {
    let s = String::from_utf8_lossy(inp.rest());
    if let Ok(k) = AesKey::from_encoding_aes_key(&s) {
        assert_eq!(s.len(), 43);
        assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
        let enc = k.encrypt(b"<xml/>", APP_ID, [0; 16]);
        assert_eq!(k.decrypt(&enc, APP_ID).as_deref(), Ok(&b"<xml/>"[..]));
    }
}

fuzz_target!(|data: &[u8]| {
    let mut inp = Input(data);
    match inp.u8() % 7 {
        0 => raw(inp),
        1 => round_trip(inp),
        2 => layout(inp),
        3 => mutate(inp),
        4 => pipeline(inp),
        5 => envelope_body(inp),
        _ => key(inp),
    }
});
