//! An event's source-specific fields: a small map from name to JSON value, kept as one sorted vector.
//!
//! Events carry a handful of fields each and there are millions of events, so the map is a single
//! allocation sized to its contents (a `BTreeMap` allocates a node of eleven slots per map), the names,
//! nearly always literals, are not copied, and a value is a [`FieldValue`]: 24 bytes that hold numbers and
//! strings of up to 22 bytes (user names, ttys, addresses, signal names) without an allocation of their own.
//! Its JSON form is exactly a JSON object with sorted keys, as a `serde_json::Value` object would write it.

use std::borrow::Cow;
use std::fmt;

use schemars::JsonSchema;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// A field name: a literal, or (rarely) a name read from the evidence, interned. 16 bytes, so a field is 40.
///
/// Names read from evidence (kmsg dictionary keys, `auditctl -s` lines, field maps read back from JSON) are
/// kept once per distinct name for the life of the process: a set bounded by the names the inputs hold.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(&'static str);

impl Key {
    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl From<&'static str> for Key {
    fn from(s: &'static str) -> Key {
        Key(s)
    }
}

impl From<String> for Key {
    fn from(s: String) -> Key {
        static NAMES: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<&'static str>>> =
            std::sync::OnceLock::new();
        let mut names = NAMES.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = names.get(s.as_str()) {
            return Key(k);
        }
        let k: &'static str = Box::leak(s.into_boxed_str());
        names.insert(k);
        Key(k)
    }
}

impl From<Cow<'static, str>> for Key {
    fn from(s: Cow<'static, str>) -> Key {
        match s {
            Cow::Borrowed(b) => Key(b),
            Cow::Owned(o) => Key::from(o),
        }
    }
}

impl std::ops::Deref for Key {
    type Target = str;
    fn deref(&self) -> &str {
        self.0
    }
}

impl AsRef<str> for Key {
    fn as_ref(&self) -> &str {
        self.0
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Longest string a [`FieldValue`] holds inline.
pub const INLINE_MAX: usize = 22;

/// One field's value: what a `serde_json::Value` would hold, with short strings inline.
///
/// Integers are kept as `Int` whenever they fit an `i64` (`UInt` only above `i64::MAX`), so equal numbers
/// have one form; arrays and objects (rare: argv, kill targets) are a boxed `serde_json::Value`.
#[derive(Clone)]
pub enum FieldValue {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Inline(InlineStr),
    Str(Box<str>),
    Json(Box<Value>),
}

const _: () = assert!(std::mem::size_of::<FieldValue>() == 24);
const _: () = assert!(std::mem::size_of::<(Key, FieldValue)>() == 40);

/// A string of at most [`INLINE_MAX`] bytes, stored in place. Only ever built from a `&str`.
#[derive(Clone, Copy)]
pub struct InlineStr {
    len: u8,
    buf: [u8; INLINE_MAX],
}

impl InlineStr {
    fn new(s: &str) -> Option<InlineStr> {
        let mut buf = [0u8; INLINE_MAX];
        buf.get_mut(..s.len())?.copy_from_slice(s.as_bytes());
        Some(InlineStr { len: s.len() as u8, buf })
    }
    fn as_str(&self) -> &str {
        // Built from a whole `&str`, so this never fails; an empty string would be the answer if it did.
        std::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl FieldValue {
    pub fn is_null(&self) -> bool {
        matches!(self, FieldValue::Null)
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            FieldValue::Inline(s) => Some(s.as_str()),
            FieldValue::Str(s) => Some(s),
            FieldValue::Json(v) => v.as_str(),
            _ => None,
        }
    }
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            FieldValue::Int(n) => Some(*n),
            _ => None,
        }
    }
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            FieldValue::Int(n) => u64::try_from(*n).ok(),
            FieldValue::UInt(n) => Some(*n),
            _ => None,
        }
    }
    /// As `serde_json::Value::as_f64`: any number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            FieldValue::Int(n) => Some(*n as f64),
            FieldValue::UInt(n) => Some(*n as f64),
            FieldValue::Float(f) => Some(*f),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            FieldValue::Bool(b) => Some(*b),
            _ => None,
        }
    }
    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            FieldValue::Json(v) => v.as_array(),
            _ => None,
        }
    }
    /// The same value as a `serde_json::Value`.
    pub fn to_json(&self) -> Value {
        match self {
            FieldValue::Null => Value::Null,
            FieldValue::Bool(b) => Value::Bool(*b),
            FieldValue::Int(n) => Value::from(*n),
            FieldValue::UInt(n) => Value::from(*n),
            FieldValue::Float(f) => Value::from(*f),
            FieldValue::Inline(s) => Value::from(s.as_str()),
            FieldValue::Str(s) => Value::from(&**s),
            FieldValue::Json(v) => (**v).clone(),
        }
    }
}

