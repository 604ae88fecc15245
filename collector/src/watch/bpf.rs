//! argv and ids at exec from a small BPF program on the `sched_process_exec` tracepoint. It copies the new
//! process's argument strings (`current->mm->arg_start..arg_end`, what `cmdline` shows), its comm, uid, login
//! uid and cgroup id into a BPF ring buffer that the recorder drains before it handles each read of its trace
//! pipe. With them the recorder reads nothing of `/proc` at an exec: those reads (status, loginuid, cgroup)
//! were a third of its CPU during builds, and a process gone before it read them (most of a busy spell's)
//! was left with its parent's ids.
//!
//! It replaces the loader uprobe where the kernel allows BPF: the uprobe's breakpoint was written into every
//! new process's copy of the loader (a copy-on-write page) and hit as a trap, 35-45 us a spawn more than this
//! program here, whose own cost a fork/exec storm cannot tell from nothing (`bench/watch_argv.sh`); and the
//! program sees static binaries too. This kernel has no kprobes, eprobes or fprobes, and aya's toolchain does
//! not build here, so the program is assembled below from the instruction set
//! (`Documentation/bpf/standardization/instruction-set.rst`), and struct offsets come from the kernel's own
//! BTF ([`super::btf`]).

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use thiserror::Error;

use super::btf::Btf;

#[derive(Debug, Error)]
pub enum BpfError {
    #[error("the kernel's BTF (/sys/kernel/btf/vmlinux): {0}")]
    Btf(String),
    #[error("{what}: {source}")]
    Sys { what: &'static str, source: io::Error },
    #[error("the kernel refused the argv program ({source}); its verifier said: {log}")]
    Verifier { source: io::Error, log: String },
}

/// The tracepoint the program is attached to (a raw tracepoint: no trace buffer of anyone's is written).
const TRACEPOINT: &str = "sched_process_exec";
/// How the start record lists the program among the recorder's events.
pub const EVENT: &str = "bpf/coroner_argv";
/// Bytes of argument strings copied per exec; a longer argv is marked cut and read from `/proc` instead.
pub const MAX_ARGS: u32 = 4048;
/// A ring record (one page): tgid (u32), argument bytes at exec (u32, `u32::MAX` when unreadable),
/// CLOCK_MONOTONIC ns (u64), real uid (u32), login uid (u32, `u32::MAX` when unset or unreadable), cgroup v2
/// id (u64), comm (16 bytes, NUL-padded), then up to [`MAX_ARGS`] bytes.
const HEADER: usize = 48;
const RECORD: u32 = HEADER as u32 + MAX_ARGS;
/// The ring's size: 512 execs' records between two reads (the recorder reads every 10 ms when busy, and
/// every 100 ms only while a read brings less than 16 KiB of lines, fewer than about 140 execs).
const RING: usize = 2 << 20;
/// How many whole records the ring holds.
#[cfg(test)]
pub(super) const RING_RECORDS: usize = RING / RECORD as usize;

// bpf(2) commands, map and program types, helpers (include/uapi/linux/bpf.h).
const BPF_MAP_CREATE: libc::c_long = 0;
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_RAW_TRACEPOINT_OPEN: libc::c_long = 17;
const MAP_TYPE_RINGBUF: u32 = 27;
const PROG_TYPE_RAW_TRACEPOINT: u32 = 17;
const KTIME_GET_NS: i32 = 5;
const GET_CURRENT_PID_TGID: i32 = 14;
const GET_CURRENT_UID_GID: i32 = 15;
const GET_CURRENT_COMM: i32 = 16;
const GET_CURRENT_TASK: i32 = 35;
const GET_CURRENT_CGROUP_ID: i32 = 80;
const PROBE_READ_USER: i32 = 112;
const PROBE_READ_KERNEL: i32 = 113;
const RINGBUF_RESERVE: i32 = 131;
const RINGBUF_SUBMIT: i32 = 132;
/// `bpf_ringbuf_submit`'s flag: no notification of the ring's waiters.
const RB_NO_WAKEUP: i32 = 1;

/// `union bpf_attr`, zeroed, filled at the offsets the uapi header gives.
#[repr(C, align(8))]
struct Attr([u8; 128]);

impl Attr {
    fn new() -> Attr {
        Attr([0; 128])
    }
    fn u32(&mut self, off: usize, v: u32) -> &mut Attr {
        self.0[off..off + 4].copy_from_slice(&v.to_ne_bytes());
        self
    }
    fn u64(&mut self, off: usize, v: u64) -> &mut Attr {
        self.0[off..off + 8].copy_from_slice(&v.to_ne_bytes());
        self
    }
}

fn sys_bpf(cmd: libc::c_long, attr: &mut Attr) -> io::Result<OwnedFd> {
    // SAFETY: bpf(2) reads (and for some commands writes) at most `size` bytes of the attribute union, which
    // is all ours; pointers inside it point at buffers that outlive the call.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr.0.as_mut_ptr(), attr.0.len() as libc::c_uint) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a successful MAP_CREATE, PROG_LOAD or RAW_TRACEPOINT_OPEN returns a new descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) })
}

/// One instruction: opcode, registers, offset, immediate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Insn {
    code: u8,
    dst: u8,
    src: u8,
    off: i16,
    imm: i32,
}

