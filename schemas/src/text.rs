//! Bytes that are usually text. Evidence is kept exactly: valid UTF-8 travels as `{"text": …}`, anything
//! else as `{"bytes": <base64>}` (the wire form ripgrep's JSON output uses), never lossily converted.

use base64::Engine as _;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Text {
    /// Valid UTF-8.
    Text { text: String },
    /// Not UTF-8: standard base64 of the exact bytes.
    Bytes { bytes: String },
}

impl Text {
    pub fn from_bytes(b: &[u8]) -> Text {
        match std::str::from_utf8(b) {
            Ok(s) => Text::Text { text: s.to_owned() },
            Err(_) => Text::Bytes { bytes: base64::engine::general_purpose::STANDARD.encode(b) },
        }
    }
    pub fn from_str(s: &str) -> Text {
        Text::Text { text: s.to_owned() }
    }
    /// The exact bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Text::Text { text } => text.as_bytes().to_vec(),
            Text::Bytes { bytes } => base64::engine::general_purpose::STANDARD.decode(bytes).unwrap_or_default(),
        }
    }
    /// For display only: invalid sequences become U+FFFD. Use [`Text::to_bytes`] for the evidence.
    pub fn lossy(&self) -> String {
        match self {
            Text::Text { text } => text.clone(),
            Text::Bytes { .. } => String::from_utf8_lossy(&self.to_bytes()).into_owned(),
        }
    }
    /// A binary record (a utmp struct, an ELF note): it holds NUL bytes, which no text line does. Display it
    /// as hex or base64, never as escaped text. (Text with a few invalid UTF-8 bytes is still text.)
    pub fn is_binary(&self) -> bool {
        match self {
            Text::Bytes { .. } => self.to_bytes().contains(&0),
            Text::Text { text } => text.as_bytes().contains(&0),
        }
    }
    pub fn is_exact_text(&self) -> bool {
        matches!(self, Text::Text { .. })
    }
}

impl Default for Text {
    fn default() -> Self {
        Text::Text { text: String::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_utf8_is_kept_exactly() {
        let raw = b"rm -rf \xff\xfe /tmp";
        let t = Text::from_bytes(raw);
        assert!(!t.is_exact_text());
        let json = serde_json::to_string(&t).expect("ser");
        let back: Text = serde_json::from_str(&json).expect("de");
        assert_eq!(back.to_bytes(), raw);
        assert_eq!(serde_json::to_string(&Text::from_bytes(b"ok")).expect("ser"), r#"{"text":"ok"}"#);
        assert!(!t.is_binary(), "a text line with bad bytes is still text");
        assert!(Text::from_bytes(b"\x07\0\0\0pts/1\0\0").is_binary());
    }
}
