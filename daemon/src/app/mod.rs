//! The running daemon: wires config, rules, a source, state, the engine and outputs into the
//! hot loop, and reports at the end.

pub mod drops;
pub mod summary;
