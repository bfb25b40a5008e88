"""Train the learned check (brandsafety/learned.py) on the `train` and `dev` parts of the labelled set.

Never reads `test` or `fresh`. Steps (seeded, so `townsquare brand-safety train` rebuilds the same file):

1. text heads: per category a logistic regression on hashed n-grams (idf from the training texts) and one
   on the MiniLM sentence embedding, and a risk-tier model (high / medium / low; floor posts count as
   high) on the posts that carry a category, in both spaces;
2. out-of-fold text log-odds for every post (5 folds stratified by kind);
3. the combiners (with and without the embedding) are fitted on the `dev` posts only: the rules were
   written looking at `train`, so only on `dev` do the rule features behave as on posts they never saw;
   each is pooled over categories or has per-category terms (a bias, a weight on the rules' finding),
   whichever has the better cross-validated dev macro-F1 (pooled on a tie);
4. each threshold is the one with the best macro-F1 over the `dev` posts' cross-validated combiner
   probabilities, among those that keep safe posts at high or floor within 2%;
5. the gate (which posts the encoder reads: those the rules or signals labelled, and those whose n-gram
   log-odds reach it) is the highest that keeps the dev macro-F1 within 0.01 of embedding every post.
6. the floor check's threshold (a rule's floor stands only when the floor-vs-not log-odds reach it) is
   chosen on the dev posts' cross-validated labels for floor precision >= 0.95 with the most right floors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from townsquare.brandsafety import evaluate
from townsquare.brandsafety import taxonomy as tx
from townsquare.brandsafety.learned import (
    DEMOTE_FLOOR,
    N_FEATURES,
    RISK_TIERS,
    Head,
    LearnedModel,
    stack_features,
)
from townsquare.brandsafety.scorers import Label
from townsquare.detection.features import Featurizer
from townsquare.detection.normalize import normalize

SEED = 20261121
FOLDS = 5
NGRAM_C = 4.0
EMBED_C = 8.0
VERSION = "1.2"
THRESHOLDS = np.round(np.arange(0.2, 0.81, 0.025), 3)
GATES = np.round(np.arange(-2.0, 1.01, 0.25), 2)
GATE_LOSS = 0.01  # dev macro-F1 given up to embed fewer posts (the encoder is most of the cost)
FLOOR_PRECISION = 0.95  # the floor labels' precision target (GUIDE: automated action only at >= 0.95)
FLOOR_THRESHOLDS = np.round(np.arange(-3.0, 2.01, 0.25), 2)
Base = Callable[[Sequence[str]], list[list[Label]]]
Encode = Callable[[Sequence[str]], np.ndarray]


def _truth(rows: Sequence[dict[str, Any]]) -> np.ndarray:
    return np.array(
        [[any(lab["category"] == c for lab in r["labels"]) for c in tx.CATEGORY_IDS] for r in rows],
        dtype=float,
    )


def _tier(risk: str) -> int:
    return RISK_TIERS.index(tx.HIGH if risk == tx.FLOOR else risk)


def _head(x: Any, rows: Sequence[dict[str, Any]], c: float) -> Head:
    """Per-category logistic regressions and the risk-tier model over one feature matrix."""
    k, tiers = len(tx.CATEGORY_IDS), len(RISK_TIERS)
    weights = np.zeros((x.shape[1], k + tiers + 1), dtype=np.float32)
    bias = np.zeros(k + tiers + 1, dtype=np.float32)
    y_all = _truth(rows)
    for j in range(k):
        y = y_all[:, j]
        if y.all() or not y.any():
            bias[j] = 30.0 if y.all() else -30.0
            continue
        m = LogisticRegression(C=c, class_weight="balanced", solver="liblinear", random_state=SEED)
        m.fit(x, y)
        weights[:, j], bias[j] = m.coef_[0], m.intercept_[0]
    risky = [i for i, r in enumerate(rows) if r["labels"]]
    m = LogisticRegression(C=c, class_weight="balanced", max_iter=3000, random_state=SEED)
    m.fit(x[risky], [_tier(rows[i]["labels"][0]["risk"]) for i in risky])
    for t, cls in enumerate(m.classes_):
        weights[:, k + int(cls)], bias[k + int(cls)] = m.coef_[t], m.intercept_[t]
    # Floor vs not, among the posts that carry a category: confirms (or not) a rule's floor.
    floor = [any(lab["risk"] == tx.FLOOR for lab in rows[i]["labels"]) for i in risky]
    m = LogisticRegression(C=c, class_weight="balanced", max_iter=3000, random_state=SEED)
    m.fit(x[risky], floor)
    weights[:, k + tiers], bias[k + tiers] = m.coef_[0], m.intercept_[0]
    return Head(weights, bias)


def _ngram_head(norms: Sequence[str], rows: Sequence[dict[str, Any]]) -> tuple[Featurizer, Head]:
    feat = Featurizer(N_FEATURES)
    counts = feat.counts(list(norms))
    feat.fit_idf(counts)
    return feat, _head(feat.weigh(counts), rows, NGRAM_C)


def out_of_fold(
    rows: Sequence[dict[str, Any]], norms: Sequence[str], emb: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """N-gram and embedding log-odds, risk scores and floor log-odds of every row, out of fold.

    Returns (n-gram log-odds, n-gram risks, embedding log-odds, embedding risks, n-gram floor log-odds,
    embedding floor log-odds), each row from the fold that did not train on it.
    """
    k, n = len(tx.CATEGORY_IDS), len(rows)
    ng, ngr = np.zeros((n, k)), np.zeros((n, len(RISK_TIERS)))
    em, emr = np.zeros((n, k)), np.zeros((n, len(RISK_TIERS)))
    ngf, emf = np.zeros(n), np.zeros(n)
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=SEED)
    for fit_idx, held in folds.split(np.zeros(n), [r["kind"] for r in rows]):
        part = [rows[i] for i in fit_idx]
        feat, head = _ngram_head([norms[i] for i in fit_idx], part)
        ng[held], ngr[held], ngf[held] = head.all_scores(feat.transform([norms[i] for i in held]))
        em[held], emr[held], emf[held] = _head(emb[fit_idx], part, EMBED_C).all_scores(emb[held])
    return ng, ngr, em, emr, ngf, emf


def _fit_combiner(feats: np.ndarray, y: np.ndarray) -> np.ndarray:
    m = LogisticRegression(C=1.0, max_iter=2000, random_state=SEED)
    m.fit(feats, y)
    return np.concatenate([m.coef_[0], m.intercept_])


def _predict(
    probs: np.ndarray, risks: np.ndarray, base: Sequence[dict[str, str]], thr: float
) -> list[list[dict[str, Any]]]:
    out = []
    for i, got in enumerate(base):
        labs = []
        for j, cat in enumerate(tx.CATEGORY_IDS):
            if probs[i, j] >= thr:
                labs.append({"category": cat, "risk": got.get(cat) or RISK_TIERS[int(np.argmax(risks[i]))]})
        out.append(labs)
    return out


def cross_validate_dev(
    dev: Sequence[dict[str, Any]],
    logits: np.ndarray,
    base: Sequence[dict[str, str]],
    per_category: bool = False,
) -> np.ndarray:
    """The dev posts' combiner probabilities, each from a combiner fitted on the other dev folds."""
    k = len(tx.CATEGORY_IDS)
    feats = stack_features(logits, base, per_category).reshape(len(dev), k, -1)
    y = _truth(dev)
    probs = np.zeros((len(dev), k))
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=SEED)
    for fit_idx, held in folds.split(np.zeros(len(dev)), [r["kind"] for r in dev]):
        comb = _fit_combiner(feats[fit_idx].reshape(-1, feats.shape[2]), y[fit_idx].ravel())
        f = feats[held].reshape(-1, feats.shape[2])
        probs[held] = (1 / (1 + np.exp(-(f @ comb[:-1] + comb[-1])))).reshape(len(held), k)
    return probs


