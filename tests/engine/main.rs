//! Engine tests: each channel kind, each fault, the classic failures and their fixes,
//! properties over random fault schedules, and bad input.
mod alerts;
mod bad_input;
mod channels;
mod evolution;
mod faults;
mod properties;
mod scenarios;
mod support;
mod trace_docs;
