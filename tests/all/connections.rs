//! The connection layer, driven by raw TCP clients: header, body and idle timeouts, the
//! connection cap, a 413 a client can read without `Expect: 100-continue`, and `/healthz`
//! under a flood of idle and slow connections.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sluice::auth::Role;
use sluice_tests::TestEnv;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// A gateway with the given connection bounds (milliseconds).
async fn gateway(max_connections: usize, header_ms: u64, body_ms: u64, idle_ms: u64) -> TestEnv {
    TestEnv::provu_with(|o| {
        o.connections.max_connections = max_connections;
        o.connections.header_timeout = Duration::from_millis(header_ms);
        o.connections.body_timeout = Duration::from_millis(body_ms);
        o.connections.idle_timeout = Duration::from_millis(idle_ms);
    })
    .await
}

fn addr(env: &TestEnv) -> SocketAddr {
    env.gateway().addr()
}

/// What a client read before the connection closed (or `within` passed).
struct Outcome {
    bytes: Vec<u8>,
    /// When the gateway closed it (end of stream or reset), since the start of reading.
    closed: Option<Duration>,
    /// A read failed (e.g. `ECONNRESET`).
    error: Option<std::io::Error>,
}

impl Outcome {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// Reads until the gateway closes the connection, for at most `within`.
async fn read_to_close(stream: &mut TcpStream, within: Duration) -> Outcome {
    let start = Instant::now();
    let mut out = Outcome {
        bytes: Vec::new(),
        closed: None,
        error: None,
    };
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let left = within.saturating_sub(start.elapsed());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return out,
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => out.bytes.extend_from_slice(&buf[..n]),
            Ok(Err(e)) => {
                out.error = Some(e);
                break;
            }
        }
    }
    out.closed = Some(start.elapsed());
    out
}

/// Reads one response (head and `Content-Length` body) off a keep-alive connection.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("a response in time")
            .expect("reading a response");
        assert!(n > 0, "closed before a whole response: {data:?}");
        data.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&data).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
    }
}

/// `GET /healthz` on a fresh connection: how long the answer took, and its text.
async fn healthz(addr: SocketAddr) -> (Duration, String) {
    let start = Instant::now();
    let mut s = TcpStream::connect(addr).await.expect("connecting");
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: sluice\r\nConnection: close\r\n\r\n")
        .await
        .expect("writing");
    let out = read_to_close(&mut s, Duration::from_secs(5)).await;
    (start.elapsed(), out.text())
}

/// The head of a `POST /v1/records` with `extra` header lines, as a service.
fn post_head(env: &TestEnv, extra: &str) -> String {
    let token = env.token(Role::Service, None);
    format!(
        "POST /v1/records HTTP/1.1\r\nHost: sluice\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\n{extra}\r\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_request_head_is_closed_after_the_header_timeout() {
    let env = gateway(64, 400, 5_000, 5_000).await;
    // A head in time is answered.
    assert!(healthz(addr(&env)).await.1.starts_with("HTTP/1.1 200"));

    // A head trickled a header line every 100 ms is cut 400 ms after its first byte, with
    // no answer, however steadily it trickles.
    let mut s = TcpStream::connect(addr(&env)).await.unwrap();
    let start = Instant::now();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: sluice\r\n")
        .await
        .unwrap();
    let trickle = async {
        for i in 0..40 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if s.write_all(format!("X-Slow-{i}: 1\r\n").as_bytes())
                .await
                .is_err()
            {
                break;
            }
            let mut probe = [0u8; 1];
            match tokio::time::timeout(Duration::from_millis(1), s.peek(&mut probe)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                _ => {}
            }
        }
    };
    trickle.await;
    let out = read_to_close(&mut s, Duration::from_secs(3)).await;
    let closed = start.elapsed();
    assert!(out.closed.is_some(), "the slow head was never closed");
    assert!(
        out.bytes.is_empty(),
        "a slow head got an answer: {}",
        out.text()
    );
    assert!(
        closed >= Duration::from_millis(350) && closed < Duration::from_millis(2_000),
        "closed after {closed:?}"
    );

    // A connection that never sends anything gets the header timeout for its first request.
    let mut silent = TcpStream::connect(addr(&env)).await.unwrap();
    let out = read_to_close(&mut silent, Duration::from_secs(3)).await;
    let closed = out.closed.expect("a silent connection is closed");
    assert!(
        closed >= Duration::from_millis(350) && closed < Duration::from_millis(2_000),
        "closed after {closed:?}"
    );
}

