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

/// A field name: a literal, or (rarely) a name read from the evidence (kmsg dictionary keys, `auditctl -s`
/// lines, field maps read back from JSON). A name read that is a documented key ([`KEYS`]) is that key's
/// literal; any other is kept as its own string, freed with the event.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(Cow<'static, str>);

impl Key {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&'static str> for Key {
    fn from(s: &'static str) -> Key {
        Key(Cow::Borrowed(s))
    }
}

impl From<String> for Key {
    fn from(s: String) -> Key {
        match KEYS.binary_search_by(|k| k.name.cmp(&s)) {
            Ok(i) => Key(Cow::Borrowed(KEYS[i].name)),
            Err(_) => Key(Cow::Owned(s)),
        }
    }
}

impl From<Cow<'static, str>> for Key {
    fn from(s: Cow<'static, str>) -> Key {
        match s {
            Cow::Borrowed(b) => Key::from(b),
            Cow::Owned(o) => Key::from(o),
        }
    }
}

impl std::ops::Deref for Key {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Key {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
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
const _: () = assert!(std::mem::size_of::<(Key, FieldValue)>() == 48);

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

/// The JSON type a field key has on every row (`null` aside, which means absent).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FieldType {
    String,
    Integer,
    Float,
    Bool,
    Array,
    Object,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Integer => "integer",
            FieldType::Float => "number",
            FieldType::Bool => "boolean",
            FieldType::Array => "array",
            FieldType::Object => "object",
        }
    }
}

/// One documented `Event.fields` key.
#[derive(Clone, Copy, Debug)]
pub struct KeyDoc {
    pub name: &'static str,
    pub ty: FieldType,
    /// The sources whose events carry it (`Source` names, comma-separated).
    pub sources: &'static str,
    pub meaning: &'static str,
}