impl From<&str> for FieldValue {
    fn from(s: &str) -> FieldValue {
        match InlineStr::new(s) {
            Some(i) => FieldValue::Inline(i),
            None => FieldValue::Str(s.into()),
        }
    }
}
impl From<String> for FieldValue {
    fn from(s: String) -> FieldValue {
        if s.len() <= INLINE_MAX { FieldValue::from(s.as_str()) } else { FieldValue::Str(s.into_boxed_str()) }
    }
}
impl From<&String> for FieldValue {
    fn from(s: &String) -> FieldValue {
        FieldValue::from(s.as_str())
    }
}
impl From<Cow<'_, str>> for FieldValue {
    fn from(s: Cow<'_, str>) -> FieldValue {
        match s {
            Cow::Borrowed(b) => FieldValue::from(b),
            Cow::Owned(o) => FieldValue::from(o),
        }
    }
}
impl From<bool> for FieldValue {
    fn from(b: bool) -> FieldValue {
        FieldValue::Bool(b)
    }
}
macro_rules! from_signed {
    ($($t:ty),*) => {$(
        impl From<$t> for FieldValue {
            fn from(n: $t) -> FieldValue {
                FieldValue::Int(i64::from(n))
            }
        }
    )*};
}
from_signed!(i8, i16, i32, i64, u8, u16, u32);
impl From<u64> for FieldValue {
    fn from(n: u64) -> FieldValue {
        i64::try_from(n).map_or(FieldValue::UInt(n), FieldValue::Int)
    }
}
impl From<usize> for FieldValue {
    fn from(n: usize) -> FieldValue {
        FieldValue::from(n as u64)
    }
}
impl From<isize> for FieldValue {
    fn from(n: isize) -> FieldValue {
        FieldValue::Int(n as i64)
    }
}
/// Not finite: `null`, as `serde_json::Value::from(f64)` does.
impl From<f64> for FieldValue {
    fn from(f: f64) -> FieldValue {
        if f.is_finite() { FieldValue::Float(f) } else { FieldValue::Null }
    }
}
impl<T: Into<FieldValue>> From<Option<T>> for FieldValue {
    fn from(o: Option<T>) -> FieldValue {
        o.map_or(FieldValue::Null, Into::into)
    }
}
impl From<Value> for FieldValue {
    fn from(v: Value) -> FieldValue {
        match v {
            Value::Null => FieldValue::Null,
            Value::Bool(b) => FieldValue::Bool(b),
            Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => FieldValue::Int(i),
                (None, Some(u)) => FieldValue::UInt(u),
                _ => n.as_f64().map_or(FieldValue::Null, FieldValue::Float),
            },
            Value::String(s) => FieldValue::from(s),
            other => FieldValue::Json(Box::new(other)),
        }
    }
}
impl From<&Value> for FieldValue {
    fn from(v: &Value) -> FieldValue {
        match v {
            Value::String(s) => FieldValue::from(s.as_str()),
            Value::Array(_) | Value::Object(_) => FieldValue::Json(Box::new(v.clone())),
            other => FieldValue::from(other.clone()),
        }
    }
}
impl From<FieldValue> for Value {
    fn from(v: FieldValue) -> Value {
        match v {
            FieldValue::Json(b) => *b,
            FieldValue::Str(s) => Value::String(s.into()),
            other => other.to_json(),
        }
    }
}

