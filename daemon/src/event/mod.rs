//! The event model shared by every source: a record in the scap layout (header, parameter
//! lengths, parameters), the event table (names, directions, parameter schemas) and decoding.
//!
//! Capture files and the kernel driver's rings both produce records in this layout, so state,
//! rules and outputs never know which source an event came from.

pub mod table;
