//! `coroner-report fleet` on bundles the real collector wrote (`--root` trees made from the incident fixture),
//! in a run folder as the Ansible role writes it: acceptance both ways (manifest signed by the fleet key, or
//! the controller's `coroner-fleet` attestation plus the bundle's own key), refusals, times moved onto the
//! controller's clock, the timeline's rows in JSONL and Parquet, `--jobs` determinism, hostile names escaped.

mod common;
#[path = "common/fleet.rs"]
mod fleet;
#[path = "common/live.rs"]
mod live;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use arrow_array::{Array, Int64Array, StringArray, TimestampMicrosecondArray};
use fleet::{jsonl, Lab};
use serde_json::Value;

const S: i64 = 1_000_000;

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).expect("json")
}

fn host<'a>(doc: &'a Value, key: &str) -> &'a Value {
    doc["hosts"].as_array().expect("hosts").iter().find(|h| h["host"] == key).unwrap_or_else(|| panic!("host {key} in {doc:#}"))
}

/// Three hosts: web-1 in controller mode 300 s ahead (±1 s), db-1 in host mode 90 s behind (±2 s), cache-1 in
/// controller mode with no clock sample.
fn three_hosts(lab: &Lab) -> Vec<PathBuf> {
    let key = lab.key("fleet");
    let web = lab.collect(&lab.root("web", "web-1", &[]), "web-1", None);
    lab.attest(&web, &key);
    lab.clock(&web, "web-1", 300 * S, S);
    let db = lab.collect(&lab.root("db", "db-1", &[]), "db-1", Some(&key));
    lab.clock(&db, "db-1", -90 * S, 2 * S);
    let cache = lab.collect(&lab.root("cache", "cache-1", &[]), "cache-1", None);
    lab.attest(&cache, &key);
    vec![web, db, cache]
}

