//! Fields: the registry of filter fields (names, types, arguments) and the extraction contract
//! between the rules engine and the event state.
//!
//! The engine compiles a field name once into a [`FieldRef`]; per event it asks an
//! [`Extractor`] (implemented by the state tracker over the current event) for the values.

pub mod registry;
mod value;

pub use registry::{ArgKind, FieldId, FieldInfo, FieldType, FIELDS};
pub use value::{Value, Values};

/// An argument given to a field: `proc.aname[2]`, `evt.arg.name`, `evt.arg[0]`,
/// `container.mount.dest[/var/run/docker.sock]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FieldArg {
    None,
    Index(u32),
    Key(String),
}

/// Source of field values for the event being evaluated.
pub trait Extractor {
    /// Event type id (PPME_*) of the current event; the engine's per-type rule index uses it.
    fn event_type(&self) -> u16;

    /// Appends the values of field `id` (with `arg`) for the current event to `out`.
    /// Appends nothing when the field has no value for this event (rendered `<NA>`).
    fn extract(&mut self, id: u16, arg: &FieldArg, out: &mut Values);

    /// A key unique to this event among all events any filter sees (0: none). Filters
    /// remember each macro's result under it, so a macro shared by many rules is evaluated
    /// once per event.
    fn memo_key(&self) -> u64 {
        0
    }
}