/// Sends `head`, then `body` in pieces every `every` (all of it, or until the gateway
/// closes), then reads the answer; returns it and when it was complete.
async fn send_slowly(
    addr: SocketAddr,
    head: &str,
    pieces: &[&[u8]],
    every: Duration,
) -> (Outcome, Duration) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let start = Instant::now();
    s.write_all(head.as_bytes()).await.unwrap();
    let (mut r, mut w) = s.into_split();
    let writer = async {
        for piece in pieces {
            if w.write_all(piece).await.is_err() {
                break;
            }
            tokio::time::sleep(every).await;
        }
        // Keep the write side open: the body stays incomplete.
        w
    };
    let reader = async {
        let mut out = Outcome {
            bytes: Vec::new(),
            closed: None,
            error: None,
        };
        let mut buf = [0u8; 4096];
        loop {
            match tokio::time::timeout(Duration::from_secs(5), r.read(&mut buf)).await {
                Err(_) => break,
                Ok(Ok(0)) => {
                    out.closed = Some(start.elapsed());
                    break;
                }
                Ok(Ok(n)) => out.bytes.extend_from_slice(&buf[..n]),
                Ok(Err(e)) => {
                    out.error = Some(e);
                    out.closed = Some(start.elapsed());
                    break;
                }
            }
        }
        out
    };
    let (_w, out) = tokio::join!(writer, reader);
    let answered = out.closed.unwrap_or_else(|| start.elapsed());
    (out, answered)
}

/// Asserts an answer `status` that closes the connection, with a JSON error body whose
/// message holds `error`.
fn assert_closing_error(out: &Outcome, status: &str, error: &str) {
    let text = out.text();
    assert!(
        text.starts_with(&format!("HTTP/1.1 {status}")),
        "{text:?} {:?}",
        out.error
    );
    assert!(
        text.to_ascii_lowercase().contains("connection: close"),
        "{text}"
    );
    let body = text.split_once("\r\n\r\n").expect("a body").1;
    let json: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
    assert!(json["error"].as_str().unwrap().contains(error), "{json}");
}

/// Asserts a 408 with the JSON error body, about `body_ms` after the head.
fn assert_408(out: &Outcome, at: Duration, body_ms: u64) {
    assert_closing_error(out, "408", "request body did not arrive");
    let due = Duration::from_millis(body_ms);
    assert!(
        at >= due && at < due + Duration::from_millis(2_500),
        "answered after {at:?}"
    );
}