def choose_threshold(
    dev: Sequence[dict[str, Any]], probs: np.ndarray, risks: np.ndarray, base: Sequence[dict[str, str]]
) -> tuple[float, dict[str, Any]]:
    """The threshold with the best dev macro-F1 that keeps safe posts at high/floor within 2%."""
    best: tuple[float, float, dict[str, Any]] = (-1.0, 0.5, {})
    for thr in THRESHOLDS:
        s = evaluate.score(dev, _predict(probs, risks, base, float(thr)))
        if s["safe_high_or_floor"] <= 0.02 and s["macro_f1"] > best[0]:
            best = (s["macro_f1"], float(thr), s)
    return best[1], best[2]


def choose_gate(
    dev: Sequence[dict[str, Any]],
    cv: dict[str, tuple[np.ndarray, np.ndarray, float]],
    ngram: np.ndarray,
    base: Sequence[dict[str, str]],
) -> tuple[float, dict[str, Any]]:
    """The highest gate (fewest posts embedded) whose dev macro-F1 stays within GATE_LOSS of embedding all.

    `cv` maps "full" and "fast" to (cross-validated probabilities, risk scores, threshold).
    """
    (pf, rf, tf), (pn, rn, tn) = cv["full"], cv["fast"]
    labelled = np.array([bool(b) for b in base])
    results = []
    for gate in GATES:
        embedded = (labelled | (ngram.max(axis=1) >= gate))[:, None]
        margin = np.where(embedded, pf - tf, pn - tn)
        s = evaluate.score(dev, _predict(margin, np.where(embedded, rf, rn), base, 0.0))
        results.append((float(gate), s))
    best = max(s["macro_f1"] for _, s in results)
    gate, s = max((g, s) for g, s in results if s["macro_f1"] >= best - GATE_LOSS)
    return gate, s


