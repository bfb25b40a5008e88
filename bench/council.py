#!/usr/bin/env python
"""The advisory council's bridging recommendation on simulated councils, against a simple majority.

Each seed draws a council (src/townsquare/council/simulate.py): 9-15 members in two camps whose shape
cycles with the seed (balanced, majority about 60%, dominant about 70% such as 9 against 4) and 40 cases:
16 clear (both camps mostly support), 8 clear bad (both mostly oppose) and 16 contested (one camp mostly
supports, the other mostly opposes); members take their camp's side with p=0.85 and vote on a case with
p=0.8. Two scenarios:

- `mixed`: either camp may be the one supporting a contested case (50/50);
- `larger_camp_supports`: the larger camp supports every contested case, so a simple majority carries
  them wherever that camp is big enough.

Every council goes through `recommend` (bridging) and `majority` (more than half of the votes cast).
The JSON (default bench/results/council.json) holds every parameter, the per-seed counts, the totals
pooled over seeds and per council shape, and shares. The figures are reported, never asserted: the tests
in tests/council/ hold the assertions.

Run: `.venv/bin/python bench/council.py [--seeds 60] [--out PATH] [--quick]`.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_common import machine
from townsquare.council.bridging import BridgingParams, majority, recommend
from townsquare.council.simulate import SHAPES, Council, SimParams, simulate

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "bench" / "results" / "council.json"
DEFAULT_SEEDS, QUICK_SEEDS = 60, 6
SCENARIOS = {
    "mixed": SimParams(),
    "larger_camp_supports": SimParams(larger_camp_supports=1.0),
}
KINDS = ("clear", "clear_bad", "contested")
OUTCOMES = {"support": "support", "oppose": "oppose", "no consensus": "withheld"}
EXTRA = (
    "contested_larger_camp_supports",
    "contested_majority_support_bridging_withheld",
    "contested_majority_oppose_bridging_withheld",
    "contested_decided_where_votes_crossed",
)
KEYS = [
    *(f"{kind}{suffix}" for kind in KINDS for suffix in ("", "_support", "_oppose", "_withheld")),
    *(f"{kind}_majority_{o}" for kind in KINDS for o in OUTCOMES.values()),
    *(f"{kind}_majority_differs" for kind in KINDS),
    *EXTRA,
]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(
        description="Bridging recommendation vs simple majority on simulated councils."
    )
    p.add_argument("--seeds", type=int, help=f"councils per scenario (default {DEFAULT_SEEDS})")
    p.add_argument("--seed-start", type=int, default=0, help="first seed (default 0)")
    p.add_argument("--out", "-o", type=Path, default=DEFAULT_OUT, help=f"JSON output (default {DEFAULT_OUT})")
    p.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK_SEEDS} seeds per scenario")
    args = p.parse_args(argv)
    if args.seeds is None:
        args.seeds = QUICK_SEEDS if args.quick else DEFAULT_SEEDS
    if args.seeds < 1:
        p.error("--seeds must be at least 1")
    return args


def tally(council: Council, params: BridgingParams) -> dict[str, int]:
    """Count one council's cases by kind, bridging outcome and simple-majority outcome."""
    recs, simple = recommend(council.votes, params), majority(council.votes)
    larger = "A"
    counts = dict.fromkeys(KEYS, 0)
    for case, kind in council.kinds.items():
        bridged, voted = OUTCOMES[recs[case].outcome], OUTCOMES[simple[case]]
        counts[kind] += 1
        counts[f"{kind}_{bridged}"] += 1
        counts[f"{kind}_majority_{voted}"] += 1
        counts[f"{kind}_majority_differs"] += bridged != voted
        if kind == "contested":
            counts["contested_larger_camp_supports"] += council.supported_by[case] == larger
            if bridged == "withheld" and voted != "withheld":
                counts[f"contested_majority_{voted}_bridging_withheld"] += 1
            if bridged != "withheld":
                counts["contested_decided_where_votes_crossed"] += crossed(council, case, bridged)
    return counts


def crossed(council: Council, case: str, outcome: str) -> bool:
    """Whether the camp meant to disagree with `outcome` in fact backed it on balance in its cast votes."""
    direction = 1 if outcome == "support" else -1
    meant_against = "B" if (council.supported_by[case] == "A") == (direction == 1) else "A"
    net = sum(v.value for v in council.votes if v.case == case and council.camps[v.member] == meant_against)
    return net * direction > 0


def add(total: dict[str, int], counts: dict[str, int]) -> None:
    """Add one council's counts into a running total."""
    for key, value in counts.items():
        total[key] = total.get(key, 0) + value


def share(part: int, whole: int) -> float | None:
    """part / whole to four places, None when there is nothing to divide."""
    return round(part / whole, 4) if whole else None


