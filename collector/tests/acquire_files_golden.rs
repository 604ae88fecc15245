//! Golden plan of the file sources on the `debian-incident` fixture host: what is taken, how it is to be
//! read, whose it is and how it is capped.

mod acquire_files_support;
use acquire_files_support::*;

#[test]
fn debian_incident_plan() {
    let root = fixture_root();
    let ctx = ctx(&root, options());
    let items = collect_files(&ctx);
    let text = render(&items);
    assert!(
        !text.contains(root.to_str().unwrap_or("/nonexistent-root")),
        "a real path leaked:\n{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn debian_incident_plan_head_policy() {
    let root = fixture_root();
    let mut opts = options();
    opts.cores = coroner_schemas::manifest::CorePolicy::Head;
    let ctx = ctx(&root, opts);
    let mut out = Vec::new();
    coroner_collect::acquire::cores::collect(&ctx, &mut out);
    insta::assert_snapshot!(render(&out));
}

#[test]
fn debian_incident_lastlog_extract() {
    let root = fixture_root();
    let ctx = ctx(&root, options());
    let mut out = Vec::new();
    coroner_collect::acquire::logins::collect(&ctx, &mut out);
    let json = out
        .iter()
        .find_map(|i| match i {
            coroner_collect::acquire::Item::Capture(c) if c.bundle_path == "live/logins/lastlog.json" => {
                Some(String::from_utf8(c.data.clone()).expect("utf-8 json"))
            }
            _ => None,
        })
        .expect("lastlog extract");
    // uid 0 and uid 1000 only: the 999 empty records between them are not in the extract. `allocated`
    // depends on how the checkout wrote the file (git writes the holes as zeros), so it is left out.
    let mut doc: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert!(doc.as_object_mut().and_then(|o| o.remove("allocated")).is_some());
    insta::assert_json_snapshot!(doc);
}
