//! JSON text written straight into a byte buffer, exactly as `serde_json`'s compact writer gives it, for the
//! timeline writers (a million rows: no value tree, no per-row serializer state, plain runs copied whole).

use coroner_schemas::{FieldValue, Fields};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Eight copies of a byte, for the word-at-a-time scan.
const fn splat(b: u8) -> u64 {
    u64::from_ne_bytes([b; 8])
}
const LO: u64 = splat(0x01);
const HI: u64 = splat(0x80);

/// Index of the first byte of `w` (little-endian order) that is `"`, `\` or below 0x20, or 8. The usual
/// "has a zero byte" test: the lowest flagged byte is always a true match.
fn first_special(w: u64) -> usize {
    let zero = |v: u64| v.wrapping_sub(LO) & !v & HI;
    let below_space = w.wrapping_sub(splat(0x20)) & !w & HI;
    let m = zero(w ^ splat(b'"')) | zero(w ^ splat(b'\\')) | below_space;
    (m.trailing_zeros() / 8) as usize
}

/// Length of the leading run of `b` that needs no escape in a JSON string.
fn plain_run(b: &[u8]) -> usize {
    let mut i = 0;
    while let Some(chunk) = b.get(i..i + 8) {
        let w = u64::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7]]);
        let k = first_special(w);
        if k < 8 {
            return i + k;
        }
        i += 8;
    }
    i + b[i..].iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20).unwrap_or(b.len() - i)
}

/// `s` as a JSON string: `\"`, `\\`, `\b \f \n \r \t`, other control characters as `\u00xx`; all else as is.
pub fn push_str(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    out.push(b'"');
    let mut i = 0;
    while i < b.len() {
        let n = plain_run(&b[i..]);
        out.extend_from_slice(&b[i..i + n]);
        i += n;
        let Some(&c) = b.get(i) else { break };
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c => out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(c >> 4)], HEX[usize::from(c & 15)]]),
        }
        i += 1;
    }
    out.push(b'"');
}

/// How many bytes of rows the timeline writers gather before each write (rows are built straight into this
/// buffer and handed over whole, which a 1 MiB `BufWriter` passes to the file without copying them again).
pub const CHUNK: usize = 1 << 20;

/// Writes `out` and empties it once it holds [`CHUNK`] bytes or more.
pub fn flush_full(out: &mut Vec<u8>, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    if out.len() >= CHUNK {
        w.write_all(out)?;
        out.clear();
    }
    Ok(())
}

/// "00" to "99", for writing two digits per division.
const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// An integer in decimal. Values that fit 64 bits (all of them, in practice) are divided as `u64`, two
/// digits at a time: 128-bit division is a library call, and this runs several times per timeline row.
pub fn push_int(out: &mut Vec<u8>, v: impl Into<i128>) {
    let v: i128 = v.into();
    let mut buf = [0u8; 40];
    let mut at = buf.len();
    let mut wide = v.unsigned_abs();
    while wide > u128::from(u64::MAX) {
        at -= 1;
        buf[at] = b'0' + (wide % 10) as u8;
        wide /= 10;
    }
    let mut n = wide as u64;
    while n >= 100 {
        let d = (n % 100) as usize * 2;
        n /= 100;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&PAIRS[d..d + 2]);
    }
    if n >= 10 {
        let d = n as usize * 2;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&PAIRS[d..d + 2]);
    } else {
        at -= 1;
        buf[at] = b'0' + n as u8;
    }
    if v < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    out.extend_from_slice(&buf[at..]);
}

/// An integer, or `null`.
pub fn push_opt_int(out: &mut Vec<u8>, v: Option<impl Into<i128>>) {
    match v {
        Some(v) => push_int(out, v),
        None => out.extend_from_slice(b"null"),
    }
}

