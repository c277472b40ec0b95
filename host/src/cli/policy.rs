//! `sluice policy check|test|clauses`: a policy bundle checked, its test cases run, its
//! clause map shown.

use anyhow::Result;
use cap_std::AmbientAuthority;
use cap_std::fs::Dir;

use sluice::bundle;
use sluice::config::{LogFormat, PolicyCommand};
use sluice::runtime::{Limits, Runtime};

use super::{init_logging, open_bundle};

/// `sluice policy ...`.
pub fn run(command: PolicyCommand, authority: AmbientAuthority) -> Result<()> {
    init_logging(LogFormat::Human);
    let runtime = Runtime::new(Limits::default())?;
    match command {
        PolicyCommand::Check { dir } => {
            let dir = open_bundle(&dir, authority)?;
            let policy = bundle::load_dir(&dir, &runtime, None)?;
            let problems = clause_problems(&dir, &policy)?;
            if !problems.is_empty() {
                anyhow::bail!(
                    "clause map ({} problems):\n  - {}",
                    problems.len(),
                    problems.join("\n  - ")
                );
            }
            println!(
                "{}: ok ({} kinds, {} plugins)",
                policy.id,
                policy.kinds.len(),
                policy.plugins.len()
            );
            Ok(())
        }
        PolicyCommand::Test { dir } => {
            let dir = open_bundle(&dir, authority)?;
            let policy = bundle::load_dir(&dir, &runtime, None)?;
            let results = sluice::cases::run_all(&policy, &runtime);
            let failed = results.iter().filter(|r| !r.passed()).count();
            for r in &results {
                if r.passed() {
                    println!("ok      {}", r.name);
                } else {
                    println!("FAILED  {}", r.name);
                    for f in &r.failures {
                        println!("        {f}");
                    }
                }
            }
            println!("{} passed, {} failed", results.len() - failed, failed);
            if failed > 0 {
                anyhow::bail!("{failed} policy test case(s) of {} failed", policy.id);
            }
            Ok(())
        }
        PolicyCommand::Clauses { dir } => {
            let dir = open_bundle(&dir, authority)?;
            let map = bundle::clauses::load(&dir)?;
            let text = dir.read_to_string(bundle::clauses::POLICY_TEXT)?;
            for (number, title, enforcement) in bundle::clauses::table(&map, &text) {
                println!("{number:<7} {title:<48} {enforcement}");
            }
            Ok(())
        }
    }
}

/// Problems of the bundle's clause map against its policy text, plugins and cases.
fn clause_problems(dir: &Dir, policy: &sluice::bundle::Policy) -> Result<Vec<String>> {
    if !dir.exists(bundle::clauses::FILE) {
        return Ok(Vec::new());
    }
    let map = bundle::clauses::load(dir)?;
    let text = dir.read_to_string(bundle::clauses::POLICY_TEXT)?;
    let plugins: Vec<String> = policy.plugins.keys().cloned().collect();
    let cases = sluice::cases::names(dir)?;
    Ok(bundle::clauses::check(&map, &text, &plugins, &cases))
}