impl Insn {
    fn bytes(self) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[0] = self.code;
        b[1] = (self.src << 4) | (self.dst & 0xf);
        b[2..4].copy_from_slice(&self.off.to_le_bytes());
        b[4..8].copy_from_slice(&self.imm.to_le_bytes());
        b
    }
}

/// A straight-line assembler with forward labels, enough for one small program.
#[derive(Default)]
struct Asm {
    insns: Vec<Insn>,
    labels: HashMap<&'static str, usize>,
    jumps: Vec<(usize, &'static str)>,
}

const R0: u8 = 0;
const R1: u8 = 1;
const R2: u8 = 2;
const R3: u8 = 3;
const R6: u8 = 6;
const R7: u8 = 7;
const R8: u8 = 8;
const R10: u8 = 10;

impl Asm {
    fn op(&mut self, code: u8, dst: u8, src: u8, off: i16, imm: i32) {
        self.insns.push(Insn { code, dst, src, off, imm });
    }
    fn mov_imm(&mut self, dst: u8, imm: i32) {
        self.op(0xb7, dst, 0, 0, imm);
    }
    fn mov(&mut self, dst: u8, src: u8) {
        self.op(0xbf, dst, src, 0, 0);
    }
    fn add_imm(&mut self, dst: u8, imm: i32) {
        self.op(0x07, dst, 0, 0, imm);
    }
    fn sub(&mut self, dst: u8, src: u8) {
        self.op(0x1f, dst, src, 0, 0);
    }
    fn rsh_imm(&mut self, dst: u8, imm: i32) {
        self.op(0x77, dst, 0, 0, imm);
    }
    fn ldx32(&mut self, dst: u8, src: u8, off: i16) {
        self.op(0x61, dst, src, off, 0);
    }
    fn ldx64(&mut self, dst: u8, src: u8, off: i16) {
        self.op(0x79, dst, src, off, 0);
    }
    fn stx32(&mut self, dst: u8, off: i16, src: u8) {
        self.op(0x63, dst, src, off, 0);
    }
    fn stx64(&mut self, dst: u8, off: i16, src: u8) {
        self.op(0x7b, dst, src, off, 0);
    }
    fn st32_imm(&mut self, dst: u8, off: i16, imm: i32) {
        self.op(0x62, dst, 0, off, imm);
    }
    /// `dst = map` for the map descriptor `fd` (a two-slot load, source 1: BPF_PSEUDO_MAP_FD).
    fn ld_map(&mut self, dst: u8, fd: RawFd) {
        self.op(0x18, dst, 1, 0, fd);
        self.op(0, 0, 0, 0, 0);
    }
    fn call(&mut self, helper: i32) {
        self.op(0x85, 0, 0, 0, helper);
    }
    fn exit(&mut self) {
        self.op(0x95, 0, 0, 0, 0);
    }
    /// A conditional jump against an immediate (`code` is BPF_JMP | op | BPF_K) to a label.
    fn jump_imm(&mut self, code: u8, dst: u8, imm: i32, to: &'static str) {
        self.jumps.push((self.insns.len(), to));
        self.op(code, dst, 0, 0, imm);
    }
    fn jeq(&mut self, dst: u8, imm: i32, to: &'static str) {
        self.jump_imm(0x15, dst, imm, to);
    }
    fn jne(&mut self, dst: u8, imm: i32, to: &'static str) {
        self.jump_imm(0x55, dst, imm, to);
    }
    /// Unsigned `dst <= imm`.
    fn jle(&mut self, dst: u8, imm: i32, to: &'static str) {
        self.jump_imm(0xb5, dst, imm, to);
    }
    fn label(&mut self, name: &'static str) {
        self.labels.insert(name, self.insns.len());
    }
    /// The program's bytes, every jump resolved (a jump's offset counts from the instruction after it).
    fn finish(mut self) -> Vec<u8> {
        for (at, to) in std::mem::take(&mut self.jumps) {
            let target = self.labels[to];
            self.insns[at].off = i16::try_from(target as i64 - at as i64 - 1).unwrap_or(i16::MAX);
        }
        self.insns.iter().flat_map(|i| i.bytes()).collect()
    }
}

/// Offsets the program reads at, from the kernel's BTF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offsets {
    pub task_mm: u32,
    pub mm_arg_start: u32,
    pub mm_arg_end: u32,
    /// `task_struct.loginuid`; `None` on a kernel built without audit (no login uid to read).
    pub task_loginuid: Option<u32>,
}

