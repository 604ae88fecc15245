//! Byte offsets of kernel struct members, read from the kernel's own BTF (`/sys/kernel/btf/vmlinux`), for the
//! exec argv program ([`super::bpf`]), which reads `current->mm->arg_start` with no compiler to relocate it.
//! The format is the kernel's `Documentation/bpf/btf.rst`: a header, then type records, then strings. The one
//! permissively licensed BTF crate does not expose struct members, so this reads just what is needed.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum BtfError {
    #[error("not BTF (bad magic or a header cut short)")]
    Header,
    #[error("a type record is cut short at byte {0}")]
    Truncated(usize),
    #[error("unknown BTF kind {kind} at type {id}")]
    UnknownKind { kind: u32, id: u32 },
    #[error("no struct {0} in the kernel's BTF")]
    NoStruct(String),
    #[error("struct {strukt} has no member {member}")]
    NoMember { strukt: String, member: String },
    #[error("{strukt}.{member} is {size} bytes at bit {bit}, not a {want}-byte field on a byte boundary")]
    Shape { strukt: String, member: String, size: u32, bit: u32, want: u32 },
}

const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_TYPEDEF: u32 = 8;
const KIND_VOLATILE: u32 = 9;
const KIND_CONST: u32 = 10;
const KIND_RESTRICT: u32 = 11;
const KIND_TYPE_TAG: u32 = 18;
const KIND_ENUM64: u32 = 19;

/// One type record: its name, kind, `size` (or referenced type) and where its trailing data starts.
#[derive(Clone, Copy)]
struct Type {
    name_off: u32,
    kind: u32,
    vlen: usize,
    kind_flag: bool,
    size_or_type: u32,
    extra: usize,
}

/// A parsed BTF blob: the type records indexed by id (id 0 is `void`).
pub struct Btf<'a> {
    b: &'a [u8],
    types: Vec<Type>,
    str_start: usize,
    str_end: usize,
}

fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    b.get(o..o.checked_add(4)?).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

impl<'a> Btf<'a> {
    /// Indexes a little-endian BTF blob (the kernel's own, so the host's byte order).
    pub fn parse(b: &'a [u8]) -> Result<Btf<'a>, BtfError> {
        if b.get(..2) != Some(&0xeb9fu16.to_le_bytes()[..]) {
            return Err(BtfError::Header);
        }
        let h = |o| u32_at(b, o).map(|v| v as usize).ok_or(BtfError::Header);
        let (hdr_len, type_off, type_len, str_off, str_len) = (h(4)?, h(8)?, h(12)?, h(16)?, h(20)?);
        let type_start = hdr_len.checked_add(type_off).ok_or(BtfError::Header)?;
        let type_end = type_start.checked_add(type_len).filter(|&e| e <= b.len()).ok_or(BtfError::Header)?;
        let str_start = hdr_len.checked_add(str_off).ok_or(BtfError::Header)?;
        let str_end = str_start.checked_add(str_len).filter(|&e| e <= b.len()).ok_or(BtfError::Header)?;
        let mut types = vec![Type { name_off: 0, kind: 0, vlen: 0, kind_flag: false, size_or_type: 0, extra: 0 }];
        let mut o = type_start;
        while o < type_end {
            let word = |i: usize| u32_at(&b[..type_end], o + 4 * i).ok_or(BtfError::Truncated(o));
            let (name_off, info, size_or_type) = (word(0)?, word(1)?, word(2)?);
            let kind = (info >> 24) & 0x1f;
            let vlen = (info & 0xffff) as usize;
            // Bytes that follow the 12-byte record, by kind (btf.rst, "Type Encoding").
            let tail = match kind {
                KIND_INT | 14 | 17 => 4,
                3 => 12,
                KIND_STRUCT | KIND_UNION | 15 | KIND_ENUM64 => 12 * vlen,
                KIND_ENUM | 13 => 8 * vlen,
                KIND_PTR | 7 | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | 12 | 16 | KIND_TYPE_TAG => 0,
                _ => return Err(BtfError::UnknownKind { kind, id: types.len() as u32 }),
            };
            let extra = o + 12;
            o = extra.checked_add(tail).filter(|&e| e <= type_end).ok_or(BtfError::Truncated(o))?;
            types.push(Type { name_off, kind, vlen, kind_flag: info >> 31 == 1, size_or_type, extra });
        }
        Ok(Btf { b, types, str_start, str_end })
    }

    fn name(&self, off: u32) -> &'a [u8] {
        let Some(s) = self.b.get(self.str_start + off as usize..self.str_end) else { return b"" };
        &s[..s.iter().position(|&c| c == 0).unwrap_or(s.len())]
    }

