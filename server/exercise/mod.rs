//! Exercises: files that describe a misbehaving system, the knobs a learner may turn, and
//! the goals that say when the design is right.
//!
//! # Layout
//! - `model`: the file format (serde + JSON Schema) and the loaded [`Exercise`].
//! - `goals`: typed goals and the [`GoalTracker`] that evaluates them from a run.
//! - `catalog`: bundled and on-disk exercises, errors per file, reloads on change.
pub mod catalog;
pub mod goals;
pub mod model;

pub use catalog::{Catalog, CatalogEntry};
pub use goals::{GoalState, GoalStatus, GoalTracker};
pub use model::{Exercise, Part};