impl Offsets {
    pub fn from_btf(b: &[u8]) -> Result<Offsets, super::btf::BtfError> {
        let btf = Btf::parse(b)?;
        Ok(Offsets {
            task_mm: btf.offset_of("task_struct", "mm", 8)?,
            mm_arg_start: btf.offset_of("mm_struct", "arg_start", 8)?,
            mm_arg_end: btf.offset_of("mm_struct", "arg_end", 8)?,
            task_loginuid: match btf.offset_of("task_struct", "loginuid", 4) {
                Ok(o) => Some(o),
                Err(super::btf::BtfError::NoMember { .. }) => None,
                Err(e) => return Err(e),
            },
        })
    }
}

/// The program: `mm = current->mm`, the login uid; reserve a ring record; fill in tgid, the time, uid, login
/// uid, cgroup id, comm, the size of the argument strings and up to [`MAX_ARGS`] of their bytes read from the
/// new process's stack; submit.
fn program(off: Offsets, ring: RawFd) -> Vec<u8> {
    let mut a = Asm::default();
    // *(u64 *)(r10 + slot) = *(u64 *)(base + off), or the program ends.
    let read_kernel = |a: &mut Asm, slot: i32, base: u8, off: u32| {
        a.mov(R1, R10);
        a.add_imm(R1, slot);
        a.mov_imm(R2, 8);
        a.mov(R3, base);
        a.add_imm(R3, off as i32);
        a.call(PROBE_READ_KERNEL);
        a.jne(R0, 0, "out");
    };
    a.call(GET_CURRENT_TASK);
    a.mov(R6, R0);
    read_kernel(&mut a, -8, R6, off.task_mm);
    a.ldx64(R7, R10, -8);
    a.jeq(R7, 0, "out");
    read_kernel(&mut a, -16, R7, off.mm_arg_start);
    read_kernel(&mut a, -24, R7, off.mm_arg_end);
    // The login uid into the stack at -32; unset (-1) when it cannot be read, since a failed read zeroes its
    // destination and 0 would name root.
    a.st32_imm(R10, -32, -1);
    if let Some(login) = off.task_loginuid {
        a.mov(R1, R10);
        a.add_imm(R1, -32);
        a.mov_imm(R2, 4);
        a.mov(R3, R6);
        a.add_imm(R3, login as i32);
        a.call(PROBE_READ_KERNEL);
        a.jeq(R0, 0, "login");
        a.st32_imm(R10, -32, -1);
        a.label("login");
    }
    a.ld_map(R1, ring);
    a.mov_imm(R2, RECORD as i32);
    a.mov_imm(R3, 0);
    a.call(RINGBUF_RESERVE);
    a.jeq(R0, 0, "out");
    a.mov(R8, R0);
    a.call(GET_CURRENT_PID_TGID);
    a.rsh_imm(R0, 32);
    a.stx32(R8, 0, R0);
    a.call(KTIME_GET_NS);
    a.stx64(R8, 8, R0);
    // The low half is the real uid, what /proc's status shows first.
    a.call(GET_CURRENT_UID_GID);
    a.stx32(R8, 16, R0);
    a.ldx32(R1, R10, -32);
    a.stx32(R8, 20, R1);
    a.call(GET_CURRENT_CGROUP_ID);
    a.stx64(R8, 24, R0);
    a.mov(R1, R8);
    a.add_imm(R1, 32);
    a.mov_imm(R2, 16);
    a.call(GET_CURRENT_COMM);
    a.ldx64(R1, R10, -24);
    a.ldx64(R2, R10, -16);
    a.sub(R1, R2);
    a.stx32(R8, 4, R1);
    a.jle(R1, MAX_ARGS as i32, "sized");
    a.mov_imm(R1, MAX_ARGS as i32);
    a.label("sized");
    a.mov(R2, R1);
    a.ldx64(R3, R10, -16);
    a.mov(R1, R8);
    a.add_imm(R1, HEADER as i32);
    a.call(PROBE_READ_USER);
    a.jeq(R0, 0, "submit");
    a.st32_imm(R8, 4, -1);
    a.label("submit");
    a.mov(R1, R8);
    // Nobody waits on the ring (it is read when the trace pipe is): no wakeup interrupt on the exec's CPU.
    a.mov_imm(R2, RB_NO_WAKEUP);
    a.call(RINGBUF_SUBMIT);
    a.label("out");
    a.mov_imm(R0, 0);
    a.exit();
    a.finish()
}

