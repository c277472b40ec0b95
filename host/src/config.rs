//! The command line (`sluice ...`), with an environment variable for every serve option.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::runtime::Limits;
use crate::state::Options;

/// Sluice: a privacy policy gateway.
#[derive(Debug, Parser)]
#[command(name = "sluice", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the gateway with a policy bundle on the embedded database in the data directory.
    Serve(Box<Serve>),
    /// Work with a policy bundle offline: validate it, run its policy tests, print its
    /// clause map.
    Policy {
        /// What to do with the bundle.
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Print the OpenAPI 3.1 document of the HTTP API (as served at `GET /openapi.json`).
    Openapi,
    /// Generate a publisher key pair (ed25519) for signing policy bundles: OUT.key (keep it
    /// secret) and OUT.pub (give it to the gateways that trust this publisher).
    Keygen {
        /// Path prefix of the two files written.
        #[arg(long, default_value = "sluice-publisher")]
        out: PathBuf,
    },
    /// Work with the audit log of a stopped gateway's data directory.
    Audit {
        /// What to do.
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Sign a bundle directory, or publish it to a running gateway.
    Bundle {
        /// What to do with the bundle.
        #[command(subcommand)]
        command: BundleCommand,
    },
    /// Issue, revoke and list bearer tokens on a stopped gateway's data directory.
    Token {
        /// What to do.
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Write an encrypted, consistent backup of a gateway's database: taken by a running
    /// gateway while it serves (--url, with an admin token), or read from a stopped gateway's
    /// data directory (--data-dir). Encrypted with XChaCha20-Poly1305 under the key file
    /// (from `sluice backup-key`).
    Backup(BackupArgs),
    /// Restore a backup into a data directory (of a stopped gateway): the whole backup is
    /// decrypted and checked first, then a new database replaces the old one and its audit
    /// hash chain is verified.
    Restore(RestoreArgs),
    /// Rewrite a stopped gateway's database into a fresh file, table by table, and replace
    /// the old one. The database copies on write and leaves the bytes of freed pages in the file
    /// until they are reused; the rewritten file holds only what is stored now, so nothing
    /// deleted (by retention, erasure or deletion) is left in it.
    Vacuum {
        /// The data directory (of a stopped gateway).
        #[arg(long, env = "SLUICE_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
    },
    /// Generate a backup key: a file holding 32 random bytes as 64 hex digits on one line,
    /// readable by its owner only. An existing file is never overwritten. Keep it apart
    /// from the backups: without it they cannot be read.
    BackupKey {
        /// The key file to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

/// `sluice backup`
#[derive(Debug, Parser)]
#[command(group(
    clap::ArgGroup::new("source")
        .required(true)
        .args(["url", "data_dir"])
))]
pub struct BackupArgs {
    /// The backup file to write (written as FILE.tmp, readable by its owner only, then
    /// renamed).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// The backup key file (from `sluice backup-key`: 64 hex digits).
    #[arg(long, value_name = "KEYFILE")]
    pub key: PathBuf,
    /// A running gateway's base URL: it takes the snapshot (`GET /v1/admin/backup`) while it
    /// keeps serving.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// An admin token for --url (from `sluice token create --role admin`).
    #[arg(long, env = "SLUICE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// A stopped gateway's data directory: the database is read directly.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
}

/// `sluice restore`
#[derive(Debug, Parser)]
pub struct RestoreArgs {
    /// The backup file (from `sluice backup`).
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// The key file the backup was made with.
    #[arg(long, value_name = "KEYFILE")]
    pub key: PathBuf,
    /// The data directory to restore into (created if missing; its gateway must be
    /// stopped).
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Replace the data directory's database if it has one.
    #[arg(long)]
    pub force: bool,
}

/// `sluice audit ...`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit log's hash chain; name the first entry that does not match.
    Verify {
        /// The data directory (of a stopped gateway).
        #[arg(long, env = "SLUICE_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
    },
}

