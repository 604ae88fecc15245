//! Cross-host patterns: the same killer, cron job, deploy tool or OOM on several hosts within a window, on the
//! controller's clock.

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

/// The patterns among `hosts`' deaths, deaths closer than `window_s` seconds joining one cluster.
pub fn find(hosts: &[HostDeaths<'_>], window_s: i64) -> Vec<Pattern> {
    let _ = (hosts, window_s);
    Vec::new()
}
