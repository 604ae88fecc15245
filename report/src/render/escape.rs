//! Escaping of attacker-controlled text for display. Evidence (comm, usernames, history lines, log messages)
//! is written by whoever was on the host, so every string from a bundle goes through one of these before it
//! reaches a Markdown document or an HTML `<script type="application/json">` data island. (HTML element
//! content and attributes are escaped by askama itself.)
//!
//! Display is not evidence: the exact bytes stay in `timeline.jsonl` and `findings.json`. Here control
//! characters, invalid UTF-8 and invisible or direction-changing code points become visible escapes
//! (`\n`, `\x1d`, `\u{202e}`), so nothing can hide or reorder text on screen.

use std::fmt::Write as _;

/// Characters that change how text is shown without being seen: zero-width, bidi controls (Trojan Source),
/// line/paragraph separators, BOM.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00ad}' | '\u{061c}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}'
        | '\u{2060}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}')
}

fn push_visible(out: &mut String, c: char, keep_newlines: bool) {
    match c {
        '\n' if keep_newlines => out.push('\n'),
        '\t' if keep_newlines => out.push('\t'),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if c.is_control() => {
            let _ = if (c as u32) < 0x100 {
                write!(out, "\\x{:02x}", c as u32)
            } else {
                write!(out, "\\u{{{:x}}}", c as u32)
            };
        }
        c if is_invisible(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// Text for display: control characters and invisible code points as visible escapes. With `keep_newlines`
/// newlines and tabs stay (multi-line raw records in a `<pre>`), otherwise they become `\n`/`\t`.
pub fn visible(s: &str, keep_newlines: bool) -> String {
    let mut out = String::with_capacity(s.len());
    push_visible_str(&mut out, s, keep_newlines);
    out
}

/// Appends `s` with [`push_visible`]'s escapes; runs of printable ASCII (nearly all text) are copied whole.
fn push_visible_str(out: &mut String, s: &str, keep_newlines: bool) {
    push_visible_str_upto(out, s, keep_newlines, usize::MAX);
}

/// [`push_visible_str`], stopping once `out` is longer than `limit` (what follows would be cut anyway).
fn push_visible_str_upto(out: &mut String, s: &str, keep_newlines: bool, limit: usize) {
    let mut rest = s;
    while !rest.is_empty() && out.len() <= limit {
        let plain = rest.bytes().position(|b| !(0x20..0x7f).contains(&b)).unwrap_or(rest.len());
        out.push_str(&rest[..plain]);
        rest = &rest[plain..];
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            push_visible(out, c, keep_newlines);
            rest = chars.as_str();
        }
    }
}

/// Like [`visible`], for bytes that may not be UTF-8: each invalid byte shows as `\xNN` (never silently U+FFFD).
pub fn visible_bytes(b: &[u8], keep_newlines: bool) -> String {
    let mut out = String::with_capacity(b.len());
    for chunk in b.utf8_chunks() {
        push_visible_str(&mut out, chunk.valid(), keep_newlines);
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out
}

/// [`visible_bytes`] then [`truncate`] to `max`, without making the visible form of more than `max` bytes.
pub fn visible_bytes_cut(b: &[u8], keep_newlines: bool, max: usize) -> String {
    let mut out = String::with_capacity(b.len().min(max) + 4);
    for chunk in b.utf8_chunks() {
        if out.len() > max {
            break;
        }
        push_visible_str_upto(&mut out, chunk.valid(), keep_newlines, max);
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    cut_in_place(&mut out, max);
    out
}

/// [`visible`] then [`truncate`] to `max`, without making the visible form of more than `max` bytes.
pub fn visible_cut(s: &str, keep_newlines: bool, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max) + 4);
    push_visible_str_upto(&mut out, s, keep_newlines, max);
    cut_in_place(&mut out, max);
    out
}

/// Where [`truncate`] cuts `s`: the last char boundary at or before `max`.
fn cut_point(s: &str, max: usize) -> usize {
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    end
}

/// [`truncate`] on a string of one's own.
fn cut_in_place(s: &mut String, max: usize) {
    if s.len() > max {
        s.truncate(cut_point(s, max));
        s.push('…');
    }
}

/// Cuts `s` to at most `max` bytes on a char boundary; says so with `…` when it cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut out = s.get(..cut_point(s, max)).unwrap_or_default().to_owned();
    out.push('…');
    out
}

/// Markdown inline text (paragraphs, headings, list items, table cells): no Markdown, HTML, entity, link,
/// autolink, mention or math can start inside it, wherever it is placed after a block prefix. Control
/// characters become visible escapes (so no new line or block starts); `<`, `>` and `&` become entities;
/// inline syntax characters (`` \ ` * _ [ ] ( ) | ~ # $ ! ``) are backslash-escaped, and a leading `-`/`+` or
/// `1.`/`1)` that would open a nested list. GFM's autolink extension links `http://`, `www.` and emails in
/// plain text, even through backslash escapes and entities (`\@`, `&#64;` still link in cmark-gfm): `://`
/// becomes `\://` and `www.` `www\.` (an escaped `:`/`.` starts no link), and `@` is followed by a word
/// joiner (`&#8288;`), which no email or mention can cross. Each shows as the same text. Safe in table cells
/// (`|` is escaped).
pub fn md_inline(s: &str) -> String {
    let vis = visible(s, false);
    let mut out = String::with_capacity(vis.len() + 16);
    let mut rest = vis.as_str();
    // Still in the leading run of blanks/digits, where list markers are recognised.
    let mut at_start = true;
    let mut leading_digits = false;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("://") {
            out.push_str("\\://");
            rest = r;
            at_start = false;
            continue;
        }
        if let Some(r) = rest.strip_prefix("www.") {
            out.push_str("www\\.");
            rest = r;
            at_start = false;
            continue;
        }
        let mut chars = rest.chars();
        let Some(c) = chars.next() else { break };
        rest = chars.as_str();
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '@' => out.push_str("@&#8288;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '|' | '~' | '#' | '$' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '-' | '+' if at_start && !leading_digits => {
                out.push('\\');
                out.push(c);
            }
            '.' if at_start && leading_digits => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
        match c {
            ' ' if !leading_digits => {}
            '0'..='9' if at_start => leading_digits = true,
            _ => at_start = false,
        }
    }
    out
}

