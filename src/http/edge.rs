//! The connection layer under actix's HTTP/1 parser: what no handler or middleware can do,
//! because it happens before a request is parsed or after its response left them.
//!
//! - **Slow readers.** actix has no write timeout: a client that asks for a large Bundle and
//!   never reads holds its connection, and the response buffered for it, for as long as it
//!   likes. Here a response must keep moving: a write that stays blocked, or that takes less
//!   than [`MIN_PROGRESS`] bytes in `limits.write_timeout_ms`, fails, and actix drops the
//!   connection with what it buffered.
//! - **Connections per address.** At most `limits.max_connections_per_address` at once from
//!   one client address (trusted proxies excepted: they carry everyone's); the next is answered
//!   429 with an OperationOutcome and closed, before actix reads anything. With the write
//!   timeout this bounds the memory one address can hold in responses it does not read.
//! - **Request heads too long for actix.** actix answers a bodiless 400 or 431 to request lines
//!   over 64 KB (the longest URI the `http` crate holds), heads over 128 KB or more than 96
//!   headers. Heads are measured here as they arrive, and one past the limits is answered 414
//!   or 431 with an OperationOutcome instead, its bytes never reaching actix, the rest of the
//!   request read and dropped (so that the client, still sending, reads the answer), and the
//!   connection closed. Heads within actix's reach but over `limits.max_url_bytes` /
//!   `limits.max_header_bytes` are left to `hygiene`, whose messages are more precise.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use actix_web::ResponseError;
use actix_web::body::MessageBody;
use actix_web::rt::net::TcpStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use super::error::ApiError;
use crate::search::limits::Limits;

/// Bytes a blocked response must move within the write timeout to count as moving: a reader
/// taking a few bytes now and then does not hold its connection for hours.
pub const MIN_PROGRESS: usize = 64 * 1024;
/// Beyond `limits.max_url_bytes` and `limits.max_header_bytes`, what a request head may take
/// before it is refused here rather than by `hygiene` (the method, the version, line ends).
const SLACK: usize = 1024;
/// Headers actix parses at most (its `MAX_HEADERS`); more is a bodiless 431 there.
const MAX_HEADERS: usize = 96;
/// The longest request line and head `limits` may allow: beyond them actix refuses first.
pub const MAX_URL_LIMIT: usize = 60 * 1024;
pub const MAX_HEADER_LIMIT: usize = 60 * 1024;
/// What is read and dropped of a refused request before the connection closes.
const MAX_DRAINED: usize = 2 << 20;

/// The connections of one listener: who holds how many, and the limits they are held to.
pub struct Edge {
    held: Mutex<HashMap<IpAddr, usize>>,
    max_per_address: usize,
    /// Peers not counted: the trusted reverse proxies, which carry every client's requests.
    exempt: Arc<Vec<IpAddr>>,
    write_timeout: Duration,
    max_line: usize,
    max_head: usize,
}

impl Edge {
    pub fn new(limits: &Limits, exempt: Arc<Vec<IpAddr>>) -> Edge {
        Edge {
            held: Mutex::new(HashMap::new()),
            max_per_address: limits.max_connections_per_address.max(1),
            exempt,
            write_timeout: Duration::from_millis(limits.write_timeout_ms.max(1)),
            max_line: limits.max_url_bytes + SLACK,
            max_head: limits.max_header_bytes + SLACK,
        }
    }

    /// A newly accepted connection, guarded: counted against its address, or, past the
    /// address's limit, set to answer 429 and close without being read.
    pub fn accept(self: &Arc<Edge>, io: TcpStream) -> Guarded {
        // Small responses otherwise wait on Nagle's algorithm against the client's delayed
        // ACK: ~40 ms per response on a kept-alive connection.
        let _ = io.set_nodelay(true);
        let peer = io.peer_addr().ok().map(|p| p.ip());
        let mut guarded = Guarded {
            io,
            slot: None,
            write_timeout: self.write_timeout,
            stalled: None,
            head: HeadScanner::new(self.max_line, self.max_head),
            over_limit: None,
            refusal: None,
        };
        match peer {
            Some(ip) if !self.exempt.contains(&ip) => match self.enter(ip) {
                Some(slot) => guarded.slot = Some(slot),
                None => {
                    let message = format!(
                        "this address already holds {} connections to the server, its limit (`limits.max_connections_per_address`); reuse them (keep-alive) or retry when one closes",
                        self.max_per_address
                    );
                    guarded.over_limit = Some(ApiError::TooManyConnections(message));
                }
            },
            _ => {}
        }
        guarded
    }

