//! ELF core files read without gdb: the ELF header, the program headers and the `PT_NOTE` segment's notes
//! (`NT_PRSTATUS`, `NT_PRPSINFO`, `NT_SIGINFO`, `NT_FILE`). ELF64 cores of the machines in [`MACHINES`] are
//! read, in their byte order: their kernels write the generic 64-bit layouts (`struct elf_prstatus_common`,
//! `struct elf_prpsinfo` with 32-bit `__kernel_uid_t`, the generic `siginfo_t`), checked against real cores
//! (fixtures/cores/PROVENANCE). ELF32 cores and other machines are reported as unsupported. The bundle may
//! hold only the head of a core: whatever notes are present are read and the rest is a recorded problem.
//!
//! A core has no time of its own. When its file name, read through `kernel.core_pattern` ([`core_name`]),
//! holds `%t` (the dump time), that is the event's time ([`Timestamp::Exact`]); else the file's mtime
//! ([`Timestamp::Inferred`]). What the name says goes in `name_*` fields; a name whose pid, comm or signal
//! differs from the notes' is a recorded problem (a renamed or planted file), and both are kept.


use coroner_schemas::manifest::Status;
use coroner_schemas::{Event, EventKind, Fields, Origin, Source, Timestamp};
use serde_json::json;

use super::core_name::{self, NameMatch, Spec};
use super::signals;
use super::{ParseProblem, Parsed, SourceCtx};

const ET_CORE: u16 = 4;
const PT_NOTE: u32 = 4;
const NT_PRSTATUS: u32 = 1;
const NT_PRPSINFO: u32 = 3;
const NT_SIGINFO: u32 = 0x5349_4749;
const NT_FILE: u32 = 0x4649_4c45;
/// `e_phnum` value meaning "the count is in section header 0's `sh_info`".
const PN_XNUM: u16 = 0xffff;

/// ELF machines whose cores are read: `e_machine`, name, big-endian, and the core the layouts were checked on.
pub const MACHINES: [(u16, &str, bool); 3] = [
    (62, "x86_64", false),   // EM_X86_64: real cores of this VM's kernel
    (183, "aarch64", false), // EM_AARCH64: real cores of Debian's arm64 kernel under qemu-system-aarch64
    (22, "s390x", true),     // EM_S390: a core written by qemu-s390x (qemu-user), pid and comm as printed
];

/// Reads the core's words in its byte order (`EI_DATA`).
#[derive(Clone, Copy)]
struct Rd {
    big_endian: bool,
}

impl Rd {
    fn bytes<const N: usize>(self, b: &[u8], o: usize) -> Option<[u8; N]> {
        let mut v: [u8; N] = b.get(o..o.checked_add(N)?)?.try_into().ok()?;
        if self.big_endian {
            v.reverse();
        }
        Some(v)
    }
    fn u16(self, b: &[u8], o: usize) -> Option<u16> {
        self.bytes(b, o).map(u16::from_le_bytes)
    }
    fn u32(self, b: &[u8], o: usize) -> Option<u32> {
        self.bytes(b, o).map(u32::from_le_bytes)
    }
    fn i32(self, b: &[u8], o: usize) -> Option<i32> {
        self.bytes(b, o).map(i32::from_le_bytes)
    }
    fn u64(self, b: &[u8], o: usize) -> Option<u64> {
        self.bytes(b, o).map(u64::from_le_bytes)
    }
}
/// A NUL-terminated fixed-size C string.
fn cstr(b: &[u8]) -> &[u8] {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    &b[..end]
}

/// `struct elf_prpsinfo`, generic 64-bit (x86_64, aarch64, s390x): checked against real cores.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prpsinfo {
    pub pr_state: u8,
    pub pr_sname: u8,
    pub pr_uid: u32,
    pub pr_gid: u32,
    pub pr_pid: i32,
    pub pr_ppid: i32,
    pub pr_pgrp: i32,
    pub pr_sid: i32,
    pub pr_fname: Vec<u8>,
    pub pr_psargs: Vec<u8>,
}