/// One exec as the program saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecArgv {
    pub tgid: i64,
    /// CLOCK_MONOTONIC, the recorder's trace clock.
    pub mono_ns: u64,
    /// `None` when the strings could not be read or did not fit in [`MAX_ARGS`]: `/proc` is read instead.
    pub argv: Option<Vec<String>>,
    /// The real uid after the exec (a setuid program's is its caller's; /proc's status shows it first).
    pub uid: u32,
    /// `None` when unset (`4294967295`) or not readable.
    pub loginuid: Option<u32>,
    /// The cgroup v2 id (the cgroup directory's inode number on the cgroup2 mount); 0 when none.
    pub cgroup_id: u64,
    /// The comm the exec gave it (up to 15 bytes).
    pub comm: String,
}

/// A ring record's bytes as an [`ExecArgv`]; `None` for a record too short to hold its header.
pub fn decode(r: &[u8]) -> Option<ExecArgv> {
    let tgid = u32::from_ne_bytes(r.get(0..4)?.try_into().ok()?);
    let total = u32::from_ne_bytes(r.get(4..8)?.try_into().ok()?);
    let mono_ns = u64::from_ne_bytes(r.get(8..16)?.try_into().ok()?);
    let uid = u32::from_ne_bytes(r.get(16..20)?.try_into().ok()?);
    let loginuid = Some(u32::from_ne_bytes(r.get(20..24)?.try_into().ok()?)).filter(|&u| u != u32::MAX);
    let cgroup_id = u64::from_ne_bytes(r.get(24..32)?.try_into().ok()?);
    let comm = r.get(32..HEADER)?;
    let comm = String::from_utf8_lossy(&comm[..comm.iter().position(|&c| c == 0).unwrap_or(comm.len())]).into_owned();
    let whole = total > 0 && total <= MAX_ARGS;
    let argv = whole.then(|| r.get(HEADER..HEADER + total as usize)).flatten().map(super::table::split_argv);
    Some(ExecArgv { tgid: i64::from(tgid), mono_ns, argv, uid, loginuid, cgroup_id, comm })
}

/// The ring's two mappings: the consumer position (ours to write) and the producer page with the data after
/// it, mapped twice in a row by the kernel so that no record wraps.
struct Ring {
    cons: *mut libc::c_void,
    prod: *mut libc::c_void,
    page: usize,
}

impl Ring {
    fn map(fd: &OwnedFd) -> io::Result<Ring> {
        let page = rustix::param::page_size();
        // SAFETY: mmap of a ring buffer map's descriptor, at the offsets and protections the kernel's
        // ringbuf documentation gives; failures are checked and nothing is read before both succeed.
        unsafe {
            let cons = libc::mmap(std::ptr::null_mut(), page, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, fd.as_raw_fd(), 0);
            if cons == libc::MAP_FAILED {
                return Err(io::Error::last_os_error());
            }
            let prod = libc::mmap(std::ptr::null_mut(), page + 2 * RING, libc::PROT_READ, libc::MAP_SHARED, fd.as_raw_fd(), page as libc::off_t);
            if prod == libc::MAP_FAILED {
                let e = io::Error::last_os_error();
                libc::munmap(cons, page);
                return Err(e);
            }
            Ok(Ring { cons, prod, page })
        }
    }

