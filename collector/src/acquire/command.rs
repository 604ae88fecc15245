//! External commands with a timeout; exit status and duration recorded.
