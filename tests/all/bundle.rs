//! Bundles are validated at start, with every problem listed.

use sluice::gateway::{self, Options};

/// A bundle with a problem in every plugin and kind.
fn broken() -> String {
    sluice_tests::manifest(
        "broken",
        &[
            ("retention", "retention", "builtin:retention"),
            ("trap-as-admission", "admission", "plugins/guest-trap.wasm"),
            ("ghost", "redaction", "builtin:no-such-plugin"),
            ("escape", "redaction", "../../etc/passwd"),
        ],
        BROKEN_KINDS,
    )
}

const BROKEN_KINDS: &str = r#"
[kinds.a]
fields = { n = { type = "integer", one_of = ["1"] } }
chain = [
  { plugin = "missing" },
  { plugin = "retention", config = { rules = [{ kind = "a", after = "at", days = 1, clause = "" }] } },
]
"#;

async fn start_with(bundle: &str, guests: &[&str]) -> anyhow::Result<gateway::Running> {
    let (tmp, path) = sluice_tests::write_bundle(bundle, guests)?;
    let options = Options {
        listen: "127.0.0.1:0".parse()?,
        ..Options::new()
    };
    let r = sluice_test_support::gateway::start(&path, options).await;
    drop(tmp);
    r.map(|(running, _data)| running)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_bundle_is_refused_at_start_with_every_problem_listed() {
    let err = start_with(&broken(), &["guest-trap"])
        .await
        .expect_err("the bundle is refused");
    let text = format!("{err:#}");
    for expected in [
        "plugins.trap-as-admission: the component does not implement the `admission` world",
        "plugins.ghost: no built-in plugin `no-such-plugin` (built-in: card-redaction, child-protection, courier-forwarder, mac-normaliser, marketing-consent, provisioning-forwarder, provu-disclosure, retention, special-category)",
        "plugins.escape: cannot read component \"../../etc/passwd\"",
        "kinds.a.fields.n: `one_of` applies only to string fields",
        "kinds.a.chain[0] (missing): no plugin `missing` in [plugins]",
        "kinds.a.chain[1] (retention): rules[0] (a): `after` must be a JSON Pointer",
        "kinds.a.chain[1] (retention): rules[0] (a): give either `fields` or `record = true`",
        "kinds.a.chain[1] (retention): rules[0] (a): `clause` must not be empty",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_typo_in_a_bundle_is_named_with_its_line() {
    let err = start_with(
        "format = 1\nname = \"x\"\nversion = \"1\"\nplugins = {}\n[kinds.a]\nchian = []\n",
        &[],
    )
    .await
    .expect_err("the bundle is refused");
    let text = format!("{err:#}");
    assert!(text.contains("unknown field `chian`"), "{text}");
    assert!(text.contains("line 6"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_provu_bundle_loads() {
    let runtime = sluice::runtime::Runtime::new(Default::default()).unwrap();
    let policy = sluice_test_support::bundle::load_provu(&runtime);
    assert_eq!(policy.id, "provu@2026.11.0");
    for kind in [
        "contact",
        "call-recording",
        "delivery",
        "device-provisioning",
    ] {
        assert!(policy.kinds.contains_key(kind), "{kind}");
    }
}
