//! Builds the misbehaving test guests in `tests/guests/` for wasm32-wasip2.

use std::path::PathBuf;

fn main() {
    let tests = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = tests
        .parent()
        .expect("tests/ lives in the workspace root")
        .to_path_buf();
    let guests_dir = tests.join("guests");
    let names = sluice_guest_build::discover(&guests_dir);
    let guests = sluice_guest_build::build(
        &root,
        &names,
        &[guests_dir, root.join("plugins/sdk"), root.join("wit")],
    );
    sluice_guest_build::write_embedded(&guests, "test_guests.rs", "TEST_GUESTS");
}
