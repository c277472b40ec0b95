//! The `sluice` binary under a low file-descriptor limit (soft = hard = 256): the connection
//! cap keeps it clear of `EMFILE`, and `/healthz` keeps answering while 300 idle
//! connections are held.

use std::io::Read as _;
use std::time::{Duration, Instant};

use sluice_test_support::bundle::PROVU;
use sluice_test_support::cli::{Child, free_port, http_get, stop, wait_for};

#[cfg(target_os = "linux")]
#[test]
fn healthz_answers_with_300_idle_connections_held_under_a_256_descriptor_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let log_path = tmp.path().join("gateway.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let port = free_port();
    // `ulimit -n` sets both the soft and the hard limit: the gateway cannot raise it.
    let gateway = Child(
        std::process::Command::new("sh")
            .arg("-c")
            .arg(r#"ulimit -n 256 && exec "$0" "$@""#)
            .arg(env!("CARGO_BIN_EXE_sluice"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(&data)
            .args(["--policies", PROVU, "--log-format", "json"])
            // Long enough that the idle connections are held for the whole test.
            .args(["--header-timeout-ms", "30000"])
            .env("RUST_LOG", "info")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("starting sluice serve"),
    );
    wait_for("the gateway", || http_get(port, "/healthz").is_some());

    let started = Instant::now();
    let mut held = Vec::new();
    for _ in 0..300 {
        held.push(std::net::TcpStream::connect(("127.0.0.1", port)).expect("connecting"));
    }
    std::thread::sleep(Duration::from_millis(300));
    let mut worst = Duration::ZERO;
    for _ in 0..20 {
        let start = Instant::now();
        let body = http_get(port, "/healthz").expect("healthz answers");
        worst = worst.max(start.elapsed());
        assert!(body.contains("\"status\":\"ok\""), "{body}");
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("healthz with 300 idle connections under 256 descriptors: worst {worst:?}");
    assert!(worst < Duration::from_millis(500), "worst {worst:?}");
    // Hold them a while longer: an accept loop failing with EMFILE would log by now.
    while started.elapsed() < Duration::from_secs(4) {
        std::thread::sleep(Duration::from_millis(100));
    }
    // The gateway never held more than its cap: the idle connections beyond it were
    // closed, oldest first, to make room for newer ones.
    let closed = held
        .iter()
        .filter(|s| {
            let mut s: &std::net::TcpStream = s;
            s.set_read_timeout(Some(Duration::from_millis(1))).unwrap();
            match s.read(&mut [0u8; 1]) {
                Ok(0) => true,
                Ok(_) => false,
                Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
            }
        })
        .count();
    drop(held);
    stop(gateway);

    let log = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let field = |message: &str, name: &str| {
        lines
            .iter()
            .find(|l| l["fields"]["message"] == message)
            .map(|l| l["fields"][name].clone())
    };
    assert_eq!(
        field("file descriptor limit", "limit"),
        Some(256.into()),
        "{log}"
    );
    assert_eq!(
        field(
            "connection cap lowered to the file descriptor budget",
            "cap"
        ),
        Some((256 - sluice::server::FD_RESERVE).into()),
        "{log}"
    );
    let emfile = log.matches("Too many open files").count();
    assert_eq!(emfile, 0, "EMFILE in the log:\n{log}");
    let cap = usize::try_from(256 - sluice::server::FD_RESERVE).unwrap();
    assert!(
        closed >= 300 - cap,
        "{closed} idle connections closed; the cap is {cap}"
    );
}
