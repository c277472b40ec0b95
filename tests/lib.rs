//! The harness of the end-to-end tests: a real gateway (real plugins, a temporary redb,
//! an ephemeral port) driven over real HTTP, with a clock the tests control.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use cap_std::ambient_authority;
use cap_std::fs::Dir;
use reqwest::StatusCode;
use serde_json::Value;
use sluice::auth::Role;
use sluice::bundle::package::{Components, Package};
pub use sluice::bundle::signing::SigningKey;
use sluice::clock::ManualClock;
use sluice::gateway::{Options, Running};
pub use sluice_test_support::http::items;
pub use sluice_test_support::vendor::{Received, VendorServer};
use sluice_test_support::{bundle, gateway, http};

/// The misbehaving guests of `tests/guests/`, built for wasm32-wasip2 by `build.rs`.
pub mod guests {
    include!(concat!(env!("OUT_DIR"), "/test_guests.rs"));

    /// The component of test guest `name` (e.g. `guest-trap`).
    pub fn get(name: &str) -> &'static [u8] {
        TEST_GUESTS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| *b)
            .unwrap_or_else(|| panic!("no test guest {name}"))
    }
}

/// The ProVu bundle of the repository.
pub fn provu_bundle() -> PathBuf {
    bundle::provu_dir().to_path_buf()
}

/// 2026-11-25T12:00:00Z, where every test clock starts.
pub const START_MS: i64 = 1_795_608_000_000;

/// A running gateway and a client for it.
pub struct TestEnv {
    running: Option<Running>,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The HTTP client.
    pub client: reqwest::Client,
    /// The gateway's clock.
    pub clock: Arc<ManualClock>,
    /// Options used to (re)start the gateway.
    pub options: Options,
    data: tempfile::TempDir,
    policy: PathBuf,
    _policy_tmp: Option<tempfile::TempDir>,
    /// Tokens issued for the tests, by `role` or `vendor:ID`.
    tokens: std::sync::Mutex<std::collections::HashMap<String, String>>,
}

impl TestEnv {
    /// A gateway with the ProVu bundle.
    pub async fn provu() -> Self {
        Self::provu_with(|_| {}).await
    }

    /// A gateway with the ProVu bundle and adjusted options.
    pub async fn provu_with(tune: impl FnOnce(&mut Options)) -> Self {
        Self::start(provu_bundle(), None, tune)
            .await
            .expect("starting the gateway")
    }

    /// A gateway whose policy directory is `dir` (e.g. from [`copy_provu`]), which the
    /// environment keeps until it is dropped.
    pub async fn from_dir(dir: tempfile::TempDir, tune: impl FnOnce(&mut Options)) -> Result<Self> {
        let path = dir.path().to_path_buf();
        Self::start(path, Some(dir), tune).await
    }

    /// The data directory (database and compiled-plugin cache).
    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// The policy directory.
    pub fn policy_dir(&self) -> &Path {
        &self.policy
    }

    /// A gateway with a bundle written from `bundle_toml`, with the given test guests
    /// copied to `plugins/<name>.wasm` beside it.
    pub async fn with_bundle(
        bundle_toml: &str,
        guests: &[&str],
        tune: impl FnOnce(&mut Options),
    ) -> Result<Self> {
        let (tmp, path) = write_bundle(bundle_toml, guests)?;
        Self::start(path, Some(tmp), tune).await
    }

    async fn start(
        policy: PathBuf,
        policy_tmp: Option<tempfile::TempDir>,
        tune: impl FnOnce(&mut Options),
    ) -> Result<Self> {
        let clock = Arc::new(ManualClock::at_ms(START_MS));
        let mut options = Options {
            clock: clock.clone(),
            ..gateway::options()
        };
        // The suite runs its tests in parallel (the API fuzzer among them) on machines of two
        // cores: a plugin call's wall-clock deadline is out of the way of that load unless a
        // test is about the deadline (`sandbox.rs` sets its own, the gateway's default).
        options.limits.deadline = Duration::from_secs(2);
        tune(&mut options);
        let data = tempfile::tempdir()?;
        let mut env = Self {
            running: None,
            base: String::new(),
            client: reqwest::Client::new(),
            clock,
            options,
            data,
            policy,
            _policy_tmp: policy_tmp,
            tokens: Default::default(),
        };
        env.boot().await?;
        Ok(env)
    }

    async fn boot(&mut self) -> Result<()> {
        let running =
            gateway::start_on(&self.policy, self.data.path(), self.options.clone()).await?;
        self.base = format!("http://{}", running.addr());
        self.running = Some(running);
        Ok(())
    }

