//! Helpers of the tests that run the `sluice` binary.
#![allow(dead_code, reason = "each test binary uses some of the helpers")]

pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A copy of the ProVu bundle with another version.
pub fn provu_copy(at: &std::path::Path, version: &str) -> String {
    copy_dir(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../policies/provu")),
        at,
    );
    set_version(at, "2026.11.0", version);
    at.to_str().unwrap().to_string()
}

pub fn set_version(dir: &std::path::Path, from: &str, to: &str) {
    let manifest = dir.join("bundle.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let old = format!("version = \"{from}\"");
    assert!(text.contains(&old));
    std::fs::write(
        &manifest,
        text.replace(&old, &format!("version = \"{to}\"")),
    )
    .unwrap();
}

/// `GET path` over plain HTTP/1.0; the body, if the gateway answers.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    http_get_as(port, path, "")
}

/// `GET path` with a bearer token (none if empty); the body, if the gateway answers.
pub fn http_get_as(port: u16, path: &str, token: &str) -> Option<String> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    let auth = if token.is_empty() {
        String::new()
    } else {
        format!("Authorization: Bearer {token}\r\n")
    };
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n{auth}\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
}

pub fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..600 {
        if check() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

/// Stops the child process when dropped.
pub struct Child(pub std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `sluice serve` on `port` with `args` and `envs`, its output discarded; waits until it
/// answers.
pub fn serve(port: u16, args: &[&str], envs: &[(&str, &str)]) -> Child {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("serve")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(args)
        .envs(envs.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starting sluice serve");
    let child = Child(child);
    wait_for("the gateway", || http_get(port, "/healthz").is_some());
    child
}

/// `POST path` with a JSON body over plain HTTP/1.0; the status code.
pub fn http_post(port: u16, path: &str, body: &str) -> u16 {
    http_post_as(port, path, body, "")
}

/// `POST path` with a JSON body and a bearer token (none if empty); the status code.
pub fn http_post_as(port: u16, path: &str, body: &str, token: &str) -> u16 {
    let body: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
    request(port, "POST", path, token, Some(&body)).0
}

/// Stops the gateway with SIGTERM (graceful) and waits for it.
#[cfg(unix)]
pub fn stop(mut child: Child) {
    let pid = child.0.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    child.0.wait().unwrap();
}

/// `sluice token create --data-dir DATA ARGS...` (e.g. `["--role", "admin"]`): the token,
/// printed alone on the last line.
pub fn create_token(data: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["token", "create", "--data-dir"])
        .arg(data)
        .args(args)
        .output()
        .expect("running sluice token create");
    assert!(
        out.status.success(),
        "sluice token create failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    stdout.lines().last().unwrap_or_default().trim().to_string()
}

/// An HTTP/1.0 request with a bearer token (none if empty); the status and the body.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&serde_json::Value>,
) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let body = body.map(serde_json::Value::to_string).unwrap_or_default();
    let auth = if token.is_empty() {
        String::new()
    } else {
        format!("Authorization: Bearer {token}\r\n")
    };
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}
