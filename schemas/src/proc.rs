//! `live/proc/processes.json`: the process table at collection, read directly from `/proc`.
//!
//! Structured because `/proc` is volatile, but each record also keeps the raw `stat` line and the raw
//! `limits` text so the report can re-derive anything.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Text, Utc};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcSnapshot {
    /// When the table was read (start of the walk).
    pub taken: Utc,
    /// `btime` from `/proc/stat`, seconds since the epoch.
    pub btime: u64,
    /// sysconf(_SC_CLK_TCK).
    pub clk_tck: u64,
    /// Page size in bytes.
    pub page_size: u64,
    /// Sorted by pid.
    pub processes: Vec<ProcessRecord>,
    /// Processes that vanished while read, or fields that could not be read.
    pub problems: Vec<ProcProblem>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcProblem {
    pub pid: Option<i64>,
    pub file: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessRecord {
    pub pid: i64,
    pub ppid: Option<i64>,
    pub pgid: Option<i64>,
    pub sid: Option<i64>,
    /// `tty_nr` from stat (device number; 0 = none).
    pub tty_nr: Option<i64>,
    /// Real, effective, saved, filesystem uids (status `Uid:`).
    pub uids: Vec<u32>,
    pub gids: Vec<u32>,
    /// Name of the real uid and of the effective uid, from the host's `/etc/passwd`.
    pub user: Option<String>,
    pub euser: Option<String>,
    /// `comm` (≤ 15 bytes; may hold any bytes but NUL and newline).
    pub comm: Option<Text>,
    /// readlink of `/proc/PID/exe`.
    pub exe: Option<Text>,
    /// `/proc/PID/cmdline` split at NUL.
    pub cmdline: Vec<Text>,
    /// readlink of `/proc/PID/cwd`.
    pub cwd: Option<Text>,
    /// One-letter state (`R`, `S`, `D`, `Z`, …).
    pub state: Option<String>,
    /// Start time in clock ticks since boot (stat field 22).
    pub starttime_ticks: Option<u64>,
    /// `btime + starttime_ticks / clk_tck`, computed in integers.
    pub start_time: Option<Utc>,
    pub vsize_bytes: Option<u64>,
    pub rss_bytes: Option<u64>,
    pub threads: Option<i64>,
    pub nice: Option<i64>,
    pub oom_score: Option<i64>,
    pub oom_score_adj: Option<i64>,
    /// `/proc/PID/cgroup` lines.
    pub cgroups: Vec<String>,
    /// Namespace name → inode (`pid` → 4026531836).
    pub namespaces: std::collections::BTreeMap<String, u64>,
    /// `/proc/PID/loginuid` (4294967295 = unset).
    pub loginuid: Option<u32>,
    pub sessionid: Option<u32>,
    /// Signal masks from status, hex as the kernel prints them.
    pub sig_pnd: Option<String>,
    pub sig_blk: Option<String>,
    pub sig_ign: Option<String>,
    pub sig_cgt: Option<String>,
    /// `/proc/PID/limits`, raw.
    pub limits: Option<Text>,
    /// `/proc/PID/stat`, raw.
    pub stat_raw: Option<Text>,
}

impl ProcessRecord {
    /// A record of `pid` with nothing read yet: every field empty, for the reader to fill in.
    pub fn new(pid: i64) -> ProcessRecord {
        ProcessRecord {
            pid,
            ppid: None,
            pgid: None,
            sid: None,
            tty_nr: None,
            uids: Vec::new(),
            gids: Vec::new(),
            user: None,
            euser: None,
            comm: None,
            exe: None,
            cmdline: Vec::new(),
            cwd: None,
            state: None,
            starttime_ticks: None,
            start_time: None,
            vsize_bytes: None,
            rss_bytes: None,
            threads: None,
            nice: None,
            oom_score: None,
            oom_score_adj: None,
            cgroups: Vec::new(),
            namespaces: Default::default(),
            loginuid: None,
            sessionid: None,
            sig_pnd: None,
            sig_blk: None,
            sig_ign: None,
            sig_cgt: None,
            limits: None,
            stat_raw: None,
        }
    }
}

/// Where one process's object starts in a snapshot's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordAt {
    /// 1-based line.
    pub line: u64,
    /// Byte offset of its `{`.
    pub offset: u64,
}