/// Equal when their JSON is: strings by content however stored, numbers as `serde_json` compares them.
impl PartialEq for FieldValue {
    fn eq(&self, other: &FieldValue) -> bool {
        use FieldValue::*;
        match (self, other) {
            (Null, Null) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (UInt(a), UInt(b)) => a == b,
            (Float(a), Float(b)) => a == b,
            (Json(a), Json(b)) => a == b,
            (Inline(_) | Str(_), Inline(_) | Str(_)) => self.as_str() == other.as_str(),
            // A `Json` string (only when built by hand) against an inline or boxed one.
            (Json(_), Inline(_) | Str(_)) | (Inline(_) | Str(_), Json(_)) => {
                self.as_str().is_some() && self.as_str() == other.as_str()
            }
            _ => false,
        }
    }
}
impl PartialEq<Value> for FieldValue {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (FieldValue::Null, Value::Null) => true,
            (FieldValue::Bool(a), Value::Bool(b)) => a == b,
            (FieldValue::Int(a), Value::Number(n)) => n.as_i64() == Some(*a),
            (FieldValue::UInt(a), Value::Number(n)) => n.as_i64().is_none() && n.as_u64() == Some(*a),
            (FieldValue::Float(a), Value::Number(n)) => n.is_f64() && n.as_f64() == Some(*a),
            (FieldValue::Inline(_) | FieldValue::Str(_), Value::String(b)) => self.as_str() == Some(b.as_str()),
            (FieldValue::Json(a), b) => **a == *b,
            _ => false,
        }
    }
}
impl PartialEq<FieldValue> for Value {
    fn eq(&self, other: &FieldValue) -> bool {
        other == self
    }
}
impl PartialEq<&str> for FieldValue {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

impl fmt::Debug for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Null => f.write_str("Null"),
            FieldValue::Bool(b) => write!(f, "Bool({b})"),
            FieldValue::Int(n) => write!(f, "Number({n})"),
            FieldValue::UInt(n) => write!(f, "Number({n})"),
            FieldValue::Float(x) => write!(f, "Number({x})"),
            FieldValue::Inline(_) | FieldValue::Str(_) => write!(f, "String({:?})", self.as_str().unwrap_or_default()),
            FieldValue::Json(v) => fmt::Debug::fmt(v, f),
        }
    }
}

/// The value's JSON text, as `serde_json::Value`'s `Display` writes it.
impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Json(v) => fmt::Display::fmt(v, f),
            other => f.write_str(&serde_json::to_string(other).map_err(|_| fmt::Error)?),
        }
    }
}

impl Serialize for FieldValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            FieldValue::Null => s.serialize_unit(),
            FieldValue::Bool(b) => s.serialize_bool(*b),
            FieldValue::Int(n) => s.serialize_i64(*n),
            FieldValue::UInt(n) => s.serialize_u64(*n),
            FieldValue::Float(x) => s.serialize_f64(*x),
            FieldValue::Inline(i) => s.serialize_str(i.as_str()),
            FieldValue::Str(b) => s.serialize_str(b),
            FieldValue::Json(v) => v.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for FieldValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(FieldValue::from)
    }
}

#[derive(Clone, Default, PartialEq)]
pub struct Fields(Vec<(Key, FieldValue)>);

