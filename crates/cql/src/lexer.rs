//! Tokens of CQL with their byte positions. A simple (unquoted) string is any run of characters
//! other than whitespace, `(`, `)`, `=`, `<`, `>`, `"` and `/`; a quoted string keeps its
//! backslash escapes except `\"` and `\\`, which stand for `"` and `\` (so masking escapes like
//! `\*` reach the server as written).

use crate::error::{ErrorKind, ParseError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    LParen,
    RParen,
    Slash,
    /// `=`, `==`, `<>`, `<`, `>`, `<=`, `>=`.
    Symbol(&'static str),
    Word(String),
    Quoted(String),
    Eof,
}

impl Tok {
    /// How the token is named in error messages.
    pub fn describe(&self) -> String {
        match self {
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::Slash => "'/'".into(),
            Tok::Symbol(s) => format!("'{s}'"),
            Tok::Word(w) => format!("{w:?}"),
            Tok::Quoted(q) => format!("quoted string {q:?}"),
            Tok::Eof => "the end of the query".into(),
        }
    }
}

pub fn is_word_char(c: char) -> bool {
    !(c.is_whitespace() || matches!(c, '(' | ')' | '=' | '<' | '>' | '"' | '/'))
}

/// Splits the whole query into (byte position, token), ending with `Eof`.
pub fn tokenize(input: &str) -> Result<Vec<(usize, Tok)>, ParseError> {
    let mut out = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(pos, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let tok = match c {
            '(' => {
                chars.next();
                Tok::LParen
            }
            ')' => {
                chars.next();
                Tok::RParen
            }
            '/' => {
                chars.next();
                Tok::Slash
            }
            '=' => {
                chars.next();
                if chars.next_if(|&(_, c)| c == '=').is_some() { Tok::Symbol("==") } else { Tok::Symbol("=") }
            }
            '<' => {
                chars.next();
                if chars.next_if(|&(_, c)| c == '=').is_some() {
                    Tok::Symbol("<=")
                } else if chars.next_if(|&(_, c)| c == '>').is_some() {
                    Tok::Symbol("<>")
                } else {
                    Tok::Symbol("<")
                }
            }
            '>' => {
                chars.next();
                if chars.next_if(|&(_, c)| c == '=').is_some() { Tok::Symbol(">=") } else { Tok::Symbol(">") }
            }
            '"' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => {
                            return Err(ParseError { pos, kind: ErrorKind::UnterminatedQuote });
                        }
                        Some((_, '"')) => break,
                        Some((_, '\\')) => match chars.next() {
                            None => {
                                return Err(ParseError { pos, kind: ErrorKind::UnterminatedQuote });
                            }
                            Some((_, '"')) => s.push('"'),
                            Some((_, '\\')) => s.push('\\'),
                            Some((_, other)) => {
                                s.push('\\');
                                s.push(other);
                            }
                        },
                        Some((_, other)) => s.push(other),
                    }
                }
                Tok::Quoted(s)
            }
            _ => {
                let mut s = String::new();
                while let Some((_, c)) = chars.next_if(|&(_, c)| is_word_char(c)) {
                    s.push(c);
                }
                Tok::Word(s)
            }
        };
        out.push((pos, tok));
    }
    out.push((input.len(), Tok::Eof));
    Ok(out)
}