/// `sluice bundle ...`
#[derive(Debug, Subcommand)]
pub enum BundleCommand {
    /// Sign the bundle with a publisher's secret key: writes DIR/bundle.sig, covering the
    /// manifest, the policy test cases and the digest of every plugin component.
    Sign {
        /// The bundle directory.
        #[arg(default_value = "policies/provu")]
        dir: PathBuf,
        /// The publisher's secret key file (from `sluice keygen`).
        #[arg(long)]
        key: PathBuf,
    },
    /// Publish the bundle to a running gateway: uploads its plugin components and the signed
    /// bundle (signing it first when --key is given). Builds nothing: the components are the
    /// files the manifest names, or the gateway's built-in plugins.
    Publish {
        /// The bundle directory.
        #[arg(default_value = "policies/provu")]
        dir: PathBuf,
        /// The publisher's secret key file; without it, DIR/bundle.sig is used.
        #[arg(long)]
        key: Option<PathBuf>,
        /// The gateway's base URL.
        #[arg(long, env = "SLUICE_URL", default_value = "http://127.0.0.1:8080")]
        url: String,
        /// Activate the bundle once it is published (it passes the validation gate again).
        #[arg(long)]
        activate: bool,
        /// A compliance token (from `sluice token create --role compliance`); the gateway's
        /// audit log names its id as the publisher.
        #[arg(long, env = "SLUICE_TOKEN", hide_env_values = true)]
        token: String,
    },
}

/// `sluice token ...`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a bearer token; it is printed alone on the last line, and only its hash is
    /// stored. Works on a stopped gateway's data directory (a running gateway issues tokens
    /// through `POST /v1/admin/tokens`).
    Create {
        /// The data directory (created if missing).
        #[arg(long, env = "SLUICE_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
        /// What the token may do.
        #[arg(long, value_enum)]
        role: crate::auth::Role,
        /// The tenant whose records it reaches (service and compliance tokens; default
        /// `default`).
        #[arg(long)]
        tenant: Option<String>,
        /// The vendor whose feed it reads (vendor tokens): an id of the subprocessor register
        /// of a bundle active in the data directory's database.
        #[arg(long)]
        vendor: Option<String>,
        /// A note saying what the token is for.
        #[arg(long)]
        label: Option<String>,
        /// The bundle the gateway will start on (as for `serve`): its register is the one a
        /// vendor token is checked against while no bundle is active in the database yet
        /// (no gateway has opened it). Not read otherwise.
        #[arg(long, env = "SLUICE_POLICIES", default_value = "policies/provu")]
        policies: PathBuf,
    },
    /// Revoke a token by id (`tok_...`) or by the token itself.
    Revoke {
        /// The data directory.
        #[arg(long, env = "SLUICE_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
        /// The token's id, or the token.
        token: String,
    },
    /// List the tokens issued (ids, roles, bindings; never the tokens).
    List {
        /// The data directory.
        #[arg(long, env = "SLUICE_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
    },
}

/// `sluice policy ...`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate the bundle: parse it, compile its plugins, have them check their
    /// configuration, and check the clause map.
    Check {
        /// The bundle directory (holding bundle.toml).
        #[arg(default_value = "policies/provu")]
        dir: PathBuf,
    },
    /// Run the bundle's policy test cases in the sandbox, without a server.
    Test {
        /// The bundle directory (holding bundle.toml and tests/).
        #[arg(default_value = "policies/provu")]
        dir: PathBuf,
    },
    /// Print the clause map: every clause of the policy and what enforces it.
    Clauses {
        /// The bundle directory (holding clauses.toml and privacy-policy.txt).
        #[arg(default_value = "policies/provu")]
        dir: PathBuf,
    },
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

