//! Cross-host patterns: the same killer, cron job, deploy tool or OOM on several hosts within a window, on the
//! controller's clock.
//!
//! Each kind gives a death a key (or none). Deaths with the same kind and key, placed in time order on the
//! controller's clock, form clusters where consecutive deaths are at most the window apart; a cluster that spans
//! two hosts or more is a pattern. A death without a time of its own (`Timestamp::Unknown`) cannot be placed in
//! a window and joins none. The sentence says only what the findings themselves hold: counts, hosts, key and
//! first–last times, never why.

use std::collections::BTreeSet;

use coroner_schemas::finding::{Cause, Finding};
use coroner_schemas::{FindingsDoc, Utc};
use serde::Serialize;

/// One host's deaths, and how far its clock was ahead of the controller's (unknown: `None`).
pub struct HostDeaths<'a> {
    pub host: &'a str,
    pub offset_us: Option<i64>,
    pub findings: &'a FindingsDoc,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PatternKind {
    KillerCommand,
    KillerUser,
    CronJob,
    DeployTool,
    CgroupOom,
    OomStorm,
    Reboot,
}

/// Deaths on two or more hosts that share `key`, between `first` and `last` (corrected times).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Pattern {
    pub kind: PatternKind,
    /// What is shared, e.g. `user deploy, command pkill`.
    pub key: String,
    pub hosts: Vec<String>,
    pub first: Option<Utc>,
    pub last: Option<Utc>,
    /// (host, finding id), each death once.
    pub deaths: Vec<(String, String)>,
    /// One plain sentence (unescaped: the renderer escapes it).
    pub summary: String,
}

/// Deploy and configuration-management agents, as a process `comm` names them (at most 15 bytes, so
/// `ansible-playbook` shows as `ansible-playboo`): a name equal to one of these, or starting with one followed by
/// `-`, `_` or `.`, matches. Ansible's modules run as `python3 …/AnsiballZ_*.py`, whose `comm` is `python3`: only
/// a chain that names `ansible…` or `AnsiballZ…` itself (a module run directly, `ansible-pull`) shows Ansible.
pub const DEPLOY_TOOLS: &[&str] = &[
    "ansible",
    "AnsiballZ",
    "salt-minion",
    "salt-call",
    "puppet",
    "chef-client",
    "chef-solo",
    "cf-agent",
    "cf-execd",
    "mgmt",
    "rudder",
    "saltutil",
];

/// Cron daemons' names (the findings' own `via` says `cron` where one is in the sender's chain).
const CRON: &[&str] = &["cron", "crond", "anacron", "atd", "CRON"];

/// One death on the controller's clock.
struct Death<'a> {
    host: &'a str,
    corrected: bool,
    at: Utc,
    f: &'a Finding,
}

