"""Prometheus metrics of stream ingest: backlog, throughput, errors and latency."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

APPENDED = Counter("townsquare_stream_appended", "Messages appended to the ingest streams", ["kind"])
REFUSED = Counter(
    "townsquare_stream_refused", "Appends refused (backlog over its bound, Redis down)", ["why"]
)
PROCESSED = Counter(
    "townsquare_stream_processed", "Messages a worker finished, by outcome (done, dead)", ["kind", "outcome"]
)
ERRORS = Counter(
    "townsquare_stream_errors",
    "Worker errors: redis and database outages (backed off), message failures (retried)",
    ["source"],
)
LATENCY = Histogram(
    "townsquare_stream_latency_seconds",
    "From appended to decided and committed",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
BATCH = Histogram(
    "townsquare_stream_batch_seconds",
    "Time to apply one batch read from a shard",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
BACKLOG = Gauge("townsquare_stream_backlog", "Messages appended and not yet acknowledged", ["shard"])
DEAD = Gauge("townsquare_stream_dead", "Messages waiting in the dead-letter stream")
WORKERS = Gauge("townsquare_stream_workers", "Workers with a current heartbeat")
