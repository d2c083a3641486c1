//! Records the host target triple for the tests (`cargo metadata --filter-platform`).

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo:rustc-env=NEURITE_HOST_TARGET={target}");
    println!("cargo:rerun-if-changed=build.rs");
}
