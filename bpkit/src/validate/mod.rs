//! Checks beyond the shape of the document: the Blueprint folder, its configSchema, its
//! templates and constraints, and configuration values against configSchema.

pub mod blueprint;