/// Every `Event.fields` key a parser writes, with its one JSON type. README.md's field table is this list
/// (a test checks both the table and that each key on a fixture's timeline has the type given here).
pub const KEYS: &[KeyDoc] = &[
    KeyDoc { name: "acct", ty: FieldType::String, sources: "audit", meaning: "account an audit user-space record names (`acct=`)" },
    KeyDoc { name: "action", ty: FieldType::String, sources: "history,container", meaning: "what a kill command does (`kill`, `stop`, `restart`…); a Podman `kill` or `stop` event's status" },
    KeyDoc { name: "activates", ty: FieldType::String, sources: "cron", meaning: "unit a systemd timer starts" },
    KeyDoc { name: "active_state", ty: FieldType::String, sources: "settings", meaning: "systemd unit `ActiveState`" },
    KeyDoc { name: "addr", ty: FieldType::String, sources: "kmsg,dmesg,syslog,journal,audit,wtmp,btmp,utmp,pstore,watch", meaning: "remote address (login records, audit `addr=`); for a segfault, the faulting address" },
    KeyDoc { name: "also_at", ty: FieldType::String, sources: "kmsg", meaning: "another bundle entry and line holding the same kernel record (a kmsg capture's record the signal recorder also copied), whose copy was dropped from the timeline" },
    KeyDoc { name: "ancestors", ty: FieldType::Array, sources: "proc,watch", meaning: "parent chain, parent first, as `comm (pid)` strings: of a live process (by the table), or of a signal's sender or OOM victim (by the recorder's process table)" },
    KeyDoc { name: "anon_rss_kb", ty: FieldType::Integer, sources: "kmsg,dmesg,syslog,journal,watch", meaning: "anonymous RSS of the killed or reaped task, kB" },
    KeyDoc { name: "arch", ty: FieldType::String, sources: "audit", meaning: "audit architecture of the syscall (`x86_64`, `i386`, `aarch64`)" },
    KeyDoc { name: "argc", ty: FieldType::Integer, sources: "audit", meaning: "argument count of an exec (audit EXECVE)" },
    KeyDoc { name: "argv", ty: FieldType::Array, sources: "audit,watch", meaning: "arguments of an exec (audit EXECVE), or of a signal's sender or an OOM victim as the signal recorder knew them; array of strings" },
    KeyDoc { name: "auid", ty: FieldType::Integer, sources: "audit,watch", meaning: "audit login uid of the acting process (4294967295 = unset); the recorder: the sender's `/proc/PID/loginuid`" },
    KeyDoc { name: "auser", ty: FieldType::String, sources: "audit,watch", meaning: "user name of `auid`" },
    KeyDoc { name: "auser_from", ty: FieldType::String, sources: "audit", meaning: "where `auser` came from (`enriched` log, `passwd`)" },
    KeyDoc { name: "backlog", ty: FieldType::Integer, sources: "settings", meaning: "`auditctl -s` backlog" },
    KeyDoc { name: "backlog_limit", ty: FieldType::Integer, sources: "settings", meaning: "`auditctl -s` backlog_limit" },
    KeyDoc { name: "backlog_wait_time", ty: FieldType::Integer, sources: "settings", meaning: "`auditctl -s` backlog_wait_time" },
    KeyDoc { name: "backlog_wait_time_actual", ty: FieldType::Integer, sources: "settings", meaning: "`auditctl -s` backlog_wait_time_actual" },
    KeyDoc { name: "blocked_seconds", ty: FieldType::Integer, sources: "dmesg", meaning: "how long a hung task was blocked, seconds" },
    KeyDoc { name: "boot_id", ty: FieldType::String, sources: "journal,watch", meaning: "boot id (journal `_BOOT_ID`; the recorder's boot for its records)" },
    KeyDoc { name: "cgroup", ty: FieldType::String, sources: "proc,settings,watch,kubelet", meaning: "memory cgroup path (a live process's, a cgroup setting's); an OOM victim's cgroup as the recorder read it" },
    KeyDoc { name: "cgroup_version", ty: FieldType::Integer, sources: "settings", meaning: "cgroup hierarchy version (1 or 2)" },
    KeyDoc { name: "chosen_comm", ty: FieldType::String, sources: "dmesg", meaning: "old kernels: comm of the task the OOM killer chose, when a child of it was killed instead" },
    KeyDoc { name: "chosen_pid", ty: FieldType::Integer, sources: "dmesg", meaning: "old kernels: pid of the task the OOM killer chose" },
    KeyDoc { name: "chosen_score", ty: FieldType::Integer, sources: "dmesg", meaning: "old kernels: badness score of the chosen task" },
    KeyDoc { name: "cmdline", ty: FieldType::Array, sources: "proc", meaning: "a live process's argv, array of strings (from /proc)" },
    KeyDoc { name: "cmdline_text", ty: FieldType::String, sources: "journal", meaning: "command line as one string (journal `_CMDLINE`)" },
    KeyDoc { name: "code", ty: FieldType::String, sources: "syslog,journal", meaning: "how a unit's main process ended (`killed`, `dumped`, `exited`)" },
    KeyDoc { name: "command", ty: FieldType::String, sources: "syslog,journal,audit,history,cron", meaning: "command text (shell history line, cron job, sudo command)" },
    KeyDoc { name: "command_bytes", ty: FieldType::Object, sources: "history", meaning: "exact bytes of a history line that is not UTF-8 (`{\"bytes\": base64}`)" },
    KeyDoc { name: "constraint", ty: FieldType::String, sources: "kmsg,dmesg,syslog,journal,watch", meaning: "OOM constraint (`CONSTRAINT_MEMCG`, `CONSTRAINT_NONE`…)" },
    KeyDoc { name: "container_id", ty: FieldType::String, sources: "container,kubelet,kmsg,dmesg,syslog,journal,pstore,watch,proc", meaning: "container id (64 hex digits, or the prefix the record gives); on a kernel, recorder or process event, the container of the process it is about, read from its cgroup path" },
    KeyDoc { name: "container_name", ty: FieldType::String, sources: "container,kubelet,kmsg,dmesg,syslog,journal,pstore,watch,proc", meaning: "the container's name as its runtime records it (Docker's without the leading `/`; Kubernetes' container name under CRI)" },
    KeyDoc { name: "core_entry", ty: FieldType::String, sources: "core", meaning: "bundle path of the core file" },
    KeyDoc { name: "core_file", ty: FieldType::String, sources: "journal,core", meaning: "host path of a core kept as metadata, or a coredump's file" },
    KeyDoc { name: "core_pid", ty: FieldType::Integer, sources: "journal,syslog", meaning: "pid of the child systemd's crash handler forked to dump PID 1's core" },
    KeyDoc { name: "covers_kill", ty: FieldType::Bool, sources: "settings", meaning: "whether the audit rules record kill-family syscalls" },
    KeyDoc { name: "cpu", ty: FieldType::Integer, sources: "kmsg,dmesg,syslog,pstore,watch", meaning: "CPU the event happened on" },
    KeyDoc { name: "cpuset", ty: FieldType::String, sources: "kmsg,dmesg,syslog,journal,watch", meaning: "cpuset of the OOM-killed task" },
    KeyDoc { name: "crash_handler", ty: FieldType::String, sources: "journal,syslog", meaning: "what systemd's crash handler (PID 1) logged: `caught`, `freezing`…" },
    KeyDoc { name: "cron_tz", ty: FieldType::String, sources: "cron", meaning: "`CRON_TZ` in force for a cron job" },
    KeyDoc { name: "current", ty: FieldType::Bool, sources: "utmp", meaning: "utmp record of a session open at collection" },
    KeyDoc { name: "cwd", ty: FieldType::String, sources: "audit", meaning: "working directory of an exec (audit CWD)" },
    KeyDoc { name: "delay_minutes", ty: FieldType::Integer, sources: "cron", meaning: "anacron job delay, minutes" },
    KeyDoc { name: "delivered_action", ty: FieldType::String, sources: "watch", meaning: "how the kernel acted on the signal in the target (`signal_deliver`): `default`, `ignore`, `handler`" },
    KeyDoc { name: "delivered_after_us", ty: FieldType::Integer, sources: "watch", meaning: "how long after the signal it was delivered in the target, µs" },
    KeyDoc { name: "delivered_sig", ty: FieldType::Integer, sources: "watch", meaning: "the signal `signal_deliver` showed: 9 for any signal at its fatal default action (the group's SIGKILL), else the signal itself" },
    KeyDoc { name: "delivered_tid", ty: FieldType::Integer, sources: "watch", meaning: "the thread the signal was delivered in" },
    KeyDoc { name: "description", ty: FieldType::String, sources: "syslog", meaning: "description text of a systemd start/stop message" },
    KeyDoc { name: "detail_of_oom_kill", ty: FieldType::Integer, sources: "kmsg,dmesg,syslog,journal,watch", meaning: "byte offset of the OOM kill line this detail line (`oom-kill:`, `Kill process … score`) belongs to" },
    KeyDoc { name: "device", ty: FieldType::String, sources: "kmsg,watch", meaning: "kmsg dictionary `DEVICE=`" },
    KeyDoc { name: "domain", ty: FieldType::String, sources: "settings", meaning: "limits.conf domain (user, @group, `*`)" },
    KeyDoc { name: "duration_s", ty: FieldType::Integer, sources: "history", meaning: "shell command duration, seconds (zsh extended history)" },
    KeyDoc { name: "e_exit", ty: FieldType::Integer, sources: "wtmp,utmp", meaning: "utmp `ut_exit.e_exit` (exit status of a DEAD_PROCESS)" },
    KeyDoc { name: "e_termination", ty: FieldType::Integer, sources: "wtmp,utmp", meaning: "utmp `ut_exit.e_termination` (terminating signal)" },
    KeyDoc { name: "earlier_boot", ty: FieldType::String, sources: "dmesg", meaning: "why a dmesg file's times belong to an earlier boot" },
    KeyDoc { name: "enabled", ty: FieldType::Integer, sources: "settings", meaning: "`auditctl -s` enabled (0, 1, 2 = locked)" },
    KeyDoc { name: "episode", ty: FieldType::Integer, sources: "kmsg,dmesg,syslog,journal,watch", meaning: "byte offset of the first line of the OOM episode this line belongs to" },
    KeyDoc { name: "error", ty: FieldType::String, sources: "kmsg,dmesg,syslog,settings,pstore,watch", meaning: "segfault/trap error code (hex text); for a setting, why it could not be read" },
    KeyDoc { name: "euser", ty: FieldType::String, sources: "proc", meaning: "effective user of a live process" },
    KeyDoc { name: "exe", ty: FieldType::String, sources: "kmsg,dmesg,syslog,journal,audit,core,proc,watch", meaning: "executable path" },
    KeyDoc { name: "exec_main_code", ty: FieldType::String, sources: "settings", meaning: "systemd `ExecMainCode` (text as `systemctl show` gives it)" },
    KeyDoc { name: "exec_main_pid", ty: FieldType::String, sources: "settings", meaning: "systemd `ExecMainPID` (text as `systemctl show` gives it)" },
    KeyDoc { name: "exec_main_status", ty: FieldType::String, sources: "settings", meaning: "systemd `ExecMainStatus` (text as `systemctl show` gives it)" },
    KeyDoc { name: "exit", ty: FieldType::Integer, sources: "audit", meaning: "syscall return value (audit `exit=`)" },
    KeyDoc { name: "exit_code", ty: FieldType::Integer, sources: "container,kubelet,journal,syslog", meaning: "the container's main process's exit status as its runtime recorded it (above 128: ended by signal N-128, as shells report it)" },
    KeyDoc { name: "exited_after_us", ty: FieldType::Integer, sources: "watch", meaning: "how long after the signal the target's thread group exited, µs (the recorder saw `sched_process_exit`)" },
    KeyDoc { name: "facility", ty: FieldType::Integer, sources: "kmsg,pstore,syslog,journal,watch", meaning: "syslog facility number" },
    KeyDoc { name: "failcnt", ty: FieldType::Integer, sources: "settings", meaning: "memory cgroup failcnt (v1) or `max` events (v2)" },
    KeyDoc { name: "failure", ty: FieldType::Integer, sources: "settings", meaning: "`auditctl -s` failure mode" },
    KeyDoc { name: "fate", ty: FieldType::String, sources: "watch", meaning: "what the recorder saw of a signal's target afterwards: `exited`, `still_running`, `unknown`" },
    KeyDoc { name: "file", ty: FieldType::String, sources: "cron,settings", meaning: "file a cron job or setting was read from (bundle path)" },
    KeyDoc { name: "file_rss_kb", ty: FieldType::Integer, sources: "kmsg,dmesg,syslog,journal,watch", meaning: "file RSS of the killed or reaped task, kB" },
    KeyDoc { name: "flags", ty: FieldType::String, sources: "kmsg,watch", meaning: "kmsg record flags (`c` continuation…)" },
    KeyDoc { name: "fname", ty: FieldType::String, sources: "core", meaning: "comm in the core's NT_PRPSINFO" },
    KeyDoc { name: "full_match", ty: FieldType::Bool, sources: "history", meaning: "kill command matched names in full (`pkill -x`)" },
    KeyDoc { name: "gfp_mask", ty: FieldType::String, sources: "kmsg,dmesg,syslog,journal,watch", meaning: "allocation flags of the OOM-invoking allocation" },
    KeyDoc { name: "gid", ty: FieldType::Integer, sources: "core", meaning: "group id in the core's NT_PRPSINFO" },
    KeyDoc { name: "global", ty: FieldType::Bool, sources: "kmsg,dmesg,syslog,journal,watch", meaning: "OOM kill was host-wide (not a memory cgroup's)" },
    KeyDoc { name: "grace_period_s", ty: FieldType::Integer, sources: "container,kubelet,journal,syslog", meaning: "seconds the stopper waits after the stop signal before SIGKILL" },
    KeyDoc { name: "hard", ty: FieldType::Integer, sources: "settings", meaning: "hard limit (limits.conf, /proc/PID/limits; `null` = unlimited)" },
    KeyDoc { name: "history_file", ty: FieldType::String, sources: "history", meaning: "host path of the history file" },
    KeyDoc { name: "host", ty: FieldType::String, sources: "syslog,journal,wtmp,btmp,utmp,lastlog", meaning: "where a login came from (utmp `ut_host`, sshd's `from`)" },
    KeyDoc { name: "hostname", ty: FieldType::String, sources: "syslog,journal,audit", meaning: "host name a record names (syslog, journal `_HOSTNAME`, audit `hostname=`)" },
    KeyDoc { name: "image", ty: FieldType::String, sources: "container", meaning: "the container's image as its runtime records it" },
    KeyDoc { name: "init_died", ty: FieldType::Bool, sources: "kmsg,dmesg,syslog,pstore,watch", meaning: "the panic says PID 1 died (`Attempted to kill init!`)" },
    KeyDoc { name: "init_exitcode", ty: FieldType::Integer, sources: "kmsg,dmesg,syslog,pstore,watch", meaning: "PID 1's exit code in that panic (`exitcode=0x0000000b`: 11, SIGSEGV)" },
    KeyDoc { name: "invalid_user", ty: FieldType::Bool, sources: "syslog", meaning: "sshd said the user does not exist" },
    KeyDoc { name: "ip", ty: FieldType::String, sources: "kmsg,dmesg,syslog,pstore,watch", meaning: "instruction pointer (hex text)" },
    KeyDoc { name: "item", ty: FieldType::String, sources: "settings", meaning: "limits.conf item (`core`, `nofile`…)" },
    KeyDoc { name: "job_id", ty: FieldType::String, sources: "cron", meaning: "anacron job identifier" },
    KeyDoc { name: "kernel", ty: FieldType::String, sources: "kmsg,dmesg,wtmp,utmp,watch", meaning: "kernel version a boot record names" },
    KeyDoc { name: "key", ty: FieldType::String, sources: "audit", meaning: "audit rule key (`key=`)" },
    KeyDoc { name: "kill_rule_gaps", ty: FieldType::Array, sources: "settings", meaning: "architectures or syscalls the kill audit rules miss" },
    KeyDoc { name: "kill_rules", ty: FieldType::Array, sources: "settings", meaning: "audit rules that record kill-family syscalls" },
    KeyDoc { name: "killer", ty: FieldType::String, sources: "syslog,journal", meaning: "what killed a unit when the journal names it (`systemd-oomd`)" },
    KeyDoc { name: "kills", ty: FieldType::Array, sources: "history", meaning: "each kill in a history line (`action`, `signal`, `signal_name`, `target_*`), array of objects" },
    KeyDoc { name: "last", ty: FieldType::String, sources: "cron", meaning: "when a systemd timer last ran (as `systemctl list-timers` prints it)" },
    KeyDoc { name: "lastlog", ty: FieldType::Bool, sources: "lastlog", meaning: "login read from lastlog (the user's last login only)" },
    KeyDoc { name: "limit", ty: FieldType::Integer, sources: "settings", meaning: "memory cgroup limit, bytes (`null` = none)" },
    KeyDoc { name: "limit_core", ty: FieldType::String, sources: "settings", meaning: "core size limit of a unit (`LimitCORE`)" },
    KeyDoc { name: "loginuid", ty: FieldType::Integer, sources: "proc", meaning: "a live process's loginuid" },
    KeyDoc { name: "loginuid_immutable", ty: FieldType::String, sources: "settings", meaning: "`auditctl -s` loginuid_immutable" },
    KeyDoc { name: "lost", ty: FieldType::Integer, sources: "settings", meaning: "`auditctl -s` lost records" },
    KeyDoc { name: "machine", ty: FieldType::String, sources: "core", meaning: "the core's ELF machine (`x86_64`, `aarch64`, `s390x`)" },
    KeyDoc { name: "mapped_files", ty: FieldType::Integer, sources: "core", meaning: "files mapped in the core (NT_FILE entries)" },
    KeyDoc { name: "max_usage", ty: FieldType::Integer, sources: "settings", meaning: "memory cgroup max usage (v1), bytes" },
    KeyDoc { name: "mems_allowed", ty: FieldType::String, sources: "kmsg,dmesg,syslog,journal,watch", meaning: "memory nodes the OOM-killed task could use" },
    KeyDoc { name: "message_id", ty: FieldType::String, sources: "journal", meaning: "journal `MESSAGE_ID`" },
    KeyDoc { name: "message_raw", ty: FieldType::Object, sources: "journal", meaning: "exact bytes of a journal message that is not UTF-8 (`{\"bytes\": base64}`)" },
    KeyDoc { name: "method", ty: FieldType::String, sources: "syslog,journal", meaning: "login or authentication method (`publickey`, `password`…)" },
    KeyDoc { name: "msgid", ty: FieldType::String, sources: "syslog", meaning: "RFC 5424 MSGID" },
    KeyDoc { name: "mtime", ty: FieldType::String, sources: "core", meaning: "modification time of the core file (RFC 3339 UTC)" },
    KeyDoc { name: "n_restarts", ty: FieldType::Integer, sources: "settings", meaning: "systemd `NRestarts`" },
    KeyDoc { name: "name", ty: FieldType::String, sources: "kmsg,dmesg,syslog,settings,watch", meaning: "setting name; OOM task dump: the task's comm" },
    KeyDoc { name: "name_ambiguous", ty: FieldType::Array, sources: "core", meaning: "core_pattern specifiers the core's file name fits more than one way, array of strings" },
    KeyDoc { name: "name_comm", ty: FieldType::String, sources: "core", meaning: "core file name: `%e` (comm; `/` shown as `!`)" },
    KeyDoc { name: "name_core_limit", ty: FieldType::Integer, sources: "core", meaning: "core file name: `%c` (core size limit)" },
    KeyDoc { name: "name_cpu", ty: FieldType::Integer, sources: "core", meaning: "core file name: `%C` (CPU)" },
    KeyDoc { name: "name_dumpable", ty: FieldType::Integer, sources: "core", meaning: "core file name: `%d` (dumpable mode)" },
    KeyDoc { name: "name_exe", ty: FieldType::String, sources: "core", meaning: "core file name: `%E` (executable path)" },
    KeyDoc { name: "name_exe_name", ty: FieldType::String, sources: "core", meaning: "core file name: `%f` (executable name)" },
    KeyDoc { name: "name_gid", ty: FieldType::Integer, sources: "core", meaning: "core file name: `%g` (gid)" },
    KeyDoc { name: "name_global_pid", ty: FieldType::Integer, sources: "core", meaning: "core file name: `%P` (pid in the initial namespace)" },
    KeyDoc { name: "name_global_tid", ty: FieldType::Integer, sources: "core", meaning: "core file name: `%I` (tid in the initial namespace)" },
    KeyDoc { name: "name_hostname", ty: FieldType::String, sources: "core", meaning: "core file name: `%h` (host name)" },
    KeyDoc { name: "name_pattern", ty: FieldType::String, sources: "core", meaning: "core_pattern(s) the core's file name matched" },
    KeyDoc { name: "name_pattern_from", ty: FieldType::String, sources: "core", meaning: "where the pattern came from (`kernel.core_pattern`, `common default`)" },
    KeyDoc { name: "name_pid", ty: FieldType::Integer, sources: "core", meaning: "core file name: `%p` (pid)" },
    KeyDoc { name: "name_pidfd", ty: FieldType::Integer, sources: "core", meaning: "core file name: `%F` (pidfd number)" },
    KeyDoc { name: "name_signal", ty: FieldType::Integer, sources: "core", meaning: "core file name: `%s` (signal)" },
    KeyDoc { name: "name_tid", ty: FieldType::Integer, sources: "core", meaning: "core file name: `%i` (tid)" },
    KeyDoc { name: "name_time", ty: FieldType::Integer, sources: "core", meaning: "core file name: `%t` (dump time, UNIX seconds)" },
    KeyDoc { name: "name_uid", ty: FieldType::Integer, sources: "core", meaning: "core file name: `%u` (uid)" },
    KeyDoc { name: "next", ty: FieldType::String, sources: "cron", meaning: "when a systemd timer runs next (as `systemctl list-timers` prints it)" },
    KeyDoc { name: "nodemask", ty: FieldType::String, sources: "kmsg,dmesg,syslog,journal,watch", meaning: "nodemask of the OOM kill" },
    KeyDoc { name: "nr_pmds", ty: FieldType::Integer, sources: "dmesg,syslog", meaning: "4.x kernels' OOM task dump: page middle directories" },
    KeyDoc { name: "nr_ptes", ty: FieldType::Integer, sources: "dmesg,syslog", meaning: "old kernels' OOM task dump: page table entries" },
    KeyDoc { name: "object", ty: FieldType::String, sources: "kmsg,dmesg,syslog,pstore,watch", meaning: "the `in BIN[…]` part of a segfault or trap line" },
    KeyDoc { name: "old_auid", ty: FieldType::Integer, sources: "audit", meaning: "previous login uid (audit LOGIN)" },
    KeyDoc { name: "old_ses", ty: FieldType::Integer, sources: "audit", meaning: "previous session id (audit LOGIN)" },
    KeyDoc { name: "oom", ty: FieldType::Integer, sources: "settings", meaning: "memory cgroup v2 `oom` events" },
    KeyDoc { name: "oom_adj", ty: FieldType::Integer, sources: "dmesg,syslog", meaning: "2.6 kernels' OOM task dump: the legacy oom_adj (-17..15)" },
    KeyDoc { name: "oom_kill", ty: FieldType::Integer, sources: "settings", meaning: "memory cgroup OOM kill count" },
    KeyDoc { name: "oom_kill_allocating_task", ty: FieldType::Bool, sources: "kmsg,dmesg,syslog,journal,watch", meaning: "the OOM killer killed the allocating task (`vm.oom_kill_allocating_task`)" },
    KeyDoc { name: "oom_killed", ty: FieldType::Bool, sources: "container", meaning: "the runtime's `OOMKilled` flag (not authoritative alone: the kernel's OOM line and `memory.events` are)" },
    KeyDoc { name: "oom_memcg", ty: FieldType::String, sources: "kmsg,dmesg,syslog,journal,watch", meaning: "memory cgroup whose limit was hit" },
    KeyDoc { name: "oom_score", ty: FieldType::Integer, sources: "proc", meaning: "a live process's oom_score" },
    KeyDoc { name: "oom_score_adj", ty: FieldType::Integer, sources: "kmsg,dmesg,syslog,journal,proc,watch", meaning: "oom_score_adj of the task" },
    KeyDoc { name: "oops", ty: FieldType::String, sources: "dmesg,pstore", meaning: "kind of kernel oops (`BUG`, `WARNING`, `Oops`…)" },
    KeyDoc { name: "op", ty: FieldType::String, sources: "audit", meaning: "audit `op=`" },
    KeyDoc { name: "order", ty: FieldType::Integer, sources: "kmsg,dmesg,syslog,journal,watch", meaning: "allocation order of the OOM-invoking allocation" },
    KeyDoc { name: "paths", ty: FieldType::Array, sources: "audit,history", meaning: "paths an exec touched (audit PATH records); fish history: the `paths:` list of a command" },
    KeyDoc { name: "period_days", ty: FieldType::Integer, sources: "cron", meaning: "anacron job period, days" },
    KeyDoc { name: "pgid", ty: FieldType::Integer, sources: "core,proc", meaning: "process group id" },
    KeyDoc { name: "pgtables_bytes", ty: FieldType::Integer, sources: "kmsg,dmesg,syslog,watch", meaning: "OOM task dump: page tables, bytes" },
    KeyDoc { name: "pgtables_kb", ty: FieldType::Integer, sources: "kmsg,dmesg,syslog,journal,watch", meaning: "page tables of the killed task, kB" },
    KeyDoc { name: "pid", ty: FieldType::Integer, sources: "settings", meaning: "`auditctl -s` pid (of auditd)" },
    KeyDoc { name: "pidfd", ty: FieldType::Integer, sources: "audit", meaning: "pidfd a `pidfd_send_signal` was given" },
    KeyDoc { name: "pod_name", ty: FieldType::String, sources: "container,kubelet,kmsg,dmesg,syslog,journal,pstore,watch,proc", meaning: "Kubernetes pod name" },
    KeyDoc { name: "pod_namespace", ty: FieldType::String, sources: "container,kubelet,kmsg,dmesg,syslog,journal,pstore,watch,proc", meaning: "Kubernetes namespace of the container's pod" },
    KeyDoc { name: "pod_uid", ty: FieldType::String, sources: "container,kubelet,journal,syslog", meaning: "Kubernetes pod uid" },
    KeyDoc { name: "port", ty: FieldType::Integer, sources: "syslog,journal", meaning: "remote port of a login" },
    KeyDoc { name: "ppid", ty: FieldType::Integer, sources: "core", meaning: "parent pid in the core's NT_PRPSINFO" },
    KeyDoc { name: "previous_boot", ty: FieldType::Bool, sources: "dmesg,pstore", meaning: "record from a previous boot (pstore, an earlier dmesg)" },
    KeyDoc { name: "probe_type", ty: FieldType::String, sources: "kubelet,container,journal,syslog", meaning: "which kubelet probe: `Liveness`, `Readiness`, `Startup`; `Healthcheck` for a Docker or Podman health check" },
    KeyDoc { name: "proctitle", ty: FieldType::String, sources: "audit", meaning: "audit PROCTITLE of the acting process" },
    KeyDoc { name: "program", ty: FieldType::String, sources: "syslog,journal", meaning: "syslog program (tag) or journal `SYSLOG_IDENTIFIER`" },
    KeyDoc { name: "program_pid", ty: FieldType::Integer, sources: "syslog,journal,kubelet", meaning: "pid in the syslog tag (`prog[PID]`) or journal `_PID` of the writer" },
    KeyDoc { name: "psargs", ty: FieldType::String, sources: "core", meaning: "arguments in the core's NT_PRPSINFO" },
    KeyDoc { name: "pstore_header", ty: FieldType::String, sources: "pstore", meaning: "pstore record header (`Panic#1 Part1`)" },
    KeyDoc { name: "pwd", ty: FieldType::String, sources: "syslog,journal,audit", meaning: "working directory of a sudo command" },
    KeyDoc { name: "rate_limit", ty: FieldType::Integer, sources: "settings", meaning: "`auditctl -s` rate_limit" },
    KeyDoc { name: "reason", ty: FieldType::String, sources: "kmsg,dmesg,pstore,syslog,audit,watch,container,kubelet,journal", meaning: "why a process crashed or the kernel panicked; for a container or pod: the runtime's error text, the eviction message, `preempted`, a forced stop's cause" },
    KeyDoc { name: "record_layout", ty: FieldType::String, sources: "wtmp,utmp,btmp,lastlog", meaning: "the record layout read when it is not x86_64's (`400-byte little-endian (aarch64…)`…)" },
    KeyDoc { name: "record_type", ty: FieldType::String, sources: "audit", meaning: "audit record type (`USER_START`, `DAEMON_START`…)" },
    KeyDoc { name: "res", ty: FieldType::String, sources: "audit", meaning: "audit `res=` (`success`, `failed`)" },
    KeyDoc { name: "restart_count", ty: FieldType::Integer, sources: "container,kubelet", meaning: "restarts the runtime had counted for the container" },
    KeyDoc { name: "result", ty: FieldType::String, sources: "syslog,journal,settings", meaning: "systemd result (`oom-kill`, `signal`, `watchdog`, `core-dump`, `timeout`)" },
    KeyDoc { name: "rlimit_core_hard", ty: FieldType::Integer, sources: "proc", meaning: "a live process's hard core limit, bytes (`null` = unlimited)" },
    KeyDoc { name: "rlimit_core_soft", ty: FieldType::Integer, sources: "proc", meaning: "a live process's soft core limit, bytes (`null` = unlimited)" },
    KeyDoc { name: "rlimit_core_unread", ty: FieldType::Bool, sources: "proc", meaning: "a live process's limits could not be read" },
    KeyDoc { name: "rss_anon_pages", ty: FieldType::Integer, sources: "kmsg,dmesg,syslog,watch", meaning: "OOM task dump: anonymous RSS, pages" },
    KeyDoc { name: "rss_file_pages", ty: FieldType::Integer, sources: "kmsg,dmesg,syslog,watch", meaning: "OOM task dump: file RSS, pages" },
    KeyDoc { name: "rss_pages", ty: FieldType::Integer, sources: "kmsg,dmesg,syslog,watch", meaning: "OOM task dump: RSS, pages" },
    KeyDoc { name: "rss_shmem_pages", ty: FieldType::Integer, sources: "kmsg,dmesg,syslog,watch", meaning: "OOM task dump: shmem RSS, pages" },
    KeyDoc { name: "rules", ty: FieldType::Array, sources: "settings", meaning: "every audit rule loaded (`auditctl -l`), array of strings" },
    KeyDoc { name: "run_as", ty: FieldType::String, sources: "syslog,journal,cron", meaning: "user a cron job runs as" },
    KeyDoc { name: "runas", ty: FieldType::String, sources: "syslog,journal", meaning: "target user of sudo/su" },
    KeyDoc { name: "runlevel", ty: FieldType::String, sources: "wtmp,utmp", meaning: "runlevel of a utmp RUN_LVL record" },
    KeyDoc { name: "runtime", ty: FieldType::String, sources: "container,kubelet,kmsg,dmesg,syslog,journal,pstore,watch,proc", meaning: "container runtime: `docker`, `containerd`, `cri-o`, `podman`" },
    KeyDoc { name: "schedule", ty: FieldType::String, sources: "cron", meaning: "cron schedule (the five fields, `@daily`, an anacron period, a timer's calendar)" },
    KeyDoc { name: "schedule_error", ty: FieldType::String, sources: "cron", meaning: "why a cron schedule could not be read" },
    KeyDoc { name: "schedule_kind", ty: FieldType::String, sources: "cron", meaning: "`cron`, `anacron` or `systemd_timer`" },
    KeyDoc { name: "score", ty: FieldType::Integer, sources: "dmesg,syslog", meaning: "old kernels: OOM badness score of the killed task" },
    KeyDoc { name: "sender_from", ty: FieldType::Object, sources: "watch", meaning: "where each field of the signal's sender came from: `trace` (the trace event), `table` (the recorder's process table, fed by exec and fork events), `proc` (`/proc` when recorded), `parent` (uid, loginuid or cgroup copied from the parent at fork: the process was gone before the recorder could read its own from `/proc`)" },
    KeyDoc { name: "seq", ty: FieldType::Integer, sources: "kmsg,watch", meaning: "kmsg sequence number" },
    KeyDoc { name: "serial", ty: FieldType::Integer, sources: "audit", meaning: "audit event serial (`msg=audit(…:SERIAL)`)" },
    KeyDoc { name: "service", ty: FieldType::String, sources: "syslog,journal", meaning: "PAM service or daemon of a login (`sshd`, `login`)" },
    KeyDoc { name: "ses", ty: FieldType::Integer, sources: "audit", meaning: "audit session id (4294967295 = unset)" },
    KeyDoc { name: "session_end", ty: FieldType::String, sources: "wtmp", meaning: "when a wtmp session ended (RFC 3339 UTC), or why it has no end" },
    KeyDoc { name: "session_seconds", ty: FieldType::Integer, sources: "wtmp", meaning: "wtmp session length, seconds" },
    KeyDoc { name: "sessionid", ty: FieldType::Integer, sources: "proc", meaning: "a live process's audit session id" },
    KeyDoc { name: "severity", ty: FieldType::Integer, sources: "kmsg,pstore,syslog,journal,watch,container,kubelet", meaning: "syslog severity number" },
    KeyDoc { name: "sha256", ty: FieldType::String, sources: "core", meaning: "sha256 of a core kept as metadata" },
    KeyDoc { name: "shares_memory_with", ty: FieldType::Integer, sources: "dmesg", meaning: "old kernels: pid of the victim whose memory this killed process shared" },
    KeyDoc { name: "shell", ty: FieldType::String, sources: "history", meaning: "shell whose history the line is from" },
    KeyDoc { name: "shmem_rss_kb", ty: FieldType::Integer, sources: "kmsg,dmesg,syslog,journal,watch", meaning: "shmem RSS of the killed or reaped task, kB" },
    KeyDoc { name: "si_addr", ty: FieldType::String, sources: "core", meaning: "faulting address in the core's NT_SIGINFO (hex text)" },
    KeyDoc { name: "si_code", ty: FieldType::Integer, sources: "core,watch", meaning: "si_code in the core's NT_SIGINFO, or of a signal the recorder traced" },
    KeyDoc { name: "si_code_name", ty: FieldType::String, sources: "watch", meaning: "name of the si_code (`SI_USER`, `SI_KERNEL`, `SI_TKILL`…)" },
    KeyDoc { name: "si_pid", ty: FieldType::Integer, sources: "core", meaning: "sender pid in the core's NT_SIGINFO (SI_USER)" },
    KeyDoc { name: "si_uid", ty: FieldType::Integer, sources: "core", meaning: "sender uid in the core's NT_SIGINFO (SI_USER)" },
    KeyDoc { name: "sid", ty: FieldType::Integer, sources: "core,proc", meaning: "session id (of a live process, or in the core)" },
    KeyDoc { name: "sig_cgt", ty: FieldType::String, sources: "proc", meaning: "a live process's caught-signal mask (hex text)" },
    KeyDoc { name: "sig_ign", ty: FieldType::String, sources: "proc", meaning: "a live process's ignored-signal mask (hex text)" },
    KeyDoc { name: "signal", ty: FieldType::Integer, sources: "kmsg,dmesg,syslog,journal,audit,history,core,pstore,watch,container", meaning: "signal number" },
    KeyDoc { name: "signal_group", ty: FieldType::Bool, sources: "watch", meaning: "the signal was sent to the whole thread group (not one thread)" },
    KeyDoc { name: "signal_name", ty: FieldType::String, sources: "kmsg,dmesg,syslog,journal,audit,history,core,pstore,watch,container", meaning: "signal name (`SIGKILL`)" },
    KeyDoc { name: "signal_origin", ty: FieldType::String, sources: "watch", meaning: "`user` (a kill-family call) or `kernel` (the OOM killer, a fault, a resource limit)" },
    KeyDoc { name: "signal_result", ty: FieldType::String, sources: "watch", meaning: "`signal_generate`'s result (`delivered`, `ignored`, `already_pending`…)" },
    KeyDoc { name: "signals_caught", ty: FieldType::Array, sources: "proc", meaning: "names of the signals a live process catches, array of strings" },
    KeyDoc { name: "signals_ignored", ty: FieldType::Array, sources: "proc", meaning: "names of the signals a live process ignores, array of strings" },
    KeyDoc { name: "since_boot_us", ty: FieldType::Integer, sources: "dmesg,pstore,syslog,watch", meaning: "kernel time since boot, µs, when the event's time could not be placed from it" },
    KeyDoc { name: "size", ty: FieldType::Integer, sources: "core", meaning: "size of a core kept as metadata, bytes" },
    KeyDoc { name: "soft", ty: FieldType::Integer, sources: "settings", meaning: "soft limit (limits.conf, /proc/PID/limits; `null` = unlimited)" },
    KeyDoc { name: "sp", ty: FieldType::String, sources: "kmsg,dmesg,syslog,pstore,watch", meaning: "stack pointer (hex text)" },
    KeyDoc { name: "start_time", ty: FieldType::String, sources: "proc", meaning: "a live process's start time (RFC 3339 UTC)" },
    KeyDoc { name: "state", ty: FieldType::String, sources: "syslog,journal,core,proc", meaning: "process state letter; systemd stop messages: the unit's state" },
    KeyDoc { name: "status", ty: FieldType::String, sources: "syslog,journal", meaning: "exit status as systemd prints it (`9/KILL`)" },
    KeyDoc { name: "stream", ty: FieldType::String, sources: "container", meaning: "which of a container's output streams a log line came from: `stdout` or `stderr`" },
    KeyDoc { name: "structured_data", ty: FieldType::String, sources: "syslog", meaning: "RFC 5424 structured data" },
    KeyDoc { name: "stuck_seconds", ty: FieldType::Integer, sources: "dmesg", meaning: "how long a CPU was stuck (soft lockup), seconds" },
    KeyDoc { name: "sub_state", ty: FieldType::String, sources: "settings", meaning: "systemd unit `SubState`" },
    KeyDoc { name: "subsystem", ty: FieldType::String, sources: "kmsg,watch", meaning: "kmsg dictionary `SUBSYSTEM=`" },
    KeyDoc { name: "success", ty: FieldType::Bool, sources: "audit", meaning: "the syscall succeeded (audit `success=`)" },
    KeyDoc { name: "sudo_note", ty: FieldType::String, sources: "syslog,journal", meaning: "sudo's message when it is not a command line (`incorrect password attempts`…)" },
    KeyDoc { name: "supervisor", ty: FieldType::String, sources: "proc", meaning: "comm of the nearest ancestor that restarts what dies (an init, a supervisor, a container shim)" },
    KeyDoc { name: "supervisor_pid", ty: FieldType::Integer, sources: "proc", meaning: "pid of that ancestor" },
    KeyDoc { name: "swapents", ty: FieldType::Integer, sources: "kmsg,dmesg,syslog,watch", meaning: "OOM task dump: swap entries" },
    KeyDoc { name: "syscall", ty: FieldType::String, sources: "audit", meaning: "name of the kill-family syscall (`kill`, `tgkill`, `pidfd_send_signal`…)" },
    KeyDoc { name: "syscall_nr", ty: FieldType::Integer, sources: "audit", meaning: "syscall number of an audit SYSCALL record (as the log gives it, per `arch`)" },
    KeyDoc { name: "systemd_unit", ty: FieldType::String, sources: "journal", meaning: "journal `_SYSTEMD_UNIT`" },
    KeyDoc { name: "target_arg", ty: FieldType::Integer, sources: "audit", meaning: "the pid argument of a kill-family syscall as given (`-1`, a negative process group…)" },
    KeyDoc { name: "target_argv", ty: FieldType::Array, sources: "watch", meaning: "arguments of the signalled process as the recorder knew them, array of strings" },
    KeyDoc { name: "target_auid", ty: FieldType::Integer, sources: "audit,watch", meaning: "login uid of the signalled process (audit OBJ_PID)" },
    KeyDoc { name: "target_cgroup", ty: FieldType::String, sources: "watch", meaning: "cgroup of the signalled process as the recorder knew it" },
    KeyDoc { name: "target_comm", ty: FieldType::String, sources: "audit,watch", meaning: "comm of the signalled process (audit OBJ_PID)" },
    KeyDoc { name: "target_count", ty: FieldType::Integer, sources: "audit", meaning: "number of processes an audit event's OBJ_PID records name" },
    KeyDoc { name: "target_exe", ty: FieldType::String, sources: "watch", meaning: "executable of the signalled process as the recorder knew it" },
    KeyDoc { name: "target_exprs", ty: FieldType::Array, sources: "history", meaning: "kill targets a history line gives as shell expressions (`$p`), array of strings" },
    KeyDoc { name: "target_from", ty: FieldType::Object, sources: "watch", meaning: "where each field of the signalled process (or OOM victim) came from: `trace`, `table`, `proc`, `parent`" },
    KeyDoc { name: "target_names", ty: FieldType::Array, sources: "history", meaning: "process names a kill command targets, array of strings" },
    KeyDoc { name: "target_pid", ty: FieldType::Integer, sources: "audit,watch", meaning: "pid of the signalled process" },
    KeyDoc { name: "target_pids", ty: FieldType::Array, sources: "history", meaning: "pids a kill command targets, array of integers" },
    KeyDoc { name: "target_ses", ty: FieldType::Integer, sources: "audit", meaning: "session of the signalled process (audit OBJ_PID)" },
    KeyDoc { name: "target_tgid", ty: FieldType::Integer, sources: "audit", meaning: "thread group a `tgkill` names" },
    KeyDoc { name: "target_uid", ty: FieldType::Integer, sources: "audit,watch", meaning: "uid of the signalled process (audit OBJ_PID)" },
    KeyDoc { name: "target_units", ty: FieldType::Array, sources: "history", meaning: "systemd units a kill command targets, array of strings" },
    KeyDoc { name: "target_user", ty: FieldType::String, sources: "audit,watch", meaning: "user name of `target_uid`" },
    KeyDoc { name: "target_user_from", ty: FieldType::String, sources: "audit", meaning: "where `target_user` came from" },
    KeyDoc { name: "task_memcg", ty: FieldType::String, sources: "kmsg,dmesg,syslog,journal,watch", meaning: "memory cgroup of the killed task" },
    KeyDoc { name: "terminal", ty: FieldType::String, sources: "audit", meaning: "audit `terminal=`" },
    KeyDoc { name: "tgid", ty: FieldType::Integer, sources: "kmsg,dmesg,syslog,watch", meaning: "OOM task dump: thread group id" },
    KeyDoc { name: "threads", ty: FieldType::Integer, sources: "core", meaning: "threads in the core (NT_PRSTATUS notes)" },
    KeyDoc { name: "tid", ty: FieldType::Integer, sources: "watch", meaning: "thread of the sender, when not its thread-group leader" },
    KeyDoc { name: "time_bound", ty: FieldType::String, sources: "any", meaning: "which upper bound a bounded time is: `file_mtime` (the file was last written then) or `collection_end` (a capture: the collection ended then)" },
    KeyDoc { name: "timer", ty: FieldType::String, sources: "cron", meaning: "systemd timer that ran a job" },
    KeyDoc { name: "tool", ty: FieldType::String, sources: "history", meaning: "program a kill command runs (`kill`, `pkill`, `killall`, `systemctl`…)" },
    KeyDoc { name: "total_vm_kb", ty: FieldType::Integer, sources: "kmsg,dmesg,syslog,journal,watch", meaning: "virtual memory of the killed task, kB" },
    KeyDoc { name: "total_vm_pages", ty: FieldType::Integer, sources: "kmsg,dmesg,syslog,watch", meaning: "OOM task dump: virtual memory, pages" },
    KeyDoc { name: "transport", ty: FieldType::String, sources: "journal", meaning: "journal `_TRANSPORT`" },
    KeyDoc { name: "trap", ty: FieldType::String, sources: "kmsg,dmesg,syslog,watch", meaning: "trap kind (`general protection fault`, `int3`…)" },
    KeyDoc { name: "truncated", ty: FieldType::Bool, sources: "core", meaning: "the core was stored truncated" },
    KeyDoc { name: "tty", ty: FieldType::String, sources: "syslog,journal,audit,wtmp,btmp,utmp,lastlog", meaning: "terminal" },
    KeyDoc { name: "tty_nr", ty: FieldType::Integer, sources: "proc", meaning: "a live process's tty number" },
    KeyDoc { name: "type", ty: FieldType::String, sources: "settings", meaning: "limits.conf type (`soft`, `hard`, `-`)" },
    KeyDoc { name: "under_oom", ty: FieldType::Integer, sources: "settings", meaning: "memory cgroup v1 `under_oom`" },
    KeyDoc { name: "unit", ty: FieldType::String, sources: "syslog,journal,audit,cron,settings", meaning: "systemd unit" },
    KeyDoc { name: "units", ty: FieldType::String, sources: "settings", meaning: "/proc/PID/limits units column" },
    KeyDoc { name: "usage", ty: FieldType::Integer, sources: "settings", meaning: "memory cgroup usage, bytes" },
    KeyDoc { name: "user_from", ty: FieldType::String, sources: "audit", meaning: "where the event's `user` name came from (`enriched` log, `passwd`)" },
    KeyDoc { name: "ut_type", ty: FieldType::String, sources: "wtmp,btmp,utmp", meaning: "utmp record type (`USER_PROCESS`, `BOOT_TIME`…)" },
    KeyDoc { name: "value", ty: FieldType::String, sources: "settings", meaning: "a setting's value, always text" },
    KeyDoc { name: "waited_ms", ty: FieldType::Integer, sources: "watch", meaning: "how long the recorder watched a signalled process that was still running, ms" },
    KeyDoc { name: "watchdog_limit", ty: FieldType::String, sources: "syslog,journal", meaning: "systemd watchdog timeout as the message gives it (`3s`)" },
    KeyDoc { name: "watchdog_usec", ty: FieldType::String, sources: "settings", meaning: "systemd `WatchdogUSec` (text as `systemctl show` gives it)" },
];

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

    /// A name read from evidence that is a documented key is that key's literal; any other is its own string.
    /// Either way names compare by their text.
    #[test]
    fn names_from_evidence_are_literals_or_owned() {
        assert!(KEYS.windows(2).all(|w| w[0].name < w[1].name), "KEYS is sorted, for the lookup");
        let known = Key::from("tty".to_owned());
        assert!(matches!(known.0, Cow::Borrowed(_)));
        assert_eq!(known, Key::from("tty"));
        let unknown = Key::from("dict_key_not_documented".to_owned());
        assert!(matches!(unknown.0, Cow::Owned(_)));
        assert_eq!(unknown, Key::from("dict_key_not_documented"));
        let f: Fields = serde_json::from_str(r#"{"dict_key_not_documented": 1, "a": 2}"#).expect("de");
        assert_eq!(f.keys().collect::<Vec<_>>(), ["a", "dict_key_not_documented"]);
    }
}
