//! Per-record cost of the policy plugins, against the same work done natively.
//!
//! One ~2 KB `call-recording` record with 8 string fields (free text, phone numbers, an order
//! number, and one card number in the transcript) goes through:
//!
//! - `native/redact_card_numbers`: `sluice_rules::card::redact_card_numbers` on every string
//!   field, in native Rust (the baseline);
//! - `wasm/fresh_instance_and_call`: a fresh instance of the `card-redaction` plugin and one
//!   `redact` call (what a single-record request pays per plugin);
//! - `wasm/reused_instance_call`: one `redact` call on a live instance (what each further
//!   record of a batch pays);
//! - `wasm/retention_fresh_instance_and_call`: the same as the first for the `retention`
//!   plugin's `schedule`;
//! - `pipeline/write_call_recording`: `pipeline::write` of the record through the whole
//!   `call-recording` chain of the ProVu bundle, with fresh instances (no storage);
//! - `pipeline/write_contact`: the same for a ~2 KB `contact` (the side-by-side benchmark's
//!   record: name, organisation, relationship, phone, and a call note holding one card
//!   number) through the `contact` chain.
//!
//! - `auth/authenticate`: what the gateway's route gate pays per request to check a bearer
//!   token among 200 issued ones (a sha256 and a map lookup).
//!
//! Plugins are loaded the way the gateway loads them (one `Runtime`, `bundle::load` on
//! `policies/provu`). At the end (in `--bench` mode) a short manual timing prints the
//! wasm/native ratios. Run with `cargo bench -p sluice --bench plugins`.

use std::cell::RefCell;
use std::fmt::Display;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use serde_json::{Value, json};
use sluice::bundle::Policy;
use sluice::metrics::Metrics;
use sluice::pipeline::{self, Instances, Outcome, WriteInput};
use sluice::runtime::convert::flatten;
use sluice::runtime::generated::types::{Context, RecordData, Value as WitValue};
use sluice::runtime::{Limits, Runtime};
use sluice_rules::card;

const KIND: &str = "call-recording";
/// 2026-01-05T10:00:00Z
const NOW: i64 = 1_767_607_200;

/// The fields of the benchmark record: 8 strings, ~2 KB, one card number.
fn fields() -> Value {
    let mut transcript = String::from(
        "Agent: Good morning, ProVu Communications, Sam speaking. How can I help? \
         Caller: Hi, I'm calling about order ORD-2024-000123, placed on 02/01/2026 at 14:32. \
         Two Yealink T54W handsets arrived but the third is missing. \
         Agent: Let me look that up. Can you confirm the number on the account? \
         Caller: It's 01484 840048, or my mobile +44 7700 900123. \
         Agent: Thanks. I can see 3 units were dispatched with DPD, parcel 15501234567890, \
         delivered 04/01/2026 at 09:17, signed for at unit 12. \
         Caller: Only two came. I'd like to pay for express delivery of the replacement, \
         my card is 4111 1111 1111 1111, expiry 12/28. \
         Agent: I'm sorry, we cannot take card details over a recorded line; I'll send you \
         a secure payment link by email instead. The replacement ships today, reference \
         RMA-2026-00417, and should arrive by 07/01/2026 before 12:00. ",
    );
    let filler = "Caller: One more thing, the extension 2231 on the second handset does not \
         register; it shows 403 after 30 seconds. Agent: I'll raise ticket 884213 and call \
         you back on 01484 840048 within 2 hours. ";
    while transcript.len() < 1_400 {
        transcript.push_str(filler);
    }
    json!({
        "direction": "inbound",
        "party_number": "+44 1484 840048",
        "started_at": "2026-01-05T10:00:00Z",
        "recording_ref": "rec-2026-01-05-000123-a7f3",
        "agent": "Sam Taylor (desk 4, ext. 2231)",
        "purpose": "support: missing item on order ORD-2024-000123, callback 01484 840049",
        "transcript": transcript,
        "notes": "Customer since 2019, account 40021877. Replacement of 1 x Yealink T54W sent \
                  under RMA-2026-00417 (order ORD-2024-000123); DPD parcel 15501234567890. \
                  Customer offered card payment on the call; declined and sent payment link \
                  PL-88213-2026. Follow up on 09/01/2026 on 01484 840048 or +44 7700 900123.",
    })
}

struct Fixture {
    runtime: Runtime,
    policy: Policy,
    fields: Value,
}

fn fixture() -> Fixture {
    let mut limits = Limits::default();
    // A smaller instance pool for runs under valgrind, which cannot reserve the default's
    // address space: `SLUICE_BENCH_INSTANCES=8 valgrind --tool=callgrind ...`.
    if let Some(n) = std::env::var("SLUICE_BENCH_INSTANCES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        limits.instances = n;
    }
    let runtime = Runtime::new(limits).expect("creating the wasm runtime");
    let policy = sluice_test_support::bundle::load_provu(&runtime);
    let fields = fields();
    let strings: Vec<&str> = fields
        .as_object()
        .expect("an object")
        .values()
        .filter_map(Value::as_str)
        .collect();
    let size = serde_json::to_vec(&fields).expect("serializable").len();
    let chain: Vec<&str> = policy.kinds[KIND]
        .chain
        .iter()
        .map(|s| s.plugin.name.as_str())
        .collect();
    eprintln!(
        "record: {size} bytes of JSON fields, {} string fields; `{KIND}` chain of {}: {}",
        strings.len(),
        policy.id,
        chain.join(" -> ")
    );
    Fixture {
        runtime,
        policy,
        fields,
    }
}

