//! Checks on Blueprints and on the configuration given to them.
//!
//! | module | job |
//! |---|---|
//! | [`blueprint`] | a Blueprint with its folder: manifests, card assets, configSchema, constraints, templates, overlays |
//! | [`config`] | compile a `configSchema` (meta-schema and UI-hint checks), validate a config against it, collect its defaults |
//! | [`values`] | merge configuration layers the way Helm does (`--values`, `--set`), remembering where each value came from |

pub mod blueprint;
pub mod config;
pub mod values;
