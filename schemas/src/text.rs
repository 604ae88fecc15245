//! Bytes that are usually text. Evidence is kept exactly: valid UTF-8 travels as `{"text": …}`, anything
//! else as `{"bytes": <base64>}` (the wire form ripgrep's JSON output uses), never lossily converted.
//!
//! In memory a [`Text`] is a shared, immutable byte range: a parser can hand out the record's bytes as a
//! slice of the entry it read ([`Text::shared`]) instead of copying them, so a million records cost no more
//! memory than the entry itself.

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use bytes::Bytes;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Text(Bytes);

/// The JSON form, and its schema.
mod wire {
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, JsonSchema)]
    #[serde(untagged)]
    pub enum Text<'a> {
        /// Valid UTF-8.
        Text {
            #[serde(borrow)]
            text: std::borrow::Cow<'a, str>,
        },
        /// Not UTF-8: standard base64 of the exact bytes.
        Bytes {
            #[serde(borrow)]
            bytes: std::borrow::Cow<'a, str>,
        },
    }
}

impl Text {
    /// A copy of `b`.
    pub fn from_bytes(b: &[u8]) -> Text {
        Text(Bytes::copy_from_slice(b))
    }
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(s: &str) -> Text {
        Text(Bytes::copy_from_slice(s.as_bytes()))
    }
    /// Takes ownership of `v` without copying.
    pub fn from_vec(v: Vec<u8>) -> Text {
        Text(Bytes::from(v))
    }
    /// A slice of a shared buffer: no copy (the buffer lives as long as any slice of it).
    pub fn shared(b: Bytes) -> Text {
        Text(b)
    }
    /// The same bytes in a buffer of their own, so a kept `Text` no longer holds the buffer it was sliced from.
    pub fn unshared(&self) -> Text {
        Text(Bytes::copy_from_slice(&self.0))
    }
    /// The exact bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    /// The exact bytes, copied.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_vec()
    }
    /// The text, when it is valid UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }
    /// For display only: invalid sequences become U+FFFD. Use [`Text::as_bytes`] for the evidence.
    pub fn lossy(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }
    /// As [`Text::lossy`], borrowing when the bytes are valid UTF-8.
    pub fn lossy_cow(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }
    /// A binary record (a utmp struct, an ELF note): it holds NUL bytes, which no text line does. Display it
    /// as hex or base64, never as escaped text. (Text with a few invalid UTF-8 bytes is still text.)
    pub fn is_binary(&self) -> bool {
        self.0.contains(&0)
    }
    /// Valid UTF-8 (travels as `{"text": …}`).
    pub fn is_exact_text(&self) -> bool {
        self.as_str().is_some()
    }
    /// Standard base64 of the exact bytes.
    pub fn base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.0)
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(s) => f.debug_struct("Text").field("text", &s).finish(),
            None => f.debug_struct("Text").field("bytes", &self.base64()).finish(),
        }
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.as_str() {
            Some(t) => wire::Text::Text { text: Cow::Borrowed(t) }.serialize(s),
            None => wire::Text::Bytes { bytes: Cow::Owned(self.base64()) }.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match wire::Text::deserialize(d)? {
            wire::Text::Text { text } => Ok(Text::from_vec(text.into_owned().into_bytes())),
            wire::Text::Bytes { bytes } => base64::engine::general_purpose::STANDARD
                .decode(bytes.as_bytes())
                .map(Text::from_vec)
                .map_err(serde::de::Error::custom),
        }
    }
}

impl JsonSchema for Text {
    fn schema_name() -> Cow<'static, str> {
        wire::Text::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        wire::Text::schema_id()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        wire::Text::json_schema(g)
    }
}

#[cfg(test)]
mod tests {

    /// An unshared copy leaves the buffer it came from held by nothing else, so it can be freed.
    #[test]
    fn unshared_lets_the_buffer_go() {
        let member = Bytes::from(vec![b'x'; 1 << 20]);
        let kept = Text::shared(member.slice(10..20));
        assert!(!member.is_unique(), "a shared slice holds the member");
        let own = kept.unshared();
        drop(kept);
        assert!(member.is_unique(), "only the copy is kept");
        assert_eq!(own.as_bytes(), &[b'x'; 10]);
    }

    use super::*;

    #[test]
    fn non_utf8_is_kept_exactly() {
        let raw = b"rm -rf \xff\xfe /tmp";
        let t = Text::from_bytes(raw);
        assert!(!t.is_exact_text());
        let json = serde_json::to_string(&t).expect("ser");
        assert_eq!(json, r#"{"bytes":"cm0gLXJmIP/+IC90bXA="}"#);
        let back: Text = serde_json::from_str(&json).expect("de");
        assert_eq!(back.to_bytes(), raw);
        assert_eq!(serde_json::to_string(&Text::from_bytes(b"ok")).expect("ser"), r#"{"text":"ok"}"#);
        let back: Text = serde_json::from_str(r#"{"text":"a\"b"}"#).expect("de");
        assert_eq!(back.as_bytes(), b"a\"b");
        assert!(!t.is_binary(), "a text line with bad bytes is still text");
        assert!(Text::from_bytes(b"\x07\0\0\0pts/1\0\0").is_binary());
        assert!(serde_json::from_str::<Text>(r#"{"bytes":"%%%"}"#).is_err(), "bad base64 is refused");
    }

    #[test]
    fn shared_slices_do_not_copy() {
        let buf = Bytes::from(b"line one\nline two\n".to_vec());
        let t = Text::shared(buf.slice(9..17));
        assert_eq!(t.as_str(), Some("line two"));
        assert_eq!(t.as_bytes().as_ptr(), buf[9..].as_ptr());
    }
}
