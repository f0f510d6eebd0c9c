//! Checks on Blueprints and on the configuration given to them.
//!
//! | module | job |
//! |---|---|
//! | [`config`] | compile a `configSchema` (meta-schema and UI-hint checks), validate a config against it, collect its defaults |
//! | [`values`] | merge configuration layers the way Helm does (`--values`, `--set`), remembering where each value came from |

pub mod config;
pub mod values;