impl Fields {
    pub fn new() -> Fields {
        Fields(Vec::new())
    }
    pub fn with_capacity(n: usize) -> Fields {
        Fields(Vec::with_capacity(n))
    }
    fn find(&self, k: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(x, _)| x.as_ref().cmp(k))
    }
    pub fn get(&self, k: &str) -> Option<&FieldValue> {
        self.find(k).ok().map(|i| &self.0[i].1)
    }
    pub fn contains_key(&self, k: &str) -> bool {
        self.find(k).is_ok()
    }
    /// Sets `k` to `v`, returning the value it replaces.
    pub fn insert(&mut self, k: Key, v: impl Into<FieldValue>) -> Option<FieldValue> {
        let v = v.into();
        // Parsers mostly add fields in name order: appending needs no search and no shifting.
        if self.0.last().is_none_or(|(last, _)| name_less(last.as_ref(), k.as_ref())) {
            self.0.push((k, v));
            return None;
        }
        match self.find(&k) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, v)),
            Err(i) => {
                self.0.insert(i, (k, v));
                None
            }
        }
    }
    /// Sets `k` to `v` unless it is already set.
    pub fn insert_if_absent<V: Into<FieldValue>>(&mut self, k: Key, v: impl FnOnce() -> V) {
        if let Err(i) = self.find(&k) {
            self.0.insert(i, (k, v().into()));
        }
    }
    pub fn remove(&mut self, k: &str) -> Option<FieldValue> {
        self.find(k).ok().map(|i| self.0.remove(i).1)
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Moves the fields into an allocation of exactly their size, when the current one has spare room (fields
    /// built with room to spare are kept in millions of events). A fresh allocation, not a reallocation: an
    /// allocator may shrink a block in place and keep its size.
    pub fn shrink_to_fit(&mut self) {
        if self.0.capacity() > self.0.len() {
            let mut exact = Vec::with_capacity(self.0.len());
            exact.append(&mut self.0);
            self.0 = exact;
        }
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// In name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &FieldValue)> + '_ {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }
    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.0.iter().map(|(k, _)| k.as_ref())
    }
}

/// `a < b` for field names, settled by the first byte when that differs (names in a record nearly always
/// start differently) before a full comparison.
fn name_less(a: &str, b: &str) -> bool {
    match (a.as_bytes().first(), b.as_bytes().first()) {
        (Some(x), Some(y)) if x != y => x < y,
        _ => a < b,
    }
}

impl<K: Into<Key>, V: Into<FieldValue>> Extend<(K, V)> for Fields {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k.into(), v);
        }
    }
}

impl<K: Into<Key>, V: Into<FieldValue>> FromIterator<(K, V)> for Fields {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Fields {
        let mut f = Fields::new();
        f.extend(iter);
        f
    }
}

/// `fields["name"]`: the value, or `null` when the field is absent (as indexing a JSON object does).
impl std::ops::Index<&str> for Fields {
    type Output = FieldValue;
    fn index(&self, k: &str) -> &FieldValue {
        static NULL: FieldValue = FieldValue::Null;
        self.get(k).unwrap_or(&NULL)
    }
}

