"""The advisory council's recommendation on a referred case, by bridging (Community Notes' model).

Votes. Each member votes on a case: support = +1, unsure = 0, oppose = -1. Unsure is 0 because it
leans neither way: it counts as a vote cast (for `min_votes` and for the simple majority) but moves the
fitted level towards neither outcome. Any other value is a ValueError naming it.

Model. Over the council's whole vote history we fit, for every vote of member u on case n,

    vote ≈ mu + i_u + i_n + f_u · f_n

with one global mean mu, an intercept per member (i_u: how supportive that member is in general) and per
case (i_n), and a single factor per member and per case (f_u, f_n). The factor is the council's main axis
of disagreement: when two camps split on a case, f_u · f_n explains the split, and only support that
both camps share is left for the case's intercept.

Loss (minimised exactly as written, mu unregularised):

    Σ_votes (vote − prediction)² + intercept_reg · (Σ i_u² + Σ i_n²) + factor_reg · (Σ f_u² + Σ f_n²)

Intercepts are regularised five times more than factors (intercept_reg = 1.5, factor_reg = 0.3), as in
Community Notes (0.15 and 0.03 on a mean-squared loss; ours is summed, and over a case's ten or so votes
1.5 and 0.3 come to the same). So the model would rather explain a vote by a member's side of the axis
than by the case itself, and a case earns a large intercept only when members from across the axis
agree on it.

Fit. Alternating ridge regressions: with the members' (i_u, f_u) held fixed, each case's (i_n, f_n) is
an exact 2×2 regularised least-squares solve, then the same for each member, then mu is the mean
residual. Every step minimises the loss over its block, so the loss never rises; we stop when no
parameter moves by more than `tolerance` (or after `iterations`). The start is a seeded random member
factor, and the votes are sorted first, so the same votes give the same fit. The axis's sign is fixed
afterwards: the member with the most votes (ties by name) gets a non-negative factor. When every member
factor is below 1e-6 (e.g. all votes identical) the history has no axis of disagreement; factors are set
to exactly zero.

Recommendation. A case's level is mu + i_n: the vote expected from a member at the middle of the axis
with an ordinary intercept, on the vote scale where 0 is unsure. A case with at least `min_votes` votes
(5) is
- "support" when its level is ≥ threshold (0.30) and, on each side of the factor axis (members with
  f_u < 0, members with f_u > 0; a zero factor is neither side), at least `min_side_support` (1) members
  supported it and supporters outnumber opposers;
- "oppose" by the same rule mirrored: level ≤ −0.30 and opposition ahead on both sides;
- otherwise "no consensus", and always with fewer than `min_votes` votes. `recommend` of no votes is {}.
When the axis is flat there are no sides to ask and only the level counts.

Why both sides: a case that only one camp backs is a factional win, not agreement. A simple majority
hands every such case to the larger camp; requiring backing on each side of the axis does not. The
"on balance" part (supporters ahead of opposers on each side) follows Community Notes' net-helpful
counts per factor sign; a lone supporter in the camp that otherwise opposes is not bridging.

Calibration (src/townsquare/council/simulate.py, seeds 1000-1059; the benchmark and tests use others):
two camps, 16 clear, 8 clear-bad and 16 contested cases per council, p=0.85, participation 0.8.
- Factor regularisation 0.1-0.5 (×5 for intercepts) all work; from 1.0 the shrinkage pulls clear-bad
  cases into "no consensus" (84% opposed at 1.0, 34% at 2.0, against 94%). 0.3 is mid-range.
- With the side rule doing most of the work, the threshold only has to keep lukewarm cases out; above
  0.3 clear cases are lost faster than anything is gained (0.40: 93.4% recommended vs 94.8% at 0.30).
- At these defaults: 94.8% of clear cases recommended, 93.8% of clear-bad opposed, 4 of 960 contested
  decided; with the larger camp supporting every contested case, 94.4%, 93.8% and 6 of 960.
- The threshold is on mu + i_n, not on i_n alone, because mu moves with the council's mix of cases: when
  80% of the history is clear cases, an i_n threshold recommended 27% of clear cases (93.6% here).
- Counting supporters alone on each side (without "on balance") let 119 of 960 contested cases through
  when the larger camp supports every contested case; with it, 5.
Residual misses are cases whose actual votes are ambiguous, e.g. a clear case only one camp voted on.
Known limit: in a lopsided council (about 70/30) whose larger camp backs every contested case, the axis's
zero can fall inside the larger camp, so a few of its members count as the other side; the "on balance"
part keeps this to about 2% of contested cases decided (most of them cases the other camp's own votes
did not oppose on balance). `Recommendation.intercept` is i_n; `Recommendation.level` is mu + i_n.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
Index = npt.NDArray[np.intp]
Blocks = tuple[Array, Array, Array, Array]  # member intercepts, member factors, case intercepts, case factors
Outcome = Literal["support", "oppose", "no consensus"]

SUPPORT, UNSURE, OPPOSE = 1, 0, -1
VOTE_VALUES: dict[str, int] = {"support": SUPPORT, "unsure": UNSURE, "oppose": OPPOSE}
# Below this every member factor is noise around zero: the history has no axis of disagreement.
FLAT_FACTOR = 1e-6


@dataclass(frozen=True)
class Vote:
    """One member's vote on one case: +1 support, 0 unsure, -1 oppose."""

    member: str
    case: str
    value: int

    def __post_init__(self) -> None:
        value = self.value
        if isinstance(value, bool) or not isinstance(value, int) or value not in (SUPPORT, UNSURE, OPPOSE):
            raise ValueError(
                f"unknown vote value {value!r} from member {self.member!r} on case {self.case!r}: "
                "expected +1 (support), 0 (unsure) or -1 (oppose)"
            )


