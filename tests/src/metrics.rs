//! Reading a Prometheus text exposition, as `/metrics` serves it.

/// The values of the series whose line starts with `selector` (a name, or a name and
/// some of its labels), summed.
pub fn sum(text: &str, selector: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(selector))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::sum;

    const TEXT: &str = "# HELP tollgate_resolve_total Resolves.\n\
                        # TYPE tollgate_resolve_total counter\n\
                        tollgate_resolve_total{kind=\"mul\",outcome=\"ok\"} 3\n\
                        tollgate_resolve_total{kind=\"mul\",outcome=\"invalid\"} 2\n\
                        tollgate_resolve_totally_else 100\n\
                        tollgate_purge_total{outcome=\"ok\"} 1.5\n";

    #[test]
    fn sums_the_series_a_selector_names() {
        assert_eq!(sum(TEXT, "tollgate_resolve_total{"), 5.0);
        assert_eq!(
            sum(TEXT, r#"tollgate_resolve_total{kind="mul",outcome="ok"}"#),
            3.0
        );
        assert_eq!(sum(TEXT, "tollgate_purge_total"), 1.5);
        assert_eq!(sum(TEXT, "tollgate_missing"), 0.0);
    }
}
