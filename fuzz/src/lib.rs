//! The fuzz targets' shared code: `check.rs`, which the report's regression test also includes by path.

pub mod check;
