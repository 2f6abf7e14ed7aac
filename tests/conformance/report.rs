//! One row of the conformance table: what the real broker did, what the engine did, the verdict.
use std::fmt::Write;

pub(crate) struct Row {
    pub(crate) scenario: &'static str,
    pub(crate) broker: String,
    pub(crate) engine: String,
    pub(crate) verdict: &'static str,
}

/// The rows as a Markdown table, as docs/BROKERS.md quotes it.
pub(crate) fn table(broker: &str, rows: &[Row]) -> String {
    let mut out =
        format!("| scenario | {broker} | engine | verdict |\n| --- | --- | --- | --- |\n");
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            row.scenario, row.broker, row.engine, row.verdict
        );
    }
    out
}