    /// The type `id` refers to once typedefs and qualifiers are looked through.
    fn resolve(&self, mut id: u32) -> Option<Type> {
        for _ in 0..32 {
            let t = *self.types.get(id as usize)?;
            match t.kind {
                KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG => id = t.size_or_type,
                _ => return Some(t),
            }
        }
        None
    }

    /// The byte offset of `member` in `struct strukt`, looking inside anonymous struct and union members (the
    /// kernel wraps most of `mm_struct` in one). The member must be `want` bytes (8: a pointer or `unsigned
    /// long`; 4: a `kuid_t`), so a kernel whose layout changed is refused rather than misread.
    pub fn offset_of(&self, strukt: &str, member: &str, want: u32) -> Result<u32, BtfError> {
        let s = self
            .types
            .iter()
            .find(|t| t.kind == KIND_STRUCT && t.vlen > 0 && self.name(t.name_off) == strukt.as_bytes())
            .copied()
            .ok_or_else(|| BtfError::NoStruct(strukt.to_owned()))?;
        let no = || BtfError::NoMember { strukt: strukt.to_owned(), member: member.to_owned() };
        let (bit, ty) = self.find(s, member.as_bytes(), 0, 0).ok_or_else(no)?;
        let size = match ty.kind {
            KIND_PTR => 8,
            KIND_INT | KIND_ENUM | KIND_ENUM64 | KIND_STRUCT | KIND_UNION => ty.size_or_type,
            _ => 0,
        };
        if size != want || bit % 8 != 0 {
            return Err(BtfError::Shape { strukt: strukt.to_owned(), member: member.to_owned(), size, bit, want });
        }
        Ok(bit / 8)
    }