def rates(t: dict[str, int]) -> dict[str, float | None]:
    """The shares the issue asks about."""
    return {
        "clear_recommended": share(t["clear_support"], t["clear"]),
        "clear_bad_opposed": share(t["clear_bad_oppose"], t["clear_bad"]),
        "clear_bad_withheld": share(t["clear_bad_withheld"], t["clear_bad"]),
        "clear_bad_recommended": share(t["clear_bad_support"], t["clear_bad"]),
        "contested_withheld": share(t["contested_withheld"], t["contested"]),
        "contested_recommended": share(t["contested_support"], t["contested"]),
        "contested_opposed": share(t["contested_oppose"], t["contested"]),
        "contested_majority_recommended": share(t["contested_majority_support"], t["contested"]),
        "of_those_bridging_withheld": share(
            t["contested_majority_support_bridging_withheld"], t["contested_majority_support"]
        ),
    }


def run_scenario(sim: SimParams, seeds: range, params: BridgingParams) -> dict[str, Any]:
    """Simulate every seed under one scenario; per-seed counts, totals, per-shape totals and shares."""
    per_seed: list[dict[str, Any]] = []
    totals: dict[str, int] = {}
    by_shape: dict[str, dict[str, Any]] = {}
    for seed in seeds:
        council = simulate(seed, params=sim)
        start = time.perf_counter()
        counts = tally(council, params)
        seconds = time.perf_counter() - start
        camps = list(council.camps.values())
        per_seed.append(
            {
                "seed": seed,
                "shape": council.shape,
                "members": len(camps),
                "camp_sizes": [camps.count("A"), camps.count("B")],
                "votes": len(council.votes),
                "seconds": round(seconds, 4),
                "counts": counts,
            }
        )
        add(totals, counts)
        shape = by_shape.setdefault(council.shape, {"councils": 0, "totals": {}})
        shape["councils"] += 1
        add(shape["totals"], counts)
    for shape in by_shape.values():
        shape["rates"] = rates(shape["totals"])
    ordered = {s: by_shape[s] for s in SHAPES if s in by_shape}
    return {
        "simulation": asdict(sim),
        "totals": totals,
        "rates": rates(totals),
        "by_shape": ordered,
        "per_seed": per_seed,
    }


def summary(result: dict[str, Any]) -> str:
    """A few lines for the terminal."""
    lines = [
        f"council bridging benchmark: {result['params']['seeds']} seeds per scenario, {result['seconds']} s"
    ]
    for name, scenario in result["scenarios"].items():
        t, r = scenario["totals"], scenario["rates"]
        lines.append(
            f"  {name}: clear recommended {t['clear_support']}/{t['clear']} ({r['clear_recommended']:.1%}); "
            f"clear bad opposed {t['clear_bad_oppose']}/{t['clear_bad']}, "
            f"recommended {t['clear_bad_support']}; "
            f"contested withheld {t['contested_withheld']}/{t['contested']} ({r['contested_withheld']:.1%}), "
            f"recommended {t['contested_support']}, opposed {t['contested_oppose']}; "
            f"simple majority recommended {t['contested_majority_support']} contested, bridging withheld "
            f"{t['contested_majority_support_bridging_withheld']} of them; contested decided where the votes "
            f"crossed camps {t['contested_decided_where_votes_crossed']}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every scenario, write the JSON, print the summary."""
    args = parse_args(argv)
    params = BridgingParams()
    seeds = range(args.seed_start, args.seed_start + args.seeds)
    now = datetime.now(UTC)
    start = time.perf_counter()
    scenarios = {name: run_scenario(sim, seeds, params) for name, sim in SCENARIOS.items()}
    result = {
        "benchmark": "council",
        "timestamp": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "machine": machine(),
        "seconds": round(time.perf_counter() - start, 2),
        "params": {"seeds": args.seeds, "seed_start": args.seed_start, "quick": args.quick},
        "bridging_params": asdict(params),
        "definitions": {
            "majority": "simple majority: support (oppose) when more than half of the votes cast support "
            "(oppose) the case, unsure counting as cast; otherwise no consensus (here 'withheld')",
            "withheld": "bridging outcome 'no consensus'",
            "contested_majority_support_bridging_withheld": "contested cases a simple majority would have "
            "recommended and bridging withheld",
            "contested_decided_where_votes_crossed": "contested cases bridging recommended or opposed where "
            "the camp meant to disagree in fact backed that outcome on balance in the votes it cast "
            "(the simulation's noise made them genuinely bridged)",
            "calibration": "BridgingParams defaults were calibrated on seeds 1000-1059, not on these",
        },
        "scenarios": scenarios,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(summary(result))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
