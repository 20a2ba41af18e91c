//! Build script: generates the Rust view of the driver's ABI header with bindgen, and
//! compiles the driver's ring producer core (the C the kernel runs) into a userspace shim
//! that the ring tests drive against the Rust consumer.

use std::env;
use std::path::PathBuf;

fn main() {
    let manifest =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let driver = manifest.join("../driver");
    let header = driver.join("include/falco_abi.h");
    let core = driver.join("ring_core.h");
    let shim = driver.join("userspace/ring_shim.c");
    for path in [&header, &core, &shim] {
        println!("cargo:rerun-if-changed={}", path.display());
    }

    let bindings = bindgen::Builder::default()
        .header(header.to_string_lossy())
        .allowlist_type("falco_.*")
        .allowlist_var("FALCO_.*")
        .derive_default(true)
        .layout_tests(true)
        .generate()
        .expect("bindgen failed on driver/include/falco_abi.h (is libclang-dev installed?)");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    bindings
        .write_to_file(out.join("falco_abi.rs"))
        .expect("cannot write the generated ABI bindings");

    cc::Build::new()
        .file(&shim)
        .flag_if_supported("-Wall")
        .flag_if_supported("-Wextra")
        .flag_if_supported("-Werror")
        .opt_level(2)
        .compile("falco_ring_shim");
}
