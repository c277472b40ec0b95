//! Builds the misbehaving test guests in `tests/guests/` for wasm32-wasip2, as the host's
//! build script builds its plugins.

#[path = "../host/build.rs"]
#[allow(dead_code, reason = "its `main` is the host's build script")]
mod host_build;

fn main() {
    host_build::embed_guests(
        "tests/guests",
        &["tests/guests", "plugins/sdk", "wit"],
        "test_guests.rs",
        "TEST_GUESTS",
    );
}