fn record_data(fields: &Value) -> RecordData {
    RecordData {
        id: "0190b1a4-0000-7000-8000-000000000001".into(),
        tenant: "default".into(),
        kind: KIND.into(),
        subject: "cust-42".into(),
        fields: flatten(fields),
        created_at: NOW,
        updated_at: NOW,
    }
}

/// The context of the `i`th step of the `call-recording` chain (with its configuration).
fn context(policy: &Policy, step: usize) -> Context {
    let kind = &policy.kinds[KIND];
    Context {
        now: NOW,
        config: kind.chain[step].config.to_string(),
        bundle: policy.id.clone(),
    }
}

fn step_of(policy: &Policy, plugin: &str) -> usize {
    policy.kinds[KIND]
        .chain
        .iter()
        .position(|s| s.plugin.name == plugin)
        .unwrap_or_else(|| panic!("`{plugin}` is not in the {KIND} chain"))
}

/// The native baseline: the card redaction over every string field, as the plugin does it.
fn native_redact(data: &RecordData) -> usize {
    let mut edits = 0;
    for field in &data.fields {
        if let WitValue::Text(text) = &field.value
            && let Some((redacted, networks)) = card::redact_card_numbers(text, card::MARKER)
        {
            edits += black_box(redacted).len() + black_box(networks).len();
        }
    }
    edits
}

/// The fields of the `contact` benchmark record: ~2 KB, one card number in the call note.
fn contact_fields() -> Value {
    let mut call = String::from(
        "Customer rang about the replacement handset that was due on Tuesday and has not \
         arrived. She confirmed the delivery address and asked for the courier to leave it \
         with a neighbour; she offered to pay the re-delivery with card 4111 1111 1111 1111, \
         which we declined. ",
    );
    while call.len() < 1_900 {
        call.push_str(
            "We explained that the redirection request has to go through the manufacturer's \
             portal, and agreed to call back on 01484 840048 after the courier confirms the \
             new slot. ",
        );
    }
    json!({
        "name": "Alice",
        "organisation": "Acme",
        "relationship": "customer",
        "phone": "+44 1484 840048",
        "notes": { "call": call },
    })
}

fn write_input(fields: &Value) -> WriteInput {
    write_input_of(KIND, fields)
}

fn write_input_of(kind: &str, fields: &Value) -> WriteInput {
    WriteInput {
        id: "0190b1a4-0000-7000-8000-000000000001".into(),
        tenant: "default".into(),
        kind: kind.into(),
        subject: "cust-42".into(),
        fields: fields.clone(),
        created_at: NOW * 1000,
        updated_at: NOW * 1000,
    }
}

/// Plugin failures seen while measuring (a deadline missed on a loaded machine, say): counted
/// and reported at the end instead of aborting the whole run.
#[derive(Default)]
struct Failures(RefCell<(u64, Vec<String>)>);

impl Failures {
    fn ok<T, E: Display>(&self, what: &str, r: Result<T, E>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                let mut f = self.0.borrow_mut();
                f.0 += 1;
                if f.1.len() < 5 {
                    f.1.push(format!("{what}: {e}"));
                }
                None
            }
        }
    }

    fn report(&self) {
        let f = self.0.borrow();
        if f.0 > 0 {
            eprintln!();
            eprintln!("{} plugin failures while measuring; the first ones:", f.0);
            for m in &f.1 {
                eprintln!("  {m}");
            }
        }
    }
}

