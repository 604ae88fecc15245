//! Signal numbers and names: the one table lives in the contract crate (`coroner_schemas::signals`), shared
//! with the collector's signal recorder.

pub use coroner_schemas::signals::*;