/// The patterns among `hosts`' deaths: deaths of one kind and key at most `window_s` seconds apart (each from the
/// next, in corrected time order) join one cluster.
pub fn find(hosts: &[HostDeaths<'_>], window_s: i64) -> Vec<Pattern> {
    let window_us = window_s.max(0).saturating_mul(1_000_000);
    let mut deaths: Vec<Death<'_>> = Vec::new();
    for h in hosts {
        for f in &h.findings.findings {
            let Some(t) = f.time.sort_key() else { continue };
            let at = match h.offset_us {
                Some(d) => Utc::from_unix_micros(t.unix_micros().saturating_sub(d)),
                None => Some(t),
            };
            if let Some(at) = at {
                deaths.push(Death { host: h.host, corrected: h.offset_us.is_some(), at, f });
            }
        }
    }
    // Time order with tie-breakers, so clusters and the order of `deaths` do not depend on the input order.
    deaths.sort_by(|a, b| (a.at, a.host, &a.f.id).cmp(&(b.at, b.host, &b.f.id)));

    let mut out = Vec::new();
    for kind in [
        PatternKind::KillerCommand,
        PatternKind::KillerUser,
        PatternKind::CronJob,
        PatternKind::DeployTool,
        PatternKind::CgroupOom,
        PatternKind::OomStorm,
        PatternKind::Reboot,
    ] {
        let mut keyed: Vec<(String, &Death<'_>)> = deaths.iter().filter_map(|d| key_of(kind, d.f).map(|k| (k, d))).collect();
        // By key, then time (a stable sort keeps the time order within a key).
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        for run in keyed.chunk_by(|a, b| a.0 == b.0) {
            for cluster in run.chunk_by(|a, b| b.1.at.unix_micros().saturating_sub(a.1.at.unix_micros()) <= window_us) {
                let members: Vec<&Death<'_>> = cluster.iter().map(|(_, d)| *d).collect();
                if let Some(p) = pattern(kind, &cluster[0].0, &members) {
                    out.push(p);
                }
            }
        }
    }
    // A user's deaths that one command's pattern already holds, all of them, say nothing new.
    let by_command: Vec<Vec<(String, String)>> =
        out.iter().filter(|p| p.kind == PatternKind::KillerCommand).map(|p| p.deaths.clone()).collect();
    out.retain(|p| p.kind != PatternKind::KillerUser || !by_command.contains(&p.deaths));
    out.sort_by(|a, b| (a.kind, a.first, &a.key, &a.hosts).cmp(&(b.kind, b.first, &b.key, &b.hosts)));
    out
}

/// What a death shares with others under `kind`, or `None` when the finding does not show it.
fn key_of(kind: PatternKind, f: &Finding) -> Option<String> {
    // A reboot's "killer" is a shutdown command seen before it, not a proven sender: no killer patterns for it.
    let killer = f.killer.as_ref().filter(|_| f.cause != Cause::Reboot);
    match kind {
        PatternKind::KillerCommand => {
            let k = killer?;
            Some(format!("user {}, command {}", user_of(k)?, command_of(k)?))
        }
        PatternKind::KillerUser => Some(format!("user {}", user_of(killer?)?)),
        PatternKind::CronJob => {
            let k = killer?;
            let by_cron = f.via.as_deref() == Some("cron") || k.parent_chain.iter().any(|c| CRON.contains(&chain_name(c)));
            if !by_cron {
                return None;
            }
            Some(format!("cron, command {}", k.command.as_deref().map(str::to_owned).or_else(|| command_of(k))?))
        }
        PatternKind::DeployTool => {
            let k = killer?;
            let names = k.comm.iter().map(String::as_str).chain(k.exe.as_deref().map(base)).chain(k.parent_chain.iter().map(|c| chain_name(c)));
            let tool = names.filter_map(deploy_tool).next()?;
            Some(format!("deploy tool {tool}"))
        }
        PatternKind::CgroupOom => {
            if f.cause != Cause::OomKill {
                return None;
            }
            if let Some(image) = f.victim.container.as_ref().and_then(|c| c.image.as_deref()) {
                return Some(format!("container image {image}"));
            }
            // The cgroup whose limit was hit; a global OOM (memcg `/`, or none named) is the storm's business.
            let memcg = f.details.get("oom_memcg").and_then(|v| v.as_str()).filter(|m| *m != "/")?;
            Some(format!("memory cgroup {memcg}"))
        }
        PatternKind::OomStorm => (f.cause == Cause::OomKill).then(|| "oom kills".to_owned()),
        PatternKind::Reboot => (f.cause == Cause::Reboot).then(|| "reboots".to_owned()),
    }
}

/// The sender's user: its name where the evidence gave one, else its uid.
fn user_of(k: &coroner_schemas::finding::Killer) -> Option<String> {
    k.user.clone().or_else(|| k.uid.map(|u| format!("uid {u}")))
}

/// The sender's command name: its `comm`, else its executable's file name.
fn command_of(k: &coroner_schemas::finding::Killer) -> Option<String> {
    k.comm.clone().filter(|c| !c.is_empty()).or_else(|| k.exe.as_deref().map(|e| base(e).to_owned()))
}

fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// A parent-chain element's name: `sh (123)` → `sh`; `pid 123` stays as it is.
fn chain_name(c: &str) -> &str {
    match c.rsplit_once(" (") {
        Some((name, pid)) if pid.strip_suffix(')').is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) => name,
        _ => c,
    }
}

/// The listed tool a process name is, if any.
fn deploy_tool(name: &str) -> Option<&'static str> {
    DEPLOY_TOOLS.iter().copied().find(|t| {
        name == *t || name.strip_prefix(t).is_some_and(|rest| rest.starts_with(['-', '_', '.']))
    })
}

