//! `cmd/systemctl-show.json`: how the collector writes `systemctl show` output, here so the report's tests can
//! hold the report's reader to exactly what the collector writes (no systemd runs on the machines that test).
//!
//! One JSON object: unit `Id` → { property → value string }, keys sorted; a block without `Id=` (or with an
//! `Id` seen before) is keyed `#N` (its position); a line without `=` is a property with a `null` value. The
//! output is read as UTF-8; if it was not, invalid sequences are replaced and the object gets `"_lossy": true`.

use serde_json::{Map, Value};

/// `systemctl show` output (blocks of `Property=value` lines separated by blank lines) → JSON bytes.
pub fn show_to_json(raw: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw);
    let lossy = std::str::from_utf8(raw).is_err();
    let mut units = Map::new();
    let mut block = Map::new();
    let mut n = 0usize;
    let mut flush = |block: &mut Map<String, Value>, units: &mut Map<String, Value>| {
        if block.is_empty() {
            return;
        }
        n += 1;
        let key = match block.get("Id") {
            Some(Value::String(id)) if !units.contains_key(id) => id.clone(),
            _ => format!("#{n}"),
        };
        units.insert(key, Value::Object(std::mem::take(block)));
    };
    for line in text.split('\n') {
        if line.is_empty() {
            flush(&mut block, &mut units);
            continue;
        }
        match line.split_once('=') {
            Some((k, v)) => {
                block.insert(k.to_owned(), Value::String(v.to_owned()));
            }
            None => {
                block.insert(line.to_owned(), Value::Null);
            }
        }
    }
    flush(&mut block, &mut units);
    if lossy {
        units.insert("_lossy".into(), Value::Bool(true));
    }
    let mut data = serde_json::to_vec_pretty(&Value::Object(units)).unwrap_or_default();
    data.push(b'\n');
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_blocks_become_units() {
        let j = show_to_json(
            b"Type=simple\nResult=signal\nExecMainStatus=9\nId=a.service\nEnvironment=\n\nId=b.service\nNRestarts=3\n\nNoEquals\n",
        );
        let v: Value = serde_json::from_slice(&j).expect("json");
        assert_eq!(v["a.service"]["Result"], "signal");
        assert_eq!(v["a.service"]["ExecMainStatus"], "9");
        assert_eq!(v["a.service"]["Environment"], "");
        assert_eq!(v["b.service"]["NRestarts"], "3");
        assert_eq!(v["#3"]["NoEquals"], Value::Null);
        assert!(v.get("_lossy").is_none());
    }
}
