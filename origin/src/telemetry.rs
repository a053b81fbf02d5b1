//! Logging: `tracing`, text or JSON (`LOG_FORMAT`), filtered by `RUST_LOG`.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Server logging: info by default.
pub fn init(format: LogFormat) {
    init_with_default(format, "info,tower_http=info,tokio_postgres=warn");
}

/// Admin commands keep quiet unless something is wrong (or `RUST_LOG` says otherwise).
pub fn init_quiet() {
    init_with_default(LogFormat::Text, "warn");
}

fn init_with_default(format: LogFormat, default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (tests) is not an error worth failing for.
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