/// What the notes of one core say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoreNotes {
    /// The ELF machine (`e_machine`), by name.
    pub machine: &'static str,
    /// `pr_cursig` and `pr_pid` of the first `NT_PRSTATUS` (the thread that took the signal).
    pub cursig: Option<u16>,
    pub prstatus_pid: Option<i32>,
    pub prstatus_ppid: Option<i32>,
    /// Number of `NT_PRSTATUS` notes (threads).
    pub threads: u32,
    pub prpsinfo: Option<Prpsinfo>,
    /// Offset of the `NT_PRPSINFO` descriptor in the file.
    pub prpsinfo_offset: Option<u64>,
    pub si_signo: Option<i32>,
    pub si_errno: Option<i32>,
    pub si_code: Option<i32>,
    /// Fault address for SIGSEGV/SIGBUS/SIGILL/SIGFPE/SIGTRAP.
    pub si_addr: Option<u64>,
    /// Sender for signals sent by a process (`si_code` ≤ 0: SI_USER, SI_QUEUE, SI_TKILL).
    pub si_pid: Option<i32>,
    pub si_uid: Option<u32>,
    /// `NT_FILE`: (start, end, file offset in pages, path).
    pub files: Vec<(u64, u64, u64, Vec<u8>)>,
    /// Some segment or note lies past the end of the bytes we have.
    pub truncated: bool,
}

/// Reads the notes of an ELF64 core of one of [`MACHINES`]. Problems are (offset, message).
pub fn read_core(raw: &[u8]) -> (Option<CoreNotes>, Vec<(u64, String)>) {
    let mut problems: Vec<(u64, String)> = Vec::new();
    if raw.len() < 16 || raw.get(..4) != Some(b"\x7fELF") {
        problems.push((0, "not an ELF file".into()));
        return (None, problems);
    }
    let r = match (raw[4], raw[5]) {
        (2, 1) => Rd { big_endian: false },
        (2, 2) => Rd { big_endian: true },
        (1, _) => {
            problems.push((4, "unsupported: ELF32 core".into()));
            return (None, problems);
        }
        (c, d) => {
            problems.push((4, format!("unsupported: ELF class {c}, data encoding {d}")));
            return (None, problems);
        }
    };
    let (Some(e_type), Some(e_machine), Some(e_phoff), Some(e_shoff), Some(e_phentsize), Some(e_phnum)) = (
        r.u16(raw, 16),
        r.u16(raw, 18),
        r.u64(raw, 32),
        r.u64(raw, 40),
        r.u16(raw, 54),
        r.u16(raw, 56),
    ) else {
        problems.push((0, "truncated ELF header".into()));
        return (None, problems);
    };
    if e_type != ET_CORE {
        problems.push((16, format!("not a core file (e_type {e_type})")));
        return (None, problems);
    }
    // Each machine's kernel lays its notes out alike only where checked: others are not read as if they did.
    let Some(&(_, machine, _)) = MACHINES.iter().find(|m| m.0 == e_machine && m.2 == r.big_endian) else {
        let order = if r.big_endian { "big" } else { "little" };
        problems.push((18, format!("unsupported: ELF64 {order}-endian core of e_machine {e_machine}, whose note layouts are not checked")));
        return (None, problems);
    };
    let mut notes = CoreNotes { machine, ..CoreNotes::default() };
    let mut phnum = u64::from(e_phnum);
    if e_phnum == PN_XNUM {
        match usize::try_from(e_shoff)
            .ok()
            .and_then(|o| r.u32(raw, o.checked_add(44)?))
        {
            Some(n) => phnum = u64::from(n),
            None => {
                problems.push((40, "e_phnum is PN_XNUM but section header 0 is missing".into()));
                notes.truncated = true;
                return (Some(notes), problems);
            }
        }
    }
    if e_phentsize < 56 {
        problems.push((54, format!("program header size {e_phentsize} < 56")));
        return (Some(notes), problems);
    }
    for i in 0..phnum {
        let Some(ph) = i
            .checked_mul(u64::from(e_phentsize))
            .and_then(|x| x.checked_add(e_phoff))
            .and_then(|x| usize::try_from(x).ok())
        else {
            break;
        };
        let (Some(p_type), Some(p_offset), Some(p_filesz)) = (
            r.u32(raw, ph),
            r.u64(raw, ph.saturating_add(8)),
            r.u64(raw, ph.saturating_add(32)),
        ) else {
            problems.push((ph as u64, format!("program headers cut after {i} of {phnum}")));
            notes.truncated = true;
            break;
        };
        let end = p_offset.saturating_add(p_filesz);
        if end > raw.len() as u64 {
            notes.truncated = true;
        }
        if p_type == PT_NOTE {
            read_notes(r, raw, p_offset, p_filesz, &mut notes, &mut problems);
        }
    }
    (Some(notes), problems)
}

