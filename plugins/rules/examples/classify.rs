//! Reads field names, one a line, from standard input and prints those that name a special
//! category (clause 2.4), with the category and the term: a way to try the vocabulary of
//! `vocabulary/special-categories.toml` on a list of names.
//!
//! ```text
//! cargo run --release -p sluice-rules --example classify < names.txt
//! cargo run --release -p sluice-rules --example classify -- --all < names.txt
//! ```
//!
//! With `--all`, names that pass are printed too (marked `-`).

use std::io::BufRead;

use sluice_rules::names::Vocabulary;

fn main() {
    let all = std::env::args().any(|a| a == "--all");
    let vocabulary = Vocabulary::special_categories();
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let name = line.expect("read standard input");
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        match vocabulary.find(name) {
            Some(m) => println!("{name}\t{}\t{}", m.category, m.term),
            None if all => println!("{name}\t-"),
            None => {}
        }
    }
}
