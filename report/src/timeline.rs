//! One UTC timeline from all parsed entries.
