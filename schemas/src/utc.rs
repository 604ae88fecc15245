//! A UTC instant with one fixed JSON form: RFC 3339, microseconds, `Z` (`2026-11-27T20:03:37.000000Z`).

use std::fmt;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::{well_known::Rfc3339, BorrowedFormatItem};
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// A point in time, always stored in UTC. Display zones are the renderer's business.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Utc(pub OffsetDateTime);

impl Ord for Utc {
    /// Instants in time order. Both are nearly always stored at offset UTC, where the stored date and time
    /// compare directly (timelines sort millions of them); otherwise both are converted.
    fn cmp(&self, other: &Utc) -> std::cmp::Ordering {
        if self.0.offset().is_utc() && other.0.offset().is_utc() {
            (self.0.date(), self.0.time()).cmp(&(other.0.date(), other.0.time()))
        } else {
            self.0.cmp(&other.0)
        }
    }
}

impl PartialOrd for Utc {
    fn partial_cmp(&self, other: &Utc) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Utc {
    /// From seconds and nanoseconds since the Unix epoch. `None` when out of range.
    pub fn from_unix(secs: i64, nanos: u32) -> Option<Utc> {
        let t = OffsetDateTime::from_unix_timestamp(secs).ok()?;
        t.replace_nanosecond(nanos.min(999_999_999)).ok().map(Utc)
    }
    /// From nanoseconds since the Unix epoch.
    pub fn from_unix_nanos(ns: i128) -> Option<Utc> {
        OffsetDateTime::from_unix_timestamp_nanos(ns).ok().map(Utc)
    }
    /// From microseconds since the Unix epoch.
    pub fn from_unix_micros(us: i64) -> Option<Utc> {
        Self::from_unix_nanos(i128::from(us) * 1000)
    }
    /// Microseconds since the Unix epoch (Timesketch's integer `timestamp`).
    pub fn unix_micros(&self) -> i64 {
        (self.0.unix_timestamp_nanos() / 1000) as i64
    }
    pub fn unix_seconds(&self) -> i64 {
        self.0.unix_timestamp()
    }
    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ`, always 6 fractional digits.
    pub fn rfc3339(&self) -> String {
        const FORM: &[BorrowedFormatItem<'static>] =
            format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
        let t = self.0.to_offset(UtcOffset::UTC);
        // Formatting fails only on a writer's error or a component the value lacks; a String and a date-time
        // have neither.
        rfc3339_digits(t).unwrap_or_else(|| t.format(FORM).unwrap_or_default())
    }
    /// Parses any RFC 3339 string, converting to UTC.
    pub fn parse_rfc3339(s: &str) -> Option<Utc> {
        OffsetDateTime::parse(s, &Rfc3339).ok().map(|t| Utc(t.to_offset(UtcOffset::UTC)))
    }
}

/// [`Utc::rfc3339`] for years 0 to 9999, digit by digit. Kept by hand for the `render` row of `make bench`
/// (`time`'s formatter made findings and the timeline files that row's slowest part, over 10% in all).
fn rfc3339_digits(t: OffsetDateTime) -> Option<String> {
    let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
    let mut b = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (at..at + width).rev() {
            b[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, u32::from(u8::from(t.month())));
    put(8, 2, u32::from(t.day()));
    put(11, 2, u32::from(t.hour()));
    put(14, 2, u32::from(t.minute()));
    put(17, 2, u32::from(t.second()));
    put(20, 6, t.microsecond());
    Some(b.iter().copied().map(char::from).collect())
}

impl fmt::Display for Utc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339())
    }
}

impl Serialize for Utc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.rfc3339())
    }
}

impl<'de> Deserialize<'de> for Utc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Utc, D::Error> {
        let s = String::deserialize(d)?;
        Utc::parse_rfc3339(&s).ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {s:?}")))
    }
}

impl JsonSchema for Utc {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Utc".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "format": "date-time",
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$",
            "description": "UTC instant, RFC 3339 with microseconds and Z"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_form_round_trips() {
        let t = Utc::from_unix(1_700_000_000, 123_456_789).expect("in range");
        assert_eq!(t.rfc3339(), "2023-11-14T22:13:20.123456Z");
        let back: Utc = serde_json::from_str(&serde_json::to_string(&t).expect("ser")).expect("de");
        assert_eq!(back.unix_micros(), t.unix_micros());
        assert_eq!(Utc::parse_rfc3339("2023-11-14T23:13:20+01:00").map(|u| u.unix_seconds()), Some(1_700_000_000));
    }

    /// The digit-by-digit form is the `time` crate's, at any offset and year, and so is the order.
    #[test]
    fn form_and_order_agree_with_time() {
        let mut x: u64 = 7;
        let mut prev: Option<Utc> = None;
        for _ in 0..2000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let secs = (x >> 20) as i64 % 300_000_000_000 - 62_000_000_000;
            let Some(t) = Utc::from_unix(secs, (x % 1_000_000_000) as u32) else { continue };
            let u = t.0.to_offset(UtcOffset::UTC);
            let want = u
                .format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"))
                .expect("format");
            assert_eq!(t.rfc3339(), want);
            let shifted = Utc(t.0.to_offset(UtcOffset::from_whole_seconds(3600).expect("offset")));
            assert_eq!(shifted.rfc3339(), want);
            if let Some(p) = prev {
                assert_eq!(p.cmp(&t), p.0.cmp(&t.0));
                assert_eq!(Utc(p.0.to_offset(UtcOffset::from_whole_seconds(-7200).expect("o"))).cmp(&t), p.0.cmp(&t.0));
            }
            prev = Some(t);
        }
    }
}