    /// The running gateway.
    pub fn gateway(&self) -> &Running {
        self.running.as_ref().expect("the gateway is running")
    }

    /// Stops the gateway (graceful) and starts it again on the same data directory.
    pub async fn restart(&mut self) -> Result<()> {
        if let Some(r) = self.running.take() {
            r.shutdown().await.context("shutting down")?;
        }
        self.boot().await
    }

    /// Runs the retention sweeper now.
    pub async fn sweep(&self) -> usize {
        self.gateway().sweep_now().await.expect("sweeping")
    }

    /// Issues a token on the running gateway (as `POST /v1/admin/tokens` does).
    pub fn issue_token(&self, role: Role, tenant: Option<&str>, vendor: Option<&str>) -> String {
        gateway::issue_token(self.gateway(), role, tenant, vendor, "test", START_MS)
            .expect("issuing a token")
    }

    /// The test token of `role` (tenant `default`; `vendor` for vendor tokens), issued on
    /// first use.
    pub fn token(&self, role: Role, vendor: Option<&str>) -> String {
        let key = match vendor {
            Some(v) => format!("vendor:{v}"),
            None => role.to_string(),
        };
        let mut tokens = self.tokens.lock().expect("the token cache");
        tokens
            .entry(key)
            .or_insert_with(|| self.issue_token(role, None, vendor))
            .clone()
    }

    /// The token a route needs: admin for tokens, the outbox, backups, reloads and metrics;
    /// compliance for the rest of `/v1/admin`; the vendor named in the request for the
    /// vendor feed; a service token of tenant `default` otherwise.
    fn token_for(&self, path: &str, body: Option<&Value>) -> String {
        let admin = [
            "/v1/admin/outbox",
            "/v1/admin/tokens",
            "/v1/admin/backup",
            "/v1/admin/reload",
            "/metrics",
        ];
        if admin.iter().any(|p| path.starts_with(p)) {
            return self.token(Role::Admin, None);
        }
        if path.starts_with("/v1/admin/") {
            return self.token(Role::Compliance, None);
        }
        if path.starts_with("/v1/vendor/") {
            let named = path
                .split_once("vendor=")
                .map(|(_, v)| v.split('&').next().unwrap_or_default().to_string())
                .or_else(|| body.and_then(|b| b["vendor"].as_str().map(str::to_string)));
            return match named {
                Some(v) => self.token(Role::Vendor, Some(&v)),
                None => self.token(Role::Service, None),
            };
        }
        self.token(Role::Service, None)
    }