    /// Depth-first over `s`'s members: the bit offset and resolved type of the one named `want`.
    fn find(&self, s: Type, want: &[u8], base: u32, depth: u32) -> Option<(u32, Type)> {
        if depth > 8 {
            return None;
        }
        for i in 0..s.vlen {
            let m = s.extra + 12 * i;
            let (name_off, ty, off) = (u32_at(self.b, m)?, u32_at(self.b, m + 4)?, u32_at(self.b, m + 8)?);
            // With kind_flag set the top byte is a bitfield's width, the rest its bit offset.
            let bit = base.checked_add(if s.kind_flag { off & 0xff_ffff } else { off })?;
            let t = self.resolve(ty)?;
            if name_off == 0 && matches!(t.kind, KIND_STRUCT | KIND_UNION) {
                if let Some(hit) = self.find(t, want, bit, depth + 1) {
                    return Some(hit);
                }
            } else if self.name(name_off) == want {
                return Some((bit, t));
            }
        }
        None
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A BTF blob built from btf.rst's layout: `long` (INT, 8 bytes), `int` (INT, 4), a pointer, and
    /// `struct inner { long a; }`, `struct outer { int x; struct { long y; struct inner *p; }; }` where the
    /// middle member is anonymous.
    pub(crate) fn tiny() -> Vec<u8> {
        let strs = b"\0long\0int\0inner\0a\0outer\0x\0y\0p\0";
        let at = |s: &str| strs.windows(s.len() + 2).position(|w| w[0] == 0 && &w[1..=s.len()] == s.as_bytes() && w[s.len() + 1] == 0).map(|p| p as u32 + 1).expect("string");
        let mut t = Vec::new();
        let rec = |t: &mut Vec<u8>, name: u32, kind: u32, vlen: u32, size: u32| {
            for w in [name, (kind << 24) | vlen, size] {
                t.extend_from_slice(&w.to_le_bytes());
            }
        };
        let member = |t: &mut Vec<u8>, name: u32, ty: u32, bit: u32| {
            for w in [name, ty, bit] {
                t.extend_from_slice(&w.to_le_bytes());
            }
        };
        rec(&mut t, at("long"), KIND_INT, 0, 8); // 1
        t.extend_from_slice(&((1u32 << 24) | 64).to_le_bytes()); // signed, 64 bits
        rec(&mut t, at("int"), KIND_INT, 0, 4); // 2
        t.extend_from_slice(&((1u32 << 24) | 32).to_le_bytes());
        rec(&mut t, at("inner"), KIND_STRUCT, 1, 8); // 3
        member(&mut t, at("a"), 1, 0);
        rec(&mut t, 0, KIND_PTR, 0, 3); // 4: struct inner *
        rec(&mut t, 0, KIND_STRUCT, 2, 16); // 5: the anonymous struct
        member(&mut t, at("y"), 1, 0);
        member(&mut t, at("p"), 4, 64);
        rec(&mut t, at("outer"), KIND_STRUCT, 2, 24); // 6
        member(&mut t, at("x"), 2, 0);
        member(&mut t, 0, 5, 64);
        let mut b = Vec::new();
        b.extend_from_slice(&0xeb9fu16.to_le_bytes());
        b.extend_from_slice(&[1, 0]);
        for w in [24u32, 0, t.len() as u32, t.len() as u32, strs.len() as u32] {
            b.extend_from_slice(&w.to_le_bytes());
        }
        b.extend_from_slice(&t);
        b.extend_from_slice(strs);
        b
    }

    #[test]
    fn members_inside_anonymous_structs_and_their_shape() {
        let b = tiny();
        let btf = Btf::parse(&b).expect("parses");
        assert_eq!(btf.offset_of("outer", "y", 8), Ok(8), "inside the anonymous struct at bit 64");
        assert_eq!(btf.offset_of("outer", "p", 8), Ok(16));
        assert_eq!(btf.offset_of("inner", "a", 8), Ok(0));
        assert!(matches!(btf.offset_of("outer", "x", 8), Err(BtfError::Shape { size: 4, want: 8, .. })), "an int is not 8 bytes");
        assert_eq!(btf.offset_of("outer", "x", 4), Ok(0), "but it is the 4 bytes asked for");
        assert!(matches!(btf.offset_of("outer", "y", 4), Err(BtfError::Shape { size: 8, want: 4, .. })));
        assert!(matches!(btf.offset_of("outer", "zz", 8), Err(BtfError::NoMember { .. })));
        assert!(matches!(btf.offset_of("nosuch", "a", 8), Err(BtfError::NoStruct(_))));
    }

    #[test]
    fn cut_or_foreign_bytes_are_errors_not_panics() {
        let b = tiny();
        for n in 0..b.len() {
            // Any prefix: an error or (once every type record is whole) a parse; never a panic.
            if let Ok(btf) = Btf::parse(&b[..n]) {
                let _ = btf.offset_of("outer", "p", 8);
            }
        }
        assert!(matches!(Btf::parse(&b[..30]), Err(BtfError::Header)));
        assert!(matches!(Btf::parse(b"\x7fELF garbage that is not btf at all"), Err(BtfError::Header)));
        let mut bad = b.clone();
        bad[24 + 7] = 30; // the first record's kind byte: no such kind
        assert!(matches!(Btf::parse(&bad), Err(BtfError::UnknownKind { kind: 30, id: 1 })));
    }

    #[test]
    fn this_kernels_task_and_mm_offsets() {
        // The running kernel's own BTF: the offsets the argv program uses are found and 8-byte aligned.
        let b = std::fs::read("/sys/kernel/btf/vmlinux").expect("this kernel has BTF (CONFIG_DEBUG_INFO_BTF)");
        let btf = Btf::parse(&b).expect("the kernel's BTF parses");
        let mm = btf.offset_of("task_struct", "mm", 8).expect("task_struct.mm");
        let start = btf.offset_of("mm_struct", "arg_start", 8).expect("mm_struct.arg_start");
        let end = btf.offset_of("mm_struct", "arg_end", 8).expect("mm_struct.arg_end");
        // kuid_t, a one-member struct behind a typedef (include/linux/uidgid_types.h); audit is built in here.
        let login = btf.offset_of("task_struct", "loginuid", 4).expect("task_struct.loginuid");
        assert!(mm > 0 && mm % 8 == 0);
        assert!(login > 0 && login % 4 == 0);
        assert_eq!(end, start + 8, "arg_end follows arg_start (include/linux/mm_types.h)");
    }
}
