//! DuckDB (PyPI `duckdb`) reads a fleet's timeline.parquet as the README says. On a real fleet (the
//! debian-incident fixture host collected by the release collector under three hostnames, one fleet key, a
//! clock.json beside two of the bundles), `coroner-report fleet` writes timeline.parquet and timeline.jsonl, and:
//! - the README's example queries (taken from README.md's `### SQL over a fleet`, so they cannot drift) give the
//!   same rows, of the same types, over 'timeline.parquet' as over read_json_auto('timeline.jsonl'), and not none;
//! - total rows, rows per host and null counts per column agree between the two and with the JSONL as serde reads
//!   it, and the total is the sum of the hosts' own timeline.jsonl rows;
//! - the Parquet column types are the README's table, and the JSONL's are the same where DuckDB can tell.
//!
//! Under CI (which installs duckdb, see .ci/run) a python3 without duckdb fails the test.

#[path = "common/live.rs"]
mod live;
#[path = "common/tools.rs"]
mod tools;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use coroner_schemas::fleet::{FleetClock, CLOCK_FILE};
use coroner_schemas::Utc;
use serde_json::Value;

const REPORT: &str = env!("CARGO_BIN_EXE_coroner-report");
const PARQUET: &str = "'timeline.parquet'";

/// (hostname, the skew its clock.json shows in seconds; None: no clock.json, skew unknown)
const HOSTS: [(&str, Option<i64>); 3] = [("web-1", Some(90)), ("web-2", Some(-45)), ("db-1", None)];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn ok(c: &mut Command) -> std::process::Output {
    let o = c.output().unwrap_or_else(|e| panic!("spawn {c:?}: {e}"));
    assert!(o.status.code().is_some_and(|c| c <= 1), "{c:?} failed: {}", String::from_utf8_lossy(&o.stderr));
    o
}

fn now() -> Utc {
    let d = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).expect("clock after 1970");
    Utc::from_unix_micros(i64::try_from(d.as_micros()).expect("micros")).expect("utc")
}

/// Collects one tree per host into `run/<host>/` as the Ansible role lays a run out: the bundle, its .sha256 and,
/// where the host has one, a clock.json whose controller times are the real ones around the collection shifted
/// by the host's skew (so the host's clock reads that much ahead of the controller's). Runs `fleet` into `out/`.
fn fleet(dir: &Path) -> PathBuf {
    let key = dir.join("fleet.key");
    ok(Command::new(live::collector()).arg("keygen").arg("-o").arg(&key));
    for (i, (host, skew)) in HOSTS.iter().enumerate() {
        let tree = dir.join("trees").join(host);
        fs::create_dir_all(tree.parent().expect("parent")).expect("mkdir");
        ok(Command::new("cp").arg("-a").arg(repo().join("fixtures/hosts/debian-incident")).arg(&tree));
        fs::write(tree.join("etc/hostname"), format!("{host}\n")).expect("hostname");
        if i == 2 {
            fs::remove_file(tree.join("var/log/kern.log")).expect("rm kern.log"); // hosts differ in their counts
        }
        let out = dir.join("run").join(host);
        let before = now();
        let o = ok(Command::new(live::collector())
            .arg("--root").arg(&tree).arg("-o").arg(&out).arg("--key").arg(&key).args(["-q", "--no-gentle"]));
        let after = now();
        let bundle = PathBuf::from(String::from_utf8_lossy(&o.stdout).lines().last().expect("bundle path").to_owned());
        for f in fs::read_dir(&out).expect("ls") {
            let p = f.expect("entry").path();
            if p.to_string_lossy().ends_with(".allowed_signers") {
                fs::remove_file(p).expect("rm"); // not part of a run folder (fleet-contract)
            }
        }
        if let Some(s) = skew {
            let shift = |t: Utc| Utc::from_unix_micros(t.unix_micros() - s * 1_000_000).expect("utc");
            let clock = FleetClock {
                schema_version: 1,
                inventory_hostname: (*host).into(),
                bundle: bundle.file_name().expect("name").to_string_lossy().into_owned(),
                controller_before: shift(before),
                controller_after: shift(after),
            };
            fs::write(out.join(CLOCK_FILE), serde_json::to_vec_pretty(&clock).expect("json")).expect("clock.json");
        }
    }
    let out = dir.join("out");
    ok(Command::new(REPORT).arg("fleet").arg(dir.join("run")).arg("-o").arg(&out).arg("--pubkey").arg(dir.join("fleet.key.pub")));
    out
}

/// The README's `### SQL over a fleet` section (to the next heading of level 2 or 3 outside a code block).
fn readme_section() -> String {
    let readme = fs::read_to_string(repo().join("README.md")).expect("README.md");
    let (mut inside, mut fenced, mut out) = (false, false, String::new());
    for line in readme.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        }
        if !fenced && (line.starts_with("## ") || line.starts_with("### ")) {
            inside = line.trim() == "### SQL over a fleet";
            continue;
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    assert!(!out.is_empty(), "README.md has no `### SQL over a fleet` section");
    out
}

/// Every `duckdb -c "SQL"` line of the section: the SQL.
fn readme_queries(section: &str) -> Vec<String> {
    section
        .lines()
        .filter_map(|l| l.trim().strip_prefix("duckdb -c \"")?.strip_suffix('"').map(str::to_owned))
        .collect()
}

/// The section's column table: `| \`name\` | DuckDB type | … |` rows, in order.
fn readme_types(section: &str) -> Vec<(String, String)> {
    section
        .lines()
        .filter_map(|l| {
            let mut cells = l.trim().strip_prefix('|')?.split('|').map(str::trim);
            let name = cells.next()?.strip_prefix('`')?.strip_suffix('`')?;
            Some((name.to_owned(), cells.next()?.to_owned()))
        })
        .collect()
}