@dataclass(frozen=True)
class BridgingParams:
    """The fit's regularisation and the recommendation rule (defaults calibrated on simulated councils)."""

    factor_reg: float = 0.3
    intercept_reg: float = 1.5
    threshold: float = 0.3
    min_votes: int = 5
    min_side_support: int = 1
    iterations: int = 2000
    tolerance: float = 1e-7
    seed: int = 20261121

    def __post_init__(self) -> None:
        if self.factor_reg <= 0 or self.intercept_reg <= 0:
            raise ValueError("factor_reg and intercept_reg must be positive")
        if self.threshold <= 0:
            raise ValueError(f"threshold must be positive, got {self.threshold}")
        if self.min_votes < 1 or self.min_side_support < 1 or self.iterations < 1:
            raise ValueError("min_votes, min_side_support and iterations must be at least 1")


@dataclass(frozen=True)
class Fit:
    """The fitted model: vote ≈ mu + member_intercept + case_intercept + member_factor × case_factor."""

    mu: float
    member_intercepts: dict[str, float]
    member_factors: dict[str, float]
    case_intercepts: dict[str, float]
    case_factors: dict[str, float]
    loss: float
    iterations: int
    converged: bool = True


@dataclass(frozen=True)
class Recommendation:
    """The council's recommendation on one case, with the figures behind it and a plain sentence."""

    case: str
    outcome: Outcome
    intercept: float
    factor: float
    votes: int
    support_by_side: dict[str, int]
    reason: str
    level: float = 0.0
    oppose_by_side: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Encoded:
    members: list[str]
    cases: list[str]
    member_idx: Index
    case_idx: Index
    values: Array


def _encode(votes: Sequence[Vote]) -> _Encoded:
    """Votes as index arrays, in (case, member) order so the fit does not depend on the input's order."""
    if not votes:
        raise ValueError("no votes: the council has not voted on any case, so there is nothing to fit")
    ordered = sorted(votes, key=lambda v: (v.case, v.member))
    for before, after in zip(ordered, ordered[1:], strict=False):
        if (before.case, before.member) == (after.case, after.member):
            raise ValueError(f"member {after.member!r} voted more than once on case {after.case!r}")
    members = sorted({v.member for v in ordered})
    cases = sorted({v.case for v in ordered})
    member_pos = {m: i for i, m in enumerate(members)}
    case_pos = {c: i for i, c in enumerate(cases)}
    return _Encoded(
        members=members,
        cases=cases,
        member_idx=np.array([member_pos[v.member] for v in ordered], dtype=np.intp),
        case_idx=np.array([case_pos[v.case] for v in ordered], dtype=np.intp),
        values=np.array([float(v.value) for v in ordered], dtype=np.float64),
    )


