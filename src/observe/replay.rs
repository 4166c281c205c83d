//! Replaying a trace (to come).