    /// Sends a request with a JSON body (or none), with the token the route needs, and
    /// returns the status and JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let token = self.token_for(path, body);
        self.call_as(Some(&token), method, path, body).await
    }

    /// The metrics page (with an admin token).
    pub async fn metrics(&self) -> String {
        let resp = self.request(reqwest::Method::GET, "/metrics").send().await;
        let resp = resp.expect("fetching /metrics");
        assert_eq!(resp.status(), StatusCode::OK);
        resp.text().await.expect("reading /metrics")
    }

    /// A request to `path` with the token the route needs.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(self.token_for(path, None))
    }

    /// `POST /v1/records:batch` with the NDJSON body `body`, as a service.
    pub async fn post_batch(&self, body: impl Into<reqwest::Body>) -> reqwest::Response {
        let request = self.request(reqwest::Method::POST, "/v1/records:batch");
        http::send_ndjson(request, body)
            .await
            .expect("sending the batch")
    }

    /// `POST /v1/records:batch` of `records` (one a line, the last unended), as a service:
    /// the text of the answer and its lines, parsed.
    pub async fn batch(&self, records: &[Value]) -> (String, Vec<Value>) {
        let body = records
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n");
        let text = self
            .post_batch(body)
            .await
            .text()
            .await
            .expect("reading the answer");
        let lines = http::ndjson_lines(&text);
        (text, lines)
    }

    /// The text `GET path` answers (with the token the route needs), whatever its status.
    pub async fn text(&self, path: &str) -> String {
        self.request(reqwest::Method::GET, path)
            .send()
            .await
            .expect("sending the request")
            .text()
            .await
            .expect("reading the body")
    }

    /// Sends a request with `token` (none without one) and returns the status and JSON body.
    pub async fn call_as(
        &self,
        token: Option<&str>,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("sending the request");
        let status = resp.status();
        let text = resp.text().await.expect("reading the body");
        let json = if text.is_empty() {
            Value::Null
        } else {
            match serde_json::from_str(&text) {
                Ok(json) => json,
                // Metrics and backups are not JSON; every error is.
                Err(_) if status.is_success() => Value::String(text),
                Err(e) => panic!("{status} body is not JSON ({e}): {text}"),
            }
        };
        (status, json)
    }

    /// `POST`
    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// `GET`
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// `PATCH`
    pub async fn patch(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::PATCH, path, Some(body)).await
    }

    /// `DELETE`
    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::DELETE, path, None).await
    }

    /// `GET path` with `token`: the status and JSON body.
    pub async fn get_as(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.call_as(Some(token), reqwest::Method::GET, path, None)
            .await
    }

    /// Acknowledges `vendor`'s feed up to `cursor` (`POST /v1/vendor/feed/ack`), asserting
    /// `200`; the answer.
    pub async fn ack_feed(&self, vendor: &str, cursor: u64) -> Value {
        let body = serde_json::json!({"vendor": vendor, "cursor": cursor});
        let (status, ack) = self.post("/v1/vendor/feed/ack", &body).await;
        assert_eq!(status, StatusCode::OK, "{ack}");
        ack
    }

    /// Waits (up to 5 s) until the retention recompute that `GET /v1/admin/retention` shows
    /// `token` (the compliance test token without one) has finished for `bundle`; the
    /// recompute's report.
    pub async fn recomputed(&self, token: Option<&str>, bundle: &str) -> Value {
        let token = token.map_or_else(|| self.token(Role::Compliance, None), str::to_string);
        let path = "/v1/admin/retention";
        let finished = http::poll(500, async || {
            let (status, body) = self.get_as(&token, path).await;
            assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
            let r = &body["recompute"];
            (r["bundle"] == bundle && !r["finished_at"].is_null()).then(|| r.clone())
        })
        .await;
        finished.unwrap_or_else(|| panic!("the retention recompute for {bundle} did not finish"))
    }

    /// Writes a record and returns its id, asserting `201`.
    pub async fn create(&self, record: &Value) -> Value {
        let (status, body) = self.post("/v1/records", record).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// `PATCH /v1/records/{id}` with `{"fields": fields}`: the status and JSON body.
    pub async fn rectify(&self, id: &str, fields: Value) -> (StatusCode, Value) {
        let path = format!("/v1/records/{id}");
        self.patch(&path, &serde_json::json!({ "fields": fields }))
            .await
    }

    /// `GET /v1/records/{id}?audience=AUDIENCE&purpose=PURPOSE`: the status and JSON body.
    pub async fn read_for(&self, id: &str, audience: &str, purpose: &str) -> (StatusCode, Value) {
        let path = format!("/v1/records/{id}?audience={audience}&purpose={purpose}");
        self.get(&path).await
    }

    /// `GET path` without a token: the whole answer.
    pub async fn get_without_token(&self, path: &str) -> reqwest::Response {
        let request = self.client.get(self.url(path));
        request.send().await.expect("sending the request")
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Writes a record, asserting `201`; its id.
    pub async fn create_id(&self, record: &Value) -> String {
        let body = self.create(record).await;
        body["id"].as_str().expect("the record's id").to_string()
    }

    /// How many records are stored.
    pub fn stored_records(&self) -> u64 {
        self.gateway()
            .state()
            .store
            .count()
            .expect("counting records")
    }

    /// The audit log.
    /// The audit log's entries about records (writes, reads, deletions), in order.
    pub fn audit(&self) -> Vec<sluice::store::AuditEntry> {
        self.audit_all()
            .into_iter()
            .filter(|e| e.record.is_some())
            .collect()
    }

    /// The events of the whole audit log that start with `prefix` (e.g. `rights.`), in
    /// order.
    pub fn audit_events(&self, prefix: &str) -> Vec<String> {
        self.audit_all()
            .into_iter()
            .filter(|e| e.event.starts_with(prefix))
            .map(|e| e.event)
            .collect()
    }

    /// The whole audit log, administrative entries (`policy.*`) included.
    pub fn audit_all(&self) -> Vec<sluice::store::AuditEntry> {
        self.gateway()
            .state()
            .store
            .audit(0, usize::MAX)
            .expect("reading the audit log")
    }

    /// Publishes the bundle directory `dir` through the admin API, as `sluice bundle publish`
    /// does: uploads every plugin component, then the package, signed with `key` (unsigned
    /// without one). Returns the status and body of the bundle upload.
    pub async fn publish(&self, dir: &Path, key: Option<&SigningKey>) -> (StatusCode, Value) {
        let token = self.token(Role::Compliance, None);
        self.publish_as(&token, dir, key).await
    }

    /// [`TestEnv::publish`] with the compliance token `token` (of any tenant).
    pub async fn publish_as(
        &self,
        token: &str,
        dir: &Path,
        key: Option<&SigningKey>,
    ) -> (StatusCode, Value) {
        let (package, components) = package_of(dir, key);
        self.upload_components_as(token, &package, &components)
            .await;
        let body = serde_json::to_value(&package).unwrap();
        self.call_as(
            Some(token),
            reqwest::Method::POST,
            "/v1/admin/bundles",
            Some(&body),
        )
        .await
    }

    /// Uploads the components of `package`, asserting each is accepted.
    pub async fn upload_components(&self, package: &Package, components: &Components) {
        let token = self.token(Role::Compliance, None);
        self.upload_components_as(&token, package, components).await;
    }

    /// [`TestEnv::upload_components`] with the compliance token `token`.
    pub async fn upload_components_as(
        &self,
        token: &str,
        package: &Package,
        components: &Components,
    ) {
        let manifest = package.manifest().expect("the manifest parses");
        for (name, digest) in &package.plugins {
            let world = manifest.plugins[name].world.to_string();
            let (status, body) = self
                .upload_plugin_as(token, name, &world, components[digest].to_vec())
                .await;
            assert!(status.is_success(), "uploading {name}: {status} {body}");
        }
    }

    /// `POST /v1/admin/plugins?name=&world=` with `bytes`.
    pub async fn upload_plugin(
        &self,
        name: &str,
        world: &str,
        bytes: Vec<u8>,
    ) -> (StatusCode, Value) {
        let token = self.token(Role::Compliance, None);
        self.upload_plugin_as(&token, name, world, bytes).await
    }

    /// [`TestEnv::upload_plugin`] with the compliance token `token`.
    pub async fn upload_plugin_as(
        &self,
        token: &str,
        name: &str,
        world: &str,
        bytes: Vec<u8>,
    ) -> (StatusCode, Value) {
        let resp = self
            .client
            .post(self.url("/v1/admin/plugins"))
            .bearer_auth(token)
            .query(&[("name", name), ("version", "test"), ("world", world)])
            .body(bytes)
            .send()
            .await
            .expect("uploading a plugin");
        let status = resp.status();
        (status, resp.json().await.expect("a JSON body"))
    }

    /// `POST /v1/admin/bundles/{id}/activate`
    pub async fn activate(&self, id: &str) -> (StatusCode, Value) {
        self.call(
            reqwest::Method::POST,
            &format!("/v1/admin/bundles/{id}/activate"),
            None,
        )
        .await
    }

    /// The id of the bundle tenant `default` (the tests' tokens' tenant) runs on.
    pub fn active_bundle(&self) -> String {
        self.active_bundle_of(sluice::auth::DEFAULT_TENANT)
    }

    /// The id of the bundle `tenant` runs on (its own, or the gateway default).
    pub fn active_bundle_of(&self, tenant: &str) -> String {
        self.gateway().state().policy_for(tenant).id.clone()
    }

    /// The id of the gateway default bundle.
    pub fn default_bundle(&self) -> String {
        self.gateway().state().default_policy().id.clone()
    }

    /// Stops the gateway.
    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await.expect("shutting down");
        }
    }
}

