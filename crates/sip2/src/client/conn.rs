//! One SIP2 TCP connection: connect with a timeout, SC login, framing on `\r`, sequence numbers,
//! and one request/response exchange with resend handling (`96` from the server → we send the
//! request again; a reply with a bad checksum → we send `97` and the server repeats its reply).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout, timeout_at};

use super::{ClientConfig, Error};
use crate::codec::{Codec, DecodeError, Frame, LoginRequest, Message, RequestAcsResend, ScStatusRequest, split_frame};

/// An open, logged-in connection.
#[derive(Debug)]
pub(crate) struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
    seq: u8,
    codec: Codec,
    error_detection: bool,
    max_resends: u32,
    request_timeout: Duration,
    max_frame: usize,
}

impl Connection {
    /// Connect, then log in (`93`) and/or send SC status (`99`) as configured.
    pub(crate) async fn open(cfg: &ClientConfig) -> Result<Connection, Error> {
        let stream = match timeout(cfg.connect_timeout, TcpStream::connect(cfg.addr.as_str())).await {
            Err(_) => {
                return Err(Error::ConnectTimeout { addr: cfg.addr.clone() });
            }
            Ok(Err(source)) => {
                return Err(Error::Connect { addr: cfg.addr.clone(), source });
            }
            Ok(Ok(s)) => s,
        };
        let _ = stream.set_nodelay(true);
        let mut conn = Connection {
            stream,
            buf: Vec::with_capacity(512),
            seq: 0,
            codec: Codec::new(cfg.charset),
            error_detection: cfg.error_detection,
            max_resends: cfg.max_resends,
            request_timeout: cfg.request_timeout,
            max_frame: cfg.max_frame_bytes,
        };
        if let Some(login) = &cfg.login {
            let req = LoginRequest {
                uid_algorithm: '0',
                pwd_algorithm: '0',
                login_user_id: login.user.clone(),
                login_password: login.password.clone(),
                location_code: login.location_code.clone(),
                extra: Vec::new(),
            };
            match conn.exchange(&req.into()).await? {
                Message::LoginResponse(r) if r.ok => {}
                _ => return Err(Error::LoginRefused(login.user.clone())),
            }
        }
        if cfg.sc_status_on_connect {
            let req = ScStatusRequest { status_code: 0, max_print_width: 80, protocol_version: "2.00".into(), extra: Vec::new() };
            conn.exchange(&req.into()).await?;
        }
        Ok(conn)
    }

    /// Cheap check before reuse: the peer has not closed the connection and sent nothing
    /// unsolicited.
    pub(crate) fn is_alive(&self) -> bool {
        let mut b = [0u8; 1];
        match self.stream.try_read(&mut b) {
            Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
            Ok(_) => false,
        }
    }

    fn next_seq(&mut self) -> Option<u8> {
        if !self.error_detection {
            return None;
        }
        let s = self.seq;
        self.seq = (self.seq + 1) % 10;
        Some(s)
    }

    /// Send `msg` and return the server's answer to it.
    pub(crate) async fn exchange(&mut self, msg: &Message) -> Result<Message, Error> {
        let seq = self.next_seq();
        let bytes = self.codec.encode(msg, seq)?;
        let deadline = Instant::now() + self.request_timeout;
        self.write(&bytes, deadline).await?;
        let mut resends = 0u32;
        loop {
            let raw = self.read_frame(deadline).await?;
            match self.codec.decode(&raw) {
                Ok(Frame { message: Message::RequestScResend(_), .. }) => {
                    if resends >= self.max_resends {
                        return Err(Error::ResendLimit(resends));
                    }
                    resends += 1;
                    tracing::debug!(resends, "SIP2 server asked for a resend (96)");
                    self.write(&bytes, deadline).await?;
                }
                Ok(frame) => {
                    if let Some(want) = msg.expected_response()
                        && frame.message.code() != want
                    {
                        return Err(Error::UnexpectedResponse { sent: msg.code(), got: frame.message.code() });
                    }
                    if let (Some(sent), Some(got)) = (seq, frame.sequence)
                        && sent != got
                    {
                        tracing::warn!(sent, got, "SIP2 reply carries another sequence number");
                    }
                    return Ok(frame.message);
                }
                Err(e @ DecodeError::BadChecksum { .. }) => {
                    if resends >= self.max_resends {
                        return Err(Error::Decode(e));
                    }
                    resends += 1;
                    tracing::debug!(resends, error = %e, "bad checksum from SIP2 server, sending 97");
                    let ask = self.codec.encode(&RequestAcsResend::default().into(), seq.map(|_| 0))?;
                    self.write(&ask, deadline).await?;
                }
                Err(e) => return Err(Error::Decode(e)),
            }
        }
    }

    async fn write(&mut self, bytes: &[u8], deadline: Instant) -> Result<(), Error> {
        match timeout_at(deadline, self.stream.write_all(bytes)).await {
            Err(_) => Err(Error::Timeout(self.request_timeout)),
            Ok(r) => r.map_err(Error::Io),
        }
    }

    async fn read_frame(&mut self, deadline: Instant) -> Result<Vec<u8>, Error> {
        loop {
            while let Some(frame) = split_frame(&mut self.buf) {
                if !frame.iter().all(u8::is_ascii_whitespace) {
                    return Ok(frame);
                }
            }
            if self.buf.len() > self.max_frame {
                return Err(Error::FrameTooLong(self.max_frame));
            }
            self.buf.reserve(1024);
            match timeout_at(deadline, self.stream.read_buf(&mut self.buf)).await {
                Err(_) => return Err(Error::Timeout(self.request_timeout)),
                Ok(Err(e)) => return Err(Error::Io(e)),
                Ok(Ok(0)) => return Err(Error::Closed),
                Ok(Ok(_)) => {}
            }
        }
    }
}
