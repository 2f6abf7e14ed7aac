//! Engine tests: each channel kind, each fault, the classic failures and their fixes,
//! properties over random fault schedules, message sizes, and bad input.
mod alerts;
mod bad_input;
mod channels;
mod evolution;
mod faults;
mod properties;
mod scenarios;
mod sizes;
mod support;
mod trace_docs;