/// Asserts that an answer is `expected` with a JSON error whose message holds `message`.
pub fn assert_error(status: StatusCode, body: &Value, expected: StatusCode, message: &str) {
    assert_eq!(status, expected, "{body}");
    let error = body["error"].as_str().expect("an error message");
    assert!(error.contains(message), "{body}");
}

/// The string `field` of every element of the array `body[list]`, in order.
pub fn strings<'a>(body: &'a Value, list: &str, field: &str) -> Vec<&'a str> {
    body[list]
        .as_array()
        .unwrap_or_else(|| panic!("no array `{list}` in {body}"))
        .iter()
        .map(|v| v[field].as_str().unwrap())
        .collect()
}

/// The string fields `first` and `second` of each of `values`, in order.
pub fn string_pairs<'a>(
    values: impl IntoIterator<Item = &'a Value>,
    first: &str,
    second: &str,
) -> Vec<(&'a str, &'a str)> {
    let string = |v: &'a Value, field: &str| {
        v[field]
            .as_str()
            .unwrap_or_else(|| panic!("no string `{field}` in {v}"))
    };
    values
        .into_iter()
        .map(|v| (string(v, first), string(v, second)))
        .collect()
}

/// The decisions of a write's answer `body` whose action is `action` (e.g. `redact`).
pub fn decisions<'a>(body: &'a Value, action: &str) -> Vec<&'a Value> {
    body["decisions"]
        .as_array()
        .expect("the answer lists its decisions")
        .iter()
        .filter(|d| d["action"] == action)
        .collect()
}