#[test]
fn accepts_both_ways_and_moves_times_onto_the_controller_clock() {
    let lab = Lab::new();
    three_hosts(&lab);
    let out = lab.p("out");
    let o = lab.fleet(&[lab.run().as_os_str(), "-o".as_ref(), out.as_os_str(), "--pubkey".as_ref(), lab.pubkey("fleet").as_os_str()]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let doc = read_json(&out.join("fleet.json"));
    assert_eq!(doc["refused"], serde_json::json!([]));
    let keys: Vec<&str> = doc["hosts"].as_array().expect("hosts").iter().map(|h| h["host"].as_str().expect("key")).collect();
    assert_eq!(keys, ["cache-1", "db-1", "web-1"]);
    assert_eq!(host(&doc, "web-1")["verified_how"], "attestation");
    assert_eq!(host(&doc, "db-1")["verified_how"], "manifest");
    assert_eq!(host(&doc, "cache-1")["verified_how"], "attestation");
    assert_eq!(host(&doc, "web-1")["clock_offset_us"], 300 * S);
    assert_eq!(host(&doc, "web-1")["clock_uncertainty_us"], S);
    assert_eq!(host(&doc, "db-1")["clock_offset_us"], -90 * S);
    assert_eq!(host(&doc, "db-1")["clock_uncertainty_us"], 2 * S);
    assert_eq!(host(&doc, "cache-1")["clock_offset_us"], Value::Null);

    // Every host row is in the fleet timeline, once, moved by its host's offset; its own clock is kept.
    let rows = jsonl(&out.join("timeline.jsonl"));
    let mut per_host: BTreeMap<String, usize> = BTreeMap::new();
    let want_offset: BTreeMap<&str, Option<i64>> = [("web-1", Some(300 * S)), ("db-1", Some(-90 * S)), ("cache-1", None)].into();
    for r in &rows {
        let h = r["hostname"].as_str().expect("hostname");
        *per_host.entry(h.to_owned()).or_default() += 1;
        let host_us = coroner_schemas::Utc::parse_rfc3339(r["host_datetime"].as_str().expect("host_datetime")).expect("time").unix_micros();
        let us = r["timestamp"].as_i64().expect("timestamp");
        let d = want_offset[h];
        assert_eq!(us, host_us - d.unwrap_or(0), "corrected time = host time − offset: {r}");
        assert_eq!(coroner_schemas::Utc::parse_rfc3339(r["datetime"].as_str().expect("datetime")).expect("time").unix_micros(), us);
        assert_eq!(r["clock_offset_us"].as_i64(), d);
        assert!(r.as_object().expect("object").contains_key("raw_base64"), "every row has every column");
    }
    for key in ["web-1", "db-1", "cache-1"] {
        let own = jsonl(&out.join("hosts").join(key).join("timeline.jsonl"));
        assert!(!own.is_empty());
        assert_eq!(per_host.get(key).copied().unwrap_or(0), own.len(), "{key}: fleet rows = the host's rows");
        // The host's render is on the host's own clock: its datetimes are the fleet rows' host_datetime.
        let host_times: Vec<&Value> = own.iter().map(|r| &r["datetime"]).collect();
        let fleet_host_times: Vec<&Value> = rows.iter().filter(|r| r["hostname"] == key).map(|r| &r["host_datetime"]).collect();
        assert_eq!(host_times, fleet_host_times, "{key}: same rows in the same order");
    }
    assert_eq!(doc["timeline_rows"].as_u64(), Some(rows.len() as u64));

    // Deaths in the overview: corrected time = host time − offset.
    for d in doc["deaths"].as_array().expect("deaths") {
        let (Some(t), Some(ht)) = (d["time"].as_str(), d["host_time"].as_str()) else { continue };
        let off = want_offset[d["host"].as_str().expect("host")].unwrap_or(0);
        let us = |s: &str| coroner_schemas::Utc::parse_rfc3339(s).expect("time").unix_micros();
        assert_eq!(us(t), us(ht) - off, "{d}");
    }
    let md = std::fs::read_to_string(out.join("fleet.md")).expect("fleet.md");
    assert!(md.contains("\\+300 s ± 1 s") && md.contains("−90 s ± 2 s") && md.contains("unknown"), "{md}");

    // The JSONL's keys come in the column order.
    let first = std::fs::read_to_string(out.join("timeline.jsonl")).expect("jsonl");
    let first = first.lines().next().expect("a row");
    let at: Vec<usize> = COLUMNS.iter().map(|c| first.find(&format!("\"{c}\":")).unwrap_or_else(|| panic!("{c} in {first}"))).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{first}");

    // The Parquet file: the same rows, columns and values.
    check_parquet(&out.join("timeline.parquet"), &rows);
}

/// The fleet timeline's columns, in order (the README lists them).
const COLUMNS: [&str; 25] = [
    "message", "datetime", "timestamp_desc", "timestamp", "hostname", "data_type", "tag", "source", "kind", "certainty", "pid", "ppid",
    "uid", "user", "comm", "entry", "line", "offset", "raw", "raw_base64", "fields", "verified", "host_datetime", "clock_offset_us",
    "clock_uncertainty_us",
];

/// Reads timeline.parquet back with the parquet crate: the JSONL's columns in order, its row count, and its
/// hostname, timestamp and host time on every row.
fn check_parquet(path: &Path, rows: &[Value]) {
    let f = std::fs::File::open(path).expect("parquet");
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f).expect("parquet reader").build().expect("build");
    let want_cols: Vec<String> = rows[0].as_object().expect("row").keys().cloned().collect();
    let mut n = 0;
    for batch in reader {
        let batch = batch.expect("batch");
        let cols: Vec<String> = batch.schema().fields().iter().map(|f| f.name().clone()).collect();
        assert_eq!(cols, COLUMNS);
        let mut sorted_cols = cols.clone();
        sorted_cols.sort();
        assert_eq!(sorted_cols, want_cols, "same columns as the JSONL (serde_json sorts the JSONL's keys)");
        let col = |name: &str| batch.column(batch.schema().index_of(name).expect("column")).clone();
        let host = col("hostname");
        let host = host.as_any().downcast_ref::<StringArray>().expect("hostname utf8");
        let ts = col("timestamp");
        let ts = ts.as_any().downcast_ref::<Int64Array>().expect("timestamp int64");
        let dt = col("datetime");
        let dt = dt.as_any().downcast_ref::<TimestampMicrosecondArray>().expect("datetime timestamp(us)");
        let hdt = col("host_datetime");
        let hdt = hdt.as_any().downcast_ref::<TimestampMicrosecondArray>().expect("host_datetime timestamp(us)");
        let fields = col("fields");
        let fields = fields.as_any().downcast_ref::<StringArray>().expect("fields utf8");
        assert_eq!(dt.timezone(), Some("UTC"));
        for i in 0..batch.num_rows() {
            let r = &rows[n + i];
            assert_eq!(Some(host.value(i)), r["hostname"].as_str());
            let f: Value = serde_json::from_str(fields.value(i)).expect("fields is one JSON object");
            assert_eq!(f, r["fields"], "Parquet's fields = the JSONL row's");
            assert_eq!(Some(ts.value(i)), r["timestamp"].as_i64());
            assert_eq!(dt.value(i), ts.value(i));
            let h = coroner_schemas::Utc::parse_rfc3339(r["host_datetime"].as_str().expect("host time")).expect("time").unix_micros();
            assert_eq!(hdt.value(i), h);
        }
        n += batch.num_rows();
    }
    assert_eq!(n, rows.len(), "parquet rows = jsonl rows");
}