/// The JSONL as serde reads it: rows, rows per host, and per key the rows where it is null or absent.
fn serde_counts(path: &Path) -> (u64, BTreeMap<String, u64>, BTreeMap<String, u64>) {
    let rows: Vec<serde_json::Map<String, Value>> = fs::read_to_string(path)
        .expect("timeline.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON object a line"))
        .collect();
    let mut per_host = BTreeMap::new();
    let mut nulls: BTreeMap<String, u64> = BTreeMap::new();
    for r in &rows {
        *per_host.entry(r["hostname"].as_str().expect("hostname string").to_owned()).or_default() += 1;
        for k in r.keys() {
            nulls.entry(k.clone()).or_default();
        }
    }
    for (k, n) in nulls.iter_mut() {
        *n = rows.iter().filter(|r| r.get(k).is_none_or(Value::is_null)).count() as u64;
    }
    (rows.len() as u64, per_host, nulls)
}

fn lines(p: &Path) -> u64 {
    fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).lines().count() as u64
}

#[test]
fn duckdb_reads_the_parquet_as_the_jsonl_and_the_readme_queries_agree() {
    let section = readme_section();
    let queries = readme_queries(&section);
    assert_eq!(queries.len(), 3, "the README's SQL section gives three `duckdb -c \"…\"` queries: {queries:?}");
    for q in &queries {
        assert!(q.contains(PARQUET), "a README query reads {PARQUET}: {q}");
    }
    let documented = readme_types(&section);
    assert!(!documented.is_empty(), "the README's SQL section documents the columns' types");

    let Some(py) = tools::python_with("duckdb") else {
        tools::missing("no python3 with duckdb (PyPI duckdb)");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = fleet(dir.path());
    let o = Command::new(py)
        .arg(repo().join("report/tests/fleet_duckdb.py"))
        .arg(serde_json::to_string(&queries).expect("json"))
        .current_dir(&out)
        .output()
        .expect("run python3");
    assert!(o.status.success(), "fleet_duckdb.py: {}", String::from_utf8_lossy(&o.stderr));
    let got: Value = serde_json::from_slice(&o.stdout).expect("fleet_duckdb.py prints JSON");
    let (pq, js) = (&got["parquet"], &got["jsonl"]);

    // The file itself, read without DuckDB, and the hosts' own renders.
    let (total, per_host, nulls) = serde_counts(&out.join("timeline.jsonl"));
    let hosts_total: u64 = HOSTS.iter().map(|(h, _)| lines(&out.join("hosts").join(h).join("timeline.jsonl"))).sum();
    assert_eq!(total, hosts_total, "the fleet timeline holds every host's rows");
    assert_eq!(per_host.len(), HOSTS.len(), "{per_host:?}");
    assert!(per_host.values().all(|&n| n > 0), "{per_host:?}");
    assert_eq!(pq["total"], total, "rows in timeline.parquet");
    assert_eq!(js["total"], total, "rows DuckDB reads from timeline.jsonl");
    let per_host_json: Value = per_host.iter().map(|(h, n)| serde_json::json!([h, n])).collect();
    assert_eq!(pq["per_host"], per_host_json, "rows per host in timeline.parquet");
    assert_eq!(js["per_host"], per_host_json, "rows per host DuckDB reads from timeline.jsonl");

    // The same columns, the same nulls.
    let null_json: Value = nulls.iter().map(|(k, n)| (k.clone(), Value::from(*n))).collect::<serde_json::Map<_, _>>().into();
    assert_eq!(pq["nulls"], null_json, "null counts per column: timeline.parquet vs timeline.jsonl (serde)");
    assert_eq!(js["nulls"], null_json, "null counts per column: DuckDB's JSONL reading vs serde's");
    let db1 = per_host["db-1"];
    assert_eq!(nulls.get("clock_offset_us"), Some(&db1), "clock_offset_us is null exactly on the host without clock.json");

    // Types: the Parquet's are the README's table; the JSONL's the same wherever DuckDB can tell (`fields` is read
    // as a MAP there, and a column null in every row has no type).
    let cols = |side: &Value| -> Vec<(String, String)> {
        side["columns"].as_array().expect("columns").iter()
            .map(|c| (c[0].as_str().expect("name").to_owned(), c[1].as_str().expect("type").to_owned()))
            .collect()
    };
    assert_eq!(cols(pq), documented, "timeline.parquet's columns and DuckDB types vs README.md's table");
    let pq_types: BTreeMap<_, _> = cols(pq).into_iter().collect();
    for (name, ty) in cols(js) {
        let want = pq_types.get(&name).unwrap_or_else(|| panic!("timeline.jsonl has column {name}, timeline.parquet has not"));
        // JSON numbers carry no width: read_json_auto takes some integer columns as HUGEINT.
        let ty = if ty == "HUGEINT" { "BIGINT".to_owned() } else { ty };
        if name != "fields" && ty != "\"NULL\"" {
            assert_eq!(&ty, want, "type of {name}: read_json_auto('timeline.jsonl') vs timeline.parquet");
        }
    }
    assert_eq!(cols(js).len(), pq_types.len(), "timeline.jsonl and timeline.parquet have the same columns");

    // The README's queries: the same answer from either file, and an answer.
    for q in got["queries"].as_array().expect("queries") {
        assert_eq!(q["parquet"], q["jsonl"], "over timeline.parquet vs read_json_auto('timeline.jsonl'): {}", q["sql"]);
        assert!(!q["parquet"]["rows"].as_array().expect("rows").is_empty(), "no rows: {}", q["sql"]);
    }
    eprintln!("duckdb {}: {} rows, {} queries agree", got["duckdb"], total, queries.len());
}