fn read_notes(r: Rd, raw: &[u8], off: u64, size: u64, n: &mut CoreNotes, problems: &mut Vec<(u64, String)>) {
    let start = usize::try_from(off).unwrap_or(usize::MAX);
    let end = usize::try_from(off.saturating_add(size)).unwrap_or(usize::MAX);
    if end > raw.len() {
        problems.push((
            off,
            format!("PT_NOTE segment ends at {end} but only {} bytes are present", raw.len()),
        ));
    }
    let seg = raw.get(start..end.min(raw.len())).unwrap_or(&[]);
    let mut p = 0usize;
    let pad = |x: usize| x.checked_add(3).map(|v| v & !3);
    while p < seg.len() {
        let (Some(namesz), Some(descsz), Some(ntype)) = (r.u32(seg, p), r.u32(seg, p + 4), r.u32(seg, p + 8)) else {
            problems.push(((start + p) as u64, "note header cut".into()));
            return;
        };
        let name_at = p + 12;
        let Some(desc_at) = pad(namesz as usize).and_then(|x| x.checked_add(name_at)) else {
            return;
        };
        let Some(next) = pad(descsz as usize).and_then(|x| x.checked_add(desc_at)) else {
            return;
        };
        let Some(desc) = seg.get(desc_at..desc_at.saturating_add(descsz as usize)) else {
            problems.push((
                (start + p) as u64,
                format!("note type {ntype:#x} cut (needs {descsz} bytes)"),
            ));
            return;
        };
        let name = seg.get(name_at..name_at + namesz as usize).map(cstr).unwrap_or(&[]);
        if name == b"CORE" {
            note(r, ntype, desc, (start + desc_at) as u64, n, problems);
        }
        p = next;
    }
}

fn note(r: Rd, ntype: u32, d: &[u8], at: u64, n: &mut CoreNotes, problems: &mut Vec<(u64, String)>) {
    match ntype {
        NT_PRSTATUS => {
            n.threads += 1;
            if n.threads == 1 {
                n.cursig = r.u16(d, 12);
                n.prstatus_pid = r.i32(d, 32);
                n.prstatus_ppid = r.i32(d, 36);
            }
        }
        NT_PRPSINFO if n.prpsinfo.is_none() => {
            if d.len() < 136 {
                problems.push((at, format!("NT_PRPSINFO is {} bytes, expected 136 (64-bit)", d.len())));
                return;
            }
            n.prpsinfo_offset = Some(at);
            n.prpsinfo = Some(Prpsinfo {
                pr_state: d[0],
                pr_sname: d[1],
                pr_uid: r.u32(d, 16).unwrap_or_default(),
                pr_gid: r.u32(d, 20).unwrap_or_default(),
                pr_pid: r.i32(d, 24).unwrap_or_default(),
                pr_ppid: r.i32(d, 28).unwrap_or_default(),
                pr_pgrp: r.i32(d, 32).unwrap_or_default(),
                pr_sid: r.i32(d, 36).unwrap_or_default(),
                pr_fname: cstr(&d[40..56]).to_vec(),
                pr_psargs: cstr(&d[56..136]).to_vec(),
            });
        }
        NT_SIGINFO if n.si_signo.is_none() => {
            n.si_signo = r.i32(d, 0);
            n.si_errno = r.i32(d, 4);
            n.si_code = r.i32(d, 8);
            match (n.si_signo, n.si_code) {
                (_, Some(code)) if code <= 0 => {
                    n.si_pid = r.i32(d, 16);
                    n.si_uid = r.u32(d, 20);
                }
                (Some(4 | 5 | 7 | 8 | 11), _) => n.si_addr = r.u64(d, 16),
                _ => {}
            }
        }
        NT_FILE if n.files.is_empty() => {
            let (Some(count), Some(_page)) = (r.u64(d, 0), r.u64(d, 8)) else {
                problems.push((at, "NT_FILE header cut".into()));
                return;
            };
            let Some(names_at) = count
                .checked_mul(24)
                .and_then(|x| x.checked_add(16))
                .filter(|&x| x <= d.len() as u64)
            else {
                problems.push((at, format!("NT_FILE count {count} does not fit its {} bytes", d.len())));
                return;
            };
            let mut names = d[names_at as usize..].split(|&b| b == 0);
            for i in 0..count as usize {
                let e = 16 + i * 24;
                let (Some(s), Some(en), Some(o)) = (r.u64(d, e), r.u64(d, e + 8), r.u64(d, e + 16)) else {
                    break;
                };
                n.files.push((s, en, o, names.next().unwrap_or(&[]).to_vec()));
            }
        }
        _ => {}
    }
}