#[test]
fn refuses_what_the_pinned_key_does_not_vouch_for() {
    let lab = Lab::new();
    let key = lab.key("fleet");
    let other = lab.key("other");
    // Accepted, for contrast.
    let good = lab.collect(&lab.root("good", "good-1", &[]), "good-1", None);
    lab.attest(&good, &key);
    // Bytes changed after the controller attested them.
    let changed = lab.collect(&lab.root("changed", "changed-1", &[]), "changed-1", None);
    lab.attest(&changed, &key);
    fleet::tamper_member(&changed, "fs/var/log/kern.log");
    // Attested by a key that is not pinned.
    let stranger = lab.collect(&lab.root("stranger", "stranger-1", &[]), "stranger-1", None);
    lab.attest(&stranger, &other);
    // The good host's signature copied beside another bundle: a signature over another file.
    let copied = lab.collect(&lab.root("copied", "copied-1", &[]), "copied-1", None);
    std::fs::copy(fleet::with_suffix(&good, ".sha256.sig"), fleet::with_suffix(&copied, ".sha256.sig")).expect("copy sig");
    // Host mode with another key.
    let wrongkey = lab.collect(&lab.root("wrongkey", "wrongkey-1", &[]), "wrongkey-1", Some(&other));
    // The controller attested what it fetched, but the bundle does not match its own manifest.
    let inside = lab.collect(&lab.root("inside", "inside-1", &[]), "inside-1", None);
    fleet::tamper_member(&inside, "fs/var/log/kern.log");
    fleet::write_sha256(&inside);
    lab.attest(&inside, &key);

    let out = lab.p("out");
    let o = lab.fleet(&[lab.run().as_os_str(), "-o".as_ref(), out.as_os_str(), "--pubkey".as_ref(), lab.pubkey("fleet").as_os_str()]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "a refusal exits 1: {stderr}");
    let doc = read_json(&out.join("fleet.json"));
    let reasons: BTreeMap<String, String> = doc["refused"]
        .as_array()
        .expect("refused")
        .iter()
        .map(|r| (r["bundle"].as_str().expect("bundle").to_owned(), r["reason"].as_str().expect("reason").to_owned()))
        .collect();
    let reason = |b: &Path| reasons.get(&b.file_name().expect("name").to_string_lossy().into_owned()).cloned().unwrap_or_default();
    assert!(reason(&changed).contains("the attested .sha256 says"), "{reasons:#?}");
    assert!(reason(&stranger).contains("which is not pinned"), "{reasons:#?}");
    assert!(reason(&copied).contains("bad for these bytes"), "{reasons:#?}");
    assert!(reason(&wrongkey).contains("not pinned") && reason(&wrongkey).contains("no .sha256.sig"), "{reasons:#?}");
    assert!(reason(&inside).contains("does not verify against its embedded key") && reason(&inside).contains("kern.log"), "{reasons:#?}");
    assert_eq!(reasons.len(), 5, "{reasons:#?}");
    for b in [&changed, &stranger, &copied, &wrongkey, &inside] {
        assert!(stderr.contains(&*b.file_name().expect("name").to_string_lossy()), "listed on stderr: {stderr}");
    }

    // Only the good host appears anywhere else.
    let hosts: Vec<&str> = doc["hosts"].as_array().expect("hosts").iter().map(|h| h["host"].as_str().expect("key")).collect();
    assert_eq!(hosts, ["good-1"]);
    let dirs: BTreeSet<String> = std::fs::read_dir(out.join("hosts")).expect("hosts").map(|e| e.expect("e").file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(dirs, BTreeSet::from(["good-1".to_owned()]));
    let rows = jsonl(&out.join("timeline.jsonl"));
    assert!(!rows.is_empty() && rows.iter().all(|r| r["hostname"] == "good-1"));
    assert!(doc["deaths"].as_array().expect("deaths").iter().all(|d| d["host"] == "good-1"));
    let md = std::fs::read_to_string(out.join("fleet.md")).expect("md");
    let html = std::fs::read_to_string(out.join("fleet.html")).expect("html");
    for name in ["changed-1", "stranger-1", "copied-1", "wrongkey-1", "inside-1"] {
        // The bundle names appear in the refused lists only (escaped `_` in Markdown aside).
        assert_eq!(md.matches(&format!("coroner-{name}")).count(), 1, "{name} once in fleet.md: {md}");
        assert_eq!(html.matches(&format!("coroner-{name}")).count(), 1, "{name} once in fleet.html");
    }
    assert!(!out.join(".parts").exists(), "the part files are removed");
}

#[test]
fn a_pinned_key_is_required() {
    let lab = Lab::new();
    let b = lab.collect(&lab.root("h", "h-1", &[]), "h-1", None);
    let out = lab.p("out");
    let o = lab.fleet(&[b.as_os_str(), "-o".as_ref(), out.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("a pinned fleet key is required"), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!out.join("fleet.json").exists());
}

/// Every file under `dir`, by relative path, with its bytes.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.strip_prefix(dir).expect("under").to_path_buf(), std::fs::read(&p).expect("read"));
            }
        }
    }
    out
}