def _ridge_blocks(
    group: Index, n_groups: int, x: Array, y: Array, reg_i: float, reg_f: float
) -> tuple[Array, Array]:
    """Per group g, the exact minimiser of Σ (y − a_g − b_g·x)² + reg_i·a_g² + reg_f·b_g² (a 2×2 solve)."""
    s1 = np.bincount(group, minlength=n_groups).astype(np.float64) + reg_i
    sx = np.bincount(group, weights=x, minlength=n_groups)
    sxx = np.bincount(group, weights=x * x, minlength=n_groups) + reg_f
    sy = np.bincount(group, weights=y, minlength=n_groups)
    sxy = np.bincount(group, weights=x * y, minlength=n_groups)
    det = s1 * sxx - sx * sx  # > 0: the regularised normal matrix is positive definite
    return (sxx * sy - sx * sxy) / det, (s1 * sxy - sx * sy) / det


def _loss(enc: _Encoded, params: BridgingParams, mu: float, blocks: Blocks) -> float:
    """The documented objective: squared error plus the intercept and factor penalties."""
    mi, mf, ci, cf = blocks
    m, c = enc.member_idx, enc.case_idx
    residual = enc.values - mu - mi[m] - ci[c] - mf[m] * cf[c]
    penalty_i = params.intercept_reg * (float(mi @ mi) + float(ci @ ci))
    penalty_f = params.factor_reg * (float(mf @ mf) + float(cf @ cf))
    return float(residual @ residual) + penalty_i + penalty_f


def _orient(enc: _Encoded, mf: Array, cf: Array) -> tuple[Array, Array]:
    """Fix the factor axis: zero when flat, else signed so the most active member (ties by name) is ≥ 0."""
    if float(np.max(np.abs(mf))) < FLAT_FACTOR:
        return np.zeros_like(mf), np.zeros_like(cf)
    counts = np.bincount(enc.member_idx, minlength=len(enc.members))
    reference = int(np.argmax(counts))  # argmax takes the first maximum: members are sorted by name
    if mf[reference] < 0:
        return -mf, -cf
    return mf, cf


def _sweep(enc: _Encoded, params: BridgingParams, mu: float, blocks: Blocks) -> tuple[float, Blocks]:
    """One round of exact block minimisation: every case, then every member, then mu."""
    m, c, v = enc.member_idx, enc.case_idx, enc.values
    mi, mf, _, _ = blocks
    reg_i, reg_f = params.intercept_reg, params.factor_reg
    ci, cf = _ridge_blocks(c, len(enc.cases), mf[m], v - mu - mi[m], reg_i, reg_f)
    mi, mf = _ridge_blocks(m, len(enc.members), cf[c], v - mu - ci[c], reg_i, reg_f)
    mu = float(np.mean(v - mi[m] - ci[c] - mf[m] * cf[c]))
    return mu, (mi, mf, ci, cf)


def fit(votes: Sequence[Vote], params: BridgingParams = BridgingParams()) -> Fit:
    """Fit the one-factor bridging model to the whole vote history by alternating ridge regressions."""
    enc = _encode(votes)
    n_members, n_cases = len(enc.members), len(enc.cases)
    start_factors = np.random.default_rng(params.seed).normal(0.0, 0.1, n_members)
    blocks: Blocks = (np.zeros(n_members), start_factors, np.zeros(n_cases), np.zeros(n_cases))
    mu = float(np.mean(enc.values))
    iterations, converged = 0, False
    while iterations < params.iterations and not converged:
        iterations += 1
        new_mu, new_blocks = _sweep(enc, params, mu, blocks)
        moved = max(float(np.max(np.abs(new - old))) for new, old in zip(new_blocks, blocks, strict=True))
        converged = max(moved, abs(new_mu - mu)) < params.tolerance
        mu, blocks = new_mu, new_blocks
    mi, mf, ci, cf = blocks
    mf, cf = _orient(enc, mf, cf)
    return Fit(
        mu=mu,
        member_intercepts=dict(zip(enc.members, mi.tolist(), strict=True)),
        member_factors=dict(zip(enc.members, mf.tolist(), strict=True)),
        case_intercepts=dict(zip(enc.cases, ci.tolist(), strict=True)),
        case_factors=dict(zip(enc.cases, cf.tolist(), strict=True)),
        loss=_loss(enc, params, mu, blocks),
        iterations=iterations,
        converged=converged,
    )


