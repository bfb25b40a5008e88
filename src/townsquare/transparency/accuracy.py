"""Part 8's accuracy, precision and recall of the automated means, with 95% intervals and the method.

The human-checked set has two halves. The automation-QA sample is a random sample of automated measures
that a person re-decided: a 'violation' is a true positive, 'no violation' a false positive. Review cases
are posts the automation sent to people without acting: a 'violation' there is a miss (false negative), a
'no violation' a true negative. The QA sample is scaled up to every automated measure of the period
(precision x measures), then recall = TP / (TP + FN) and accuracy = (TP + TN) / everything checked.
Precision's interval is Wilson's; recall's and accuracy's come from a seeded parametric bootstrap of both
halves. Appeal outcomes of automated measures are reported beside them as an independent check.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from townsquare.detection.training.metrics import wilson_interval

BOOTSTRAP = 2000
SEED = 20261207


def _metric(value: float, lo: float, hi: float, method: str) -> dict[str, Any]:
    return {"value": round(value, 4), "low": round(lo, 4), "high": round(hi, 4), "method": method}


def estimate(tp: int, fp: int, fn: int, tn: int, measures: int, appeal_note: str) -> dict[str, Any]:
    """Accuracy, precision and recall from a QA sample (tp, fp), review outcomes (fn, tn) and the census."""
    qa = tp + fp
    if qa == 0:
        note = "No automated measure was sampled for quality assurance in the period. " + appeal_note
        return {"metric_note": note.strip()}
    p = tp / qa
    lo, hi = wilson_interval(tp, qa)
    rng = np.random.default_rng(SEED)
    reviewed = fn + tn
    p_star = rng.binomial(qa, p, BOOTSTRAP) / qa
    miss = fn / reviewed if reviewed else 0.0
    fn_star = rng.binomial(reviewed, miss, BOOTSTRAP) if reviewed else np.zeros(BOOTSTRAP)
    tp_star = p_star * measures
    total = measures + reviewed
    with np.errstate(divide="ignore", invalid="ignore"):
        recall_star = np.where(tp_star + fn_star > 0, tp_star / (tp_star + fn_star), np.nan)
        acc_star = (tp_star + (reviewed - fn_star)) / total if total else np.full(BOOTSTRAP, np.nan)
    tp_est = p * measures
    recall = tp_est / (tp_est + fn) if tp_est + fn > 0 else float("nan")
    accuracy = (tp_est + tn) / total if total else float("nan")
    base = (
        f"QA sample: {qa} automated measures re-decided by people ({tp} confirmed, {fp} not); "
        f"review: {reviewed} posts sent to people without automated action ({fn} violating). "
    )
    out: dict[str, Any] = {
        "precision": _metric(
            p,
            lo,
            hi,
            base + f"Precision = confirmed / sampled; 95% Wilson interval "
            f"[{lo:.3f}, {hi:.3f}]. {appeal_note}",
        ),  # fmt: skip
    }
    for name, value, stars, how in (
        ("recall", recall, recall_star, "Recall = TP / (TP + FN), TP = precision x automated measures"),
        ("accuracy", accuracy, acc_star, "Accuracy = (TP + TN) / (automated measures + reviewed posts)"),
    ):
        if np.isnan(value):
            continue
        s_lo, s_hi = np.nanpercentile(stars, [2.5, 97.5])
        out[name] = _metric(
            float(value),
            float(s_lo),
            float(s_hi),
            base + f"{how}; 95% interval [{s_lo:.3f}, {s_hi:.3f}] by a seeded bootstrap ({BOOTSTRAP} runs).",
        )
    return out


def automated_figures(
    measures: list[dict[str, Any]],
    qa: list[dict[str, Any]],
    appeals: list[dict[str, Any]],
    notices_decided: int,
    notices_decided_tf: int,
) -> dict[str, Any]:
    """Part 8's figures for each scope: total, own-initiative, notices (all), notices (trusted flaggers)."""
    appealed = [a for a in appeals if a["kind"] == "action" and a["original"] == "automated" and a["outcome"]]
    decided = sum(a["n"] for a in appealed)
    reversed_ = sum(a["n"] for a in appealed if a["outcome"] == "overturned")
    appeal_note = (
        f"Appeals check: {decided} appealed automated measures decided in the period, {reversed_} reversed."
        if decided
        else "No appeal of an automated measure was decided in the period."
    )
    out: dict[str, Any] = {}
    for scope, own in (("total", False), ("own", True)):
        rows = [m for m in measures if not own or m["source"] == "voluntary"]
        solely = sum(m["n"] for m in rows if m["automated"])
        tally = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
        for q in qa:
            if q["kind"] == "automation_qa" and (not own or q["source"] == "voluntary"):
                tally["tp" if q["outcome"] == "violation" else "fp"] += q["n"]
            elif q["kind"] == "review":
                tally["fn" if q["outcome"] == "violation" else "tn"] += q["n"]
        out[scope] = {
            "solely": solely,
            "not": sum(m["n"] for m in rows) - solely,
            **estimate(tally["tp"], tally["fp"], tally["fn"], tally["tn"], solely, appeal_note),
            "confusion": tally,
        }
    note = "People decide every notice; no notice is processed solely by automated means."
    out["nam"] = {"solely": 0, "not": notices_decided, "note": note, "metric_note": note}
    out["nam_tf"] = {"solely": 0, "not": notices_decided_tf, "note": note, "metric_note": note}
    return out
