//! Settings that decide how processes die and what trace they leave, as observed at collection
//! ([`Timestamp::Exact`] at `collector.finished`): sysctls (`live/settings/sysctl.json`), memory-cgroup
//! state (limits, usage, `failcnt`, OOM-kill counters), audit rules (`auditctl -l`: do they cover the kill
//! syscalls?), audit status (`auditctl -s`) and `systemctl show` of service units.
//!
//! Cgroup JSON is read tolerantly, since it is a capture format: any object holding `memory.*` keys is one
//! cgroup, named by its `path`/`cgroup` member or by the key it sits under. Values may be numbers or the
//! text the kernel prints (`memory.events`/`memory.oom_control` as `key value` lines).


use coroner_schemas::audit_rules::KillCoverage;
use coroner_schemas::manifest::Format;
use coroner_schemas::{Event, EventKind, FieldValue, Fields, Origin, Source, Text, Timestamp};
use serde_json::{json, Map, Value};

use super::history::lines;
use super::facts::{CgroupOom, Fact, KillAudit};
use super::{ParseProblem, Parsed, SourceCtx};

fn setting(ctx: &SourceCtx, line: Option<u64>, raw: &[u8], message: String, mut fields: Fields) -> Event {
    // `value` is text in every setting event (a sysctl's, a cgroup's OOM count, a rule count, a unit's
    // result): a field that is a number in some rows and a string in others conflicts in a timeline tool's
    // index (OpenSearch maps it by the first row it sees and rejects the rest). Typed copies stay in their
    // own fields (`oom_kill`, `enabled`, …).
    let text = fields.get("value").filter(|v| !v.is_null() && v.as_str().is_none()).map(|v| v.to_string());
    if let Some(t) = text {
        fields.insert("value".into(), t);
    }
    observed(ctx, line, None, raw, message, fields)
}

/// A setting as the collector observed it: at the collection's end, from the entry's bytes at `line`/`offset`.
pub(super) fn observed(ctx: &SourceCtx, line: Option<u64>, offset: Option<u64>, raw: &[u8], message: String, fields: Fields) -> Event {
    Event {
        fields,
        ..Event::new(
            Timestamp::Exact { utc: ctx.manifest.collector.finished },
            Source::Settings,
            EventKind::Setting,
            message,
            Text::from_bytes(raw),
            Origin { entry: ctx.path.clone(), line, offset },
        )
    }
}

pub fn parse(raw: &[u8], ctx: &SourceCtx) -> Parsed {
    match ctx.entry.format {
        Format::SysctlJson => sysctl(raw, ctx),
        Format::CgroupsJson => cgroups(raw, ctx),
        Format::AuditRules => audit_rules(raw, ctx),
        Format::AuditStatus => audit_status(raw, ctx),
        Format::SystemdShowJson => systemd_show(raw, ctx),
        _ => Parsed::default(),
    }
}

fn json_object(raw: &[u8], ctx: &SourceCtx, p: &mut Parsed, what: &str) -> Option<Map<String, Value>> {
    match serde_json::from_slice::<Value>(raw) {
        Ok(Value::Object(m)) => Some(m),
        Ok(_) => {
            p.problems.push(ParseProblem::at_offset(
                ctx,
                0,
                format!("{what}: expected a JSON object"),
            ));
            None
        }
        Err(e) => {
            p.problems
                .push(ParseProblem::at_offset(ctx, 0, format!("{what}: not valid JSON: {e}")));
            None
        }
    }
}

/// A sysctl value for display: strings as they are, `{"bytes": …}` decoded lossily, others as JSON.
fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "(unreadable)".into(),
        Value::Object(o) if o.contains_key("bytes") => serde_json::from_value::<Text>(v.clone())
            .map(|t| t.lossy())
            .unwrap_or_else(|_| v.to_string()),
        other => other.to_string(),
    }
}

