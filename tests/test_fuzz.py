"""Fuzz every operation in the OpenAPI document with a token of every role: no request may cause a 500.

schemathesis generates requests from the app's own /openapi.json, read when the test runs (so routes
added later are covered without editing this file), and sends them in-process over ASGI. The HTML
pages and their form posts, left out of the published document, are put into it for the run
(`every_route_documented`), so the workbench's forms are fuzzed like the JSON API. Per role and
operation it sends a few schema-conforming (positive) and schema-violating (negative) examples, then,
where the path names things, a few positive examples aimed at things that exist: ids, usernames and
other path values harvested from earlier 2xx responses (random ids mostly meet a 404). Generation is
derandomized, so a run is repeatable. A summary (operations exercised per role and how many reached a
2xx at least once) is printed and written to bench/results/fuzz.json.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err, Ok
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance
from sqlalchemy import select
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from tests.conftest import BACKEND, Clock, seed_admin, seed_user
from tests.fixtures import factories
from townsquare.access import service as access
from townsquare.access.models import ApiToken
from townsquare.access.roles import ROLES
from townsquare.access.routes import api_routes
from townsquare.app import create_app
from townsquare.config import Settings
from townsquare.db import transaction
from townsquare.runtime import Runtime, build_runtime

RESULTS = (
    Path(__file__).resolve().parents[1]
    / "bench"
    / "results"
    / ("fuzz.json" if BACKEND == "sqlite" else f"fuzz-{BACKEND}.json")
)
EXAMPLES = {GenerationMode.POSITIVE: 4, GenerationMode.NEGATIVE: 2}
KNOWN_EXAMPLES = 2  # per combination of harvested path values
# A role that lacks a route's declared permission is refused at the door, before its input is read
# (tests/access/test_matrix.py proves it for every route and role). Such a pair gets one example of
# each kind and the boundary values: enough to show that odd input cannot slip past the door as a 500;
# the fuzzing budget goes to the operations the role may really use.
REFUSED_EXAMPLES = {GenerationMode.POSITIVE: 1, GenerationMode.NEGATIVE: 1}
ANONYMOUS = "anonymous"
# The admin can disable users and revoke tokens; it goes last, so that its fuzzing cannot lock out a
# role still to run. Each role's user is created just before its turn, for the same reason.
LAST = ("admin",)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]
POOL_CAP = 12
# Beyond PostgreSQL INTEGER and BIGINT (and SQLite's 64-bit integers); PostgreSQL text cannot hold NUL.
BOUNDARY_INTS = (2**31, 2**63)
BOUNDARY_TEXTS = ("nul\x00byte",)
RECORDS_CAP = 2000


class CrashRecorder:
    """Wrap the app and keep the traceback of any exception that escapes it (a 500's cause)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last: str | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception:
            if scope["type"] != "http":
                raise
            # Starlette's ServerErrorMiddleware has already sent the 500 and re-raised for the server.
            self.last = traceback.format_exc()


@dataclass
class Caller:
    """Who sends the requests: a role's headers, and the path values it must not aim at itself."""

    role: str
    headers: dict[str, str]
    own: frozenset[str] = frozenset()
    granted: frozenset[str] | None = None  # the role's permissions; None for an anonymous caller

    def passes_door(self, permission: str | None) -> bool:
        """Whether the route's declared permission lets this caller in (as the access matrix says)."""
        if permission in (None, "public"):
            return True
        if self.granted is None:
            return False
        return permission == "authenticated" or permission in self.granted


@dataclass
class OperationStats:
    """What one role's fuzzing of one operation saw."""

    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[dict[str, Any]] = field(default_factory=list)
    nonconforming: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def reached_2xx(self) -> bool:
        """Whether any request got a 2xx."""
        return any(200 <= s < 300 for s in self.statuses)


class Pool:
    """Path values seen in 2xx JSON responses: each JSON object's scalars, and every value by key.

    An `id` in a response from /things or /things/{thing_id} also counts as `thing_id`.
    """

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.values: dict[str, list[Any]] = {}
        self._seen: set[str] = set()

    def harvest(self, path: str, payload: Any) -> None:
        """Collect the objects in `payload`, a 2xx response from `path`."""
        last = path.rstrip("/").rsplit("/", 1)[-1]
        alias = last[1:-1] if last.startswith("{") else last.rstrip("s") + "_id"
        self._walk(payload, alias)

    def _walk(self, node: Any, alias: str) -> None:
        if isinstance(node, list):
            for item in node[:50]:
                self._walk(item, alias)
            return
        if not isinstance(node, dict):
            return
        record = {k: v for k, v in node.items() if _usable(v)}
        if "id" in record:
            record.setdefault(alias, record["id"])
        key = json.dumps(record, sort_keys=True, default=str)
        if record and key not in self._seen and len(self.records) < RECORDS_CAP:
            self._seen.add(key)
            self.records.append(record)
        for key, value in record.items():
            seen = self.values.setdefault(key, [])
            if value not in seen and len(seen) < POOL_CAP:
                seen.append(value)
        for value in node.values():
            self._walk(value, alias)

    def combinations(self, params: dict[str, str | None], own: frozenset[str]) -> list[dict[str, Any]]:
        """Up to two sets of values for the path parameters `params` (name -> JSON type).

        Values that came together in one object are preferred (an area with its version); never the
        caller's own username or token.
        """

        def fits(name: str, value: Any) -> bool:
            kind = params[name]
            typed = not kind or isinstance(value, int if kind == "integer" else str)
            return typed and str(value) not in own

        if not params:
            return []
        together = [
            {n: r[n] for n in params} for r in self.records if all(n in r and fits(n, r[n]) for n in params)
        ]
        if not together:
            choices = [[v for v in self.values.get(n, []) if fits(n, v)] for n in params]
            if not all(choices):
                return []
            together = [dict(zip(params, [c[0] for c in choices], strict=True))]
            together.append(dict(zip(params, [c[-1] for c in choices], strict=True)))
        first, last = together[0], together[-1]
        return [first] if first == last else [first, last]


def _usable(value: Any) -> bool:
    """A scalar that could be a path value."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return False
    return 0 < len(str(value)) <= 128 and str(value).isprintable()


def _settings(examples: int) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


def _send(
    case: schemathesis.Case, caller: Caller, recorder: CrashRecorder, stats: OperationStats, pool: Pool
) -> None:
    recorder.last = None
    response = case.call(headers=caller.headers)
    stats.requests += 1
    stats.statuses[response.status_code] += 1
    curl = case.as_curl_command(headers=caller.headers)
    phase = case.meta.generation.mode.value if case.meta else "?"
    if response.status_code >= 500:
        stats.server_errors.append(
            {
                "mode": phase,
                "status": response.status_code,
                "curl": curl,
                "body": response.text[:500],
                "traceback": recorder.last,
            }
        )
        return
    if 200 <= response.status_code < 300 and "json" in response.headers.get("content-type", [""])[0]:
        try:
            pool.harvest(case.operation.path, response.json())
        except ValueError:
            pass
    try:
        case.validate_response(response, checks=CHECKS, headers=caller.headers)
    except FailureGroup as group:  # a conformance problem: recorded and reported, not fatal
        for failure in group.exceptions:
            problem = f"{failure.title}: {failure.message}"[:600]
            stats.nonconforming.append({"mode": phase, "curl": curl, "problem": problem})


def _run(strategy: Any, examples: int, label: str, send: Any, stats: OperationStats) -> None:
    @_settings(examples)
    @hypothesis.given(case=strategy)
    def run(case: schemathesis.Case) -> None:
        send(case)

    try:
        run()
    except hypothesis.errors.Unsatisfiable:  # e.g. no negative example exists for a parameterless GET
        stats.skipped.append(f"{label}: nothing to generate")
    except Exception as exc:
        if not type(exc).__module__.startswith(("schemathesis", "hypothesis")):
            raise
        stats.skipped.append(f"{label}: {type(exc).__name__}: {str(exc)[:200]}")


def fuzz_operation(
    operation: Any, caller: Caller, recorder: CrashRecorder, pool: Pool, permission: str | None
) -> OperationStats:
    """Fuzz one operation as `caller`: positive and negative examples, then known path values.

    Where the caller lacks the operation's permission, a smaller budget (REFUSED_EXAMPLES)."""
    stats = OperationStats()
    inside = caller.passes_door(permission)

    def send(case: schemathesis.Case) -> None:
        _send(case, caller, recorder, stats, pool)

    for mode, examples in (EXAMPLES if inside else REFUSED_EXAMPLES).items():
        _run(operation.as_strategy(generation_mode=mode), examples, mode.value, send, stats)
    params = {p.name: p.definition.get("schema", {}).get("type") for p in operation.path_parameters}
    for combo in pool.combinations(params, caller.own) if inside else []:
        _run(operation.as_strategy(path_parameters=combo), KNOWN_EXAMPLES, "known", send, stats)
    for combo in boundary_combinations(params):
        _run(operation.as_strategy(path_parameters=combo), 1, "boundary", send, stats)
    return stats


def boundary_combinations(params: dict[str, str | None]) -> list[dict[str, Any]]:
    """Path values at the edges of what databases store: past 32- and 64-bit integers, a NUL byte."""
    ints = [n for n, kind in params.items() if kind == "integer"]
    texts = [n for n, kind in params.items() if kind != "integer"]
    combos = [{**dict.fromkeys(texts, "x"), **dict.fromkeys(ints, big)} for big in BOUNDARY_INTS if ints]
    if texts:
        combos += [{**dict.fromkeys(ints, 1), **dict.fromkeys(texts, text)} for text in BOUNDARY_TEXTS]
    return combos


def seed_targets(app: Any, rt: Runtime, pool: Pool) -> None:
    """Best effort, as an admin: accounts, posts, a report and actions for the fuzzer to aim at."""
    client = TestClient(app, headers={"Authorization": f"Bearer {seed_admin(rt)}"})
    small, big = factories.account(), factories.account(follower_count=500_000)
    benign = factories.post(small["platform_id"])
    scam = factories.post(small["platform_id"], "Send 0.1 BTC and get 1 BTC back, limited time!")
    requests: list[tuple[str, dict[str, Any]]] = [
        ("/v1/accounts", small),
        ("/v1/accounts", big),
        ("/v1/posts", benign),
        ("/v1/posts", scam),
        ("/v1/reports", factories.report(benign["platform_id"])),
        ("/v1/actions", {"action": "label", "policy": "spam", "post": benign["platform_id"]}),
        (
            "/v1/actions",
            {"action": "remove", "policy": "scams_fraud", "post": scam["platform_id"], "reason": "scam"},
        ),
        (
            "/v1/actions",
            {"action": "ban", "policy": "scams_fraud", "account": big["platform_id"], "reason": "fraud"},
        ),
    ]
    for path, body in requests:
        response = client.post(path, json=body)
        if response.is_success and "json" in response.headers.get("content-type", ""):
            pool.harvest(path, response.json())


def _caller(rt: Runtime, role: str) -> Caller:
    if role == ANONYMOUS:
        return Caller(role, {})
    username = f"fuzz-{role}"
    token = seed_user(rt, username, [role])
    with transaction(rt.sessions) as session:
        token_id = session.scalar(select(ApiToken.id).where(ApiToken.token_hash == access.digest(token)))
    headers = {"Authorization": f"Bearer {token}"}
    return Caller(role, headers, frozenset({username, str(token_id)}), frozenset(ROLES[role]))


def _role_order() -> list[str]:
    return [ANONYMOUS, *[r for r in ROLES if r not in LAST], *[r for r in LAST if r in ROLES]]


def _role_summary(ops: dict[str, OperationStats]) -> dict[str, Any]:
    statuses: Counter[int] = Counter()
    for stats in ops.values():
        statuses.update(stats.statuses)
    return {
        "operations": sum(1 for s in ops.values() if s.requests),
        "reached_2xx": sum(1 for s in ops.values() if s.reached_2xx),
        "requests": sum(s.requests for s in ops.values()),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "server_errors": sum(len(s.server_errors) for s in ops.values()),
        "nonconforming": sum(len(s.nonconforming) for s in ops.values()),
    }


def summarise(results: dict[str, dict[str, OperationStats]], seconds: float) -> dict[str, Any]:
    """The JSON summary written to bench/results/fuzz.json."""
    operations = sorted({op for ops in results.values() for op in ops})
    by_operation = {
        op: sorted(role for role, ops in results.items() if op in ops and ops[op].reached_2xx)
        for op in operations
    }
    flat = [(role, op, stats) for role, ops in results.items() for op, stats in ops.items()]
    return {
        "tool": f"schemathesis {schemathesis.__version__}",
        "backend": BACKEND,
        "cpu_count": os.cpu_count(),
        "seconds": round(seconds, 1),
        "examples_per_operation_per_role": {
            **{m.value: n for m, n in EXAMPLES.items()},
            "without_the_permission": {m.value: n for m, n in REFUSED_EXAMPLES.items()},
            "known_path_values": f"{KNOWN_EXAMPLES} per combination, up to 2 combinations",
            "boundary_path_values": "1 per value: integers 2**31 and 2**63, a string with a NUL byte",
        },
        "derandomized": True,
        "operations_in_schema": len(operations),
        "operations_reaching_2xx_for_some_role": sum(1 for r in by_operation.values() if r),
        "operations_never_reaching_2xx": [op for op, r in by_operation.items() if not r],
        "roles": {role: _role_summary(ops) for role, ops in results.items()},
        "roles_reaching_2xx_by_operation": by_operation,
        "server_errors": [{"role": r, "operation": op, **e} for r, op, s in flat for e in s.server_errors],
        "nonconforming": [{"role": r, "operation": op, **p} for r, op, s in flat for p in s.nonconforming],
        "skipped": {f"{r} {op}": s.skipped for r, op, s in flat if s.skipped},
    }


def print_summary(summary: dict[str, Any]) -> None:
    """A table of operations and 2xx per role."""
    print(
        f"\nfuzz: {summary['operations_in_schema']} operations, {summary['seconds']}s ({summary['backend']})"
    )
    print(f"{'role':20} {'operations':>10} {'reached 2xx':>12} {'requests':>9}  statuses")
    for role, r in summary["roles"].items():
        print(f"{role:20} {r['operations']:>10} {r['reached_2xx']:>12} {r['requests']:>9}  {r['statuses']}")
    print(f"operations reaching 2xx for some role: {summary['operations_reaching_2xx_for_some_role']}")
    if summary["nonconforming"]:
        problems = Counter(
            f"{n['operation']}: {n['problem'].splitlines()[0]}" for n in summary["nonconforming"]
        )
        print("responses that do not match the OpenAPI document (not fatal):")
        for problem, count in sorted(problems.items()):
            print(f"  {count:3} x {problem}")


@pytest.fixture
def models_rt(settings: Settings, clock: Clock) -> Iterator[Runtime]:
    """A runtime with the trained models on, so the classify API is fuzzed as it really runs."""
    runtime = build_runtime(settings.model_copy(update={"models_enabled": True}), clock=clock)
    yield runtime
    runtime.dispose()


def _routes(routes: Iterable[Any]) -> Iterator[Any]:
    """Every route and included router below `routes`."""
    for route in routes:
        yield route
        if hasattr(route, "original_router"):
            yield route.original_router
            yield from _routes(route.original_router.routes)


@contextmanager
def every_route_documented(app: FastAPI) -> Iterator[None]:
    """Put the routes left out of the OpenAPI document (HTML pages, form posts) into it, then restore.

    The routers are module-level objects shared by every app in the process, hence the restore.
    """
    hidden = [
        r for r in _routes(app.router.routes) if hasattr(r, "include_in_schema") and not r.include_in_schema
    ]

    def flip(value: bool) -> None:
        for r in hidden:
            r.include_in_schema = value
        # FastAPI caches each included route's effective settings until a router says it changed.
        for r in [app.router, *_routes(app.router.routes)]:
            getattr(r, "_mark_routes_changed", lambda: None)()
        app.openapi_schema = None

    flip(True)
    try:
        yield
    finally:
        flip(False)


def test_every_route_documented_covers_the_form_routes(rt: Runtime) -> None:
    app = create_app(runtime=rt, keep_chain=False)
    published = set(app.openapi()["paths"])
    with every_route_documented(app):
        fuzzed = set(app.openapi()["paths"])
    assert set(app.openapi()["paths"]) == published  # restored
    routed = {r.path for r in _routes(app.router.routes) if isinstance(r, APIRoute)}
    assert fuzzed == routed
    assert {"/review/cases/{case_id}/decide", "/review/cases/{case_id}/escalate", "/login"} <= fuzzed
    assert not {"/review/cases/{case_id}/decide", "/login"} & published


def test_no_operation_returns_a_server_error_for_any_role(models_rt: Runtime) -> None:
    app = create_app(runtime=models_rt, keep_chain=False)
    with every_route_documented(app):
        _fuzz_every_operation(models_rt, app)


def _fuzz_every_operation(rt: Runtime, app: FastAPI) -> None:
    started = time.perf_counter()
    recorder = CrashRecorder(app)
    schema = schemathesis.openapi.from_asgi("/openapi.json", recorder)
    loaded = list(schema.get_all_operations())
    invalid = [str(r.err()) for r in loaded if isinstance(r, Err)]
    assert not invalid, f"operations schemathesis cannot read from the OpenAPI document: {invalid}"
    operations = [r.ok() for r in loaded if isinstance(r, Ok)]
    assert len(operations) >= 20, "the OpenAPI document lists suspiciously few operations"
    pool = Pool()
    seed_targets(recorder.app, rt, pool)
    permissions = {f"{m} {r.path}": r.permission for r in api_routes(app) for m in r.methods}
    unknown = [op.label for op in operations if op.label not in permissions]
    assert not unknown, f"operations with no route to read their permission from: {unknown[:5]}"
    results: dict[str, dict[str, OperationStats]] = {}
    for role in _role_order():
        caller = _caller(rt, role)
        results[role] = {
            op.label: fuzz_operation(op, caller, recorder, pool, permissions[op.label]) for op in operations
        }
    summary = summarise(results, time.perf_counter() - started)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print_summary(summary)
    errors = summary["server_errors"]
    report = "\n\n".join(
        f"{e['role']} {e['operation']} ({e['mode']}): {e['status']}\n{e['curl']}\n"
        + (e["traceback"] or e["body"])
        for e in errors[:10]
    )
    assert not errors, f"{len(errors)} server error(s); first {min(len(errors), 10)}:\n{report}"
    reached = {role: r["reached_2xx"] for role, r in summary["roles"].items()}
    assert reached["admin"] >= len(operations) // 2, (
        f"the admin reached a 2xx on too few operations: {reached}"
    )
    assert all(r["operations"] == len(operations) for r in summary["roles"].values())
