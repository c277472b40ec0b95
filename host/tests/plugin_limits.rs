//! Every plugin of the ProVu bundle does work linear in its input, and little of it, at the
//! gateway's record-shape limits (see `limits/mod.rs` for the limits and the shapes).
//!
//! Work is counted in wasmtime fuel (about one unit per WebAssembly instruction), not in
//! time, so the test says the same on a loaded machine as on an idle one:
//!
//! - **linear**: for every plugin and every worst-case shape, the fuel of a call on the shape
//!   at full size is at most [`MAX_GROWTH`] times the fuel at half size;
//! - **bounded**: the call at full size burns at most [`FUEL_BUDGET`], a fraction of what
//!   the 100 ms deadline allows (`cargo bench -p sluice --bench plugins -- limits` measures
//!   the fuel per millisecond of a machine and the time of each call);
//! - **within memory**: every call runs under the gateway's real memory cap (16 MiB per
//!   instance) and succeeds.
//!
//! Run with `--nocapture` to see the fuel of every call.

mod limits;

use std::time::Duration;

use limits::{CASES, SHAPES};
use sluice::runtime::{Limits, Runtime};

/// The most a call's fuel may grow when its input doubles: linear work and a fixed cost
/// give at most 2; the rest is slack for allocator effects.
const MAX_GROWTH: f64 = 2.3;

/// The most fuel one call may burn at the limits. Calls that do a lot of work run some
/// 7e6 to 8e6 fuel a millisecond on a 2-core x86-64 machine shared with other builds,
/// metered (which is slower than the gateway's unmetered code; the test prints the rate it
/// sees), so this is under 30 ms of the 100 ms deadline: room for a slower machine.
const FUEL_BUDGET: u64 = 200_000_000;

#[test]
fn the_shapes_are_at_the_gateways_default_limits() {
    let options = sluice::gateway::Options::new();
    assert_eq!(limits::MAX_BODY, options.max_body);
    assert_eq!(limits::MAX_DEPTH, options.shape.max_depth);
    assert_eq!(limits::MAX_LEAVES, options.shape.max_leaves);
    assert_eq!(limits::MAX_KEY, options.shape.max_key_bytes);
    assert_eq!(limits::MAX_STRING, options.shape.max_string_bytes);
}

#[test]
fn every_plugin_is_linear_and_within_budget_at_the_limits() {
    // The deadline is what the fuel budget stands for: here it only has to be out of the
    // way of a loaded machine. The memory cap is the gateway's.
    let runtime = Runtime::metered(Limits {
        deadline: Duration::from_secs(30),
        instances: 8,
        ..Limits::default()
    })
    .expect("a metered runtime");
    let policy = limits::provu(&runtime);
    let mut problems = Vec::new();
    for case in CASES {
        let plugin = &policy.plugins[case.plugin];
        let ctx = limits::context(&policy, case);
        for shape in SHAPES {
            let mut fuel = [0u64; 2];
            let mut elapsed = [Duration::ZERO; 2];
            let mut output = 0;
            for (slot, n) in [(0, shape.full / 2), (1, shape.full)] {
                let fields = case.fields((shape.build)(n));
                if slot == 1 {
                    limits::within_limits(&fields)
                        .unwrap_or_else(|e| panic!("`{}` is past the limits: {e}", shape.name));
                }
                let record = limits::record(case, &fields);
                let mut instance = plugin.instantiate(&runtime).expect("instantiating");
                let started = std::time::Instant::now();
                let result = limits::call(&mut instance, plugin.world, case, &ctx, &record);
                elapsed[slot] = started.elapsed();
                match result {
                    Ok(out) => output = out,
                    Err(e) => {
                        problems.push(format!("{} on {} (n = {n}): {e}", case.plugin, shape.name))
                    }
                }
                fuel[slot] = instance.fuel_used().expect("a metered call");
            }
            let growth = fuel[1] as f64 / fuel[0].max(1) as f64;
            let ms = elapsed[1].as_secs_f64() * 1e3;
            println!(
                "{:<24} {:<44} {:>13} fuel {:>5.2}x from half size {ms:>9.2} ms metered \
                 ({:.2e} fuel/ms)  ({output} out)",
                case.plugin,
                shape.name,
                fuel[1],
                growth,
                fuel[1] as f64 / ms
            );
            if growth > MAX_GROWTH {
                problems.push(format!(
                    "{} on {}: fuel grows {growth:.2}x when the input doubles ({} -> {})",
                    case.plugin, shape.name, fuel[0], fuel[1]
                ));
            }
            if fuel[1] > FUEL_BUDGET {
                problems.push(format!(
                    "{} on {}: {} fuel, over the budget of {FUEL_BUDGET}",
                    case.plugin, shape.name, fuel[1]
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