fn sysctl(raw: &[u8], ctx: &SourceCtx) -> Parsed {
    let mut p = Parsed::default();
    let Some(obj) = json_object(raw, ctx, &mut p, "sysctl capture") else {
        return p;
    };
    let errors = obj
        .get("_errors")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut keys: Vec<&String> = obj.keys().filter(|k| *k != "_errors").collect();
    keys.sort();
    for k in keys {
        let v = &obj[k.as_str()];
        let mut f = Fields::new();
        f.insert("name".into(), json!(k));
        f.insert("value".into(), v.clone());
        if let Some(e) = errors.get(k.as_str()) {
            f.insert("error".into(), e.clone());
        }
        // Unreadable ones (`null`) are no fact.
        if !v.is_null() {
            p.facts.push(Fact::Sysctl { name: k.clone(), value: v.as_str().map_or_else(|| v.to_string(), str::to_owned) });
        }
        let line = format!("{k} = {}", shown(v));
        p.events.push(setting(ctx, None, line.as_bytes(), line.clone(), f));
    }
    p
}

/// `key value` lines (`memory.events`, `memory.oom_control`) into a map.
fn kv_text(s: &str) -> Fields {
    s.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let (k, v) = (it.next()?, it.next()?);
            Some((
                k.to_owned(),
                v.parse::<u64>().map(|n| json!(n)).unwrap_or_else(|_| json!(v)),
            ))
        })
        .collect()
}

/// A number from a JSON number or the kernel's text (`max` and v1's huge "no limit" stay as given).
fn num(v: Option<&Value>) -> Value {
    match v {
        Some(Value::Number(n)) => Value::Number(n.clone()),
        Some(Value::String(s)) => s
            .trim()
            .parse::<u64>()
            .map(|n| json!(n))
            .unwrap_or_else(|_| json!(s.trim())),
        _ => Value::Null,
    }
}

fn counters(v: Option<&Value>) -> Fields {
    match v {
        Some(Value::String(s)) => kv_text(s),
        Some(Value::Object(o)) => o.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        _ => Fields::new(),
    }
}

