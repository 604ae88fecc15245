//! Byte sizes on the command lines of both tools.

/// Parses a size: a decimal number (`4096`, `1.5`, `.5`) then an optional binary unit, any case, optionally after a
/// space: `B`, `K`/`KB`/`KiB` (1024), `M`, `G`, `T` likewise. `512M`, `4G`, `1.5GiB`, `64k`. A fraction of a
/// byte is dropped.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(frac) {
        return Err(format!("not a size: {s:?} (e.g. 256M, 4G)"));
    }
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        _ => return Err(format!("unknown size unit in {s:?} (use K, M, G, T)")),
    };
    let too_large = || format!("size too large: {s:?}");
    let whole = if int.is_empty() { 0 } else { int.parse::<u64>().map_err(|_| too_large())? };
    let whole = whole.checked_mul(1 << shift).ok_or_else(too_large)?;
    // The fraction's first 12 digits: enough for every byte of a terabyte, and 10^12 << 40 fits in a u128.
    let frac = &frac[..frac.len().min(12)];
    let part = match frac.parse::<u128>() {
        Ok(f) => (f << shift) / 10u128.pow(frac.len() as u32),
        Err(_) => 0, // no fraction digits
    };
    whole.checked_add(part as u64).ok_or_else(too_large)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_in_every_spelling_both_tools_took() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("4096B"), Ok(4096));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("100k"), Ok(100 << 10));
        assert_eq!(parse_size("256M"), Ok(256 << 20));
        assert_eq!(parse_size("512 mb"), Ok(512 << 20));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("4gib"), Ok(4 << 30));
        assert_eq!(parse_size(" 16T "), Ok(16 << 40));
        assert_eq!(parse_size("1.5k"), Ok(1536));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("0.1k"), Ok(102));
        assert_eq!(parse_size("2."), Ok(2));
        assert_eq!(parse_size(".5K"), Ok(512));
        assert_eq!(parse_size("0.000000000000000001"), Ok(0));
    }

    #[test]
    fn non_sizes_are_errors() {
        for bad in ["", "x", ".", "12X", "1.2.3", "-1", "4 K B", "4KiBB", "4ib"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
        assert!(parse_size("99999999999T").is_err());
        assert!(parse_size("18446744073709551616").is_err());
        assert_eq!(parse_size("18446744073709551615"), Ok(u64::MAX));
        assert!(parse_size("18446744073709551615.9k").is_err());
    }
}