fn bench_plugins(c: &mut Criterion) {
    let failures = Failures::default();
    let fx = fixture();
    let data = record_data(&fx.fields);
    let card_plugin = &fx.policy.plugins["card-redaction"];
    let retention_plugin = &fx.policy.plugins["retention"];
    let card_ctx = context(&fx.policy, step_of(&fx.policy, "card-redaction"));
    let retention_ctx = context(&fx.policy, step_of(&fx.policy, "retention"));

    // Sanity: the plugin finds exactly the card number the native code finds.
    let edits = card_plugin
        .instantiate(&fx.runtime)
        .and_then(|mut i| i.redact(&card_ctx, &data))
        .expect("redact call");
    assert_eq!(edits.len(), 1, "the record holds one card number");
    assert!(native_redact(&data) > 0);

    let mut native = c.benchmark_group("native");
    native.bench_function("redact_card_numbers", |b| {
        b.iter(|| native_redact(black_box(&data)))
    });
    native.finish();

    let mut wasm = c.benchmark_group("wasm");
    wasm.bench_function("fresh_instance_and_call", |b| {
        b.iter(|| {
            let mut instance = failures.ok("instantiate", card_plugin.instantiate(&fx.runtime))?;
            failures.ok("redact", instance.redact(&card_ctx, black_box(&data)))
        })
    });
    let mut instance = card_plugin.instantiate(&fx.runtime).expect("instantiate");
    wasm.bench_function("reused_instance_call", |b| {
        b.iter(|| failures.ok("redact", instance.redact(&card_ctx, black_box(&data))))
    });
    drop(instance);
    wasm.bench_function("retention_fresh_instance_and_call", |b| {
        b.iter(|| {
            let mut instance =
                failures.ok("instantiate", retention_plugin.instantiate(&fx.runtime))?;
            failures.ok(
                "schedule",
                instance.schedule(&retention_ctx, black_box(&data)),
            )
        })
    });
    wasm.finish();

    let metrics = Metrics::new();
    let input = write_input(&fx.fields);
    match pipeline::write(
        &fx.policy,
        &input,
        NOW,
        &mut Instances::new(&fx.runtime),
        &metrics,
    ) {
        Ok(Outcome::Accepted(a)) => assert!(!a.expiries.is_empty() && !a.decisions.is_empty()),
        other => panic!("the record was not accepted: {other:?}"),
    }
    let mut pipe = c.benchmark_group("pipeline");
    pipe.bench_function("write_call_recording", |b| {
        b.iter(|| {
            let mut instances = Instances::new(&fx.runtime);
            failures.ok(
                "pipeline write",
                pipeline::write(&fx.policy, black_box(&input), NOW, &mut instances, &metrics),
            )
        })
    });
    let contact = write_input_of("contact", &contact_fields());
    match pipeline::write(
        &fx.policy,
        &contact,
        NOW,
        &mut Instances::new(&fx.runtime),
        &metrics,
    ) {
        Ok(Outcome::Accepted(a)) => assert!(!a.decisions.is_empty()),
        other => panic!("the contact was not accepted: {other:?}"),
    }
    pipe.bench_function("write_contact", |b| {
        b.iter(|| {
            let mut instances = Instances::new(&fx.runtime);
            failures.ok(
                "pipeline write",
                pipeline::write(
                    &fx.policy,
                    black_box(&contact),
                    NOW,
                    &mut instances,
                    &metrics,
                ),
            )
        })
    });
    pipe.finish();

    let tmp = tempfile::tempdir().expect("a temporary directory");
    let tmp_dir = cap_std::fs::Dir::open_ambient_dir(tmp.path(), cap_std::ambient_authority())
        .expect("opening the temporary directory");
    let db = sluice::auth::open_offline(&tmp_dir).expect("a database");
    let tokens = sluice::auth::Tokens::load(db).expect("loading tokens");
    let issued: Vec<String> = (0..200)
        .map(|_| {
            let spec = sluice::auth::TokenSpec {
                role: sluice::auth::Role::Service,
                tenant: None,
                vendor: None,
                label: None,
            };
            tokens
                .issue(spec, 0, "bench")
                .expect("issuing a token")
                .token
        })
        .collect();
    let mut auth = c.benchmark_group("auth");
    auth.bench_function("authenticate", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % issued.len();
            assert!(tokens.authenticate(black_box(&issued[i])).is_some());
        })
    });
    auth.finish();

    if std::env::args().any(|a| a == "--bench") {
        print_ratios(&fx, &data, &card_ctx, &failures);
    }
    failures.report();
}

/// Mean time of one call of `f`, over about `budget`.
fn time_per_call<R>(budget: Duration, mut f: impl FnMut() -> R) -> Duration {
    for _ in 0..100 {
        black_box(f());
    }
    let started = Instant::now();
    let mut n = 0u32;
    while started.elapsed() < budget {
        for _ in 0..100 {
            black_box(f());
        }
        n += 100;
    }
    started.elapsed() / n
}

/// A short manual timing, to print the wasm/native ratios in one place.
fn print_ratios(fx: &Fixture, data: &RecordData, ctx: &Context, failures: &Failures) {
    let plugin = &fx.policy.plugins["card-redaction"];
    let budget = Duration::from_millis(500);
    let native = time_per_call(budget, || native_redact(black_box(data)));
    let fresh = time_per_call(budget, || {
        let mut i = failures.ok("instantiate", plugin.instantiate(&fx.runtime))?;
        failures.ok("redact", i.redact(ctx, black_box(data)))
    });
    let mut instance = plugin.instantiate(&fx.runtime).expect("instantiate");
    let reused = time_per_call(budget, || {
        failures.ok("redact", instance.redact(ctx, black_box(data)))
    });
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let ratio = |d: Duration| d.as_secs_f64() / native.as_secs_f64();
    eprintln!();
    eprintln!("card redaction, per record (manual timing, ~0.5 s each):");
    eprintln!("  native                    {:>9.2} µs", us(native));
    eprintln!(
        "  wasm, reused instance     {:>9.2} µs  ({:.1}x native)",
        us(reused),
        ratio(reused)
    );
    eprintln!(
        "  wasm, fresh instance      {:>9.2} µs  ({:.1}x native)",
        us(fresh),
        ratio(fresh)
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench_plugins
}
criterion::criterion_main!(benches);
