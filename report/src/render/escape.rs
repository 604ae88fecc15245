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
    let mut rest = s;
    while !rest.is_empty() {
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

/// Cuts `s` to at most `max` bytes on a char boundary; says so with `…` when it cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = s.get(..end).unwrap_or_default().to_owned();
    out.push('…');
    out
}

/// Markdown inline text (paragraphs, headings, list items, table cells): no Markdown, HTML, entity, link,
/// autolink, mention or math can start inside it, wherever it is placed after a block prefix. Control
/// characters become visible escapes (so no new line or block starts); `<`, `>` and `&` become entities;
/// inline syntax characters (`` \ ` * _ [ ] ( ) | ~ # $ @ ! ``) are backslash-escaped, and a leading `-`/`+` or
/// `1.`/`1)` that would open a nested list; `://` and `www.` are defanged (`\[:\]//`, `www\[.\]`) so
/// GFM's autolink extension cannot turn evidence into a link. Safe in table cells (`|` is escaped).
pub fn md_inline(s: &str) -> String {
    let vis = visible(s, false);
    let mut out = String::with_capacity(vis.len() + 16);
    let mut rest = vis.as_str();
    // Still in the leading run of blanks/digits, where list markers are recognised.
    let mut at_start = true;
    let mut leading_digits = false;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("://") {
            out.push_str("\\[:\\]//");
            rest = r;
            at_start = false;
            continue;
        }
        if let Some(r) = rest.strip_prefix("www.") {
            out.push_str("www\\[.\\]");
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
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '|' | '~' | '#' | '$' | '@' | '!' => {
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

/// JSON for a `<script type="application/json">` data island: `<`, `>` and `&` (so no `</script>` or
/// `<!--` can end or change the element) and U+2028/U+2029 are written as `\uXXXX` escapes. These
/// characters only ever occur inside JSON strings, where the escapes mean the same characters.
pub fn json_for_script(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + 64);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(!s.contains("://"));
        assert!(!s.contains("www."));
        assert!(s.ends_with("\\|"));
        assert_eq!(md_inline("- x - y"), "\\- x - y");
        assert_eq!(md_inline("12. x 1. y"), "12\\. x 1. y");
        assert_eq!(md_inline("a_b *c* #1 @u $x$"), "a\\_b \\*c\\* \\#1 \\@u \\$x\\$");
    }

    #[test]
    fn md_code_fence_is_longer_than_any_backtick_run() {
        assert_eq!(md_code("a``b", false), "``` a``b ```");
        assert_eq!(md_code("x|y", true), "` x\\|y `");
    }

    #[test]
    fn json_for_script_cannot_close_the_element() {
        let j = json_for_script(r#"["</script><!--&",  "\u2028"]"#);
        assert!(!j.contains('<') && !j.contains('>') && !j.contains('&'));
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("ééé", 3), "é…");
        assert_eq!(truncate("abc", 3), "abc");
    }
}

/// How an event's raw record is shown: text made visible and cut to `max` bytes, or for a binary record
/// (utmp struct, ELF note) its size and the first 32 bytes in hex — escaping NULs as text would make a
/// 384-byte record 2 KiB of `\x00`.
pub fn raw_display(raw: &coroner_schemas::Text, max: usize) -> String {
    if raw.is_binary() {
        let b = raw.to_bytes();
        let hex: Vec<String> = b.iter().take(32).map(|x| format!("{x:02x}")).collect();
        format!("binary record, {} bytes: {}{}", b.len(), hex.join(" "), if b.len() > 32 { " …" } else { "" })
    } else {
        truncate(&visible_bytes(&raw.to_bytes(), true), max)
    }
}
