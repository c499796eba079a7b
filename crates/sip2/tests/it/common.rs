//! Test helpers: start/kill/restart the Python pysip2 peer, and a scripted fake ACS in tokio.

use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sip2::codec::{Codec, Message};
use sip2::{Charset, ClientConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn python() -> PathBuf {
    std::env::var_os("WXLIB_PYTHON").map(PathBuf::from).unwrap_or_else(|| manifest_dir().join("../../.venv/bin/python"))
}

/// The project's one pysip2 library system, `tests/peers/sip2/sip2_backend.py` (shared with the
/// borrowing tests of tests/python); its `--data` names the data set: `toy` or `client`.
pub fn backend_script() -> PathBuf {
    manifest_dir().join("../../tests/peers/sip2/sip2_backend.py")
}

/// Whether the Python peer can run; loud skip, or panic under CI.
pub fn peer_available() -> bool {
    let py = python();
    let script = backend_script();
    let ok = script.exists()
        && Command::new(&py)
            .args(["-c", "import pysip2"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
    if !ok {
        let msg = format!(
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             !!! SIP2 peer test SKIPPED: cannot run {} with pysip2 (script {}).\n\
             !!! Install: {} -m pip install pysip2==0.1.0 (or set WXLIB_PYTHON).\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
            py.display(),
            script.display(),
            py.display()
        );
        if std::env::var_os("CI").is_some() {
            panic!("{msg}\n(CI is set: failing instead of skipping)");
        }
        eprintln!("{msg}");
    }
    ok
}

pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// A running Python SIP2 server.
pub struct Peer {
    pub port: u16,
    args: Vec<String>,
    child: Option<Child>,
    log: PathBuf,
}

impl Peer {
    /// The backend with data set `data` (`toy`: the pysip2 toy server's; `client`: the richer
    /// one) and further options such as `--encoding gbk`.
    pub fn start(data: &str, args: &[&str]) -> Peer {
        let args = ["--data", data].iter().chain(args).map(|s| s.to_string()).collect();
        let mut p = Peer { port: free_port(), args, child: None, log: PathBuf::new() };
        p.spawn();
        p
    }

    fn spawn(&mut self) {
        let log = std::env::temp_dir().join(format!("sip2-peer-{}-{}.log", self.port, std::process::id()));
        let file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(python())
            .arg(backend_script())
            .arg(self.port.to_string())
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log"))
            .stderr(file)
            .spawn()
            .expect("start python peer");
        self.child = Some(child);
        self.log = log;
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                panic!("SIP2 peer exited ({status}):\n{}", self.log());
            }
            assert!(start.elapsed() < Duration::from_secs(30), "SIP2 peer did not open port {}", self.port);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).expect("running")
    }

    /// SIGKILL, like a crash.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGSTOP / SIGCONT: a hung server that keeps its sockets open.
    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill").arg(format!("-{sig}")).arg(self.pid().to_string()).status().expect("kill");
        assert!(status.success());
    }

    /// Start again on the same port.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_ref() {
            let _ = Command::new("kill").arg("-CONT").arg(c.id().to_string()).status();
        }
        self.kill();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Client settings for tests: short timeouts.
pub fn test_config(addr: String) -> ClientConfig {
    let mut cfg = ClientConfig::new(addr, "UNIVLIB");
    cfg.connect_timeout = Duration::from_secs(1);
    cfg.request_timeout = Duration::from_secs(2);
    cfg.call_timeout = Duration::from_secs(4);
    cfg.breaker_threshold = 3;
    cfg.breaker_open_for = Duration::from_secs(2);
    cfg
}

/// What the fake ACS does with one request frame.
pub enum Action {
    /// Send these bytes.
    Reply(Vec<u8>),
    /// Close the connection.
    Close,
    /// Never answer (keep the connection open).
    Hang,
    /// Send these bytes after a pause.
    ReplyAfter(Duration, Vec<u8>),
    /// Send these bytes, then close.
    ReplyThenClose(Vec<u8>),
}

type Script = dyn Fn(&[u8], usize) -> Action + Send + Sync;

/// A scripted ACS: for each request frame (with its index on its connection) the script says
/// what to do. Records every frame received and counts connections.
pub struct FakeAcs {
    pub addr: String,
    pub frames: Arc<Mutex<Vec<Vec<u8>>>>,
    pub connections: Arc<AtomicUsize>,
    pub max_concurrent: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeAcs {
    pub async fn start(script: impl Fn(&[u8], usize) -> Action + Send + Sync + 'static) -> FakeAcs {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let frames = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let live = Arc::new(AtomicUsize::new(0));
        let max_concurrent = Arc::new(AtomicUsize::new(0));
        let script: Arc<Script> = Arc::new(script);
        let (f, c, l, m) = (frames.clone(), connections.clone(), live.clone(), max_concurrent.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                c.fetch_add(1, Ordering::SeqCst);
                let now = l.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(now, Ordering::SeqCst);
                let (f, l, script) = (f.clone(), l.clone(), script.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut n = 0usize;
                    'conn: loop {
                        while let Some(frame) = sip2::codec::split_frame(&mut buf) {
                            f.lock().unwrap().push(frame.clone());
                            match script(&frame, n) {
                                Action::Reply(bytes) => {
                                    if sock.write_all(&bytes).await.is_err() {
                                        break 'conn;
                                    }
                                }
                                Action::Close => break 'conn,
                                Action::ReplyAfter(pause, bytes) => {
                                    tokio::time::sleep(pause).await;
                                    if sock.write_all(&bytes).await.is_err() {
                                        break 'conn;
                                    }
                                }
                                Action::ReplyThenClose(bytes) => {
                                    let _ = sock.write_all(&bytes).await;
                                    break 'conn;
                                }
                                Action::Hang => {
                                    tokio::time::sleep(Duration::from_secs(3600)).await;
                                }
                            }
                            n += 1;
                        }
                        let mut chunk = [0u8; 4096];
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => break,
                            Ok(k) => buf.extend_from_slice(&chunk[..k]),
                        }
                    }
                    l.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        FakeAcs { addr, frames, connections, max_concurrent, task }
    }

    pub fn frames(&self) -> Vec<Vec<u8>> {
        self.frames.lock().unwrap().clone()
    }
}

impl Drop for FakeAcs {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Encode `msg` as the answer to `request` (same sequence number, checksum if it had one).
pub fn answer(request: &[u8], msg: impl Into<Message>) -> Vec<u8> {
    let codec = Codec::new(Charset::Utf8);
    let seq = codec.decode(request).ok().and_then(|f| f.sequence);
    codec.encode(&msg.into(), seq).expect("encode answer")
}

/// Parse a Python bytes literal body (`b'...'` without the quotes).
pub fn py_bytes(lit: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let b = lit.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'r' => out.push(b'\r'),
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'\\' => out.push(b'\\'),
                b'\'' => out.push(b'\''),
                b'x' => {
                    let hex = std::str::from_utf8(&b[i + 2..i + 4]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 2;
                }
                other => panic!("escape \\{}", other as char),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// `(direction, bytes)` for every line of the raw exchange fixture.
pub fn raw_exchange() -> Vec<(char, Vec<u8>)> {
    let text = std::fs::read_to_string(manifest_dir().join("tests/fixtures/raw_exchange.txt")).expect("fixture");
    text.lines()
        .filter_map(|l| {
            let dir = if l.starts_with(">> ") {
                '>'
            } else if l.starts_with("<< ") {
                '<'
            } else {
                return None;
            };
            let lit = l[3..].strip_prefix("b'")?.strip_suffix('\'')?;
            Some((dir, py_bytes(lit)))
        })
        .collect()
}
