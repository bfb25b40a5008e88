"""Settings: the one place that reads the environment (prefix TOWNSQUARE_)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    """Runtime configuration; every field can be set as TOWNSQUARE_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="TOWNSQUARE_", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'var' / 'townsquare.db'}",
        description="SQLAlchemy URL; SQLite (WAL) by default, postgresql+psycopg://... for scale-out.",
    )
    data_dir: Path = Field(default=PROJECT_ROOT.parent / "shared" / "datasets")
    policies_dir: Path = Field(default=PROJECT_ROOT / "policies")
    textbanks_dir: Path = Field(default=PROJECT_ROOT / "textbanks")
    elections_file: Path = Field(default=PROJECT_ROOT / "elections.yaml")
    queues_file: Path = Field(default=PROJECT_ROOT / "queues.yaml", description="Review queues and routing.")
    case_lock_minutes: float = Field(default=10.0, gt=0, description="How long taking a case locks it.")
    second_review_rate: float = Field(
        default=0.05, ge=0, le=1, description="Share of human decisions re-checked by a second reviewer."
    )
    automation_qa_rate: float = Field(
        default=0.02, ge=0, le=1, description="Share of automated actions sampled for human QA."
    )
    qa_precision_target: float = Field(
        default=0.9, gt=0, le=1, description="Live precision below which a policy's automation pauses."
    )
    qa_min_samples: int = Field(default=20, ge=1, description="QA decisions needed before pausing.")
    models_dir: Path = Field(
        default=PROJECT_ROOT / "models", description="Trained model artifacts (`townsquare models train`)."
    )
    claims_dir: Path = Field(
        default=PROJECT_ROOT / "claims", description="The library of known false claims."
    )
    models_enabled: bool = Field(
        default=True, description="Score posts with the trained models; false leaves the text banks alone."
    )
    semantic: bool = Field(
        default=True,
        description="Use the semantic tier (MiniLM) when the `semantic` extra and its artifact exist.",
    )
    signing_key_path: Path = Field(
        default=PROJECT_ROOT / "var" / "keys" / "checkpoint.ed25519",
        description="Ed25519 private key for chain checkpoints; keep it outside the database.",
    )
    checkpoint_log_path: Path = Field(
        default=PROJECT_ROOT / "var" / "keys" / "checkpoints.jsonl",
        description="Append-only copy of every signed checkpoint, outside the database.",
    )
    checkpoint_interval_s: float = Field(
        default=60.0, gt=0, description="Most seconds between checkpoints while the chain head moves."
    )
    checkpoint_every_batches: int = Field(
        default=100,
        ge=1,
        description="Sign a checkpoint once this many batches are sealed past the last one.",
    )
    chain_time_tolerance_s: float = Field(
        default=300.0,
        ge=0,
        description="How far an event's time may fall behind one sealed before it (clock skew between "
        "writers plus the longest transaction); further back, `audit verify` reports it as backdated.",
    )
    seal_interval_s: float = Field(default=0.5, description="Seconds between event-chain sealing passes.")
    max_text_chars: int = Field(default=10_000, description="Longest post or report text accepted.")
    max_body_bytes: int = Field(default=8_000_000, description="Largest request body accepted (413 above).")
    max_batch: int = Field(default=1_000, description="Most posts in one batch request.")
    post_group_max: int = Field(
        default=64,
        ge=1,
        description="Most single posts (POST /v1/posts) that arrive together and are decided in one "
        "transaction (group commit); 1 gives each request its own transaction.",
    )
    session_hours: float = Field(default=12.0, description="Lifetime of a UI login session.")
    cookie_secure: bool = Field(default=True, description="Mark the session cookie Secure (HTTPS only).")
    token_days: int = Field(default=90, description="Default lifetime of a new API token, in days.")
    login_rate_per_minute: int = Field(
        default=10,
        ge=1,
        description="Logins per client address a minute, whatever the usernames; password changes, TOTP "
        "enrolments and token requests per user a minute.",
    )
    login_slowdown_after: int = Field(
        default=5, ge=1, description="Failed logins in a row for a username before each try must wait."
    )
    login_max_delay_s: float = Field(
        default=30.0, gt=0, description="Longest wait between tries for a username under attack."
    )
    login_failure_window_s: float = Field(
        default=300.0, gt=0, description="Failed logins from one address make one event per this window."
    )
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-For "
        "is believed; none by default (the TCP peer is the client).",
    )
    approval_hours: float = Field(
        default=48.0, description="How long a pending two-person approval stays open."
    )
    high_impact_followers: int = Field(
        default=100_000,
        description="Follower count from which a ban or reinstatement needs a second approver.",
    )
    bulk_approval_size: int = Field(
        default=50, description="Bulk decisions above this many need a second approver."
    )
    freeze_max_hours: float = Field(
        default=24.0, description="Longest a role-wide or global freeze lasts unrenewed."
    )
    freeze_read_only: bool = Field(default=True, description="Frozen users keep read-only access.")
    break_glass_max_minutes: int = Field(default=240, description="Longest a break-glass grant may last.")
    platform: str = Field(default="townsquare-demo", description="Platform name used in PUIDs and notices.")
    appeals_file: Path = Field(
        default=PROJECT_ROOT / "appeals.yaml", description="Appeal SLAs, reinstatement rules."
    )
    link_key_path: Path = Field(
        default=PROJECT_ROOT / "var" / "keys" / "links.key",
        description="Key that signs the appeal links in notices; keep it outside the database.",
    )
    fingerprint_retention_days: int = Field(
        default=180, ge=1, description="Days device and IP hashes are kept for ban-evasion matching."
    )
    webhook_url: str | None = Field(default=None, description="Where user notices are POSTed (signed).")
    webhook_secret_path: Path = Field(
        default=PROJECT_ROOT / "var" / "keys" / "webhook.secret",
        description="HMAC secret for webhook signatures.",
    )
    webhook_max_attempts: int = Field(default=8, ge=1, description="Delivery attempts before giving up.")
    webhook_backoff_s: float = Field(
        default=30.0, gt=0, description="First retry delay; doubles each attempt."
    )
    public_url: str | None = Field(
        default=None,
        description="Base URL used in notices; unset, the address the service is served on (the request's).",
    )
    appeal_window_days: int = Field(default=183, description="Days an appeal stays open (DSA: >= 6 months).")
    # Transparency (issue 14)
    provider_name: str = Field(
        default="Townsquare demo provider", description="Service provider named in DSA transparency reports."
    )
    service_name: str = Field(default="Townsquare", description="Service named in DSA transparency reports.")
    vlop: bool = Field(
        default=False, description="A very large online platform: also fill the VLOP-only report rows."
    )
    prevalence_daily_samples: int = Field(
        default=200, ge=1, description="Views drawn each day for prevalence labelling."
    )

    # Scale-out on Redis Streams (issue 15): without redis_url everything stays inline on one process.
    ingest_mode: Literal["inline", "stream"] = Field(
        default="inline",
        description="inline: the HTTP API decides each post in the request; stream: it appends the post "
        "to Redis Streams and answers 202 with a status URL, and `townsquare worker` decides it.",
    )
    redis_url: str | None = Field(default=None, description="redis://host:port/db for stream ingest.")
    stream_prefix: str = Field(default="ts:ingest", description="Prefix of every stream key in Redis.")
    stream_shards: int = Field(
        default=8, ge=1, le=1024, description="Streams an account's messages are spread over (crc32)."
    )
    stream_group: str = Field(default="townsquare", description="The consumer group of the workers.")
    stream_batch: int = Field(default=200, ge=1, le=5_000, description="Most messages read per shard.")
    stream_block_ms: int = Field(default=1_000, ge=1, description="How long a read waits for messages.")
    stream_max_backlog: int = Field(
        default=200_000,
        ge=1,
        description="Unprocessed messages over all shards above which producers get 503 + Retry-After.",
    )
    stream_retry_after_s: int = Field(default=5, ge=1, description="Retry-After sent with a 503.")
    stream_max_deliveries: int = Field(
        default=5, ge=1, description="Failed attempts after which a message goes to the dead-letter stream."
    )
    stream_claim_idle_ms: int = Field(
        default=30_000, ge=1, description="Idle time after which another worker claims pending messages."
    )
    stream_lease_ms: int = Field(
        default=10_000, ge=100, description="How long a worker's hold on a shard lasts unrenewed."
    )
    stream_backoff_max_s: float = Field(
        default=10.0, gt=0, description="Longest wait between retries while Redis or the database is down."
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        """Refuse a bad proxy list at start-up rather than at the first login."""
        from townsquare.access.ratelimit import parse_networks

        parse_networks(value)
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own Settings instead)."""
    return Settings()
