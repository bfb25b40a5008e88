"""The process's wiring: settings, database, scorers, policies, calendar, clock and signing key."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from townsquare.appeals.rules import Rules, load_rules
from townsquare.config import Settings
from townsquare.db import GroupCommit, make_engine, make_sessionmaker
from townsquare.detection.classify import Classifier
from townsquare.detection.loading import load_classifier
from townsquare.detection.textbanks import TextBankScorer, load_textbanks
from townsquare.eventlog.audit import load_or_create_key
from townsquare.policy.loader import PolicySet, load_election_calendar, load_policies
from townsquare.policy.schema import ElectionCalendar
from townsquare.review.queues import Router, load_queues


def utcnow() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


@dataclass
class Runtime:
    """Everything a request, a CLI command or a worker needs; built once per process."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    scorers: list[TextBankScorer]
    policies: PolicySet
    calendar: ElectionCalendar
    router: Router
    appeal_rules: Rules
    clock: Callable[[], datetime] = utcnow
    classifier: Classifier | None = None
    paused: frozenset[str] = frozenset()  # automation pauses, refreshed from the database per request
    decision_stamp: tuple[int, int] | None = (
        None  # the `decision` change stamp policies and pauses were loaded at
    )
    _key: Ed25519PrivateKey | None = None
    _link_key: bytes | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Single posts that arrive together, decided in one transaction (`post_group_max`).
    post_group: GroupCommit[Any, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.post_group = GroupCommit(self.settings.post_group_max)

    def now(self) -> datetime:
        """The current time (injectable for tests and replays)."""
        return self.clock()

    @property
    def signing_key(self) -> Ed25519PrivateKey:
        """The checkpoint key, loaded (or created) from outside the database on first use."""
        if self._key is None:
            self._key = load_or_create_key(self.settings.signing_key_path)
        return self._key

    @property
    def link_key(self) -> bytes:
        """The key that signs links in notices (kept outside the database, created on first use)."""
        if self._link_key is None:
            from townsquare.appeals.links import load_or_create_key as load_link_key

            self._link_key = load_link_key(self.settings.link_key_path)
        return self._link_key

    def scorer_thresholds(self) -> dict[str, float | None]:
        """Each scorer's validated auto threshold, which policies may not undercut."""
        out = {s.name: s.auto_threshold for s in self.scorers}
        if self.classifier is not None:
            out.update(self.classifier.validated_thresholds())
        return out

    def dispose(self) -> None:
        """Close database connections."""
        self.engine.dispose()


def build_runtime(settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> Runtime:
    """Load text banks, policies and the election calendar and connect to the database."""
    banks = load_textbanks(settings.textbanks_dir)
    scorers = [TextBankScorer(bank) for bank in banks.values()]
    classifier = load_classifier(settings) if settings.models_enabled else None
    validated: dict[str, float | None] = {s.name: s.auto_threshold for s in scorers}
    if classifier is not None:
        validated.update(classifier.validated_thresholds())
    automation = classifier.automation_thresholds() if classifier is not None else {}
    policies = load_policies(settings.policies_dir, validated, automation)
    engine = make_engine(settings.database_url)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        scorers=scorers,
        policies=policies,
        calendar=load_election_calendar(settings.elections_file),
        clock=clock,
        classifier=classifier,
        router=load_queues(settings.queues_file),
        appeal_rules=load_rules(settings.appeals_file, policies.areas()),
    )


def settle_heap() -> None:
    """Move what start-up built (models, mappers, policies) out of the garbage collector's scans.

    A long-running service or worker allocates many short-lived objects per post; every full
    collection would otherwise walk the loaded models' objects again, which are never garbage.
    """
    gc.collect()
    gc.freeze()