def _demote(
    predicted: list[list[dict[str, Any]]], risks: np.ndarray, floor: np.ndarray, thr: float | None
) -> list[list[dict[str, Any]]]:
    """The shipped floor demotions: to low when the risk model reads news/education, to high when the
    floor-vs-not log-odds are under `thr` (learned.LearnedModel.refine)."""
    out = []
    for i, labs in enumerate(predicted):
        news = float(np.exp(risks[i] - risks[i].max())[-1] / np.exp(risks[i] - risks[i].max()).sum())
        row = []
        for lab in labs:
            risk = lab["risk"]
            if risk == tx.FLOOR and news >= DEMOTE_FLOOR:
                risk = tx.LOW
            elif risk == tx.FLOOR and thr is not None and floor[i] < thr:
                risk = tx.HIGH
            row.append({**lab, "risk": risk})
        out.append(row)
    return out


def choose_floor_threshold(
    dev: Sequence[dict[str, Any]], predicted: list[list[dict[str, Any]]], risks: np.ndarray, floor: np.ndarray
) -> tuple[float | None, dict[str, Any]]:
    """The floor check's threshold on the dev posts' cross-validated labels.

    Among the thresholds that bring floor precision to FLOOR_PRECISION, those keeping the most right floor
    labels; of these the middle one (away from both edges of the plateau). None (no check) when the
    floor labels already reach the target unchecked, or when no threshold does.
    """
    plain = evaluate.score(dev, _demote(predicted, risks, floor, None))
    if plain["floor_precision"] >= FLOOR_PRECISION:
        return None, plain
    ok = []
    for thr in FLOOR_THRESHOLDS:
        s = evaluate.score(dev, _demote(predicted, risks, floor, float(thr)))
        if s["floor_precision"] >= FLOOR_PRECISION and s["floor_labels"]:
            right = round(s["floor_precision"] * s["floor_labels"])
            ok.append((right, float(thr), s))
    if not ok:
        return None, plain
    most = max(r for r, _, _ in ok)
    plateau = [(t, s) for r, t, s in ok if r == most]
    return plateau[(len(plateau) - 1) // 2]


def train(
    rows: Sequence[dict[str, Any]], base_labels: Base, encode: Encode
) -> tuple[LearnedModel, dict[str, Any]]:
    """Fit everything on `train` + `dev` rows; returns the model and the dev figures."""
    rows = [r for r in rows if r["split"] in ("train", "dev")]
    norms = [normalize(r["text"]) for r in rows]
    emb = np.asarray(encode(norms))
    dev_idx = [i for i, r in enumerate(rows) if r["split"] == "dev"]
    dev = [rows[i] for i in dev_idx]
    base = [{lab.category: lab.risk for lab in labs} for labs in base_labels([r["text"] for r in dev])]
    ng, ngr, em, emr, ngf, emf = out_of_fold(rows, norms, emb)
    report: dict[str, Any] = {
        "dev_rules_only": _brief(
            evaluate.score(dev, [[{"category": c, "risk": r} for c, r in b.items()] for b in base])
        )
    }
    chosen, cv = {}, {}
    for name, logits, risks in (("fast", ng, ngr), ("full", (ng + em) / 2, (ngr + emr) / 2)):
        tried = []
        for per_cat in (False, True):
            probs = cross_validate_dev(dev, logits[dev_idx], base, per_cat)
            thr, after = choose_threshold(dev, probs, risks[dev_idx], base)
            tried.append((after.get("macro_f1", -1.0), per_cat, probs, thr, after))
        report[f"dev_cross_validated_{name}_pooled"] = _brief(tried[0][4]) | {"threshold": tried[0][3]}
        _, per_cat, probs, thr, after = max(tried, key=lambda t: (t[0], not t[1]))
        comb = _fit_combiner(stack_features(logits[dev_idx], base, per_cat), _truth(dev).ravel())
        chosen[name], cv[name] = (comb, thr), (probs, risks[dev_idx], thr)
        report[f"dev_cross_validated_{name}"] = _brief(after) | {"threshold": thr, "per_category": per_cat}
    gate, gated = choose_gate(dev, cv, ng[dev_idx], base)
    report["dev_cross_validated_gated"] = _brief(gated) | {"gate": gate}
    (pf, rf, tf), (pn, rn, tn) = cv["full"], cv["fast"]
    embedded = np.array([bool(b) for b in base]) | (ng[dev_idx].max(axis=1) >= gate)
    risks = np.where(embedded[:, None], rf, rn)
    floor = np.where(embedded, (ngf + emf)[dev_idx] / 2, ngf[dev_idx])
    predicted = _predict(np.where(embedded[:, None], pf - tf, pn - tn), risks, base, 0.0)
    report["dev_cross_validated_demoted"] = _brief(
        evaluate.score(dev, _demote(predicted, risks, floor, None))
    )
    floor_thr, checked = choose_floor_threshold(dev, predicted, risks, floor)
    report["dev_cross_validated_floor_checked"] = _brief(checked) | {"floor_threshold": floor_thr}
    feat, ngram = _ngram_head(norms, rows)
    embed = _head(emb, rows, EMBED_C)
    model = LearnedModel(
        feat,
        ngram,
        embed,
        chosen["full"][0],
        chosen["full"][1],
        chosen["fast"][0],
        chosen["fast"][1],
        gate,
        VERSION,
        floor_threshold=floor_thr,
    )
    return model, report


def _brief(s: dict[str, Any]) -> dict[str, Any]:
    keep = ("rows", "macro_f1", "floor_precision", "floor_labels", "safe_high_or_floor", "risk_exact")
    out = {k: s[k] for k in keep}
    out["categories"] = {
        c: {m: round(v[m], 3) for m in ("precision", "recall", "f1")} for c, v in s["categories"].items()
    }
    return out