/// The outputs are the same bytes with one worker or two; bundles given as files or as the run folder alike,
/// and two bundles of one hostname are both kept (`#2` by bundle name).
#[test]
fn jobs_do_not_change_a_byte() {
    let lab = Lab::new();
    let bundles = three_hosts(&lab);
    // A second bundle of web-1, collected later (its name sorts after the first's).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let again = lab.collect(&lab.p("roots/web"), "web-1-again", None);
    lab.attest(&again, &lab.key("fleet"));
    let pubkey = lab.pubkey("fleet");
    let run = |jobs: &str, out: &Path| {
        let o = lab.fleet(&[lab.run().as_os_str(), "-o".as_ref(), out.as_os_str(), "--pubkey".as_ref(), pubkey.as_os_str(), "--jobs".as_ref(), jobs.as_ref()]);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        tree(out)
    };
    let one = run("1", &lab.p("out1"));
    let two = run("2", &lab.p("out2"));
    assert_eq!(one.keys().collect::<Vec<_>>(), two.keys().collect::<Vec<_>>());
    for (p, bytes) in &one {
        assert!(two[p] == *bytes, "{} differs between --jobs 1 and --jobs 2", p.display());
    }
    let doc: Value = serde_json::from_slice(&one[Path::new("fleet.json")]).expect("json");
    let keys: Vec<&str> = doc["hosts"].as_array().expect("hosts").iter().map(|h| h["host"].as_str().expect("key")).collect();
    assert_eq!(keys, ["cache-1", "db-1", "web-1", "web-1#2"]);
    assert_eq!(host(&doc, "web-1#2")["bundle"], again.file_name().expect("n").to_string_lossy().as_ref());
    assert!(one.contains_key(Path::new("hosts/web-1#2/report.html")));

    // The same bundles named one by one give the same overview.
    let out3 = lab.p("out3");
    let mut args: Vec<&std::ffi::OsStr> = bundles.iter().map(|b| b.as_os_str()).collect();
    args.push(again.as_os_str());
    args.extend(["-o".as_ref(), out3.as_os_str(), "--pubkey".as_ref(), pubkey.as_os_str()]);
    let o = lab.fleet(&args);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::read(out3.join("fleet.json")).expect("json") == one[Path::new("fleet.json")]);
    assert!(std::fs::read(out3.join("timeline.parquet")).expect("pq") == one[Path::new("timeline.parquet")]);
}

