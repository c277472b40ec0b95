//! Prints what matching the keys of a 20-key record against the special-category vocabulary
//! costs: with the vocabulary kept, and built afresh for each record (as a new plugin
//! instance does), for ordinary keys and for disguised ones. A measurement, not a check.
//!
//! ```text
//! cargo run --release -p sluice-rules --example vocabulary_cost
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use sluice_rules::names::Vocabulary;

const ORDINARY: [&str; 20] = [
    "name",
    "organisation",
    "relationship",
    "email",
    "phone",
    "job_title",
    "left_organisation_at",
    "telephone_opt_out_at",
    "order_ref",
    "courier",
    "shipped_at",
    "ready_to_ship",
    "line1",
    "line2",
    "city",
    "postcode",
    "country",
    "notes",
    "health_check_url",
    "displayName",
];

const DISGUISED: [&str; 20] = [
    "ｎａｍｅ",
    "org\u{ad}anisation",
    "rеlationship",
    "e\u{200b}mail",
    "рhone",
    "JOB_TITLE",
    "leftOrganisationAt",
    "telephone-opt-out-at",
    "0rder_ref",
    "c0urier",
    "shipped.at",
    "readyToShip",
    "l1ne1",
    "line２",
    "ｃｉｔｙ",
    "p0stcode",
    "cоuntry",
    "n0tes",
    "health_check_url",
    "DisplayName",
];

fn per_record(rounds: u32, mut record: impl FnMut()) -> Duration {
    for _ in 0..rounds / 10 {
        record();
    }
    let start = Instant::now();
    for _ in 0..rounds {
        record();
    }
    start.elapsed() / rounds
}

fn main() {
    let rounds = 20_000;
    for (what, keys) in [("ordinary", ORDINARY), ("disguised", DISGUISED)] {
        let vocabulary = Vocabulary::special_categories();
        let kept = per_record(rounds, || {
            for key in keys {
                assert!(
                    black_box(&vocabulary).find(black_box(key)).is_none(),
                    "{key}"
                );
            }
        });
        let fresh = per_record(rounds, || {
            let vocabulary = black_box(Vocabulary::special_categories());
            for key in keys {
                assert!(vocabulary.find(black_box(key)).is_none(), "{key}");
            }
        });
        println!(
            "20 {what} keys: {kept:?} per record ({:?} per key) with the vocabulary kept, {fresh:?} building it for the record",
            kept / 20
        );
    }
    let build = per_record(rounds * 10, || {
        black_box(Vocabulary::special_categories());
    });
    println!("building the vocabulary: {build:?}");
}
