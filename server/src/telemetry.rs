//! Structured logging through `tracing`, and trace export over OTLP.
//!
//! JSON lines on stdout by default (what Railway, CloudWatch and Loki ingest),
//! or human-readable with `VANGUARD_LOG_FORMAT=pretty`. Timestamps are UTC.
//! Filtering follows `RUST_LOG` (default: `info`, sqlx at `warn`).
//!
//! When `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`)
//! is set, the same spans (one per request with its `correlation_id`, one per
//! workflow step with the correlation id of the request that started the
//! pipeline) are exported as OTLP over HTTP/protobuf, batched on a thread of
//! their own; the standard `OTEL_*` variables (headers, timeout,
//! `OTEL_SERVICE_NAME`) apply. Unset, nothing is exported and nothing of
//! OpenTelemetry runs.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::{Resource, trace::SdkTracerProvider};
use tracing_subscriber::{EnvFilter, fmt, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::LogFormat;

const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=warn";

/// Keeps the trace exporter alive; [`Telemetry::shutdown`] flushes it.
#[must_use = "dropping it without `shutdown` may lose the last spans"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans still buffered (call after the runtime has stopped).
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(error) = provider.shutdown()
        {
            eprintln!("vanguard: could not flush traces: {error}");
        }
    }
}

/// Whether the environment asks for trace export.
fn otlp_configured() -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|name| std::env::var(name).is_ok_and(|value| !value.trim().is_empty()))
}

fn tracer_provider() -> Option<SdkTracerProvider> {
    if !otlp_configured() {
        return None;
    }
    match opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
    {
        Ok(exporter) => Some(
            SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(Resource::builder().with_service_name("vanguard").build())
                .build(),
        ),
        Err(error) => {
            // Logging is not up yet; the process still serves without traces.
            eprintln!("vanguard: OTLP trace export disabled: {error}");
            None
        }
    }
}

/// Installs the global subscriber. Call once, first thing in `main`, before
/// the async runtime starts (the exporter's HTTP client is a blocking one).
pub fn init(format: LogFormat) -> Telemetry {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let provider = tracer_provider();
    let otlp = provider
        .as_ref()
        .map(|provider| tracing_opentelemetry::layer().with_tracer(provider.tracer("vanguard")));
    let registry = tracing_subscriber::registry().with(filter).with(otlp);
    // `try_init` so that a second call (tests) is harmless.
    let _ = match format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
        LogFormat::Pretty => registry.with(fmt::layer().pretty()).try_init(),
    };
    Telemetry { provider }
}