/// A Markdown code span holding `s` as literal text: the fence is one backtick longer than the longest run of
/// backticks inside, and one space pads each side (CommonMark strips exactly one). Control characters become
/// visible escapes, so the span never spans lines. In a GFM table cell (`in_table`), `|` must be written
/// `\|` even inside code; GFM shows it as `|`.
pub fn md_code(s: &str, in_table: bool) -> String {
    let vis = visible(s, false);
    let mut longest = 0usize;
    let mut run = 0usize;
    for c in vis.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    let body = if in_table { vis.replace('|', "\\|") } else { vis };
    format!("{fence} {body} {fence}")
}

/// JSON for a `<script type="application/json">` data island: serde_json's compact form, with `<`, `>` and
/// `&` (so no `</script>` or `<!--` can end or change the element) and U+2028/U+2029 written as `\uXXXX`
/// escapes. These characters only ever occur inside JSON strings, where the escapes mean the same characters.
pub fn json_for_script<T: serde::Serialize + ?Sized>(v: &T, size_hint: usize) -> String {
    struct ScriptSafe;
    impl serde_json::ser::Formatter for ScriptSafe {
        fn write_string_fragment<W: ?Sized + std::io::Write>(&mut self, w: &mut W, s: &str) -> std::io::Result<()> {
            let mut rest = s;
            // 0xE2 leads U+2028 and U+2029 (and other characters, passed as they are).
            let next = |t: &str| match (memchr::memchr3(b'<', b'>', b'&', t.as_bytes()), memchr::memchr(0xE2, t.as_bytes())) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            while let Some(at) = next(rest) {
                let c = rest[at..].chars().next().unwrap_or_default();
                w.write_all(&rest.as_bytes()[..at])?;
                if matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}') {
                    write!(w, "\\u{:04x}", u32::from(c))?;
                } else {
                    w.write_all(c.encode_utf8(&mut [0; 4]).as_bytes())?;
                }
                rest = &rest[at + c.len_utf8()..];
            }
            w.write_all(rest.as_bytes())
        }
    }
    let mut out = Vec::with_capacity(size_hint);
    // Writing to a Vec cannot fail, and serde_json writes UTF-8.
    let _ = v.serialize(&mut serde_json::Serializer::with_formatter(&mut out, ScriptSafe));
    String::from_utf8(out).unwrap_or_default()
}

