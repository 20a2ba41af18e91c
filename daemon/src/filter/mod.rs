//! Falco's condition language: parsing ([`parse`]) into a tree with byte offsets,
//! compilation ([`compile`]) against the field registry with macros and lists inlined, and
//! matching of the compiled [`Filter`] on events through [`crate::fields::Extractor`].
//!
//! Owns the grammar (libsinsp's: `not` > `and` > `or`, operators, transformers, list
//! literals), value typing per field type, the `glob` (fnmatch) and `pmatch` matchers, and
//! the event-type restriction of a condition ([`Filter::event_types`]).

pub mod ast;
mod compile;
mod eval;
pub mod glob;
mod parser;
mod pmatch;

pub use ast::{Ast, Check, Expr, FieldRef, Op, Operand, Rhs, Transformer, Value};
pub use compile::{
    compile, CompileError, CompileErrorKind, Compiled, Definitions, Filter, NoDefinitions,
    MAX_COMPILE_DEPTH,
};
pub use parser::{parse, parse_list_items, ParseError, MAX_DEPTH};

#[cfg(test)]
mod tests;