pub fn parse(raw: &[u8], ctx: &SourceCtx) -> Parsed {
    let mut parsed = Parsed::default();
    // `--cores meta` keeps none of a core's bytes (an empty head): its event comes from the
    // `live/cores/….meta.json` entry (core_meta.rs), and nothing here is malformed.
    if raw.is_empty() && matches!(ctx.entry.status, Status::Truncated { .. }) {
        return parsed;
    }
    let (notes, problems) = read_core(raw);
    parsed
        .problems
        .extend(problems.into_iter().map(|(o, m)| ParseProblem::at_offset(ctx, o, m)));
    let Some(n) = notes else { return parsed };
    let ps = n.prpsinfo.as_ref();
    let pid = n.prstatus_pid.or(ps.map(|p| p.pr_pid)).map(i64::from);
    let ppid = n.prstatus_ppid.or(ps.map(|p| p.pr_ppid)).map(i64::from);
    let uid = ps.map(|p| p.pr_uid);
    let signal = n.si_signo.map(i64::from).or(n.cursig.map(i64::from));
    let comm = ps.map(|p| String::from_utf8_lossy(&p.pr_fname).into_owned());
    let exe = n
        .files
        .iter()
        .min_by_key(|f| f.0)
        .map(|f| String::from_utf8_lossy(&f.3).into_owned());
    let truncated = n.truncated || matches!(ctx.entry.status, Status::Truncated { .. });
    let mut f: Fields = Fields::new();
    f.insert("signal".into(), json!(signal));
    f.insert("signal_name".into(), json!(signal.and_then(signals::name)));
    f.insert("si_code".into(), json!(n.si_code));
    f.insert("si_addr".into(), json!(n.si_addr.map(|a| format!("{a:#x}"))));
    if n.si_pid.is_some() {
        f.insert("si_pid".into(), json!(n.si_pid));
        f.insert("si_uid".into(), json!(n.si_uid));
    }
    f.insert("fname".into(), json!(comm));
    f.insert(
        "psargs".into(),
        json!(ps.map(|p| String::from_utf8_lossy(&p.pr_psargs).trim_end().to_owned())),
    );
    f.insert("exe".into(), json!(exe));
    f.insert("core_entry".into(), json!(ctx.entry.path));
    f.insert("machine".into(), json!(n.machine));
    f.insert("truncated".into(), json!(truncated));
    f.insert("ppid".into(), json!(ppid));
    f.insert("mapped_files".into(), json!(n.files.len()));
    f.insert("threads".into(), json!(n.threads));
    if let Some(p) = ps {
        f.insert("gid".into(), json!(p.pr_gid));
        f.insert("pgid".into(), json!(p.pr_pgrp));
        f.insert("sid".into(), json!(p.pr_sid));
        f.insert("state".into(), json!((p.pr_sname as char).to_string()));
    }
    let mtime = ctx.entry.stat.as_ref().and_then(|s| s.mtime);
    let name = core_name::base_name(&ctx.entry.source);
    let read = ctx.core_naming.read(name);
    if let Some((m, from)) = &read {
        m.fields(from, &mut f);
        let note_pid = ps.map(|p| i64::from(p.pr_pid)).or(pid);
        let note_comm = ps.map(|p| core_name::escaped(&p.pr_fname));
        for problem in disagreements(m, note_pid, note_comm.as_deref(), signal, n.threads) {
            parsed.problems.push(ParseProblem::at_offset(ctx, n.prpsinfo_offset.unwrap_or(0), format!("file name {name:?}: {problem}")));
        }
    }
    let timestamp = dump_time(read.as_ref().map(|(m, _)| m), mtime, &mut f);
    let (raw_bytes, offset) = match n.prpsinfo_offset {
        Some(o) => (raw.get(o as usize..(o as usize).saturating_add(136)).unwrap_or(&[]), o),
        None => (raw.get(..64.min(raw.len())).unwrap_or(&[]), 0),
    };
    let message = format!(
        "core dumped: {} (pid {}) on {}{}{}",
        comm.as_deref().unwrap_or("?"),
        pid.map_or("?".into(), |p| p.to_string()),
        signal
            .and_then(signals::name)
            .unwrap_or_else(|| signal.map_or("unknown signal".into(), |s| format!("signal {s}"))),
        n.si_addr.map(|a| format!(" at {a:#x}")).unwrap_or_default(),
        if truncated { " [core truncated]" } else { "" },
    );
    parsed.events.push(Event {
        pid,
        ppid,
        uid,
        user: uid.and_then(|u| ctx.accounts.user_name(u)).map(str::to_owned),
        comm,
        fields: f,
        ..Event::new(
            timestamp,
            Source::Core,
            EventKind::CoreDumped,
            message,
            coroner_schemas::Text::from_bytes(raw_bytes),
            Origin {
                entry: ctx.path.clone(),
                line: None,
                offset: Some(offset),
            },
        )
    });
    parsed
}