/// One field value.
pub fn push_value(out: &mut Vec<u8>, v: &FieldValue) {
    match v {
        FieldValue::Null => out.extend_from_slice(b"null"),
        FieldValue::Bool(true) => out.extend_from_slice(b"true"),
        FieldValue::Bool(false) => out.extend_from_slice(b"false"),
        FieldValue::Int(n) => push_int(out, *n),
        FieldValue::UInt(n) => push_int(out, *n),
        FieldValue::Inline(_) | FieldValue::Str(_) => push_str(out, v.as_str().unwrap_or_default()),
        // Floats, arrays and objects (rare) as serde_json writes them; writing to a Vec cannot fail.
        FieldValue::Float(_) | FieldValue::Json(_) => {
            let _ = serde_json::to_writer(&mut *out, v);
        }
    }
}

/// The fields as a JSON object, in their (sorted) order.
pub fn push_fields(out: &mut Vec<u8>, f: &Fields) {
    out.push(b'{');
    for (i, (k, v)) in f.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_str(out, k);
        out.push(b':');
        push_value(out, v);
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte value, at every position of a word, and runs longer than a word: as serde_json writes it.
    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        let mut samples: Vec<String> = vec![
            String::new(),
            "plain ascii text that is longer than one word".into(),
            "type=SYSCALL msg=audit(1.2:3): comm=\"bash\" exe=\"/usr/bin/bash\"\u{1d}ARCH=x86_64".into(),
            "caf\u{e9} \u{202e} \u{2028} \u{7f} \u{1b}[31m \\ \" / <>&".into(),
        ];
        for c in 0u8..0x80 {
            for pos in 0..10 {
                let mut s = "abcdefghij".to_owned().into_bytes();
                s[pos] = c;
                samples.push(String::from_utf8(s).expect("ascii"));
            }
        }
        // Multi-byte characters (bytes ≥ 0x80) beside the bytes that need escapes, at every alignment.
        for c in ['"', '\\', '\n', '\u{1}', '\u{1f}', ' '] {
            for pos in 0..12 {
                let mut s: Vec<char> = "é€😀é€😀éé€😀".chars().collect();
                s.insert(pos.min(s.len()), c);
                samples.push(s.into_iter().collect());
            }
        }
        for s in &samples {
            let mut out = Vec::new();
            push_str(&mut out, s);
            assert_eq!(String::from_utf8(out).expect("utf8"), serde_json::to_string(s).expect("json"), "{s:?}");
        }
    }

    #[test]
    fn numbers_and_fields_are_written_as_serde_json_writes_them() {
        for n in [0i64, 1, -1, 9, 10, -10, 99, 4_294_967_295, i64::MIN, i64::MAX] {
            let mut out = Vec::new();
            push_int(&mut out, n);
            assert_eq!(out, serde_json::to_vec(&n).expect("json"));
        }
        let mut out = Vec::new();
        push_int(&mut out, u64::MAX);
        assert_eq!(out, serde_json::to_vec(&u64::MAX).expect("json"));
        // Every length of number, both signs, each side of every power of ten; and beyond 64 bits.
        let mut p: i128 = 1;
        for _ in 0..19 {
            for n in [p - 1, p, p + 1, 5 * p + 7, -(p - 1), -p, -(p + 1)] {
                let mut out = Vec::new();
                push_int(&mut out, n);
                assert_eq!(String::from_utf8(out).expect("utf8"), n.to_string());
            }
            p *= 10;
        }
        for n in [i128::from(u64::MAX) + 1, i128::MAX, i128::MIN, -i128::from(u64::MAX) - 7] {
            let mut out = Vec::new();
            push_int(&mut out, n);
            assert_eq!(String::from_utf8(out).expect("utf8"), n.to_string());
        }
        let f: Fields = serde_json::from_value(serde_json::json!({
            "a": null, "b": true, "c": false, "d": -5, "e": u64::MAX, "f": 1.5e-7, "g": "pts/0",
            "h": "x".repeat(40), "i": ["kill", "-9", 1], "j": {"k": "v"}, "quo\"te": "\u{1}"
        }))
        .expect("fields");
        let mut out = Vec::new();
        push_fields(&mut out, &f);
        assert_eq!(String::from_utf8(out).expect("utf8"), serde_json::to_string(&f).expect("json"));
        let mut out = Vec::new();
        push_fields(&mut out, &Fields::new());
        assert_eq!(out, b"{}");
    }
}
