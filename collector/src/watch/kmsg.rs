//! The kernel's death lines, copied from `/dev/kmsg` as they come (and, at start, those still in the ring),
//! so a wrapped ring buffer or a reboot does not lose them. Which records count as death lines is
//! [`is_death`]; the rest of the log is left to the collector's ordinary kmsg copy.

/// Substrings of a kmsg message that mark a record worth keeping: the OOM killer's report, faults and
/// traps, hung tasks, panics and oopses.
pub const DEATH_MARKS: &[&str] = &[
    // OOM killer (`mm/oom_kill.c`): the invocation, the constraint line, the kill, the reaper.
    "invoked oom-killer",
    "oom-kill:",
    "Out of memory",
    "Memory cgroup out of memory",
    "Killed process",
    "oom_reaper:",
    // Faults (`arch/x86/mm/fault.c`, `arch/x86/kernel/traps.c`).
    " segfault at ",
    "traps: ",
    " trap ",
    "general protection fault",
    "potentially unexpected fatal signal",
    // Hung tasks and lockups.
    "blocked for more than",
    "soft lockup",
    "hard LOCKUP",
    "rcu_sched self-detected stall",
    // Panics and oopses.
    "Kernel panic",
    "BUG: ",
    "Oops: ",
];

/// One `/dev/kmsg` record's header: `PRI,SEQ,TS_US,FLAGS[,…];MESSAGE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KmsgHeader<'a> {
    pub seq: u64,
    pub ts_us: u64,
    /// The first line of the message.
    pub message: &'a str,
}

/// Splits a record (as one `read` of `/dev/kmsg` gives it); `None` if it is not one.
pub fn header(record: &str) -> Option<KmsgHeader<'_>> {
    let (head, rest) = record.split_once(';')?;
    let mut f = head.split(',');
    let _pri: u32 = f.next()?.parse().ok()?;
    let seq = f.next()?.parse().ok()?;
    let ts_us = f.next()?.parse().ok()?;
    let message = rest.split('\n').next().unwrap_or("");
    Some(KmsgHeader { seq, ts_us, message })
}

/// Whether a message is a death line.
pub fn is_death(message: &str) -> bool {
    DEATH_MARKS.iter().any(|m| message.contains(m))
}

/// `BOOT_ID SEQ`: the last record copied, kept beside the files so a restart does not copy twice.
pub fn parse_resume(text: &str, boot_id: Option<&str>) -> Option<u64> {
    let (b, seq) = text.trim().split_once(' ')?;
    (Some(b) == boot_id).then(|| seq.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../../../fixtures/watch/kmsg.txt");

    #[test]
    fn the_real_oom_and_segfault_records_are_kept_and_others_not() {
        let recs: Vec<&str> = FIXTURE.lines().filter(|l| !l.starts_with('#')).collect();
        let kept: Vec<u64> = recs.iter().filter_map(|r| header(r)).filter(|h| is_death(h.message)).map(|h| h.seq).collect();
        assert_eq!(kept, vec![339, 341, 417, 418]);
        let h = header(recs[0]).expect("header");
        assert_eq!((h.seq, h.ts_us), (339, 9_470_360_401));
        // The task table row of the OOM report is not a death line by itself.
        assert!(recs.iter().any(|r| r.contains("[  23896]") && !is_death(header(r).expect("h").message)));
    }

    #[test]
    fn bad_records_and_resume_state() {
        assert_eq!(header("garbage"), None);
        assert_eq!(header("x,1,2,-;m"), None);
        assert_eq!(parse_resume("abc 41\n", Some("abc")), Some(41));
        assert_eq!(parse_resume("abc 41\n", Some("other-boot")), None);
        assert_eq!(parse_resume("", Some("abc")), None);
    }
}
