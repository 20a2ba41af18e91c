//! Event sources: where records come from before decoding. `kmod` reads the kernel module's
//! per-CPU shared-memory rings (`ring` is the lock-free consumer side of one ring, `abi`
//! the driver's ABI header as Rust types, `procfs` the live system's starting state); `scap`
//! reads capture files. Every source yields
//! [`crate::event::Event`] views in the scap v2 layout.

pub mod abi;
pub mod kmod;
pub mod prefetch;
pub mod procfs;
pub mod ring;
pub mod scap;
pub mod scap_write;
