//! A Falco-compatible runtime security daemon.
//!
//! One module per box of the data flow (see docs/ARCHITECTURE.md):
//! `source` → `event` → `state` → `engine` (with `rules`, `fields`) → `format` → `outputs`,
//! plus `config`, `web` and `cli` around them.

pub mod app;
pub mod cli;
pub mod config;
pub mod engine;
pub mod event;
pub mod fields;
pub mod filter;
pub mod format;
pub mod logger;
pub mod notify;
pub mod outputs;
pub mod priority;
pub mod report;
pub mod rules;
pub mod signals;
pub mod source;
pub mod state;
pub mod web;