/// `sluice serve`
#[derive(Debug, Parser)]
pub struct Serve {
    /// Address to listen on.
    #[arg(long, env = "SLUICE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory of the database and the compiled-plugin cache (created if missing).
    #[arg(long, env = "SLUICE_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// The policy bundle directory (holding bundle.toml).
    #[arg(long, env = "SLUICE_POLICIES", default_value = "policies/provu")]
    pub policies: PathBuf,
    /// Seconds between retention sweeps.
    #[arg(long, env = "SLUICE_SWEEP_INTERVAL", default_value_t = 60)]
    pub sweep_interval: u64,
    /// Deadline of one plugin call, in milliseconds.
    #[arg(long, env = "SLUICE_PLUGIN_DEADLINE_MS", default_value_t = 100)]
    pub plugin_deadline_ms: u64,
    /// Memory cap of one plugin instance, in MiB.
    #[arg(long, env = "SLUICE_PLUGIN_MEMORY_MIB", default_value_t = 16)]
    pub plugin_memory_mib: usize,
    /// Plugin instances that may exist at once (the instance pool).
    #[arg(long, env = "SLUICE_PLUGIN_INSTANCES", default_value_t = 256)]
    pub plugin_instances: u32,
    /// Pipelines (plugin chains) that run at once, at most; 0 is one per CPU.
    #[arg(long, env = "SLUICE_PIPELINES", default_value_t = 0)]
    pub pipelines: usize,
    /// Largest request body, in KiB.
    #[arg(long, env = "SLUICE_MAX_BODY_KIB", default_value_t = 256)]
    pub max_body_kib: usize,
    /// Largest batch request body, in KiB (each of its records is held to --max-body-kib).
    #[arg(long, env = "SLUICE_MAX_BATCH_BODY_KIB", default_value_t = 32 * 1024)]
    pub max_batch_body_kib: usize,
    /// Request body memory across all connections, in MiB: a request waits for its share
    /// (its length, a batch its window) and gets 503 with Retry-After when none is freed
    /// within --queue-timeout-ms.
    #[arg(long, env = "SLUICE_BODY_MEMORY_MIB", default_value_t = 256)]
    pub body_memory_mib: usize,
    /// Longest wait, in milliseconds, for a pipeline or for body memory before a 503 with
    /// Retry-After.
    #[arg(long, env = "SLUICE_QUEUE_TIMEOUT_MS", default_value_t = 2_000)]
    pub queue_timeout_ms: u64,
    /// Most requests waiting for a pipeline at once; more are answered 503 at once.
    #[arg(long, env = "SLUICE_MAX_QUEUED", default_value_t = 1024)]
    pub max_queued: usize,
    /// The database's page cache, in MiB (the most of the database file kept in memory).
    #[arg(long, env = "SLUICE_STORE_CACHE_MIB", default_value_t = 128)]
    pub store_cache_mib: usize,
    /// Deepest nesting of a record's fields (objects and arrays).
    #[arg(long, env = "SLUICE_MAX_RECORD_DEPTH", default_value_t = 32)]
    pub max_record_depth: usize,
    /// Most leaves (values) in a record's fields.
    #[arg(long, env = "SLUICE_MAX_RECORD_LEAVES", default_value_t = 10_000)]
    pub max_record_leaves: usize,
    /// Longest key in a record's fields, in bytes.
    #[arg(long, env = "SLUICE_MAX_KEY_BYTES", default_value_t = 256)]
    pub max_key_bytes: usize,
    /// Longest string in a record's fields, in bytes.
    #[arg(long, env = "SLUICE_MAX_STRING_BYTES", default_value_t = 65_536)]
    pub max_string_bytes: usize,
    /// Most bytes of the paths (JSON Pointers) of all of a record's leaves together, as the
    /// plugins receive them.
    #[arg(long, env = "SLUICE_MAX_RECORD_PATH_BYTES", default_value_t = 2 << 20)]
    pub max_record_path_bytes: usize,
    /// Most connections open at once. Lowered to the file-descriptor limit (raised to the
    /// hard limit at start) minus a reserve for the database, plugin cache and vendor
    /// pushes. At the cap a new connection takes the place of the one idle longest; when
    /// every connection has a request in flight it is answered 503 with Retry-After.
    #[arg(long, env = "SLUICE_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,
    /// Time a client has to send a request head, in milliseconds: from its first byte, or
    /// from connecting for the first request of a connection.
    #[arg(long, env = "SLUICE_HEADER_TIMEOUT_MS", default_value_t = 10_000)]
    pub header_timeout_ms: u64,
    /// Time the gateway waits, in total, for a client to send a whole request body, in
    /// milliseconds (the time it spends processing what it has read does not count); a
    /// body still incomplete then is answered 408.
    #[arg(long, env = "SLUICE_BODY_TIMEOUT_MS", default_value_t = 30_000)]
    pub body_timeout_ms: u64,
    /// Time a keep-alive connection may stay open with no request in flight, in
    /// milliseconds.
    #[arg(long, env = "SLUICE_IDLE_TIMEOUT_MS", default_value_t = 60_000)]
    pub idle_timeout_ms: u64,
    /// Log format.
    #[arg(long, env = "SLUICE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
    /// A publisher public key file (from `sluice keygen`) whose signed bundles the admin
    /// API accepts; repeat for several publishers.
    #[arg(
        long = "trusted-key",
        env = "SLUICE_TRUSTED_KEYS",
        value_delimiter = ','
    )]
    pub trusted_keys: Vec<PathBuf>,
    /// Development only: accept unsigned bundles on the admin API (a signature present must
    /// still verify).
    #[arg(long, env = "SLUICE_ALLOW_UNSIGNED_BUNDLES")]
    pub allow_unsigned_bundles: bool,
    /// Reload the policy directory through the validation gate whenever it changes (for
    /// local development; `SIGHUP` reloads it too).
    #[arg(long)]
    pub watch: bool,
    /// A TOML file of vendors' HMAC secrets (`dpd = "..."`), by register id. Each vendor's
    /// secret may also come from `SLUICE_VENDOR_SECRET_<ID>` (upper case, `-` as `_`).
    #[arg(long, env = "SLUICE_VENDOR_SECRETS")]
    pub vendor_secrets: Option<PathBuf>,
    /// Push attempts after which a delivery is dead-lettered.
    #[arg(long, env = "SLUICE_DELIVERY_MAX_ATTEMPTS", default_value_t = 12)]
    pub delivery_max_attempts: u32,
    /// Age, in seconds, after which a failing delivery is dead-lettered.
    #[arg(long, env = "SLUICE_DELIVERY_MAX_AGE_SECS", default_value_t = 3 * 86_400)]
    pub delivery_max_age_secs: u64,
    /// The first retry backoff, in milliseconds (doubling, with jitter).
    #[arg(long, env = "SLUICE_DELIVERY_BACKOFF_MS", default_value_t = 1_000)]
    pub delivery_backoff_ms: u64,
    /// The longest retry backoff, in milliseconds.
    #[arg(
        long,
        env = "SLUICE_DELIVERY_BACKOFF_MAX_MS",
        default_value_t = 600_000
    )]
    pub delivery_backoff_max_ms: u64,
    /// Pushes in flight per vendor.
    #[arg(long, env = "SLUICE_DELIVERY_CONCURRENCY", default_value_t = 4)]
    pub delivery_concurrency: usize,
    /// Timeout of one push, in milliseconds.
    #[arg(long, env = "SLUICE_DELIVERY_TIMEOUT_MS", default_value_t = 10_000)]
    pub delivery_timeout_ms: u64,
}

