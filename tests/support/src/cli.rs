//! The `sluice` binary as an operator runs it (`serve`, `token create`, any command), and
//! plain HTTP/1.0 requests to the gateway it serves.
//!
//! Only the tests of the `sluice` package know where cargo built the binary
//! (`env!("CARGO_BIN_EXE_sluice")`): they name it with [`Sluice::new`].

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::bundle::{PROVU, WORKSPACE};

/// The `sluice` binary.
#[derive(Debug, Clone, Copy)]
pub struct Sluice {
    bin: &'static str,
}

impl Sluice {
    /// The binary at `bin` (in the tests of the `sluice` package,
    /// `env!("CARGO_BIN_EXE_sluice")`).
    pub const fn new(bin: &'static str) -> Self {
        Self { bin }
    }

    /// A command running the binary in the workspace root, without `SLUICE_TOKEN` from the
    /// environment of the tests.
    pub fn command(&self) -> Command {
        let mut command = Command::new(self.bin);
        command.current_dir(WORKSPACE).env_remove("SLUICE_TOKEN");
        command
    }

    /// `sluice ARGS...` with the environment variables `envs`: whether it succeeded, its
    /// standard output and its standard error.
    pub fn run_with(&self, args: &[&str], envs: &[(&str, &str)]) -> (bool, String, String) {
        let out = self
            .command()
            .args(args)
            .envs(envs.iter().copied())
            .output()
            .expect("running sluice");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `sluice ARGS...`: whether it succeeded, its standard output and its standard error.
    pub fn run(&self, args: &[&str]) -> (bool, String, String) {
        self.run_with(args, &[])
    }

    /// `sluice token create --data-dir DATA ARGS...` (e.g. `["--role", "admin"]`): the
    /// token, printed alone on the last line.
    pub fn create_token(&self, data: &Path, args: &[&str]) -> String {
        let out = self
            .command()
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

    /// `sluice serve` on `port` with `args` and `envs`, its output going to `stdout` and
    /// `stderr`; waits until it answers `/healthz`.
    pub fn serve_to(
        &self,
        port: u16,
        args: &[&str],
        envs: &[(&str, &str)],
        stdout: Stdio,
        stderr: Stdio,
    ) -> Child {
        let child = self
            .command()
            .arg("serve")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(args)
            .envs(envs.iter().copied())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("starting sluice serve");
        let child = Child(child);
        wait_for("the gateway", || http_get(port, "/healthz").is_some());
        child
    }

    /// `sluice serve` on `port` with `args` and `envs`, its output discarded; waits until
    /// it answers.
    pub fn serve(&self, port: u16, args: &[&str], envs: &[(&str, &str)]) -> Child {
        self.serve_to(port, args, envs, Stdio::null(), Stdio::null())
    }

    /// `sluice serve` of the ProVu bundle on a fresh data directory and a free port, with
    /// `extra` arguments, after a token was issued offline with `token_args` (e.g.
    /// `["--role", "service"]`).
    pub fn serve_provu_fresh(&self, token_args: &[&str], extra: &[&str]) -> Served {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let port = free_port();
        let token = self.create_token(&data, token_args);
        let mut args = vec!["--data-dir", data.to_str().unwrap(), "--policies", PROVU];
        args.extend_from_slice(extra);
        let gateway = self.serve(port, &args, &[]);
        Served {
            port,
            token,
            gateway,
            data,
            tmp,
        }
    }
}

/// A `sluice serve` started by [`Sluice::serve_provu_fresh`].
pub struct Served {
    /// The port it listens on (loopback).
    pub port: u16,
    /// The token issued before it started.
    pub token: String,
    /// The process.
    pub gateway: Child,
    /// Its data directory (`data` in [`Served::tmp`]).
    pub data: PathBuf,
    /// The temporary directory holding the data directory, for the test's other files.
    pub tmp: tempfile::TempDir,
}

/// Stops the child process (SIGKILL) when dropped, and reaps it.
pub struct Child(pub std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Stops the gateway with SIGTERM (graceful) and waits for it.
#[cfg(unix)]
pub fn stop(mut child: Child) {
    signal(&child, "TERM");
    child.0.wait().unwrap();
}

/// Sends the signal `name` (e.g. `HUP`) to `child`, asserting `kill` succeeded.
#[cfg(unix)]
pub fn signal(child: &Child, name: &str) {
    let pid = child.0.id().to_string();
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} {pid}: {status}");
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Checks `check` every 50 ms until it holds, for up to 30 s (then panics, naming `what`).
pub fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..600 {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

/// One HTTP/1.0 exchange on loopback `port`, with a bearer token (none if empty) and a
/// JSON body (headers only with `body`): the whole response.
fn exchange(
    port: u16,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&str>,
) -> std::io::Result<String> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    let auth = if token.is_empty() {
        String::new()
    } else {
        format!("Authorization: Bearer {token}\r\n")
    };
    let content = body.map_or_else(String::new, |b| {
        format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        )
    });
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n{auth}{content}\r\n{}",
        body.unwrap_or_default()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

/// `GET path` over plain HTTP/1.0; the body, if the gateway answers.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    http_get_as(port, path, "")
}

/// `GET path` with a bearer token (none if empty); the body, if the gateway answers.
pub fn http_get_as(port: u16, path: &str, token: &str) -> Option<String> {
    let response = exchange(port, "GET", path, token, None).ok()?;
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
}

/// An HTTP/1.0 request with a bearer token (none if empty) and a JSON body; the status and
/// the body of the answer.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&serde_json::Value>,
) -> (u16, String) {
    let body = body.map(serde_json::Value::to_string).unwrap_or_default();
    let response = exchange(port, method, path, token, Some(&body)).unwrap();
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

/// `POST path` with a JSON body over plain HTTP/1.0; the status code.
pub fn http_post(port: u16, path: &str, body: &str) -> u16 {
    http_post_as(port, path, body, "")
}

/// `POST path` with a JSON body and a bearer token (none if empty); the status code.
pub fn http_post_as(port: u16, path: &str, body: &str, token: &str) -> u16 {
    let body: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
    request(port, "POST", path, token, Some(&body)).0
}

/// [`request`] answered with JSON: the JSON answer (a JSON request body `body`, none if
/// empty).
pub fn request_json(
    port: u16,
    method: &str,
    path: &str,
    body: &str,
    token: &str,
) -> serde_json::Value {
    let body = (!body.is_empty()).then(|| serde_json::from_str(body).unwrap());
    let (_, answer) = request(port, method, path, token, body.as_ref());
    serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{e}: {answer}"))
}