    /// Hands every committed record to `f`, in order, and frees its space.
    fn drain(&mut self, mut f: impl FnMut(&[u8])) {
        const BUSY: u32 = 1 << 31;
        const DISCARD: u32 = 1 << 30;
        // SAFETY: both positions are 8-byte aligned words at the start of their pages; the kernel writes the
        // producer position and the record headers, we write the consumer position (one consumer: us).
        let (cons, prod) = unsafe { (&*(self.cons as *const AtomicU64), &*(self.prod as *const AtomicU64)) };
        let data = self.prod as *const u8;
        let mut c = cons.load(Ordering::Acquire);
        loop {
            let p = prod.load(Ordering::Acquire);
            if c >= p {
                break;
            }
            let at = self.page + (c as usize & (RING - 1));
            // SAFETY: `at` is inside the first copy of the data area, 8-byte aligned (records are).
            let hdr = unsafe { (*(data.add(at) as *const AtomicU32)).load(Ordering::Acquire) };
            if hdr & BUSY != 0 {
                break;
            }
            let len = (hdr & !(BUSY | DISCARD)) as usize;
            if len > RING - 8 {
                break;
            }
            if hdr & DISCARD == 0 {
                // SAFETY: the record lies within the double mapping (at < page + RING, len < RING).
                f(unsafe { std::slice::from_raw_parts(data.add(at + 8), len) });
            }
            c += ((len + 8 + 7) & !7) as u64;
            cons.store(c, Ordering::Release);
        }
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: the two mappings made in `map`, unmapped once.
        unsafe {
            libc::munmap(self.cons, self.page);
            libc::munmap(self.prod, self.page + 2 * RING);
        }
    }
}

/// The loaded program and its ring; attached while `_link` is open (the link keeps the program loaded).
pub struct ArgvProgram {
    _link: OwnedFd,
    ring: Ring,
    _map: OwnedFd,
}

impl ArgvProgram {
    /// Builds, loads and attaches the program. Any failure (no BPF, no BTF, a verifier that says no) is an
    /// error the caller turns into the uprobe, then `/proc` alone.
    pub fn load() -> Result<ArgvProgram, BpfError> {
        let btf = std::fs::read("/sys/kernel/btf/vmlinux").map_err(|e| BpfError::Btf(e.to_string()))?;
        let off = Offsets::from_btf(&btf).map_err(|e| BpfError::Btf(e.to_string()))?;
        let map = sys_bpf(BPF_MAP_CREATE, Attr::new().u32(0, MAP_TYPE_RINGBUF).u32(12, RING as u32))
            .map_err(|source| BpfError::Sys { what: "creating the ring buffer map", source })?;
        let code = program(off, map.as_raw_fd());
        let license = b"GPL\0";
        let mut log = vec![0u8; 64 * 1024];
        let mut attr = Attr::new();
        attr.u32(0, PROG_TYPE_RAW_TRACEPOINT)
            .u32(4, (code.len() / 8) as u32)
            .u64(8, code.as_ptr() as u64)
            .u64(16, license.as_ptr() as u64)
            .u32(24, 1)
            .u32(28, log.len() as u32)
            .u64(32, log.as_mut_ptr() as u64);
        attr.0[48..48 + 12].copy_from_slice(b"coroner_argv");
        let prog = sys_bpf(BPF_PROG_LOAD, &mut attr).map_err(|source| {
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            let text = String::from_utf8_lossy(&log[..end]);
            // The verifier's last lines say why; the whole log is as long as the program.
            let tail: Vec<&str> = text.lines().rev().take(4).collect();
            BpfError::Verifier { source, log: tail.into_iter().rev().collect::<Vec<_>>().join(" | ") }
        })?;
        let ring = Ring::map(&map).map_err(|source| BpfError::Sys { what: "mapping the ring buffer", source })?;
        // Attached while this descriptor is open: the program leaves the tracepoint when the recorder ends,
        // however it ends.
        let name = format!("{TRACEPOINT}\0");
        let mut attr = Attr::new();
        attr.u64(0, name.as_ptr() as u64).u32(8, prog.as_raw_fd() as u32);
        let link = sys_bpf(BPF_RAW_TRACEPOINT_OPEN, &mut attr).map_err(|source| BpfError::Sys { what: "attaching to sched_process_exec", source })?;
        Ok(ArgvProgram { _link: link, ring, _map: map })
    }

