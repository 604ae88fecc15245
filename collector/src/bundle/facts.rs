//! Host names fit for the bundle's file name. (Host facts and the clock sample come from
//! `acquire::host::host_facts` and `acquire::kernel::clock_sample`.)

/// A host name fit for a file name: `[A-Za-z0-9._-]`, other characters as `_`, at most 64.
pub fn file_safe(name: &str) -> String {
    let s: String = name
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with('.') {
        format!("h{s}")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_become_safe_file_names() {
        assert_eq!(file_safe("web-01.example"), "web-01.example");
        assert_eq!(file_safe("a/b c"), "a_b_c");
        assert_eq!(file_safe(""), "h");
        assert_eq!(file_safe("..x"), "h..x");
    }
}
