//! The Prometheus text exposition format (version 0.0.4) and its OpenMetrics 1.0 form, written by hand.
//!
//! A sandbox's metrics are a snapshot rendered on request, not counters an application keeps updating, so
//! an instrumentation library (which owns long-lived atomic metrics in a registry) would only be filled and
//! emptied again on every scrape. The format itself is small: a `# HELP` and `# TYPE` line per family, one
//! line per sample, label values escaped, and in OpenMetrics a `_total` suffix on counter samples only and
//! a closing `# EOF`.
use std::fmt::Write;

/// Which text format a scraper asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsFormat {
    /// `text/plain; version=0.0.4`: what Prometheus has always read.
    Prometheus,
    /// `application/openmetrics-text; version=1.0.0`: what Prometheus asks for first.
    OpenMetrics,
}

impl MetricsFormat {
    /// OpenMetrics when the `Accept` header names it, the classic format otherwise (Prometheus lists both
    /// and reads either).
    pub fn from_accept(accept: Option<&str>) -> Self {
        match accept {
            Some(accept) if accept.contains("application/openmetrics-text") => Self::OpenMetrics,
            _ => Self::Prometheus,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Self::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// A metric family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
}

/// A text exposition being written: families in the order they are begun.
pub struct Exposition {
    format: MetricsFormat,
    text: String,
    /// The current family's name (without `_total`) and kind.
    family: Option<(&'static str, Kind)>,
}

impl Exposition {
    pub fn new(format: MetricsFormat) -> Self {
        Self {
            format,
            text: String::new(),
            family: None,
        }
    }

    /// Begins a family. `name` is the base name: a counter's samples get `_total` appended here.
    pub fn family(&mut self, name: &'static str, kind: Kind, help: &str) {
        debug_assert!(!name.ends_with("_total"), "counters get _total appended");
        let type_name = match kind {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        };
        // The classic format names a counter family by its sample name; OpenMetrics by the base name.
        let family_name = match (self.format, kind) {
            (MetricsFormat::Prometheus, Kind::Counter) => format!("{name}_total"),
            _ => name.to_owned(),
        };
        // Writing to a String cannot fail.
        let _ = writeln!(self.text, "# HELP {family_name} {}", escape_help(help));
        let _ = writeln!(self.text, "# TYPE {family_name} {type_name}");
        self.family = Some((name, kind));
    }

    /// One sample of the current family.
    pub fn sample(&mut self, labels: &[(&str, &str)], value: f64) {
        let Some((name, kind)) = self.family else {
            debug_assert!(false, "a sample before any family");
            return;
        };
        self.text.push_str(name);
        if kind == Kind::Counter {
            self.text.push_str("_total");
        }
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (label, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{label}=\"{}\"", escape_label(value));
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {}", number(value));
    }

    /// The finished text.
    pub fn finish(mut self) -> String {
        if self.format == MetricsFormat::OpenMetrics {
            self.text.push_str("# EOF\n");
        }
        self.text
    }
}

/// A label value with `\`, `"` and line feeds escaped, as both formats require.
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A help text with `\` and line feeds escaped.
fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A sample value: integers without a fraction, `NaN` and infinities spelled as both formats spell them.
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_named_as_each_format_wants_and_labels_are_escaped() {
        let mut classic = Exposition::new(MetricsFormat::Prometheus);
        classic.family("eda_x", Kind::Counter, "Xs.\nTwo lines.");
        classic.sample(&[("queue", "a\"b\\c\nd")], 3.0);
        assert_eq!(
            classic.finish(),
            "# HELP eda_x_total Xs.\\nTwo lines.\n# TYPE eda_x_total counter\n\
             eda_x_total{queue=\"a\\\"b\\\\c\\nd\"} 3\n"
        );
        let mut open = Exposition::new(MetricsFormat::OpenMetrics);
        open.family("eda_x", Kind::Counter, "Xs.");
        open.sample(&[], 0.25);
        open.family("eda_y", Kind::Gauge, "Ys.");
        open.sample(&[], f64::NAN);
        assert_eq!(
            open.finish(),
            "# HELP eda_x Xs.\n# TYPE eda_x counter\neda_x_total 0.25\n\
             # HELP eda_y Ys.\n# TYPE eda_y gauge\neda_y NaN\n# EOF\n"
        );
    }

    #[test]
    fn openmetrics_is_chosen_only_when_asked_for() {
        assert_eq!(
            MetricsFormat::from_accept(Some(
                "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
            )),
            MetricsFormat::OpenMetrics
        );
        assert_eq!(
            MetricsFormat::from_accept(Some("text/plain")),
            MetricsFormat::Prometheus
        );
        assert_eq!(MetricsFormat::from_accept(None), MetricsFormat::Prometheus);
    }
}