/// How an event's raw record is shown: text made visible and cut to `max` bytes, or for a binary record
/// (utmp struct, ELF note) its size and the first 32 bytes in hex — escaping NULs as text would make a
/// 384-byte record 2 KiB of `\x00`.
pub fn raw_display(raw: &coroner_schemas::Text, max: usize) -> String {
    let b = raw.as_bytes();
    if raw.is_binary() {
        let head = b.get(..32).unwrap_or(b);
        // `encode_to_slice` rather than `encode`, which builds its string a char at a time (the render row).
        let mut buf = [0u8; 64];
        let digits = &mut buf[..head.len() * 2];
        let hex = match hex::encode_to_slice(head, digits) {
            Ok(()) => std::str::from_utf8(digits).unwrap_or_default(),
            Err(_) => "",
        };
        let mut out = String::with_capacity(40 + 96);
        out.push_str("binary record, ");
        out.push_str(itoa::Buffer::new().format(b.len()));
        out.push_str(" bytes: ");
        for i in (0..hex.len()).step_by(2) {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(hex.get(i..i + 2).unwrap_or_default());
        }
        if b.len() > 32 {
            out.push_str(" …");
        }
        out
    } else {
        visible_bytes_cut(b, true, max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-pass forms give exactly what the two-step forms give; the data island form reads back as the
    /// text and holds no character that could end its element.
    #[test]
    fn cut_and_script_forms_match_the_two_step_forms() {
        let samples: Vec<String> = vec![
            String::new(),
            "plain".into(),
            "a\nb\tc\r\u{1b}[31m\u{7f}\u{202e}".into(),
            "<script>&amp;</script> \"q\" \\ \u{2028}\u{2029} \u{8}\u{c}\u{1}".into(),
            "é".repeat(300),
            format!("{}\u{202e}{}", "x".repeat(509), "y".repeat(20)),
            "\u{e2}\u{2030}\u{2027}".into(),
        ];
        for s in &samples {
            for max in [0, 1, 5, 511, 512, 513, 4096] {
                for nl in [false, true] {
                    assert_eq!(visible_cut(s, nl, max), truncate(&visible(s, nl), max), "{s:?} {max}");
                    assert_eq!(visible_bytes_cut(s.as_bytes(), nl, max), truncate(&visible_bytes(s.as_bytes(), nl), max));
                }
            }
            let island = json_for_script(s, 0);
            assert!(!island.contains(['<', '>', '&', '\u{2028}', '\u{2029}']), "{island}");
            assert_eq!(serde_json::from_str::<String>(&island).expect("json"), *s);
        }
        for b in [&b"ok \xff\xfe x"[..], b"\xe2\x80", &[b'a'; 600], b"\xf0\x9f\x98\x80\xf0\x9f"] {
            for max in [0, 3, 4, 5, 512] {
                assert_eq!(visible_bytes_cut(b, true, max), truncate(&visible_bytes(b, true), max));
            }
        }
    }

    #[test]
    fn visible_shows_controls_and_invalid_bytes() {
        assert_eq!(visible("a\nb\x1bc\u{202e}d", false), "a\\nb\\x1bc\\u{202e}d");
        assert_eq!(visible("a\nb", true), "a\nb");
        assert_eq!(visible_bytes(b"ok \xff\xfe x", false), "ok \\xff\\xfe x");
    }

    #[test]
    fn md_inline_neutralises_links_and_html() {
        let s = md_inline("](javascript:alert(1)) <script>&amp; http://x www.y |");
        assert!(!s.contains("]("));
        assert!(!s.contains('<'));
        assert!(s.contains("http\\://x www\\.y"));
        assert!(s.ends_with("\\|"));
        assert_eq!(md_inline("- x - y"), "\\- x - y");
        assert_eq!(md_inline("12. x 1. y"), "12\\. x 1. y");
        assert_eq!(md_inline("a_b *c* #1 @u $x$"), "a\\_b \\*c\\* \\#1 @&#8288;u \\$x\\$");
        // Regression: `\@` still made a mailto: link under GFM; the word joiner stops it.
        assert_eq!(md_inline("alice@example.com"), "alice@&#8288;example.com");
        assert_eq!(md_inline("https://x.org www.y.org"), "https\\://x.org www\\.y.org");
    }

    #[test]
    fn md_code_fence_is_longer_than_any_backtick_run() {
        assert_eq!(md_code("a``b", false), "``` a``b ```");
        assert_eq!(md_code("x|y", true), "` x\\|y `");
    }

    #[test]
    fn json_for_script_cannot_close_the_element() {
        let j = json_for_script(&["</script><!--&", "\u{2028}", "\u{2027}\u{2030}é"], 0);
        assert!(!j.contains('<') && !j.contains('>') && !j.contains('&'));
        // Other characters led by the byte 0xE2 pass as they are; U+2028 is escaped.
        assert!(j.contains("\u{2027}\u{2030}é") && j.contains("\\u2028") && !j.contains('\u{2028}'), "{j}");
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("ééé", 3), "é…");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
