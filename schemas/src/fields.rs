//! An event's source-specific fields: a small map from name to JSON value, kept as one sorted vector.
//!
//! Events carry a handful of fields each and there are millions of events, so the map is a single
//! allocation sized to its contents (a `BTreeMap` allocates a node of eleven slots per map), and the names,
//! nearly always literals, are not copied. Its JSON form is exactly a JSON object with sorted keys.

use std::borrow::Cow;
use std::fmt;

use schemars::JsonSchema;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// A field name: a literal, or (rarely) a name read from the evidence.
pub type Key = Cow<'static, str>;

#[derive(Clone, Default, PartialEq)]
pub struct Fields(Vec<(Key, Value)>);

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
    pub fn get(&self, k: &str) -> Option<&Value> {
        self.find(k).ok().map(|i| &self.0[i].1)
    }
    pub fn contains_key(&self, k: &str) -> bool {
        self.find(k).is_ok()
    }
    /// Sets `k` to `v`, returning the value it replaces.
    pub fn insert(&mut self, k: Key, v: Value) -> Option<Value> {
        // Parsers mostly add fields in name order: appending needs no search and no shifting.
        if self.0.last().is_none_or(|(last, _)| last.as_ref() < k.as_ref()) {
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
    pub fn insert_if_absent(&mut self, k: Key, v: impl FnOnce() -> Value) {
        if let Err(i) = self.find(&k) {
            self.0.insert(i, (k, v()));
        }
    }
    pub fn remove(&mut self, k: &str) -> Option<Value> {
        self.find(k).ok().map(|i| self.0.remove(i).1)
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// In name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> + '_ {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }
    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.0.iter().map(|(k, _)| k.as_ref())
    }
}

impl<K: Into<Key>> Extend<(K, Value)> for Fields {
    fn extend<I: IntoIterator<Item = (K, Value)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k.into(), v);
        }
    }
}

impl<K: Into<Key>> FromIterator<(K, Value)> for Fields {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Fields {
        let mut f = Fields::new();
        f.extend(iter);
        f
    }
}

/// `fields["name"]`: the value, or `null` when the field is absent (as indexing a JSON object does).
impl std::ops::Index<&str> for Fields {
    type Output = Value;
    fn index(&self, k: &str) -> &Value {
        static NULL: Value = Value::Null;
        self.get(k).unwrap_or(&NULL)
    }
}

impl IntoIterator for Fields {
    type Item = (Key, Value);
    type IntoIter = std::vec::IntoIter<(Key, Value)>;
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
                while let Some((k, v)) = a.next_entry::<String, Value>()? {
                    out.insert(Cow::Owned(k), v);
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

    #[test]
    fn behaves_like_a_sorted_map() {
        let mut f = Fields::new();
        assert_eq!(f.insert("b".into(), Value::from(2)), None);
        f.insert("a".into(), Value::from("x"));
        f.insert(Cow::Owned("c".to_owned()), Value::Null);
        assert_eq!(f.insert("b".into(), Value::from(3)), Some(Value::from(2)));
        f.insert_if_absent("a".into(), || Value::from("y"));
        assert_eq!(f.get("a"), Some(&Value::from("x")));
        assert_eq!(f.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(serde_json::to_string(&f).expect("ser"), r#"{"a":"x","b":3,"c":null}"#);
        let back: Fields = serde_json::from_str(r#"{"z":1,"a":"x","b":3,"c":null}"#).expect("de");
        assert_eq!(back.keys().collect::<Vec<_>>(), ["a", "b", "c", "z"]);
        assert_eq!(f.remove("b"), Some(Value::from(3)));
        assert!(!f.contains_key("b") && f.len() == 2);
    }
}