impl IntoIterator for Fields {
    type Item = (Key, FieldValue);
    type IntoIter = std::vec::IntoIter<(Key, FieldValue)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k.as_ref(), v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of field names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Fields, A::Error> {
                let mut out = Fields::with_capacity(a.size_hint().unwrap_or(0));
                while let Some((k, v)) = a.next_entry::<String, FieldValue>()? {
                    out.insert(Key::from(k), v);
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}

impl JsonSchema for Fields {
    fn schema_name() -> Cow<'static, str> {
        <std::collections::BTreeMap<String, Value>>::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        <std::collections::BTreeMap<String, Value>>::schema_id()
    }
    fn inline_schema() -> bool {
        <std::collections::BTreeMap<String, Value>>::inline_schema()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <std::collections::BTreeMap<String, Value>>::json_schema(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Appending in order is decided on first bytes where they differ: names sharing a prefix, an empty name
    /// and one name that is a prefix of another still end up sorted, whatever order they come in.
    #[test]
    fn names_stay_sorted_in_any_insertion_order() {
        let names = ["session_seconds", "", "s", "session_end", "tty", "a", "ab", "abc", "b", "ba", "ut_type"];
        let mut sorted: Vec<&str> = names.to_vec();
        sorted.sort_unstable();
        for r in 0..names.len() {
            for reversed in [false, true] {
                let mut order: Vec<&str> = names.to_vec();
                order.rotate_left(r);
                if reversed {
                    order.reverse();
                }
                let mut f = Fields::new();
                for (i, n) in order.iter().enumerate() {
                    assert_eq!(f.insert(Key::from(*n), i as i64), None, "{order:?}");
                }
                assert_eq!(f.keys().collect::<Vec<_>>(), sorted, "{order:?}");
                for (i, n) in order.iter().enumerate() {
                    assert_eq!(f.get(n).and_then(|v| v.as_i64()), Some(i as i64), "{n:?} in {order:?}");
                }
            }
        }
    }

    #[test]
    fn behaves_like_a_sorted_map() {
        let mut f = Fields::new();
        assert_eq!(f.insert("b".into(), Value::from(2)), None);
        f.insert("a".into(), Value::from("x"));
        f.insert(Key::from("c".to_owned()), Value::Null);
        assert_eq!(f.insert("b".into(), Value::from(3)), Some(FieldValue::from(2)));
        f.insert_if_absent("a".into(), || Value::from("y"));
        assert_eq!(f.get("a"), Some(&FieldValue::from("x")));
        assert_eq!(f.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(serde_json::to_string(&f).expect("ser"), r#"{"a":"x","b":3,"c":null}"#);
        let back: Fields = serde_json::from_str(r#"{"z":1,"a":"x","b":3,"c":null}"#).expect("de");
        assert_eq!(back.keys().collect::<Vec<_>>(), ["a", "b", "c", "z"]);
        assert_eq!(f.remove("b"), Some(FieldValue::from(3)));
        assert!(!f.contains_key("b") && f.len() == 2);
    }

    /// A `FieldValue` writes, reads back and compares exactly as the `serde_json::Value` it stands for.
    #[test]
    fn values_are_their_json() {
        let long = "x".repeat(INLINE_MAX + 1);
        let exact = "y".repeat(INLINE_MAX);
        let cases = [
            serde_json::json!(null),
            serde_json::json!(true),
            serde_json::json!(0),
            serde_json::json!(-1),
            serde_json::json!(i64::MIN),
            serde_json::json!(i64::MAX),
            serde_json::json!(u64::MAX),
            serde_json::json!(1.5),
            serde_json::json!(-0.25e-10),
            serde_json::json!(""),
            serde_json::json!("pts/0"),
            serde_json::json!("caf\u{e9} \u{1b}[31m \" \\ \n"),
            serde_json::json!(exact),
            serde_json::json!(long),
            serde_json::json!(["a", 1, null]),
            serde_json::json!({"pid": 7, "comm": "x"}),
        ];
        for v in &cases {
            let f = FieldValue::from(v);
            assert_eq!(serde_json::to_string(&f).expect("ser"), serde_json::to_string(v).expect("ser"), "{v}");
            assert_eq!(f.to_string(), v.to_string(), "{v}");
            assert_eq!(f.to_json(), *v);
            assert_eq!(f, *v);
            let back: FieldValue = serde_json::from_str(&v.to_string()).expect("de");
            assert_eq!(back, f, "{v}");
            assert_eq!(f.as_str(), v.as_str());
            assert_eq!(f.as_i64(), v.as_i64());
            assert_eq!(f.as_u64(), v.as_u64());
            assert_eq!(f.as_f64(), v.as_f64());
            assert_eq!(f.as_bool(), v.as_bool());
            assert_eq!(f.as_array(), v.as_array());
            assert_eq!(f.is_null(), v.is_null());
            for w in &cases {
                let fw = FieldValue::from(w);
                assert_eq!(f == fw, v == w, "{v} vs {w}");
                assert_eq!(f == *w, v == w, "{v} vs {w}");
            }
        }
        // Short strings are held in place, longer ones boxed; numbers have one form whatever type made them.
        assert!(matches!(FieldValue::from(exact.as_str()), FieldValue::Inline(_)));
        assert!(matches!(FieldValue::from(long.as_str()), FieldValue::Str(_)));
        assert_eq!(FieldValue::from(5u64), FieldValue::from(5i32));
        assert_eq!(FieldValue::from(f64::NAN), FieldValue::Null);
        assert_eq!(FieldValue::from(None::<i64>), FieldValue::Null);
    }

    /// A name read from evidence is stored once, however often it is read; names compare by their text.
    #[test]
    fn names_from_evidence_are_interned_once() {
        let a = Key::from("dict_key_for_the_interning_test".to_owned());
        let b = Key::from(String::from("dict_key_for_the_interning_test"));
        assert!(std::ptr::eq(a.as_str(), b.as_str()));
        assert_eq!(a, Key::from("dict_key_for_the_interning_test"));
        let f: Fields = serde_json::from_str(r#"{"dict_key_for_the_interning_test": 1, "a": 2}"#).expect("de");
        assert_eq!(f.keys().collect::<Vec<_>>(), ["a", "dict_key_for_the_interning_test"]);
        assert!(std::ptr::eq(f.iter().nth(1).map_or("", |(k, _)| k), a.as_str()));
    }
}