    /// Every record the program wrote since the last call, in the order of their execs.
    pub fn drain(&mut self, mut f: impl FnMut(ExecArgv)) {
        self.ring.drain(|r| {
            if let Some(a) = decode(r) {
                f(a);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_encode_as_the_spec_lays_them_out() {
        // mov r1, r10 / add r1, -8 / call 113 / a map load in two slots / a forward jump over one insn.
        let mut a = Asm::default();
        a.mov(R1, R10);
        a.add_imm(R1, -8);
        a.call(PROBE_READ_KERNEL);
        a.ld_map(R1, 7);
        a.jeq(R0, 0, "end");
        a.mov_imm(R0, 1);
        a.label("end");
        a.exit();
        let b = a.finish();
        assert_eq!(&b[0..8], &[0xbf, 0xa1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&b[8..16], &[0x07, 0x01, 0, 0, 0xf8, 0xff, 0xff, 0xff]);
        assert_eq!(&b[16..24], &[0x85, 0, 0, 0, 113, 0, 0, 0]);
        assert_eq!(&b[24..40], &[0x18, 0x11, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&b[40..48], &[0x15, 0x00, 1, 0, 0, 0, 0, 0], "jeq r0, 0, +1 skips the mov");
        assert_eq!(b.len(), 8 * 8, "the map load takes two slots");
    }

    #[test]
    fn records_decode_whole_cut_or_unreadable() {
        let rec = |tgid: u32, total: u32, ns: u64, body: &[u8]| {
            let mut r = Vec::new();
            r.extend_from_slice(&tgid.to_ne_bytes());
            r.extend_from_slice(&total.to_ne_bytes());
            r.extend_from_slice(&ns.to_ne_bytes());
            r.extend_from_slice(&1000u32.to_ne_bytes());
            r.extend_from_slice(&u32::MAX.to_ne_bytes());
            r.extend_from_slice(&0x1_0000_2a3bu64.to_ne_bytes());
            r.extend_from_slice(b"kill\0\0\0\0\0\0\0\0\0\0\0\0");
            r.extend_from_slice(body);
            r.resize(RECORD as usize, 0);
            r
        };
        let a = decode(&rec(4242, 16, 99, b"kill\0-9\0--\x001234\0")).expect("decodes");
        let argv = Some(vec!["kill".into(), "-9".into(), "--".into(), "1234".into()]);
        let want = ExecArgv { tgid: 4242, mono_ns: 99, argv, uid: 1000, loginuid: None, cgroup_id: 0x1_0000_2a3b, comm: "kill".into() };
        assert_eq!(a, want, "an unset login uid is none");
        let mut r = rec(1, 2, 3, b"x\0");
        r[20..24].copy_from_slice(&0u32.to_ne_bytes());
        r[32..48].copy_from_slice(b"a-full-16-bytes!");
        let full = decode(&r).expect("decodes");
        assert_eq!((full.loginuid, full.comm.as_str()), (Some(0), "a-full-16-bytes!"), "login uid 0 is root's; a comm with no NUL ends at 16");
        let s = decode(&rec(7, 13, 1, b"kill\0-9\0--\x001234\0")).expect("decodes");
        assert_eq!(s.argv.expect("whole").last().map(String::as_str), Some("12"), "the bytes up to the size the kernel gave");
        assert_eq!(decode(&rec(7, MAX_ARGS + 1, 1, b"x\0")).and_then(|a| a.argv), None, "cut short: /proc instead");
        assert_eq!(decode(&rec(7, u32::MAX, 1, b"")).and_then(|a| a.argv), None, "unreadable");
        assert_eq!(decode(&rec(7, 0, 1, b"")).and_then(|a| a.argv), None, "no strings at all");
        assert_eq!(decode(&[1, 2, 3]), None, "a torn record is no record");
        assert_eq!(decode(&rec(7, 0, 1, b"")[..40]), None, "nor one cut inside its comm");
    }
}
