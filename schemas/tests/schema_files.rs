//! The committed `schemas/json/*.schema.json` files must be exactly what the serde types generate, so the
//! documented contract cannot drift from the code. `UPDATE_SCHEMAS=1 cargo test -p coroner-schemas` rewrites them.

use std::path::PathBuf;

#[test]
fn committed_schema_files_match_the_types() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("json");
    let update = std::env::var_os("UPDATE_SCHEMAS").is_some();
    let mut stale = Vec::new();
    for (name, schema) in coroner_schemas::json_schemas() {
        assert!(!schema.is_null(), "{name}: schema generation failed");
        let text = serde_json::to_string_pretty(&schema).expect("serialise schema") + "\n";
        let path = dir.join(name);
        if update {
            std::fs::create_dir_all(&dir).expect("mkdir json");
            std::fs::write(&path, &text).expect("write schema");
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(name);
        }
    }
    assert!(stale.is_empty(), "stale schema files {stale:?}: run UPDATE_SCHEMAS=1 cargo test -p coroner-schemas");
}

#[test]
fn schemas_compile_and_reject_bad_documents() {
    for (name, schema) in coroner_schemas::json_schemas() {
        let v = jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!v.is_valid(&serde_json::json!({"surely": "not this"})), "{name} accepts anything");
    }
}