fn collect_cgroups(v: &Value, hint: &str, out: &mut Vec<(String, Map<String, Value>)>) {
    match v {
        Value::Object(o) => {
            if o.keys().any(|k| k.starts_with("memory.")) {
                let path = o
                    .get("path")
                    .or_else(|| o.get("cgroup"))
                    .and_then(Value::as_str)
                    .unwrap_or(hint)
                    .to_owned();
                out.push((path, o.clone()));
            }
            for (k, child) in o {
                if !k.starts_with("memory.") {
                    collect_cgroups(child, k, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|c| collect_cgroups(c, hint, out)),
        _ => {}
    }
}

fn cgroups(raw: &[u8], ctx: &SourceCtx) -> Parsed {
    let mut p = Parsed::default();
    let v: Value = match serde_json::from_slice(raw) {
        Ok(v) => v,
        Err(e) => {
            p.problems.push(ParseProblem::at_offset(
                ctx,
                0,
                format!("cgroup capture: not valid JSON: {e}"),
            ));
            return p;
        }
    };
    let mut found = Vec::new();
    collect_cgroups(&v, "", &mut found);
    found.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, o) in found {
        let v2 = o.contains_key("memory.max") || o.contains_key("memory.events");
        let events = counters(o.get("memory.events"));
        let oom_control = counters(o.get("memory.oom_control"));
        let limit = num(o.get("memory.max").or_else(|| o.get("memory.limit_in_bytes")));
        let usage = num(o.get("memory.current").or_else(|| o.get("memory.usage_in_bytes")));
        let oom_kill = events
            .get("oom_kill")
            .or_else(|| oom_control.get("oom_kill"))
            .cloned()
            .unwrap_or(FieldValue::Null);
        let failcnt = if v2 {
            events.get("max").cloned().unwrap_or(FieldValue::Null)
        } else {
            num(o.get("memory.failcnt")).into()
        };
        let mut f = Fields::new();
        f.insert("name".into(), json!(format!("cgroup:{path}")));
        f.insert("value".into(), oom_kill.clone());
        f.insert("cgroup".into(), json!(path));
        p.facts.push(Fact::CgroupLimit { cgroup: path.clone(), limit: limit.clone() });
        f.insert("limit".into(), limit.clone());
        f.insert("usage".into(), usage.clone());
        f.insert("oom_kill".into(), oom_kill.clone());
        f.insert("failcnt".into(), failcnt.clone());
        f.insert("cgroup_version".into(), json!(if v2 { 2 } else { 1 }));
        if let Some(m) = o.get("memory.max_usage_in_bytes").or_else(|| o.get("memory.peak")) {
            f.insert("max_usage".into(), num(Some(m)));
        }
        if let Some(u) = oom_control.get("under_oom").or_else(|| events.get("oom")) {
            f.insert(if v2 { "oom" } else { "under_oom" }.into(), u.clone());
        }
        cgroup_ooms(&path, &o, ctx, &mut p);
        let msg = format!("memory cgroup {path}: limit {limit} usage {usage} oom_kill {oom_kill} failcnt {failcnt}");
        let raw = serde_json::to_vec(&o).unwrap_or_default();
        p.events.push(setting(ctx, None, &raw, msg, f));
    }
    p
}

/// A memory cgroup's OOM counters as host facts: v2 `memory.events` (`oom`, `oom_kill`; subtree counts) and
/// `memory.events.local` (the cgroup's own, marked local), v1 `memory.oom_control` (`oom_kill`, kernels 4.13+;
/// v1 has no count of limit hits, its `under_oom` is a state). A file whose counters do not read gives none.
fn cgroup_ooms(path: &str, o: &Map<String, Value>, ctx: &SourceCtx, p: &mut Parsed) {
    let cgroup = if path == "/" { path.to_owned() } else { path.trim_end_matches('/').to_owned() };
    let origin = Origin { entry: ctx.path.clone(), line: None, offset: None };
    let count = |f: &Fields, k: &str| f.get(k).and_then(FieldValue::as_u64);
    for (file, local) in [("memory.events", false), ("memory.events.local", true)] {
        let c = counters(o.get(file));
        let (oom, oom_kill) = (count(&c, "oom"), count(&c, "oom_kill"));
        if oom.is_some() || oom_kill.is_some() {
            p.facts.push(Fact::CgroupOom(CgroupOom { cgroup: cgroup.clone(), oom, oom_kill, local, origin: origin.clone() }));
        }
    }
    if let Some(oom_kill) = count(&counters(o.get("memory.oom_control")), "oom_kill") {
        p.facts.push(Fact::CgroupOom(CgroupOom { cgroup, oom: None, oom_kill: Some(oom_kill), local: false, origin }));
    }
}

fn audit_rules(raw: &[u8], ctx: &SourceCtx) -> Parsed {
    let mut p = Parsed::default();
    let mut rules = Vec::new();
    for (line, _, bytes) in lines(raw) {
        let text = String::from_utf8_lossy(bytes);
        let l = text.trim();
        if l.is_empty() || l == "No rules" {
            continue;
        }
        if !l.starts_with('-') {
            p.problems
                .push(ParseProblem::at_line(ctx, line, "not an auditctl rule"));
            continue;
        }
        rules.push(l.to_owned());
    }
    let KillCoverage { covers, covering, narrowed, gaps } = KillCoverage::of(&rules);
    let mut f = Fields::new();
    f.insert("name".into(), json!("audit.rules"));
    f.insert("value".into(), json!(rules.len()));
    f.insert("covers_kill".into(), json!(covers));
    f.insert("kill_rules".into(), json!(covering.iter().map(|(r, _)| r).collect::<Vec<_>>()));
    if !gaps.is_empty() {
        f.insert("kill_rule_gaps".into(), json!(gaps));
    }
    f.insert("rules".into(), json!(rules));
    p.facts.push(Fact::KillAudit(KillAudit { covers, narrowed }));
    let msg = format!(
        "audit rules: {} loaded; kill-family syscalls {}",
        rules.len(),
        match (covers, covering.is_empty()) {
            (true, _) => "audited",
            (false, false) => "audited only in part",
            (false, true) => "NOT audited",
        }
    );
    p.events.push(setting(ctx, Some(1), raw, msg, f));
    p
}

fn audit_status(raw: &[u8], ctx: &SourceCtx) -> Parsed {
    let mut p = Parsed::default();
    let mut f = Fields::new();
    for (line, _, bytes) in lines(raw) {
        let text = String::from_utf8_lossy(bytes);
        let mut it = text.split_whitespace();
        let Some(k) = it.next() else { continue };
        let rest: Vec<&str> = it.collect();
        let Some(first) = rest.first() else {
            p.problems
                .push(ParseProblem::at_line(ctx, line, "audit status line without a value"));
            continue;
        };
        let v = match (first.parse::<i64>(), rest.len()) {
            (Ok(n), 1) => json!(n),
            _ => json!(rest.join(" ")),
        };
        f.insert(k.to_owned().into(), v);
    }
    let enabled = f.get("enabled").cloned().unwrap_or(FieldValue::Null);
    let msg = format!(
        "audit status: enabled {} pid {} lost {} backlog_limit {}",
        enabled,
        f.get("pid").unwrap_or(&FieldValue::Null),
        f.get("lost").unwrap_or(&FieldValue::Null),
        f.get("backlog_limit").unwrap_or(&FieldValue::Null)
    );
    f.insert("name".into(), json!("audit.status"));
    f.insert("value".into(), enabled);
    p.events.push(setting(ctx, Some(1), raw, msg, f));
    p
}

fn systemd_show(raw: &[u8], ctx: &SourceCtx) -> Parsed {
    let mut p = Parsed::default();
    let Some(obj) = json_object(raw, ctx, &mut p, "systemctl show capture") else {
        return p;
    };
    let mut units: Vec<(&String, &Value)> = obj.iter().collect();
    units.sort_by(|a, b| a.0.cmp(b.0));
    for (unit, props) in units {
        if unit == "_lossy" {
            // The collector's marker: `systemctl show` printed invalid UTF-8 and it was replaced.
            let msg = "systemctl show output was not UTF-8; the collector replaced invalid bytes";
            p.problems.push(ParseProblem::at_offset(ctx, 0, msg));
            continue;
        }
        let Some(props) = props.as_object() else {
            p.problems.push(ParseProblem::at_offset(
                ctx,
                0,
                format!("unit {unit}: properties are not an object"),
            ));
            continue;
        };
        let get = |k: &str| props.get(k).cloned().unwrap_or(Value::Null);
        let mut f = Fields::new();
        f.insert("name".into(), json!(format!("systemd:{unit}")));
        f.insert("value".into(), get("Result"));
        f.insert("unit".into(), json!(unit));
        f.insert("result".into(), get("Result"));
        f.insert("exec_main_code".into(), get("ExecMainCode"));
        f.insert("exec_main_status".into(), get("ExecMainStatus"));
        f.insert("exec_main_pid".into(), get("ExecMainPID"));
        f.insert("n_restarts".into(), num(props.get("NRestarts")));
        f.insert("limit_core".into(), get("LimitCORE"));
        f.insert("watchdog_usec".into(), get("WatchdogUSec"));
        f.insert("active_state".into(), get("ActiveState"));
        f.insert("sub_state".into(), get("SubState"));
        let s = |k: &str| {
            props
                .get(k)
                .map(|v| v.as_str().map_or(v.to_string(), str::to_owned))
                .unwrap_or_else(|| "?".into())
        };
        let msg = format!(
            "unit {unit}: {} ({}) result {} main code {} status {} restarts {} LimitCORE {}",
            s("ActiveState"),
            s("SubState"),
            s("Result"),
            s("ExecMainCode"),
            s("ExecMainStatus"),
            s("NRestarts"),
            s("LimitCORE")
        );
        let raw = serde_json::to_vec(props).unwrap_or_default();
        p.events.push(setting(ctx, None, &raw, msg, f));
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The audit.rules event: covered, covered only in part (a narrowed rule), not covered.
    #[test]
    fn audit_rules_event_names_the_gaps() {
        let m = crate::sources::testing::manifest();
        let e = crate::sources::testing::entry("cmd/auditctl-l", "auditctl -l", "audit", "audit_rules");
        let acc = coroner_schemas::accounts::Accounts::default();
        let ctx = SourceCtx::new(&e, &m, &acc);
        let ev = |raw: &str| audit_rules(raw.as_bytes(), &ctx).events.remove(0);
        let full = ev("-a always,exit -F arch=b64 -S kill,tkill,tgkill -F key=coroner_kill\n");
        assert_eq!(full.fields.get("covers_kill").and_then(|v| v.as_bool()), Some(true));
        assert!(full.fields.get("kill_rule_gaps").is_some_and(|g| g.to_string().contains("arch=b32")));
        let both = ev("-a always,exit -F arch=b64 -S kill -k k\n-a always,exit -F arch=b32 -S kill -k k\n");
        assert_eq!(both.fields.get("kill_rule_gaps"), None);
        let cis = ev("-a always,exit -F arch=b64 -S kill -F auid>=1000 -F auid!=-1 -F key=k\n");
        assert_eq!(cis.fields.get("covers_kill").and_then(|v| v.as_bool()), Some(false));
        assert!(cis.message.ends_with("audited only in part"), "{}", cis.message);
        assert!(cis.fields.get("kill_rule_gaps").is_some_and(|g| g.to_string().contains("auid>=1000 auid!=-1")));
        let none = ev("-w /etc/passwd -p wa -k passwd\n");
        assert!(none.message.ends_with("NOT audited"), "{}", none.message);        // The findings read the typed coverage, not the gap strings.
        let fact = |raw: &str| audit_rules(raw.as_bytes(), &ctx).facts.remove(0);
        let narrowed = "only calls matching auid>=1000 auid!=-1 are recorded (-a always,exit -F arch=b64 -S kill -F auid>=1000 -F auid!=-1 -F key=k)";
        assert!(matches!(fact("-a always,exit -F arch=b64 -S kill -F auid>=1000 -F auid!=-1 -F key=k\n"),
            Fact::KillAudit(KillAudit { covers: false, narrowed: n }) if n == [narrowed]));
        assert!(matches!(fact("-a always,exit -F arch=b64 -S kill -k k\n"), Fact::KillAudit(KillAudit { covers: true, narrowed: n }) if n.is_empty()));
    }

    /// Memory cgroups' OOM counters become host facts: v2 subtree and local counts, v1 `oom_kill`.
    #[test]
    fn cgroup_oom_counters_are_facts() {
        let m = crate::sources::testing::manifest();
        let a = coroner_schemas::accounts::Accounts::default();
        let e = crate::sources::testing::entry("live/cgroups/memory.json", "cgroups", "cgroups", "cgroups_json");
        let raw = br#"{"hierarchies":[{"version":2,"cgroups":{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podu.slice/":{"memory.max":"268435456","memory.events":"low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0","memory.events.local":"low 0\nhigh 0\nmax 0\noom 0\noom_kill 0"}}},{"version":1,"cgroups":{"/docker/x":{"memory.oom_control":"oom_kill_disable 0\nunder_oom 0\noom_kill 3"},"/old":{"memory.oom_control":"oom_kill_disable 0\nunder_oom 0"}}}]}"#;
        let p = parse(raw, &SourceCtx::new(&e, &m, &a));
        let got: Vec<(String, Option<u64>, Option<u64>, bool)> = p
            .facts
            .iter()
            .filter_map(|f| match f {
                Fact::CgroupOom(c) => Some((c.cgroup.clone(), c.oom, c.oom_kill, c.local)),
                _ => None,
            })
            .collect();
        let pod = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podu.slice".to_owned();
        assert_eq!(got, [("/docker/x".into(), None, Some(3), false), (pod.clone(), Some(1), Some(1), false), (pod, Some(0), Some(0), true)]);
    }
}
