//! The bundle's own policy test cases and clause map, run as part of `cargo test`.

use cap_std::fs::Dir;
use sluice::bundle::{self, clauses};
use sluice::cases;

fn provu() -> Dir {
    sluice_test_support::bundle::open_provu()
}

#[test]
fn every_policy_test_case_of_the_provu_bundle_passes() {
    let dir = provu();
    let runtime = sluice::runtime::Runtime::new(Default::default()).unwrap();
    let policy = bundle::load_dir(&dir, &runtime, None).unwrap();
    let results = cases::run_all(&policy, &runtime);
    assert!(results.len() >= 30, "only {} cases", results.len());
    let failures: Vec<String> = results
        .iter()
        .filter(|r| !r.passed())
        .map(|r| format!("{}:\n    {}", r.name, r.failures.join("\n    ")))
        .collect();
    assert!(
        failures.is_empty(),
        "failing policy cases:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_clause_of_the_policy_is_mapped_to_what_enforces_it() {
    let dir = provu();
    let runtime = sluice::runtime::Runtime::new(Default::default()).unwrap();
    let policy = bundle::load_dir(&dir, &runtime, None).unwrap();
    let map = clauses::load(&dir).unwrap();
    let text = dir.read_to_string(clauses::POLICY_TEXT).unwrap();
    let numbers = clauses::numbers_in(&text);
    assert_eq!(numbers.first().map(String::as_str), Some("1"));
    assert_eq!(numbers.last().map(String::as_str), Some("9.1"));
    assert_eq!(numbers.len(), 29, "{numbers:?}");
    let plugins: Vec<String> = policy.plugins.keys().cloned().collect();
    let problems = clauses::check(&map, &text, &plugins, &cases::names(&dir).unwrap());
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_bundle_copy_of_the_policy_is_the_published_policy() {
    // The shared seed policy sits beside the repository in development and CI checkouts.
    let seed = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/seed/privacy-policy.txt");
    let Ok(published) = std::fs::read_to_string(&seed) else {
        eprintln!(
            "no published policy at {}; skipping the comparison",
            seed.display()
        );
        return;
    };
    let ours = provu().read_to_string(clauses::POLICY_TEXT).unwrap();
    assert_eq!(
        ours, published,
        "policies/provu/privacy-policy.txt differs from the published policy"
    );
}

#[test]
fn a_clause_missing_from_the_map_is_reported() {
    let map: clauses::ClauseMap = toml::from_str(
        r#"
        [clauses."1"]
        title = "Introduction"
        organisational = "scope"
        [clauses."2"]
        title = "Information"
        plugins = ["card-redaction"]
        "#,
    )
    .unwrap();
    let problems = clauses::check(
        &map,
        "1. Introduction\n2. Information\n2.1. More\n",
        &["card-redaction".into()],
        &[],
    );
    assert_eq!(
        problems,
        [
            "clause 2.1 of the policy is missing from clauses.toml",
            "clause 2: enforced by plugins but no policy test case is named"
        ]
    );
}
