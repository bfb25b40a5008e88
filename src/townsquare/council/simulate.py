"""Simulated councils for calibrating and testing the bridging recommendation.

A council has two camps. They agree on "clear" cases (both mostly support) and "clear bad" cases (both
mostly oppose) and disagree on "contested" ones (one camp mostly supports, the other mostly opposes).
Each member takes their camp's side with probability `agree`, is unsure with probability `unsure` and
otherwise votes the other way; a member votes on a case with probability `participation`.

Shapes fix how the members split: "balanced" (as even as possible), "majority" (the larger camp holds
about 58-64% of the seats) and "dominant" (about 68-75%, e.g. 9 against 4). In the last two the larger
camp usually carries a contested case it supports on a simple majority.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from townsquare.council.bridging import Vote

CaseKind = str  # "clear", "clear_bad" or "contested"
SHAPES = ("balanced", "majority", "dominant")
SHAPE_SHARE = {"balanced": (0.5, 0.5), "majority": (0.58, 0.64), "dominant": (0.68, 0.75)}


@dataclass(frozen=True)
class SimParams:
    """How simulated councils are drawn."""

    min_members: int = 9
    max_members: int = 15
    cases: int = 40
    clear_share: float = 0.4
    clear_bad_share: float = 0.2
    agree: float = 0.85
    unsure: float = 0.10
    participation: float = 0.8
    larger_camp_supports: float = 0.5  # chance that the larger camp is the one supporting a contested case


@dataclass(frozen=True)
class Council:
    """One simulated council: who is in which camp, what each case is, and the votes."""

    seed: int
    shape: str
    camps: dict[str, str]  # member -> "A" (the larger camp, or either when even) or "B"
    kinds: dict[str, CaseKind]
    supported_by: dict[str, str]  # contested case -> the camp that supports it
    votes: tuple[Vote, ...]


def camp_sizes(members: int, shape: str, rng: np.random.Generator) -> tuple[int, int]:
    """Seats for camp A (the larger) and camp B under a shape."""
    low, high = SHAPE_SHARE[shape]
    larger = math.ceil(members / 2) if shape == "balanced" else round(members * rng.uniform(low, high))
    larger = min(max(larger, math.ceil(members / 2)), members - 1)
    return larger, members - larger


def _case_kinds(params: SimParams, rng: np.random.Generator) -> list[CaseKind]:
    clear = round(params.cases * params.clear_share)
    bad = round(params.cases * params.clear_bad_share)
    kinds = ["clear"] * clear + ["clear_bad"] * bad + ["contested"] * (params.cases - clear - bad)
    return [kinds[i] for i in rng.permutation(len(kinds))]


def _draw(direction: int, params: SimParams, rng: np.random.Generator) -> int:
    """A member's vote when their camp leans `direction`."""
    u = rng.random()
    if u < params.agree:
        return direction
    return 0 if u < params.agree + params.unsure else -direction


def simulate(seed: int, shape: str | None = None, params: SimParams = SimParams()) -> Council:
    """Draw one council (its shape cycles with the seed unless given) and its whole vote history."""
    rng = np.random.default_rng(seed)
    shape = shape or SHAPES[seed % len(SHAPES)]
    n = int(rng.integers(params.min_members, params.max_members + 1))
    size_a, _ = camp_sizes(n, shape, rng)
    camps = {f"m{i + 1:02d}": ("A" if i < size_a else "B") for i in range(n)}
    kinds = {f"case-{j + 1:03d}": kind for j, kind in enumerate(_case_kinds(params, rng))}
    supported_by: dict[str, str] = {}
    votes: list[Vote] = []
    for case, kind in kinds.items():
        if kind == "contested":
            supported_by[case] = "A" if rng.random() < params.larger_camp_supports else "B"
        for member, camp in camps.items():
            if rng.random() >= params.participation:
                continue
            if kind == "contested":
                direction = 1 if supported_by[case] == camp else -1
            else:
                direction = 1 if kind == "clear" else -1
            votes.append(Vote(member, case, _draw(direction, params, rng)))
    return Council(seed, shape, camps, kinds, supported_by, tuple(votes))