    fn enter(self: &Arc<Edge>, ip: IpAddr) -> Option<Slot> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let count = held.entry(ip).or_insert(0);
        if *count >= self.max_per_address {
            return None;
        }
        *count += 1;
        Some(Slot {
            edge: self.clone(),
            ip,
        })
    }
}

/// One counted connection of an address; given back when the connection is dropped.
struct Slot {
    edge: Arc<Edge>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self.edge.held.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = held.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.ip);
            }
        }
    }
}

/// A refusal being sent: the response's bytes, then the rest of the request read and dropped.
struct Refusal {
    response: Vec<u8>,
    written: usize,
    write_closed: bool,
    drained: usize,
    deadline: Pin<Box<Sleep>>,
}

/// A TCP connection as actix sees it: reads pass through the head scanner, writes through the
/// write timeout, and a refusal is sent when actix closes it.
pub struct Guarded {
    io: TcpStream,
    slot: Option<Slot>,
    write_timeout: Duration,
    /// Since when writes have been blocked, and how much they moved since.
    stalled: Option<(Pin<Box<Sleep>>, usize)>,
    head: HeadScanner,
    /// Past its address's limit: answered this once its request head has arrived (a client
    /// answered before it has sent its request may not read the answer), none of it read by
    /// actix.
    over_limit: Option<ApiError>,
    refusal: Option<Refusal>,
}

impl Guarded {
    pub fn peer_addr(&self) -> Option<std::net::SocketAddr> {
        self.io.peer_addr().ok()
    }

    /// From now on actix reads the end of the stream; when it closes the connection, `error`
    /// is written instead, as the one response it gets.
    fn refuse(&mut self, error: &ApiError) {
        self.refusal = Some(Refusal {
            response: raw_response(error),
            written: 0,
            write_closed: false,
            drained: 0,
            deadline: Box::pin(tokio::time::sleep(self.write_timeout)),
        });
    }

    /// A write that moved `written` bytes of `offered`: the stall timer is reset once the
    /// writes have moved [`MIN_PROGRESS`] bytes, or all that was offered.
    fn moved(&mut self, written: usize, offered: usize) {
        if let Some((_, moved)) = &mut self.stalled {
            *moved += written;
            if *moved >= MIN_PROGRESS || written == offered {
                self.stalled = None;
            }
        }
    }

    /// A write is blocked: fails once the writes have been blocked or crawling for the write
    /// timeout.
    fn blocked(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let timeout = self.write_timeout;
        let (timer, _) = self
            .stalled
            .get_or_insert_with(|| (Box::pin(tokio::time::sleep(timeout)), 0));
        if timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client did not read the response in time",
            )));
        }
        Poll::Pending
    }

    /// Sends the refusal, closes the write side, then reads and drops what the client still
    /// sends (at most [`MAX_DRAINED`] bytes, until the write timeout): closing with unread bytes
    /// would reset the connection, and the client would lose the answer.
    fn poll_refusal(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(refusal) = &mut self.refusal else {
            return Poll::Ready(Ok(()));
        };
        while refusal.written < refusal.response.len() {
            match Pin::new(&mut self.io).poll_write(cx, &refusal.response[refusal.written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(n)) => refusal.written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    ready!(refusal.deadline.as_mut().poll(cx));
                    return Poll::Ready(Ok(()));
                }
            }
        }
        if !refusal.write_closed {
            ready!(Pin::new(&mut self.io).poll_shutdown(cx))?;
            refusal.write_closed = true;
        }
        let mut scratch = [0u8; 8192];
        while refusal.drained < MAX_DRAINED {
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut self.io).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if buf.filled().is_empty() => break,
                Poll::Ready(Ok(())) => refusal.drained += buf.filled().len(),
                Poll::Ready(Err(_)) => break,
                Poll::Pending => {
                    ready!(refusal.deadline.as_mut().poll(cx));
                    break;
                }
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.refusal.is_some() {
            // The end of the stream, for actix: it finishes what it has and closes.
            return Poll::Ready(Ok(()));
        }
        if this.over_limit.is_some() {
            return this.poll_head_then_refuse(cx, buf);
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.io).poll_read(cx, buf))?;
        if let Some(error) = this.head.scan(&buf.filled()[before..]) {
            // The offending bytes never reach actix.
            buf.set_filled(before);
            this.refuse(&error);
        }
        Poll::Ready(Ok(()))
    }
}