def majority(votes: Sequence[Vote]) -> dict[str, str]:
    """Simple-majority outcome per case: more than half of the votes cast (unsure counts as cast)."""
    tallies: dict[str, list[int]] = {}
    for vote in votes:
        tally = tallies.setdefault(vote.case, [0, 0, 0])  # support, oppose, all votes cast
        tally[0] += vote.value == SUPPORT
        tally[1] += vote.value == OPPOSE
        tally[2] += 1
    outcomes: dict[str, str] = {}
    for case, (support, oppose, cast) in sorted(tallies.items()):
        outcomes[case] = (
            "support" if 2 * support > cast else "oppose" if 2 * oppose > cast else "no consensus"
        )
    return outcomes


def _by_side(votes: Sequence[Vote], member_factors: dict[str, float], value: int) -> dict[str, int]:
    """How many of these votes equal `value`, by the voter's side of the factor axis (zero is neither)."""
    sides = {"negative": 0, "positive": 0}
    for vote in votes:
        factor = member_factors[vote.member]
        if vote.value == value and factor != 0.0:
            sides["negative" if factor < 0 else "positive"] += 1
    return sides


def _side_failures(outcome: Outcome, sides: dict[str, dict[str, int]], params: BridgingParams) -> list[str]:
    """The sides of the factor axis that do not back `outcome` on balance, described for the reason."""
    other = "oppose" if outcome == "support" else "support"
    failures = []
    for side in ("negative", "positive"):
        backing, against = sides[outcome][side], sides[other][side]
        if backing < params.min_side_support or backing <= against:
            failures.append(f"the {side} side ({backing} {outcome}, {against} {other})")
    return failures


def _decide(
    level: float, sides: dict[str, dict[str, int]], flat: bool, params: BridgingParams
) -> tuple[Outcome, str]:
    """Apply the symmetric rule to a case with enough votes: the outcome and its plain sentence."""
    t = params.threshold
    if -t < level < t:
        return (
            "no consensus",
            f"Its level {level:+.2f} is inside ±{t:.2f}: the council is not clearly for or against.",
        )
    outcome: Outcome = "support" if level >= t else "oppose"
    verb = "supported" if outcome == "support" else "opposed"
    if flat:
        return outcome, f"The council {verb} it (level {level:+.2f}); its votes show no axis of disagreement."
    failures = _side_failures(outcome, sides, params)
    if not failures:
        neg, pos = sides[outcome]["negative"], sides[outcome]["positive"]
        return outcome, (
            f"The council {verb} it (level {level:+.2f}) with members on both sides of the factor axis "
            f"behind it ({neg} negative, {pos} positive)."
        )
    return "no consensus", (
        f"Its level {level:+.2f} clears ±{t:.2f}, but {' and '.join(failures)} did not back that on balance: "
        "one camp alone is not bridging."
    )


def recommend(votes: Sequence[Vote], params: BridgingParams = BridgingParams()) -> dict[str, Recommendation]:
    """Fit the whole history; support, oppose or 'no consensus' for each case ({} when there are no votes)."""
    if not votes:
        return {}
    model = fit(votes, params)
    flat = all(f == 0.0 for f in model.member_factors.values())
    by_case: dict[str, list[Vote]] = {}
    for vote in votes:
        by_case.setdefault(vote.case, []).append(vote)
    out: dict[str, Recommendation] = {}
    for case in sorted(by_case):
        case_votes = by_case[case]
        level = model.mu + model.case_intercepts[case]
        sides = {
            "support": _by_side(case_votes, model.member_factors, SUPPORT),
            "oppose": _by_side(case_votes, model.member_factors, OPPOSE),
        }
        if len(case_votes) < params.min_votes:
            outcome: Outcome = "no consensus"
            reason = f"Too few votes: {len(case_votes)} cast, {params.min_votes} needed."
        else:
            outcome, reason = _decide(level, sides, flat, params)
        out[case] = Recommendation(
            case=case,
            outcome=outcome,
            intercept=model.case_intercepts[case],
            factor=model.case_factors[case],
            votes=len(case_votes),
            support_by_side=sides["support"],
            reason=reason,
            level=level,
            oppose_by_side=sides["oppose"],
        )
    return out