/// A hostname and a victim's comm written by an attacker reach fleet.html and fleet.md only escaped.
#[test]
fn hostile_names_are_escaped_in_the_overview() {
    let lab = Lab::new();
    let key = lab.key("fleet");
    let evil_host = "<img src=x onerror=alert(1)>*[l](http://e.test)";
    let evil_comm = "<b>pwn</b>|*x";
    let line = format!(
        "Nov 27 20:22:00 vm kernel: [ 1100.000000] {evil_comm}[15000]: segfault at 0 ip 000055b70e9171dd sp 00007ffe3e0075f0 error 6 in crash[11dd,55b70e917000+1000] likely on CPU 1 (core 1, socket 0)\n"
    );
    let b = lab.collect(&lab.root("evil", evil_host, &[("var/log/kern.log", &line)]), "evil", None);
    lab.attest(&b, &key);
    let out = lab.p("out");
    let o = lab.fleet(&[lab.run().as_os_str(), "-o".as_ref(), out.as_os_str(), "--pubkey".as_ref(), lab.pubkey("fleet").as_os_str()]);
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&o.stderr));
    let doc = read_json(&out.join("fleet.json"));
    // The payloads did reach the overview's data (so the checks below can fail).
    assert_eq!(doc["hosts"][0]["hostname"], evil_host);
    assert!(doc["deaths"].as_array().expect("deaths").iter().any(|d| d["victim_comm"] == evil_comm), "{doc:#}");
    let key = doc["hosts"][0]["host"].as_str().expect("key");
    assert!(key.chars().all(|c| c.is_ascii_alphanumeric() || "._-#".contains(c)), "{key}");
    assert!(out.join("hosts").join(key).join("report.html").exists());

    let html = std::fs::read_to_string(out.join("fleet.html")).expect("html");
    assert!(!html.contains("<img") && !html.contains("<b>pwn"), "raw markup in fleet.html");
    let page = scraper::Html::parse_document(&html);
    for sel in ["img", "b", "script"] {
        let s = scraper::Selector::parse(sel).expect("selector");
        assert_eq!(page.select(&s).count(), 0, "<{sel}> element in fleet.html");
    }
    let a = scraper::Selector::parse("a").expect("selector");
    for link in page.select(&a) {
        let href = link.value().attr("href").unwrap_or_default();
        assert!(href.starts_with("hosts/") && href.ends_with("/report.html"), "only links to host reports: {href}");
    }
    let md = std::fs::read_to_string(out.join("fleet.md")).expect("md");
    assert!(!md.contains("<img") && !md.contains("<b>") && !md.contains("](http"), "raw markup in fleet.md: {md}");
    assert!(md.contains("&lt;img src=x onerror=alert\\(1\\)&gt;"), "{md}");
    assert!(md.contains("&lt;b&gt;pwn&lt;/b&gt;\\|\\*x"), "{md}");
}