/// The pattern of one cluster, if it spans two hosts or more.
fn pattern(kind: PatternKind, key: &str, members: &[&Death<'_>]) -> Option<Pattern> {
    let hosts: BTreeSet<&str> = members.iter().map(|d| d.host).collect();
    if hosts.len() < 2 {
        return None;
    }
    // A host given twice under one key would list its deaths twice; each is kept once, in time order.
    let mut seen: BTreeSet<(&str, &str)> = BTreeSet::new();
    let deaths: Vec<(String, String)> = members
        .iter()
        .filter(|d| seen.insert((d.host, d.f.id.as_str())))
        .map(|d| (d.host.to_owned(), d.f.id.clone()))
        .collect();
    let first = members.first().map(|d| d.at);
    let last = members.last().map(|d| d.at);
    let uncorrected: BTreeSet<&str> = members.iter().filter(|d| !d.corrected).map(|d| d.host).collect();
    let summary = sentence(kind, key, members, &deaths, &hosts, first, last, &uncorrected);
    Some(Pattern {
        kind,
        key: key.to_owned(),
        hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
        first,
        last,
        deaths,
        summary,
    })
}

/// At most this many host names are written out in a sentence; `hosts` holds them all.
pub const NAMED_HOSTS: usize = 8;

#[allow(clippy::too_many_arguments)]
fn sentence(
    kind: PatternKind,
    key: &str,
    members: &[&Death<'_>],
    deaths: &[(String, String)],
    hosts: &BTreeSet<&str>,
    first: Option<Utc>,
    last: Option<Utc>,
    uncorrected: &BTreeSet<&str>,
) -> String {
    let n = deaths.len();
    let label = match kind {
        PatternKind::KillerCommand | PatternKind::KillerUser => {
            // `user X, command Y` → `Y by user X`; a user's several commands are each named.
            let user = key.split(", command ").next().unwrap_or(key);
            let commands: BTreeSet<String> = members.iter().filter_map(|d| d.f.killer.as_ref().and_then(command_of)).collect();
            format!("{} by {user}", commands.into_iter().collect::<Vec<_>>().join(", "))
        }
        PatternKind::CronJob => format!("Sent from cron, command {}", key.trim_start_matches("cron, command ")),
        PatternKind::DeployTool => format!("{} in the sender's process chain", capital(key)),
        PatternKind::CgroupOom => format!("OOM kills in {key}"),
        PatternKind::OomStorm => "OOM kills".to_owned(),
        PatternKind::Reboot => "Reboots".to_owned(),
    };
    let count = match kind {
        PatternKind::Reboot => n.to_string(),
        _ if n == 1 => "1 death".to_owned(),
        _ => format!("{n} deaths"),
    };
    let named: Vec<&str> = hosts.iter().copied().take(NAMED_HOSTS).collect();
    let more = hosts.len().saturating_sub(NAMED_HOSTS);
    let host_list = if more > 0 { format!("{}, and {more} more", named.join(", ")) } else { named.join(", ") };
    let when = match (first, last) {
        (Some(a), Some(b)) if a == b => format!(" at {}", hms(a)),
        (Some(a), Some(b)) => format!(" between {} and {}", hms(a), hms(b)),
        _ => String::new(),
    };
    let clock = if uncorrected.is_empty() {
        " (controller clock)".to_owned()
    } else {
        format!(
            " (uncorrected host clock for {}: its skew is unknown)",
            uncorrected.iter().copied().take(NAMED_HOSTS).collect::<Vec<_>>().join(", ")
        )
    };
    format!("{label}: {count} on {} hosts ({host_list}){when}{clock}.", hosts.len())
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// `2026-12-06 14:02:05 UTC`: seconds are enough for a window of minutes.
fn hms(t: Utc) -> String {
    let s = t.rfc3339();
    match (s.get(..10), s.get(11..19)) {
        (Some(d), Some(hms)) => format!("{d} {hms} UTC"),
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Real findings: fixtures/fleet/stage.sh staged these hosts' records on clocks 0, +180 s and −90 s off true
    // time, collected each tree with coroner-collect --root and rendered it with coroner-report render.
    const WEB1: &str = include_str!("../../../fixtures/fleet/findings-web-1.json");
    const WEB2: &str = include_str!("../../../fixtures/fleet/findings-web-2.json");
    const DB1: &str = include_str!("../../../fixtures/fleet/findings-db-1.json");

    fn docs() -> Vec<(&'static str, i64, FindingsDoc)> {
        [("web-1", 0, WEB1), ("web-2", 180, WEB2), ("db-1", -90, DB1)]
            .into_iter()
            .map(|(h, d, j)| (h, d * 1_000_000, serde_json::from_str(j).expect("findings.json")))
            .collect()
    }

    /// The hosts with their offsets, or with none known (`corrected == false`).
    fn run(docs: &[(&'static str, i64, FindingsDoc)], corrected: bool, window_s: i64) -> Vec<Pattern> {
        let hosts: Vec<HostDeaths<'_>> =
            docs.iter().map(|(h, d, f)| HostDeaths { host: h, offset_us: corrected.then_some(*d), findings: f }).collect();
        find(&hosts, window_s)
    }

    fn of(ps: &[Pattern], kind: PatternKind) -> Vec<&Pattern> {
        ps.iter().filter(|p| p.kind == kind).collect()
    }

    fn t(s: &str) -> Option<Utc> {
        Utc::parse_rfc3339(s)
    }

    fn ids(p: &Pattern) -> Vec<(&str, &str)> {
        p.deaths.iter().map(|(h, i)| (h.as_str(), i.as_str())).collect()
    }

    /// The staged pkill by deploy, at 14:02:05, 14:02:40 and 14:03:10 true time, is one pattern on the three hosts
    /// once each host's clock is corrected, with its corrected first and last times.
    #[test]
    fn one_pkill_by_one_user_across_shifted_clocks() {
        let ps = run(&docs(), true, 60);
        let k = of(&ps, PatternKind::KillerCommand);
        let pk: Vec<&&Pattern> = k.iter().filter(|p| p.key == "user deploy, command pkill").collect();
        assert_eq!(pk.len(), 1, "{ps:#?}");
        let p = pk[0];
        assert_eq!(p.hosts, ["db-1", "web-1", "web-2"]);
        assert_eq!(ids(p), [("web-1", "F1"), ("web-2", "F1"), ("db-1", "F1")]);
        assert_eq!(p.first, t("2026-12-06T14:02:05.059Z"));
        assert_eq!(p.last, t("2026-12-06T14:03:10.059Z"));
        assert_eq!(
            p.summary,
            "pkill by user deploy: 3 deaths on 3 hosts (db-1, web-1, web-2) between 2026-12-06 14:02:05 UTC and \
             2026-12-06 14:03:10 UTC (controller clock)."
        );
    }

    /// On the hosts' own clocks (skew unknown) the same deaths lie 3.5 minutes apart: with a one-minute window
    /// only db-1 (−90 s) and web-1 (0) meet, and the sentence says the times are uncorrected.
    #[test]
    fn uncorrected_clocks_split_the_pkill_and_say_so() {
        let ps = run(&docs(), false, 60);
        let pk: Vec<&Pattern> = ps.iter().filter(|p| p.key == "user deploy, command pkill").collect();
        assert_eq!(pk.len(), 1, "{ps:#?}");
        assert_eq!(pk[0].hosts, ["db-1", "web-1"]);
        assert!(pk[0].summary.contains("uncorrected host clock for db-1, web-1"), "{}", pk[0].summary);
        // The OOM kills (14:04:00, 14:05:00, 14:08:20 on the host clocks) no longer make one storm either.
        let storm = of(&ps, PatternKind::OomStorm);
        assert_eq!(storm.len(), 1, "{ps:#?}");
        assert_eq!(storm[0].hosts, ["db-1", "web-1"]);
    }

    /// deploy also ran `kill` on web-2 (14:02:50): the user's pattern holds both commands; with web-2 left out, the
    /// user's deaths are exactly the pkill pattern's and the user pattern is not repeated.
    #[test]
    fn a_user_pattern_only_where_it_adds_deaths() {
        let all = docs();
        let ps = run(&all, true, 60);
        let u = of(&ps, PatternKind::KillerUser);
        assert_eq!(u.len(), 1, "{ps:#?}");
        assert_eq!(u[0].key, "user deploy");
        assert_eq!(ids(u[0]), [("web-1", "F1"), ("web-2", "F1"), ("web-2", "F2"), ("db-1", "F1")]);
        assert!(u[0].summary.starts_with("kill, pkill by user deploy: 4 deaths on 3 hosts"), "{}", u[0].summary);

        let no_web2: Vec<_> = all.into_iter().filter(|(h, _, _)| *h != "web-2").collect();
        // 14:02:05 and 14:03:10: 65 s apart.
        let ps = run(&no_web2, true, 120);
        assert!(of(&ps, PatternKind::KillerUser).is_empty(), "{ps:#?}");
        assert_eq!(of(&ps, PatternKind::KillerCommand).iter().filter(|p| p.key.starts_with("user deploy")).count(), 1);
    }

    #[test]
    fn cron_deploy_tool_cgroup_oom_storm_and_reboots() {
        let ps = run(&docs(), true, 60);
        let cron = of(&ps, PatternKind::CronJob);
        assert_eq!(cron.len(), 1, "{ps:#?}");
        assert_eq!(cron[0].key, "cron, command pkill -TERM nightly");
        assert_eq!(cron[0].hosts, ["db-1", "web-1", "web-2"]);

        let salt = of(&ps, PatternKind::DeployTool);
        assert_eq!(salt.len(), 1, "{ps:#?}");
        assert_eq!(salt[0].key, "deploy tool salt-minion");
        assert_eq!(salt[0].hosts, ["web-1", "web-2"]);
        assert_eq!(salt[0].first, t("2026-12-06T14:30:00.059Z"));
        assert_eq!(salt[0].last, salt[0].first, "the same true time on both hosts");
        assert!(salt[0].summary.contains("at 2026-12-06 14:30:00 UTC"), "{}", salt[0].summary);

        let cg = of(&ps, PatternKind::CgroupOom);
        assert_eq!(cg.len(), 1, "{ps:#?}");
        assert_eq!(cg[0].key, "memory cgroup /app");
        assert_eq!(cg[0].hosts, ["db-1", "web-1", "web-2"]);
        let storm = of(&ps, PatternKind::OomStorm);
        assert_eq!(storm.len(), 1);
        assert_eq!(ids(storm[0]), [("web-1", "F2"), ("web-2", "F3"), ("db-1", "F2")]);
        assert_eq!((storm[0].first, storm[0].last), (t("2026-12-06T14:05:00.000123Z"), t("2026-12-06T14:05:30.000123Z")));

        // The two crashes' boots (bounded times: the boot record) at 14:10:00 true time on web-1 and web-2.
        let rb = of(&ps, PatternKind::Reboot);
        assert_eq!(rb.len(), 1, "{ps:#?}");
        assert_eq!(rb[0].hosts, ["web-1", "web-2"]);
        assert_eq!(rb[0].summary, "Reboots: 2 on 2 hosts (web-1, web-2) at 2026-12-06 14:10:00 UTC (controller clock).");
    }

    /// A window smaller than the gaps between true times splits every cluster into single hosts: nothing.
    #[test]
    fn a_tight_window_joins_nothing_a_wide_one_joins_by_key_only() {
        // Left: the deaths staged at one true instant on each host (cron, salt, the boots), nothing 30 s apart.
        let ps = run(&docs(), true, 5);
        let kinds: Vec<(PatternKind, &str)> = ps.iter().map(|p| (p.kind, p.key.as_str())).collect();
        assert_eq!(
            kinds,
            [
                (PatternKind::KillerCommand, "user root, command pkill"),
                (PatternKind::KillerCommand, "user root, command kill"),
                (PatternKind::CronJob, "cron, command pkill -TERM nightly"),
                (PatternKind::DeployTool, "deploy tool salt-minion"),
                (PatternKind::Reboot, "reboots"),
            ]
        );
        // An hour joins the deploy user's and root's deaths but never two keys: each pattern's deaths share its key.
        for p in run(&docs(), true, 3600) {
            let keys: BTreeSet<Option<String>> = p
                .deaths
                .iter()
                .map(|(h, id)| {
                    let doc = docs().into_iter().find(|(n, _, _)| n == h).expect("host").2;
                    let f = doc.findings.iter().find(|f| &f.id == id).expect("finding").clone();
                    key_of(p.kind, &f)
                })
                .collect();
            assert_eq!(keys, BTreeSet::from([Some(p.key.clone())]), "{p:#?}");
        }
    }

    /// One host's deaths never make a pattern, however many share a key.
    #[test]
    fn one_host_is_no_pattern() {
        let all = docs();
        let ps = run(&all[..1], true, 3600);
        assert!(ps.is_empty(), "{ps:#?}");
        // The same host's findings given twice under one name are still one host.
        let twice = vec![all[0].clone(), all[0].clone()];
        assert!(run(&twice, true, 3600).is_empty());
    }

    /// The output does not depend on the order the hosts come in, and lists each death once per pattern.
    #[test]
    fn deterministic_and_each_death_once() {
        let mut all = docs();
        let a = run(&all, true, 60);
        all.reverse();
        let b = run(&all, true, 60);
        assert_eq!(a, b);
        let order: Vec<(PatternKind, Option<Utc>, &str)> = a.iter().map(|p| (p.kind, p.first, p.key.as_str())).collect();
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted);
        for p in &a {
            let set: BTreeSet<&(String, String)> = p.deaths.iter().collect();
            assert_eq!(set.len(), p.deaths.len(), "{p:#?}");
        }
    }

    /// Containers of one image OOM-killed on two hosts share no cgroup path (`/docker/<id>` differs per host):
    /// the image is the key where the finding names one.
    #[test]
    fn one_image_oom_killed_on_two_hosts() {
        use coroner_schemas::finding::ContainerRef;
        let mut all = docs();
        for (n, (_, _, doc)) in all.iter_mut().enumerate() {
            for f in doc.findings.iter_mut().filter(|f| f.cause == Cause::OomKill) {
                let id = format!("{n:064x}");
                f.details.insert("oom_memcg".into(), serde_json::json!(format!("/docker/{id}")));
                f.victim.container = Some(ContainerRef {
                    runtime: "docker".into(),
                    id,
                    name: Some("api".into()),
                    image: (n < 2).then(|| "registry.example/api:1.4".to_owned()),
                    restart_count: None,
                });
            }
        }
        let ps = run(&all, true, 60);
        let cg = of(&ps, PatternKind::CgroupOom);
        assert_eq!(cg.len(), 1, "{ps:#?}");
        assert_eq!(cg[0].key, "container image registry.example/api:1.4");
        assert_eq!(cg[0].hosts, ["web-1", "web-2"], "db-1's container names no image and its cgroup is its own");
        assert_eq!(of(&ps, PatternKind::OomStorm)[0].hosts, ["db-1", "web-1", "web-2"]);
    }

    #[test]
    fn deploy_tool_names() {
        assert_eq!(deploy_tool("salt-minion"), Some("salt-minion"));
        assert_eq!(deploy_tool("ansible-playboo"), Some("ansible"));
        assert_eq!(deploy_tool("AnsiballZ_comma"), Some("AnsiballZ"));
        assert_eq!(deploy_tool("puppetd"), None, "a name that only starts with a tool's is not it");
        assert_eq!(deploy_tool("python3"), None);
        assert_eq!(chain_name("salt-minion (5000)"), "salt-minion");
        assert_eq!(chain_name("pid 1"), "pid 1");
    }
}