/// The package of bundle directory `dir`, signed with `key` when given, and its components.
pub fn package_of(dir: &Path, key: Option<&SigningKey>) -> (Package, Components) {
    let d = Dir::open_ambient_dir(dir, ambient_authority()).expect("opening the bundle");
    let (mut package, components) =
        sluice::bundle::package::from_dir(&d).expect("reading the bundle");
    package.signature = key.map(|k| sluice::bundle::signing::sign(&package, k));
    (package, components)
}

/// A copy of the ProVu bundle in a temporary directory, with `version` and `bundle.toml`
/// edited by `edit` (which must change what it means to: each replacement is asserted).
pub fn copy_provu(version: &str, edits: &[(&str, &str)]) -> tempfile::TempDir {
    let (tmp, path) = bundle::provu_in_tempdir().expect("copying the ProVu bundle");
    bundle::set_version(&path, bundle::PROVU_VERSION, version).expect("setting the version");
    bundle::edit_manifest(&path, |text| {
        edits.iter().try_fold(text.to_string(), |text, (from, to)| {
            bundle::replace_first(&text, from, to)
        })
    })
    .expect("editing bundle.toml");
    tmp
}

/// The ProVu retention rule of the provisioning-request log (90 days).
pub const PROVISIONING_LOG_RULE: &str =
    "{ kind = \"provisioning-request\", after = \"/requested_at\", days = 90,";

/// The same rule with another period.
pub fn provisioning_log_rule(days: u32) -> String {
    PROVISIONING_LOG_RULE.replace("days = 90", &format!("days = {days}"))
}

/// A copy of the ProVu bundle whose provisioning-request log is kept `days` days, with its
/// policy test case for that period updated to match (so that it passes the gate).
pub fn provu_with_log_days(version: &str, days: u32) -> tempfile::TempDir {
    let dir = copy_provu(
        version,
        &[(PROVISIONING_LOG_RULE, &provisioning_log_rule(days))],
    );
    let case = dir
        .path()
        .join("tests/provisioning-request-log-kept-90-days/expected.json");
    let text = std::fs::read_to_string(&case).expect("reading the case");
    let due = START_MS / 1000 - 3600 + i64::from(days) * 86_400;
    let text = text.replace("2027-02-23T11:00:00Z", &sluice::clock::rfc3339_secs(due));
    std::fs::write(&case, text).expect("writing the case");
    dir
}

/// The `bundle.toml` of a test bundle `name`, version `1`, declaring `plugins` (name, world,
/// component), followed by `rest` (its kinds).
pub fn manifest(name: &str, plugins: &[(&str, &str, &str)], rest: &str) -> String {
    let mut text = format!("format = 1\nname = \"{name}\"\nversion = \"1\"\n");
    for (plugin, world, component) in plugins {
        text +=
            &format!("\n[plugins.{plugin}]\nworld = \"{world}\"\ncomponent = \"{component}\"\n");
    }
    text + rest
}

/// Writes a bundle directory with `bundle.toml` and the named test guests.
pub fn write_bundle(bundle_toml: &str, guests: &[&str]) -> Result<(tempfile::TempDir, PathBuf)> {
    let tmp = tempfile::tempdir()?;
    std::fs::write(tmp.path().join("bundle.toml"), bundle_toml)?;
    std::fs::create_dir_all(tmp.path().join("plugins"))?;
    for g in guests {
        std::fs::write(
            tmp.path().join("plugins").join(format!("{g}.wasm")),
            guests::get(g),
        )?;
    }
    let path = tmp.path().to_path_buf();
    Ok((tmp, path))
}

/// The `delivery` table of a push-mode register entry, with an endpoint per kind under
/// `base/<vendor>/<kind>` and an optional shape table (TOML inline).
pub fn push_delivery(base: &str, vendor: &str, kinds: &[&str], shapes: &str) -> String {
    let urls: Vec<String> = kinds
        .iter()
        .map(|k| format!("{base}/{vendor}/{k}"))
        .collect();
    let endpoints: Vec<(&str, &str)> = kinds
        .iter()
        .copied()
        .zip(urls.iter().map(String::as_str))
        .collect();
    bundle::push_delivery_table(&endpoints, shapes)
}