/// An allowed_signers line decides which of the two signatures the fleet key may make: allowed in
/// `coroner-fleet` only, it accepts the controller's attestation and refuses a manifest it signed.
#[test]
fn allowed_signers_namespaces_choose_the_way() {
    let lab = Lab::new();
    let key = lab.key("fleet");
    let attested = lab.collect(&lab.root("a", "attested-1", &[]), "attested-1", None);
    lab.attest(&attested, &key);
    let signed = lab.collect(&lab.root("s", "signed-1", &[]), "signed-1", Some(&key));
    let pubkey = std::fs::read_to_string(lab.pubkey("fleet")).expect("pub");
    let run = |line: &str, out: &str| {
        let allowed = lab.p(&format!("{out}.allowed_signers"));
        std::fs::write(&allowed, format!("{line} {}", pubkey.trim())).expect("allowed_signers");
        let o = lab.fleet(&[lab.run().as_os_str(), "-o".as_ref(), lab.p(out).as_os_str(), "--allowed-signers".as_ref(), allowed.as_os_str()]);
        let doc = read_json(&lab.p(out).join("fleet.json"));
        let hosts: Vec<String> = doc["hosts"].as_array().expect("hosts").iter().map(|h| h["host"].as_str().expect("key").to_owned()).collect();
        (o.status.code(), hosts, doc["refused"].clone())
    };
    let (code, hosts, refused) = run("coroner-collect namespaces=\"coroner-fleet\"", "fleet-only");
    assert_eq!((code, hosts), (Some(1), vec!["attested-1".to_owned()]));
    assert!(refused[0]["reason"].as_str().is_some_and(|r| r.contains("no pinned key is allowed to sign manifests")), "{refused}");
    let (code, hosts, _) = run("coroner-collect namespaces=\"coroner\"", "manifest-only");
    assert_eq!((code, hosts), (Some(1), vec!["signed-1".to_owned()]));
    let (code, hosts, _) = run("*", "both");
    assert_eq!((code, hosts), (Some(0), vec!["attested-1".to_owned(), "signed-1".to_owned()]));
    let _ = signed;
}

/// A host whose bytes could not all be read as their format is rendered and counted, and the run exits 1.
#[test]
fn a_host_with_parse_problems_exits_1() {
    let lab = Lab::new();
    let b = lab.collect(&lab.root("p", "torn-1", &[("var/log/audit/audit.log", "type=SYSCALL msg=audit(torn\n")]), "torn-1", None);
    lab.attest(&b, &lab.key("fleet"));
    let out = lab.p("out");
    let o = lab.fleet(&[lab.run().as_os_str(), "-o".as_ref(), out.as_os_str(), "--pubkey".as_ref(), lab.pubkey("fleet").as_os_str()]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("host torn-1: parse problems"));
    let doc = read_json(&out.join("fleet.json"));
    assert_eq!(host(&doc, "torn-1")["parse_problems"], 1);
    assert_eq!(doc["refused"], serde_json::json!([]));
}

/// An age-encrypted bundle (`--encrypt-to`) is attested over its ciphertext and read with `--identity`;
/// without one it is refused with what to pass.
#[test]
fn encrypted_bundles_need_the_identity() {
    let lab = Lab::new();
    let analyst = lab.key("analyst");
    let root = lab.root("enc", "enc-1", &[]);
    let o = std::process::Command::new(live::collector())
        .arg("--root")
        .arg(&root)
        .arg("-o")
        .arg(lab.run().join("enc-1"))
        .args(["-q", "--no-gentle", "--encrypt-to"])
        .arg(lab.pubkey("analyst"))
        .output()
        .expect("collect");
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&o.stderr));
    let b = PathBuf::from(String::from_utf8_lossy(&o.stdout).lines().last().expect("bundle path"));
    assert!(b.to_string_lossy().ends_with(".tar.gz.age"));
    lab.attest(&b, &lab.key("fleet"));
    let pubkey = lab.pubkey("fleet");
    let without = lab.fleet(&[lab.run().as_os_str(), "-o".as_ref(), lab.p("out1").as_os_str(), "--pubkey".as_ref(), pubkey.as_os_str()]);
    assert_eq!(without.status.code(), Some(1));
    let doc = read_json(&lab.p("out1/fleet.json"));
    assert!(doc["refused"][0]["reason"].as_str().is_some_and(|r| r.contains("cannot be read") && r.contains("--identity")), "{doc:#}");
    let with = lab.fleet(&[
        lab.run().as_os_str(),
        "-o".as_ref(),
        lab.p("out2").as_os_str(),
        "--pubkey".as_ref(),
        pubkey.as_os_str(),
        "--identity".as_ref(),
        analyst.as_os_str(),
    ]);
    assert_eq!(with.status.code(), Some(0), "{}", String::from_utf8_lossy(&with.stderr));
    let doc = read_json(&lab.p("out2/fleet.json"));
    assert_eq!(host(&doc, "enc-1")["verified_how"], "attestation");
    assert!(lab.p("out2/hosts/enc-1/report.html").exists());
}