impl Guarded {
    /// Reads the request head of a connection over its address's limit, keeping it from
    /// actix, then refuses it.
    fn poll_head_then_refuse(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let before = buf.filled().len();
            ready!(Pin::new(&mut self.io).poll_read(cx, buf))?;
            let read = buf.filled().len() - before;
            let too_long = self.head.scan(&buf.filled()[before..]);
            buf.set_filled(before);
            if read == 0 {
                // The client left without a request.
                return Poll::Ready(Ok(()));
            }
            if too_long.is_some() || self.head.completed > 0 {
                let error = self.over_limit.take().expect("over the limit");
                self.refuse(&error);
                return Poll::Ready(Ok(()));
            }
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_write(cx, data) {
            Poll::Ready(Ok(written)) => {
                this.moved(written, data.len());
                Poll::Ready(Ok(written))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => this.blocked(cx),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.refusal.is_some() {
            return this.poll_refusal(cx);
        }
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

/// Where the scanner is in the stream of requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// In a request line (or the empty lines before one).
    Line,
    /// In the header lines.
    Headers,
    /// In a body of known length: these many bytes left.
    Body(u64),
    /// A chunked body: the framing is actix's from here; the scanner stops.
    Off,
}

/// Measures request heads as they arrive: the request line, the head, the header count, and
/// skips bodies by their `Content-Length` to find the next head.
#[derive(Debug)]
struct HeadScanner {
    phase: Phase,
    max_line: usize,
    max_head: usize,
    line: usize,
    head: usize,
    headers: usize,
    /// The start of the current header line (enough to read `Content-Length` and
    /// `Transfer-Encoding`).
    current: Vec<u8>,
    content_length: u64,
    chunked: bool,
    /// Request heads read whole.
    completed: usize,
}

/// What of a header line is kept to read its name and value.
const KEPT_OF_A_LINE: usize = 64;

impl HeadScanner {
    fn new(max_line: usize, max_head: usize) -> HeadScanner {
        HeadScanner {
            phase: Phase::Line,
            max_line,
            max_head,
            line: 0,
            head: 0,
            headers: 0,
            current: Vec::new(),
            content_length: 0,
            chunked: false,
            completed: 0,
        }
    }

    /// Reads `bytes`, the next ones of the stream: the refusal when a head goes past a limit.
    fn scan(&mut self, mut bytes: &[u8]) -> Option<ApiError> {
        while !bytes.is_empty() {
            match self.phase {
                Phase::Off => return None,
                Phase::Body(left) => {
                    let skipped = bytes.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    bytes = &bytes[skipped..];
                    let left = left - skipped as u64;
                    self.phase = if left == 0 {
                        Phase::Line
                    } else {
                        Phase::Body(left)
                    };
                }
                Phase::Line => {
                    let byte = bytes[0];
                    bytes = &bytes[1..];
                    if let Some(refusal) = self.line_byte(byte) {
                        return Some(refusal);
                    }
                }
                Phase::Headers => {
                    let byte = bytes[0];
                    bytes = &bytes[1..];
                    if let Some(refusal) = self.header_byte(byte) {
                        return Some(refusal);
                    }
                }
            }
        }
        None
    }

    fn line_byte(&mut self, byte: u8) -> Option<ApiError> {
        if self.line == 0 && (byte == b'\r' || byte == b'\n') {
            return None;
        }
        if byte == b'\n' {
            self.phase = Phase::Headers;
            self.head = 0;
            self.headers = 0;
            self.current.clear();
            self.content_length = 0;
            self.chunked = false;
            self.line = 0;
            return None;
        }
        self.line += 1;
        (self.line > self.max_line).then(|| {
            ApiError::UrlTooLong(format!(
                "the request line is longer than {} bytes, more than this server reads (limit `limits.max_url_bytes`); send long searches as POST [type]/_search with a form body",
                self.max_line
            ))
        })
    }

    fn header_byte(&mut self, byte: u8) -> Option<ApiError> {
        self.head += 1;
        if self.head > self.max_head {
            return Some(ApiError::HeadersTooLarge(format!(
                "the request headers take more than {} bytes, more than this server reads (limit `limits.max_header_bytes`)",
                self.max_head
            )));
        }
        if byte != b'\n' {
            if self.current.len() < KEPT_OF_A_LINE {
                self.current.push(byte);
            }
            return None;
        }
        let line = self.current.strip_suffix(b"\r").unwrap_or(&self.current);
        if line.is_empty() {
            self.completed += 1;
            self.phase = if self.chunked {
                Phase::Off
            } else if self.content_length > 0 {
                Phase::Body(self.content_length)
            } else {
                Phase::Line
            };
            return None;
        }
        self.headers += 1;
        if self.headers > MAX_HEADERS {
            return Some(ApiError::HeadersTooLarge(format!(
                "the request has more than {MAX_HEADERS} headers, more than this server reads"
            )));
        }
        if let Some((name, value)) = std::str::from_utf8(line)
            .ok()
            .and_then(|line| line.split_once(':'))
        {
            let name = name.trim();
            if name.eq_ignore_ascii_case("content-length") {
                self.content_length = value.trim().parse().unwrap_or(0);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                self.chunked = true;
            }
        }
        self.current.clear();
        None
    }
}

/// `error` as the bytes of an HTTP/1.1 response that closes the connection: the
/// OperationOutcome the error table gives, with the headers every API response carries.
fn raw_response(error: &ApiError) -> Vec<u8> {
    let response = error.error_response();
    let status = response.status();
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    for (name, value) in response.headers() {
        if let Ok(value) = value.to_str() {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    for (name, value) in super::hygiene::API_HEADERS {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let body = response
        .into_body()
        .try_into_bytes()
        .unwrap_or_default()
        .to_vec();
    head.push_str(&format!(
        "cache-control: no-store\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&body);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanner() -> HeadScanner {
        HeadScanner::new(100, 200)
    }

    #[test]
    fn heads_within_the_limits_pass_and_bodies_are_skipped() {
        let mut scanner = scanner();
        let body = "x".repeat(500);
        let requests = format!(
            "\r\nPOST /fhir/Practitioner/_search HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n{body}GET /fhir/metadata HTTP/1.1\r\nHost: a\r\n\r\n",
            body.len()
        );
        // Whatever the reads cut the stream into.
        for piece in requests.as_bytes().chunks(7) {
            assert!(scanner.scan(piece).is_none());
        }
        assert_eq!(scanner.phase, Phase::Line);
    }

    #[test]
    fn long_lines_heads_and_header_counts_are_refused() {
        let line = format!("GET /{} HTTP/1.1\r\n", "a".repeat(200));
        assert!(matches!(
            scanner().scan(line.as_bytes()),
            Some(ApiError::UrlTooLong(_))
        ));
        let head = format!("GET / HTTP/1.1\r\nX-Padding: {}\r\n\r\n", "b".repeat(300));
        assert!(matches!(
            scanner().scan(head.as_bytes()),
            Some(ApiError::HeadersTooLarge(_))
        ));
        let mut many = HeadScanner::new(100, 100_000);
        let head = format!(
            "GET / HTTP/1.1\r\n{}\r\n",
            "X: y\r\n".repeat(MAX_HEADERS + 1)
        );
        assert!(matches!(
            many.scan(head.as_bytes()),
            Some(ApiError::HeadersTooLarge(_))
        ));
    }

    #[test]
    fn a_chunked_body_stops_the_scan() {
        let mut scanner = scanner();
        let request = format!(
            "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n{}",
            "z".repeat(1000)
        );
        assert!(scanner.scan(request.as_bytes()).is_none());
        assert_eq!(scanner.phase, Phase::Off);
    }

    #[test]
    fn refusals_are_complete_responses_that_close() {
        let bytes = raw_response(&ApiError::UrlTooLong("too long".into()));
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{text}");
        assert!(text.contains("connection: close\r\n"), "{text}");
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        assert!(body.contains("OperationOutcome"));
    }
}