impl Serve {
    /// The gateway options these flags describe (system clock).
    pub fn options(&self) -> Options {
        Options {
            listen: self.listen,
            sweep_interval: Duration::from_secs(self.sweep_interval.max(1)),
            limits: Limits {
                deadline: Duration::from_millis(self.plugin_deadline_ms.max(1)),
                memory: self.plugin_memory_mib.max(1) << 20,
                instances: self.plugin_instances.max(8),
            },
            max_body: self.max_body_kib.max(1) << 10,
            max_batch_body: self.max_batch_body_kib.max(1) << 10,
            body_memory: self.body_memory_mib.max(1) << 20,
            queue_wait: Duration::from_millis(self.queue_timeout_ms),
            max_queued: self.max_queued,
            store_cache: self.store_cache_mib << 20,
            pipelines: self.pipelines,
            shape: crate::shape::ShapeLimits {
                max_depth: self.max_record_depth.max(1),
                max_leaves: self.max_record_leaves.max(1),
                max_key_bytes: self.max_key_bytes.max(1),
                max_string_bytes: self.max_string_bytes.max(1),
                max_path_bytes: self.max_record_path_bytes.max(1),
            },
            policy_source: self.policies.display().to_string(),
            delivery: crate::outbox::push::DeliveryOptions {
                retry: crate::outbox::RetryPolicy {
                    max_attempts: self.delivery_max_attempts.max(1),
                    max_age_ms: i64::try_from(self.delivery_max_age_secs.saturating_mul(1000))
                        .unwrap_or(i64::MAX),
                    base_ms: i64::try_from(self.delivery_backoff_ms.max(1)).unwrap_or(i64::MAX),
                    cap_ms: i64::try_from(self.delivery_backoff_max_ms.max(1)).unwrap_or(i64::MAX),
                },
                concurrency: self.delivery_concurrency.max(1),
                timeout: Duration::from_millis(self.delivery_timeout_ms.max(1)),
                ..Default::default()
            },
            connections: crate::server::ConnectionLimits {
                max_connections: self.max_connections.max(1),
                header_timeout: Duration::from_millis(self.header_timeout_ms.max(1)),
                body_timeout: Duration::from_millis(self.body_timeout_ms.max(1)),
                idle_timeout: Duration::from_millis(self.idle_timeout_ms.max(1)),
            },
            ..Options::new()
        }
    }
}