impl ProcSnapshot {
    /// The bytes the collector writes: one JSON document whose `processes` array holds one process object per
    /// line, so a process's bytes can be found (and grepped, and diffed) by line; a trailing newline ends it.
    pub fn to_bytes(&self) -> serde_json::Result<Vec<u8>> {
        let mut head = serde_json::to_value(self)?;
        let obj = head.as_object_mut().ok_or_else(|| serde::ser::Error::custom("snapshot is not an object"))?;
        obj.remove("processes");
        // Everything but the process list, then the list one object a line, then the problems after it.
        let problems = obj.remove("problems").unwrap_or_default();
        let mut out = serde_json::to_vec(&head)?;
        out.pop(); // the closing brace; the two lists follow
        out.extend_from_slice(b",\"processes\":[");
        for (i, p) in self.processes.iter().enumerate() {
            out.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
            serde_json::to_writer(&mut out, p)?;
        }
        out.extend_from_slice(b"\n],\"problems\":");
        serde_json::to_writer(&mut out, &problems)?;
        out.extend_from_slice(b"}\n");
        Ok(out)
    }

    /// Reads a snapshot in any JSON layout, with where each process's object starts (in `processes` order):
    /// found from the parse itself, so a compact, pretty or hand-edited file is located alike.
    pub fn from_bytes(raw: &[u8]) -> serde_json::Result<(ProcSnapshot, Vec<RecordAt>)> {
        #[derive(Deserialize)]
        struct Spans<'a> {
            #[serde(borrow)]
            processes: Vec<&'a serde_json::value::RawValue>,
        }
        let snap: ProcSnapshot = serde_json::from_slice(raw)?;
        let spans: Spans = serde_json::from_slice(raw)?;
        let base = raw.as_ptr() as usize;
        let mut at = Vec::with_capacity(spans.processes.len());
        let (mut line, mut counted) = (1u64, 0usize);
        for r in &spans.processes {
            // A borrowed RawValue is a slice of `raw`, so its address gives its offset.
            let offset = (r.get().as_ptr() as usize).saturating_sub(base).min(raw.len());
            line += raw[counted..offset].iter().filter(|&&b| b == b'\n').count() as u64;
            counted = offset;
            at.push(RecordAt { line, offset: offset as u64 });
        }
        Ok((snap, at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(pid: i64, comm: &str) -> ProcessRecord {
        ProcessRecord {
            ppid: Some(1),
            uids: vec![0, 0, 0, 0],
            user: Some("root".into()),
            comm: Some(Text::from_str(comm)),
            cmdline: vec![Text::from_str("a\nb")],
            state: Some("S".into()),
            limits: Some(Text::from_str("Limit\n")),
            ..ProcessRecord::new(pid)
        }
    }

    fn snapshot() -> ProcSnapshot {
        ProcSnapshot {
            taken: Utc::from_unix(1_796_000_000, 0).expect("time"),
            btime: 1_795_999_000,
            clk_tck: 100,
            page_size: 4096,
            processes: vec![record(1, "init"), record(42, "{\"pid\":7}"), record(4242, "x")],
            problems: vec![ProcProblem { pid: Some(1), file: "exe".into(), message: "permission denied".into() }],
        }
    }

    #[test]
    fn written_one_process_a_line_and_read_back_with_where_each_starts() {
        let s = snapshot();
        let raw = s.to_bytes().expect("encode");
        let (back, at) = ProcSnapshot::from_bytes(&raw).expect("decode");
        assert_eq!(back, s);
        assert_eq!(at.len(), 3);
        let text = std::str::from_utf8(&raw).expect("utf8");
        let lines: Vec<&str> = text.lines().collect();
        for (r, p) in at.iter().zip(&s.processes) {
            let from = &text[r.offset as usize..];
            assert!(from.starts_with(&format!("{{\"pid\":{},", p.pid)), "{from:.40}");
            assert!(lines[r.line as usize - 1].starts_with(&format!("{{\"pid\":{},", p.pid)));
        }
        assert_eq!(at.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 3, 4], "one process a line");
        assert!(text.ends_with("}\n"));
    }

    #[test]
    fn any_layout_is_located() {
        let s = snapshot();
        for raw in [serde_json::to_vec(&s).expect("compact"), serde_json::to_vec_pretty(&s).expect("pretty")] {
            let (back, at) = ProcSnapshot::from_bytes(&raw).expect("decode");
            assert_eq!(back, s);
            for (r, p) in at.iter().zip(&s.processes) {
                let obj: ProcessRecord =
                    serde_json::Deserializer::from_slice(&raw[r.offset as usize..])
                        .into_iter()
                        .next()
                        .expect("an object")
                        .expect("valid");
                assert_eq!(obj.pid, p.pid);
                let line_start = raw[..r.offset as usize].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
                assert_eq!(r.line, line_start);
            }
        }
    }
}
