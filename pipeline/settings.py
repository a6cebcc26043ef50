"""Configuration, read once from the environment into a typed, frozen object.

Every process is configured the 12-factor way: ``VIGIL_*`` environment variables with
defaults that make the embedded, one-machine stack work out of the box.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
MASK = "***"
# query parameters whose values are credentials (?password=, ?key=, ?access_token=, ?sentry_key=, …)
SECRET_PARAMETER = re.compile(r"pass|secret|key|token|auth|credential|signature", re.IGNORECASE)


def redacted(address: str) -> str:
    """``address`` fit for a log line: its password and secret query values replaced by ``***``.

    ``http://vigil:s3cret@clickhouse:8123/?password=x`` → ``http://vigil:***@clickhouse:8123/?password=***``.
    Takes a URL or a Kafka ``host:port,host:port`` list (with or without ``user:pass@``).
    docker-compose hands ClickHouse's password over inside VIGIL_CLICKHOUSE_URL, and every
    process logs where it connects: this is what they log instead.
    """
    if "://" not in address:  # a bootstrap list: each item on its own
        return ",".join(_redacted_url("//" + item)[2:] for item in address.split(","))
    return _redacted_url(address)


# the same words in free text: a query parameter whose name says it holds a credential
_SECRET_QUERY_VALUE = re.compile(
    r"(?P<name>[?&;][^=&;#\s\"']*(?:pass|secret|key|token|auth|credential|signature)[^=&;#\s\"']*=)"
    r"(?P<value>[^&;#\s\"']+)",
    re.IGNORECASE,
)


def redact_query(text: str) -> str:
    """``GET /api/1/ws?key=abc&x=1 HTTP/1.1`` → ``GET /api/1/ws?key=***&x=1 HTTP/1.1``: for log lines
    that hold a URL among other words (request lines, uvicorn's messages); other text is returned as is."""
    if "=" not in text:
        return text
    return _SECRET_QUERY_VALUE.sub(lambda match: match["name"] + MASK, text)


def _redacted_url(url: str) -> str:
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")  # the last @: a raw @ in a password stays hidden
    user, has_password, _ = userinfo.partition(":")
    if has_password:
        userinfo = f"{user}:{MASK}"
    netloc = f"{userinfo}{at}{host}"
    query = "&".join(_redacted_parameter(pair) for pair in parts.query.split("&")) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _redacted_parameter(pair: str) -> str:
    name, equals, value = pair.partition("=")
    return f"{name}={MASK}" if equals and value and SECRET_PARAMETER.search(name) else pair


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not an integer; unset it or give a whole number") from None


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not a number; unset it or give a number") from None


def _str(name: str, default: str) -> str:
    return os.environ.get(name) or default


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise SystemExit(f"{name}={raw!r} is not a yes/no value; use 1 or 0 (true/false, on/off)")


@dataclass(frozen=True)
class Settings:
    # where embedded services keep their data (Kafka log dirs, chDB data)
    data_dir: Path = field(default_factory=lambda: Path(_str("VIGIL_DATA_DIR", str(REPO_ROOT / ".vigil"))))

    # Kafka
    # unset: the embedded broker's address, following VIGIL_KAFKA_PORT
    kafka_brokers: str = field(
        default_factory=lambda: _str("VIGIL_KAFKA_BROKERS", f"127.0.0.1:{_int('VIGIL_KAFKA_PORT', 9092)}")
    )
    kafka_port: int = field(default_factory=lambda: _int("VIGIL_KAFKA_PORT", 9092))
    kafka_controller_port: int = field(default_factory=lambda: _int("VIGIL_KAFKA_CONTROLLER_PORT", 9093))
    events_topic: str = field(default_factory=lambda: _str("VIGIL_EVENTS_TOPIC", "vigil.events"))
    dlq_topic: str = field(default_factory=lambda: _str("VIGIL_DLQ_TOPIC", "vigil.events.dlq"))
    topic_partitions: int = field(default_factory=lambda: _int("VIGIL_TOPIC_PARTITIONS", 4))
    # a production cluster's TLS/SASL: librdkafka's security.protocol, sasl.mechanism, sasl.username,
    # sasl.password, ssl.ca.location, ssl.certificate.location, ssl.key.location, ssl.key.password,
    # ssl.endpoint.identification.algorithm, for every Kafka client Vigil makes
    # (pipeline/broker/connection.py); unset: plaintext, as the embedded loopback broker wants
    kafka_security_protocol: str = field(default_factory=lambda: _str("VIGIL_KAFKA_SECURITY_PROTOCOL", ""))
    kafka_sasl_mechanism: str = field(default_factory=lambda: _str("VIGIL_KAFKA_SASL_MECHANISM", ""))
    kafka_sasl_username: str = field(default_factory=lambda: _str("VIGIL_KAFKA_SASL_USERNAME", ""))
    kafka_sasl_password: str = field(default_factory=lambda: _str("VIGIL_KAFKA_SASL_PASSWORD", ""))
    kafka_ssl_ca_location: str = field(default_factory=lambda: _str("VIGIL_KAFKA_SSL_CA_LOCATION", ""))
    kafka_ssl_certificate_location: str = field(default_factory=lambda: _str("VIGIL_KAFKA_SSL_CERTIFICATE_LOCATION", ""))
    kafka_ssl_key_location: str = field(default_factory=lambda: _str("VIGIL_KAFKA_SSL_KEY_LOCATION", ""))
    kafka_ssl_key_password: str = field(default_factory=lambda: _str("VIGIL_KAFKA_SSL_KEY_PASSWORD", ""))
    kafka_ssl_endpoint_identification: str = field(
        default_factory=lambda: _str("VIGIL_KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM", ""))

    # ClickHouse (a real server, or the embedded chDB one)
    # unset: the embedded server's address (127.0.0.1, so no IPv6 attempt first)
    clickhouse_url: str = field(
        default_factory=lambda: _str("VIGIL_CLICKHOUSE_URL", f"http://127.0.0.1:{_int('VIGIL_CLICKHOUSE_PORT', 8123)}")
    )
    clickhouse_database: str = field(default_factory=lambda: _str("VIGIL_CLICKHOUSE_DATABASE", "vigil"))
    # a ClickHouse cluster's name (its remote_servers entry): `vigil migrate` renders the schema for
    # it (replicated local tables, Distributed tables, ON CLUSTER); empty: one node, as written
    clickhouse_cluster: str = field(default_factory=lambda: _str("VIGIL_CLICKHOUSE_CLUSTER", ""))
    clickhouse_port: int = field(default_factory=lambda: _int("VIGIL_CLICKHOUSE_PORT", 8123))
    # ClickHouse users (pipeline/warehouse/access.py): `vigil` writes, `vigil_reader` serves the
    # dashboard, notebooks and alerts. Credentials inside VIGIL_CLICKHOUSE_URL win; else these
    # passwords; else the ones `vigil clickhouse` generated in data_dir (clickhouse-*.password, 0600)
    clickhouse_password: str = field(default_factory=lambda: _str("VIGIL_CLICKHOUSE_PASSWORD", ""))
    clickhouse_reader_password: str = field(default_factory=lambda: _str("VIGIL_CLICKHOUSE_READER_PASSWORD", ""))

    # collector
    collector_host: str = field(default_factory=lambda: _str("VIGIL_COLLECTOR_HOST", "127.0.0.1"))
    collector_port: int = field(default_factory=lambda: _int("VIGIL_COLLECTOR_PORT", 8080))
    collector_workers: int = field(default_factory=lambda: _int("VIGIL_COLLECTOR_WORKERS", 1))
    max_body_bytes: int = field(default_factory=lambda: _int("VIGIL_MAX_BODY_BYTES", 1024 * 1024))
    max_events_per_batch: int = field(default_factory=lambda: _int("VIGIL_MAX_EVENTS_PER_BATCH", 1000))
    # token buckets (pipeline/ingest/limits.py): sustained cost per second, burst = rate * burst_seconds.
    # The unit is one accepted event; every request also costs REQUEST_COST units plus KIB_COST per KiB
    # (refused ones too, charged on arrival), and every event the contract refuses REJECTED_EVENT_COST.
    # An SDK page sends a request of ≤ 20 events every few seconds: ~2 units/s, 1/1000 of the IP's rate
    rate_limit_per_key: float = field(default_factory=lambda: _float("VIGIL_RATE_LIMIT_PER_KEY", 50_000))
    rate_limit_per_ip: float = field(default_factory=lambda: _float("VIGIL_RATE_LIMIT_PER_IP", 2_000))
    rate_limit_burst_seconds: float = field(default_factory=lambda: _float("VIGIL_RATE_LIMIT_BURST_SECONDS", 2.0))
    rate_limit_request_cost: float = field(default_factory=lambda: _float("VIGIL_RATE_LIMIT_REQUEST_COST", 10.0))
    rate_limit_kib_cost: float = field(default_factory=lambda: _float("VIGIL_RATE_LIMIT_KIB_COST", 1.0))
    rate_limit_rejected_event_cost: float = field(
        default_factory=lambda: _float("VIGIL_RATE_LIMIT_REJECTED_EVENT_COST", 10.0))
    # seconds a 429 is held back (at most its Retry-After), so a client resending in a tight loop
    # costs a request per connection per this, not thousands a second; 0 = answer at once
    rate_limit_delay_s: float = field(default_factory=lambda: _float("VIGIL_RATE_LIMIT_DELAY", 1.0))
    # HTTP reading limits (pipeline/ingest/protocol.py): request line → 414, all header lines → 431;
    # a head not complete this many seconds after its first byte → 408; a body must arrive within
    # VIGIL_BODY_TIMEOUT seconds plus one second per VIGIL_BODY_MIN_RATE bytes of it → else 408
    max_request_line_bytes: int = field(default_factory=lambda: _int("VIGIL_MAX_REQUEST_LINE_BYTES", 8 * 1024))
    max_header_bytes: int = field(default_factory=lambda: _int("VIGIL_MAX_HEADER_BYTES", 32 * 1024))
    header_timeout_s: float = field(default_factory=lambda: _float("VIGIL_HEADER_TIMEOUT", 10.0))
    body_timeout_s: float = field(default_factory=lambda: _float("VIGIL_BODY_TIMEOUT", 10.0))
    body_min_rate: float = field(default_factory=lambda: _float("VIGIL_BODY_MIN_RATE", 10 * 1024))
    # uvicorn's access log (one line per request, credentials in URLs masked); off: it costs throughput
    access_log: bool = field(default_factory=lambda: _bool("VIGIL_ACCESS_LOG", False))
    kafka_ack_timeout_s: float = field(default_factory=lambda: _float("VIGIL_KAFKA_ACK_TIMEOUT", 5.0))
    projects_refresh_s: float = field(default_factory=lambda: _float("VIGIL_PROJECTS_REFRESH", 5.0))
    # reverse proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-For names the client;
    # empty = trust none, the client is the socket's peer
    trusted_proxies: str = field(default_factory=lambda: _str("VIGIL_TRUSTED_PROXIES", ""))
    # refusals (pipeline/ingest/refusals.py): seconds between inserts of each worker's counts
    # into ClickHouse's refusals_minute; and whether GET /metrics answers on the collector's port
    refusals_flush_s: float = field(default_factory=lambda: _float("VIGIL_REFUSALS_FLUSH", 10.0))
    collector_metrics: bool = field(default_factory=lambda: _bool("VIGIL_COLLECTOR_METRICS", True))

    # processor
    processor_group: str = field(default_factory=lambda: _str("VIGIL_PROCESSOR_GROUP", "vigil-processor"))
    # rows per ClickHouse insert; the sink sends a smaller one once its oldest row waited
    # VIGIL_SINK_MAX_DELAY seconds, so rows show up within about that at any rate. Every insert
    # costs the server ~0.2 s of CPU however small (a part and a query per view): 40,000-row
    # inserts every 2 s halve that against 20,000 every second (docs/benchmarks.md, session 5)
    sink_batch_size: int = field(default_factory=lambda: _int("VIGIL_SINK_BATCH_SIZE", 40_000))
    sink_max_delay_s: float = field(default_factory=lambda: _float("VIGIL_SINK_MAX_DELAY", 2.0))
    # seconds between the processor's checkpoints (offsets committed once the inserts landed).
    # Rows reach ClickHouse every VIGIL_SINK_MAX_DELAY whatever this is; it only bounds what a
    # crash reads again (collapsed by event_id), and the stream waits at each checkpoint for
    # its last inserts, so rare is cheap: Kafka Streams' at-least-once default is 30 s too
    processor_commit_interval_s: float = field(
        default_factory=lambda: _float("VIGIL_PROCESSOR_COMMIT_INTERVAL", 30.0))
    # seconds between `vigil signals`' checkpoints: a closed minute reaches ClickHouse and
    # vigil.signals at the next one, so alerts hear of it at most this much later
    commit_interval_s: float = field(default_factory=lambda: _float("VIGIL_COMMIT_INTERVAL", 5.0))
    # data quality (pipeline/quality/): GX suites on a sample of at most this many rows of a flushed
    # batch, at most once per interval seconds, on a background thread; a negative interval turns it off
    quality_interval_s: float = field(default_factory=lambda: _float("VIGIL_QUALITY_INTERVAL", 10.0))
    quality_sample_rows: int = field(default_factory=lambda: _int("VIGIL_QUALITY_SAMPLE_ROWS", 5000))
    # enrichment: drop headless browsers as bots (off: Vigil's own browser tests run headless Chromium)
    drop_headless: bool = field(default_factory=lambda: _bool("VIGIL_DROP_HEADLESS", False))
    # store client IPs whole instead of anonymised to /24 (IPv4) and /48 (IPv6)
    keep_full_ip: bool = field(default_factory=lambda: _bool("VIGIL_KEEP_FULL_IP", False))
    # key of the cookieless visitor ids' daily salts; empty = a random one kept in data_dir
    secret: str = field(default_factory=lambda: _str("VIGIL_SECRET", ""))
    # a MaxMind DB file (.mmdb, e.g. GeoLite2-City) for visitors' country/region/city; empty = none
    geoip_database: str = field(default_factory=lambda: _str("VIGIL_GEOIP_DATABASE", ""))
    # source maps (`vigil sourcemaps upload`): seconds a release's list of maps is reused before the
    # processor looks again (a map uploaded after the release's first error is used within this),
    # and how many parsed maps one processor keeps in memory (least recently used go first)
    sourcemap_ttl_s: float = field(default_factory=lambda: _float("VIGIL_SOURCEMAP_TTL", 60.0))
    sourcemap_cache_size: int = field(default_factory=lambda: _int("VIGIL_SOURCEMAP_CACHE_SIZE", 128))
    # the processor's Prometheus /metrics (pipeline/stream/processor_metrics.py): port (0 = none) and address
    processor_metrics_port: int = field(default_factory=lambda: _int("VIGIL_PROCESSOR_METRICS_PORT", 9464))
    processor_metrics_host: str = field(default_factory=lambda: _str("VIGIL_PROCESSOR_METRICS_HOST", "127.0.0.1"))

    # streaming signals (`vigil signals`): 1-minute windows per project → vigil.signals + signals_minute
    signals_group: str = field(default_factory=lambda: _str("VIGIL_SIGNALS_GROUP", "vigil-signals"))
    # how long (event time) a minute stays open after it ends, for events that arrive late
    signals_grace_s: float = field(default_factory=lambda: _float("VIGIL_SIGNALS_GRACE", 10.0))

    # dashboard
    dashboard_port: int = field(default_factory=lambda: _int("VIGIL_DASHBOARD_PORT", 8501))
    # the address Streamlit listens on: loopback by default; 0.0.0.0 in a container
    dashboard_host: str = field(default_factory=lambda: _str("VIGIL_DASHBOARD_HOST", "127.0.0.1"))
    dashboard_refresh_s: float = field(default_factory=lambda: _float("VIGIL_DASHBOARD_REFRESH", 5.0))
    # password login: a file of `name:scrypt$…` lines (`vigil dashboard --hash-password` makes one);
    # empty = no password login. OIDC ([auth] in .streamlit/secrets.toml) takes precedence.
    dashboard_users: str = field(default_factory=lambda: _str("VIGIL_DASHBOARD_USERS", ""))

    # warehouse retention, applied by `vigil migrate` as table TTLs (0 = keep forever)
    retention_days: int = field(default_factory=lambda: _int("VIGIL_RETENTION_DAYS", 90))
    rollup_retention_days: int = field(default_factory=lambda: _int("VIGIL_ROLLUP_RETENTION_DAYS", 400))

    # alerts (`vigil alerts`): rules as code in this YAML file (empty = only rules made on the Alerts page)
    alerts_file: str = field(default_factory=lambda: _str("VIGIL_ALERTS_FILE", ""))
    alerts_interval_s: float = field(default_factory=lambda: _float("VIGIL_ALERTS_INTERVAL", 60.0))
    alerts_group: str = field(default_factory=lambda: _str("VIGIL_ALERTS_GROUP", "vigil-alerts"))
    # tries per notification and channel (1 = no retry), backing off 1 s, 2 s, 4 s, …
    alerts_delivery_attempts: int = field(default_factory=lambda: _int("VIGIL_ALERTS_DELIVERY_ATTEMPTS", 4))
    # the Alerts page waits this long for `vigil alerts` to send a test notification; unanswered by
    # then, the request lapses (it is never sent later)
    alerts_test_wait_s: float = field(default_factory=lambda: _float("VIGIL_ALERTS_TEST_WAIT", 20.0))
    # e-mail notifications: the SMTP relay; security auto = SSL on 465, STARTTLS on 587, plain otherwise
    smtp_host: str = field(default_factory=lambda: _str("VIGIL_SMTP_HOST", ""))
    smtp_port: int = field(default_factory=lambda: _int("VIGIL_SMTP_PORT", 587))
    smtp_user: str = field(default_factory=lambda: _str("VIGIL_SMTP_USER", ""))
    smtp_password: str = field(default_factory=lambda: _str("VIGIL_SMTP_PASSWORD", ""))
    smtp_from: str = field(default_factory=lambda: _str("VIGIL_SMTP_FROM", "vigil@localhost"))
    smtp_security: str = field(default_factory=lambda: _str("VIGIL_SMTP_SECURITY", "auto"))

    @property
    def collector_url(self) -> str:
        return f"http://{self.collector_host}:{self.collector_port}"

    def __repr__(self) -> str:
        """The dataclass's repr with credentials masked: settings end up in logs and tracebacks."""
        shown = ", ".join(f"{f.name}={self._shown(f.name)!r}" for f in fields(self))
        return f"{type(self).__name__}({shown})"

    def _shown(self, name: str) -> object:
        value = getattr(self, name)
        if name in ("clickhouse_url", "kafka_brokers"):
            return redacted(value)
        if name in ("secret", "smtp_password", "clickhouse_password", "clickhouse_reader_password",
                    "kafka_sasl_password", "kafka_ssl_key_password") and value:
            return MASK
        return value


def load() -> Settings:
    """Read the environment now (tests change it between calls)."""
    return Settings()
