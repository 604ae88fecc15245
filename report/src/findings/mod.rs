//! Findings: a death certificate per process death (issue 4).