/// On a gateway waiting `body_ms` for a body, a `POST /v1/records` with the header lines
/// `extra` whose body is sent as `piece`, `times` times, one every `every_ms`: asserts its
/// 408.
async fn assert_body_timeout(body_ms: u64, extra: &str, piece: &[u8], times: usize, every_ms: u64) {
    let env = gateway(64, 5_000, body_ms, 5_000).await;
    let head = post_head(&env, extra);
    let pieces = vec![piece; times];
    let every = Duration::from_millis(every_ms);
    let (out, at) = send_slowly(addr(&env), &head, &pieces, every).await;
    assert_408(&out, at, body_ms);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trickling_body_is_cut_after_the_body_timeout_in_total() {
    // Ten bytes every 50 ms: each piece arrives well within any per-read timeout, the whole
    // never within the total.
    let piece = b"{\"kind\": \"c";
    assert_body_timeout(600, "Content-Length: 4000\r\n", piece, 60, 50).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_sent_at_once_is_not_cut_for_the_time_the_gateway_takes_to_process_it() {
    // 200 ms to wait for bodies, and a batch whose 12,000 records take the gateway far
    // longer than that to run through the policy and commit, chunk by chunk, while it does
    // not read: the time it spends on its own work is not the client's.
    let env = gateway(64, 5_000, 200, 5_000).await;
    let lines = 12_000;
    let body: String = (0..lines)
        .map(|i| format!("{}\n", crate::contact(&format!("batch-{i}"))))
        .collect();
    let started = Instant::now();
    let resp = env.post_batch(body).await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    let took = started.elapsed();
    let answers: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), lines, "{}", answers.last().unwrap());
    assert!(answers.iter().all(|a| a["status"] == 201));
    assert_eq!(env.stored_records(), lines as u64);
    assert!(
        took > Duration::from_millis(400),
        "the batch took {took:?}: too fast to show anything about the body timeout"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_shorter_than_its_content_length_is_answered_408() {
    let piece = b"{\"kind\": \"contact\"";
    assert_body_timeout(500, "Content-Length: 100\r\n", piece, 1, 10).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chunked_body_that_never_ends_is_answered_408() {
    // A chunk every 100 ms, never the last one.
    assert_body_timeout(
        500,
        "Transfer-Encoding: chunked\r\n",
        b"1\r\n \r\n",
        30,
        100,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_keep_alive_connection_is_closed_but_a_request_in_flight_is_not() {
    let env = gateway(64, 5_000, 5_000, 500).await;
    let mut s = TcpStream::connect(addr(&env)).await.unwrap();
    for _ in 0..2 {
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: sluice\r\n\r\n")
            .await
            .unwrap();
        let response = read_response(&mut s).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    }
    let out = read_to_close(&mut s, Duration::from_secs(3)).await;
    let closed = out.closed.expect("the idle connection is closed");
    assert!(out.bytes.is_empty());
    assert!(
        closed >= Duration::from_millis(450) && closed < Duration::from_millis(2_000),
        "closed after {closed:?}"
    );

    // A write waits for a pipeline (every permit is held here) for three idle timeouts, on
    // a silent connection: it is in flight, not idle, and gets its answer.
    let pipelines = env.gateway().state().executor.pipelines().clone();
    let held = pipelines
        .clone()
        .acquire_many_owned(u32::try_from(pipelines.available_permits()).unwrap())
        .await
        .unwrap();
    let body = crate::contact("conn-1").to_string();
    let mut s = TcpStream::connect(addr(&env)).await.unwrap();
    let request = format!(
        "{}{body}",
        post_head(&env, &format!("Content-Length: {}\r\n", body.len()))
    );
    s.write_all(request.as_bytes()).await.unwrap();
    let release = async {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        drop(held);
    };
    let (_, response) = tokio::join!(release, read_response(&mut s));
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
}

#[tokio::test(flavor = "multi_thread")]
async fn at_the_connection_cap_idle_connections_make_room_and_busy_ones_get_503() {
    let env = gateway(16, 5_000, 3_000, 5_000).await;
    // Sixteen idle connections fill the cap; a new client still gets its answer: the
    // connection idle longest is closed to make room.
    let mut idle = Vec::new();
    for _ in 0..16 {
        idle.push(TcpStream::connect(addr(&env)).await.unwrap());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (_, text) = healthz(addr(&env)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let oldest = read_to_close(&mut idle[0], Duration::from_secs(1)).await;
    assert!(
        oldest.closed.is_some(),
        "the oldest idle connection was kept"
    );
    let newest = read_to_close(&mut idle[15], Duration::from_millis(200)).await;
    assert!(
        newest.closed.is_none(),
        "the newest idle connection was closed"
    );
    drop(idle);

    // Sixteen requests in flight (bodies not yet sent) fill it: the seventeenth connection
    // is answered 503 with Retry-After.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let head = post_head(&env, "Content-Length: 100\r\n");
    let mut busy = Vec::new();
    for _ in 0..16 {
        let mut s = TcpStream::connect(addr(&env)).await.unwrap();
        s.write_all(head.as_bytes()).await.unwrap();
        busy.push(s);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (took, text) = healthz(addr(&env)).await;
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("retry-after: 1"),
        "{text}"
    );
    let body = text.split_once("\r\n\r\n").unwrap().1;
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert!(json["error"].as_str().unwrap().contains("connection limit"));
    assert!(took < Duration::from_secs(1), "the 503 took {took:?}");

    // Once they are gone, the gateway answers again.
    drop(busy);
    let mut answered = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if healthz(addr(&env)).await.1.starts_with("HTTP/1.1 200") {
            answered = true;
            break;
        }
    }
    assert!(answered, "healthz never answered after the clients left");
}

/// Writes `head` and `body` whole (no `Expect: 100-continue`), then reads the answer.
async fn send_then_read(addr: SocketAddr, head: &str, body: &[u8]) -> Outcome {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body)
        .await
        .expect("the gateway reads the whole body (no reset)");
    read_to_close(&mut s, Duration::from_secs(5)).await
}

fn assert_413(out: &Outcome) {
    assert!(out.error.is_none(), "reading failed: {:?}", out.error);
    assert_closing_error(out, "413", "larger than the limit");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_over_the_limit_gets_a_readable_413_without_expect_continue() {
    let env = gateway(64, 5_000, 5_000, 5_000).await;
    let body = vec![b' '; 5 << 20];
    // A declared length.
    let head = post_head(&env, &format!("Content-Length: {}\r\n", body.len()));
    assert_413(&send_then_read(addr(&env), &head, &body).await);
    // A chunked body.
    let head = post_head(&env, "Transfer-Encoding: chunked\r\n");
    let mut chunked = Vec::new();
    for chunk in body.chunks(64 << 10) {
        chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        chunked.extend_from_slice(chunk);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    assert_413(&send_then_read(addr(&env), &head, &chunked).await);
    // The gateway still serves.
    assert!(healthz(addr(&env)).await.1.starts_with("HTTP/1.1 200"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refusal_before_the_body_is_read_is_readable_too() {
    let env = gateway(64, 5_000, 5_000, 5_000).await;
    // No token: refused before the body is looked at.
    let body = vec![b' '; 5 << 20];
    let head = format!(
        "POST /v1/records HTTP/1.1\r\nHost: sluice\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let out = send_then_read(addr(&env), &head, &body).await;
    assert!(out.error.is_none(), "reading failed: {:?}", out.error);
    assert!(out.text().starts_with("HTTP/1.1 401"), "{}", out.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn healthz_answers_fast_under_a_flood_of_idle_and_slow_connections() {
    let env = gateway(1024, 20_000, 20_000, 20_000).await;
    let mut held = Vec::new();
    // 300 idle connections that never send a byte.
    for _ in 0..300 {
        held.push(TcpStream::connect(addr(&env)).await.unwrap());
    }
    // 30 slow heads and 30 slow bodies.
    for _ in 0..30 {
        let mut s = TcpStream::connect(addr(&env)).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: sluice\r\nX-Slow: ")
            .await
            .unwrap();
        held.push(s);
    }
    let head = post_head(&env, "Content-Length: 1000\r\n");
    for _ in 0..30 {
        let mut s = TcpStream::connect(addr(&env)).await.unwrap();
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(b"{\"kind\":").await.unwrap();
        held.push(s);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut worst = Duration::ZERO;
    let mut total = Duration::ZERO;
    let probes = 20;
    for _ in 0..probes {
        let (took, text) = healthz(addr(&env)).await;
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        worst = worst.max(took);
        total += took;
    }
    println!(
        "healthz under 300 idle + 60 slow connections: worst {worst:?}, mean {:?}",
        total / probes
    );
    assert!(worst < Duration::from_millis(500), "worst {worst:?}");
    // Every held connection is still open (none was cut early).
    let mut probe = [0u8; 1];
    for s in &held {
        assert!(
            tokio::time::timeout(Duration::from_millis(1), s.peek(&mut probe))
                .await
                .is_err(),
            "a held connection was closed or answered"
        );
    }
}
