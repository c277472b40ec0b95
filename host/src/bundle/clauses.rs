//! The clause map: every numbered clause of the privacy policy, and what enforces it.
//!
//! `clauses.toml` in a bundle directory lists each clause of the policy text
//! (`privacy-policy.txt` beside it) with either the plugins and policy test cases that
//! enforce it, the gateway feature that does (`host`), or why it is organisational and
//! outside the gateway (`organisational`).

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use cap_std::fs::Dir;
use serde::Deserialize;

/// The clause map's file name.
pub const FILE: &str = "clauses.toml";
/// The policy text the map covers.
pub const POLICY_TEXT: &str = "privacy-policy.txt";

/// `clauses.toml`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClauseMap {
    /// `[clauses."2.1.2"]`
    pub clauses: BTreeMap<String, Clause>,
}

/// One clause.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clause {
    /// `title = "Credit Card Information"`
    pub title: String,
    /// `plugins = ["card-redaction"]`: the bundle's plugins that enforce it.
    #[serde(default)]
    pub plugins: Vec<String>,
    /// `tests = ["card-number-in-notes"]`: the policy test cases (directories of `tests/`).
    #[serde(default)]
    pub tests: Vec<String>,
    /// `host = "..."`: the gateway feature that enforces it, when no plugin does.
    #[serde(default)]
    pub host: Option<String>,
    /// `organisational = "..."`: why it is outside the gateway.
    #[serde(default)]
    pub organisational: Option<String>,
}

impl Clause {
    /// One line describing what enforces the clause.
    pub fn enforcement(&self) -> String {
        if !self.plugins.is_empty() {
            format!(
                "plugins: {}; tests: {}",
                self.plugins.join(", "),
                self.tests.join(", ")
            )
        } else if let Some(h) = &self.host {
            format!("gateway: {h}")
        } else {
            format!(
                "organisational: {}",
                self.organisational.as_deref().unwrap_or("")
            )
        }
    }
}

/// Reads `clauses.toml` from a bundle directory.
pub fn load(dir: &Dir) -> Result<ClauseMap> {
    let text = dir
        .read_to_string(FILE)
        .with_context(|| format!("reading {FILE}"))?;
    toml::from_str(&text).with_context(|| format!("parsing {FILE}"))
}

/// The clause numbers of a policy text, in order: every line that starts with a number such
/// as `2.`, `2.1.4.` or `2.3.1` followed by a capitalised heading.
pub fn numbers_in(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        let number: String = line
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let rest = line[number.len()..].trim_start();
        let number = number.trim_end_matches('.');
        let well_formed = !number.is_empty()
            && number.split('.').all(|p| !p.is_empty() && p.len() <= 2)
            && !number.starts_with('0');
        if well_formed
            && rest.chars().next().is_some_and(char::is_uppercase)
            && !out.iter().any(|n| n == number)
        {
            out.push(number.to_string());
        }
    }
    out
}

/// Every problem with `map` against the policy text, the bundle's plugins and its cases.
pub fn check(
    map: &ClauseMap,
    policy_text: &str,
    plugins: &[String],
    cases: &[String],
) -> Vec<String> {
    let mut problems = Vec::new();
    let numbers = numbers_in(policy_text);
    for n in &numbers {
        if !map.clauses.contains_key(n) {
            problems.push(format!("clause {n} of the policy is missing from {FILE}"));
        }
    }
    for (n, c) in &map.clauses {
        if !numbers.contains(n) {
            problems.push(format!("clause {n} of {FILE} is not in the policy text"));
        }
        let kinds = usize::from(!c.plugins.is_empty())
            + usize::from(c.host.is_some())
            + usize::from(c.organisational.is_some());
        if kinds != 1 {
            problems.push(format!(
                "clause {n}: give exactly one of `plugins` (with `tests`), `host` or `organisational`"
            ));
        }
        if !c.plugins.is_empty() && c.tests.is_empty() {
            problems.push(format!(
                "clause {n}: enforced by plugins but no policy test case is named"
            ));
        }
        for p in c.plugins.iter().filter(|p| !plugins.contains(p)) {
            problems.push(format!("clause {n}: no plugin `{p}` in the bundle"));
        }
        for t in c.tests.iter().filter(|t| !cases.contains(t)) {
            problems.push(format!("clause {n}: no policy test case `{t}`"));
        }
    }
    problems
}

/// The clauses in policy order, with what enforces each.
pub fn table(map: &ClauseMap, policy_text: &str) -> Vec<(String, String, String)> {
    numbers_in(policy_text)
        .into_iter()
        .map(|n| match map.clauses.get(&n) {
            Some(c) => (n, c.title.clone(), c.enforcement()),
            None => (n, String::new(), "MISSING".into()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_clause_numbers_in_headings_only() {
        let text = "1. Introduction\nProVu was founded in 2018. We\n 2.1.5. Outbound Telephone\n2.3.1 Forms\n9.1. Exercising\nHD3 4PG\n01484 840048\n";
        assert_eq!(numbers_in(text), ["1", "2.1.5", "2.3.1", "9.1"]);
    }
}