/// Where the file name and the notes differ on the pid (`%p`, the thread group's, against `NT_PRPSINFO`), the
/// comm (`%e`, against `pr_fname` as the kernel escapes it in names) or the signal (`%s`).
fn disagreements(m: &NameMatch, pid: Option<i64>, comm: Option<&str>, signal: Option<i64>, threads: u32) -> Vec<String> {
    let mut out = Vec::new();
    if let (Some(a), Some(b)) = (m.num(Spec::Pid).and_then(|p| i64::try_from(p).ok()), pid) {
        if a != b {
            out.push(format!("says pid {a} (%p) but the notes say {b}: renamed or planted?"));
        }
    }
    if let (Some(a), Some(b)) = (m.text(Spec::Comm), comm) {
        if a != b {
            let thread = if threads > 1 { " (or a thread that named itself, of the core's threads)" } else { "" };
            out.push(format!("says comm {a:?} (%e) but the notes say {b:?}: renamed or planted?{thread}"));
        }
    }
    if let (Some(a), Some(b)) = (m.num(Spec::Signal).and_then(|s| i64::try_from(s).ok()), signal) {
        if a != b {
            out.push(format!("says signal {a} (%s) but the notes say {b}: renamed or planted?"));
        }
    }
    out
}

/// The event's time: the dump time `%t` of the name when it has one (the file mtime then goes in `mtime`),
/// else the file mtime. A zero (1970-01-01) from either is no dump time: a made-up name, or an mtime reset
/// by a copy or an archive, so the time is unknown.
pub(crate) fn dump_time(m: Option<&NameMatch>, mtime: Option<coroner_schemas::Utc>, f: &mut Fields) -> Timestamp {
    let mtime = mtime.filter(|t| t.unix_seconds() != 0);
    let t = m
        .and_then(|m| m.num(Spec::Time))
        .and_then(|t| i64::try_from(t).ok())
        .filter(|&t| t != 0)
        .and_then(|t| coroner_schemas::Utc::from_unix(t, 0));
    if let Some(utc) = t {
        if let Some(mt) = mtime {
            f.insert("mtime".into(), json!(mt));
        }
        return Timestamp::Exact { utc };
    }
    match mtime {
        Some(utc) => Timestamp::Inferred {
            utc,
            assumption: "core file mtime (when the dump was written)".into(),
        },
        None => Timestamp::Unknown,
    }
}
