"""Render models/MODEL_CARD.md from an evaluation (bench/results/quality.json)."""

from __future__ import annotations

from typing import Any

from townsquare.detection.training.datasets import SEED

FAST_TABLE = "## Fast tier on the test splits"
REPRODUCE = """```sh
make venv                                   # or: pip install -e '.[dev,semantic,training]'
.venv/bin/townsquare models train           # every artifact from ../shared/datasets, fixed seeds
.venv/bin/townsquare models eval            # writes this card and bench/results/quality.json
```"""


def _f(x: Any, digits: int = 4) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_f(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _data_section(q: dict[str, Any]) -> str:
    rows = []
    seen: set[tuple[str, str]] = set()
    for scorer, entry in q["fast"].items():
        for name, d in entry["datasets"].items():
            if (scorer, name) in seen:
                continue
            seen.add((scorer, name))
            c = d["counts"]
            size = "/".join(str(sum(c[s].values())) for s in ("train", "val", "test"))
            licence = d["license"] + (" **(research only)**" if d["research_only"] else "")
            rows.append([scorer, name, size, d["split"], licence, d["dropped_overlap"]])
    return "\n".join(
        [
            "## Data",
            "",
            "Each scorer trains on the datasets below (rows train/val/test after cleaning). Where a "
            f"dataset has no official split it is split 80/10/10, stratified by label, seed {SEED}. "
            "OLID and TweetEval-offensive are one dataset (TweetEval re-splits OLID's training tweets and "
            "shares its test set). Training and validation rows whose normalised text equals any test row of "
            "a dataset feeding the same scorer are dropped (last column). Files under `training/` are "
            "written "
            "by the team (see `training/README.md`).",
            "",
            _table(
                ["scorer", "dataset", "train/val/test", "split", "licence", "dropped (test overlap)"], rows
            ),
        ]
    )


def _fast_section(q: dict[str, Any]) -> str:
    rows = []
    for scorer, entry in q["fast"].items():
        for name, d in entry["datasets"].items():
            if "report" not in d:
                rows.append(
                    [scorer, name, "–", "–", "–", f"flags {d['flagged_rate']:.4f} of ordinary posts", "–"]
                )
                continue
            r = d["report"]
            per = "; ".join(
                f"{c}: P {v['precision']:.3f} R {v['recall']:.3f} F1 {v['f1']:.3f}"
                for c, v in r["per_class"].items()
            )
            base = d.get("baseline", {}).get("macro_f1")
            rows.append([scorer, name, r["macro_f1"], r.get("roc_auc"), r.get("ece"), per, base])
    return "\n".join(
        [
            FAST_TABLE,
            "",
            "At each scorer's operating threshold. `baseline` is a TF-IDF (word 1-2 grams) + logistic "
            "regression trained in the same run on the same rows, thresholded the same way.",
            "",
            _table(
                ["scorer", "dataset", "macro-F1", "ROC-AUC", "ECE", "per class", "baseline macro-F1"], rows
            ),
        ]
    )


def _thresholds(q: dict[str, Any]) -> str:
    rows = []
    for scorer, e in q["fast"].items():
        c = q.get("cascade", {}).get(scorer, {})
        rows.append(
            [
                scorer,
                e["version"],
                e.get("threshold"),
                e.get("auto_threshold"),
                c.get("threshold"),
                c.get("auto_threshold"),
            ]
        )
    return "\n".join(
        [
            "## Versions and thresholds",
            "",
            "`threshold`: best dataset-averaged macro-F1 on validation. `auto_threshold`: the lowest "
            "threshold whose validation precision has a Wilson 95% lower bound ≥ 0.95 over ≥ 50 flagged "
            "rows; `–` means none qualifies and the scorer never acts alone (policies may not set one). "
            "Versions end in the first 12 hex digits of the artifact's sha256.",
            "",
            _table(
                ["scorer", "version", "fast threshold", "fast auto", "cascade threshold", "cascade auto"],
                rows,
            ),
        ]
    )


def _base_rate(q: dict[str, Any]) -> str:
    """The automatic-action thresholds validated at the platform's base rate (issue 12)."""
    rows = []
    for tier, source in (("fast", q["fast"]), ("cascade", q.get("cascade", {}))):
        for scorer, e in source.items():
            if not isinstance(e, dict):
                continue
            for label, a in (e.get("auto_thresholds") or {}).items():
                rows.append(
                    [
                        scorer,
                        label,
                        tier,
                        a.get("base_rate"),
                        a.get("threshold"),
                        a.get("precision"),
                        a.get("precision_lower_bound"),
                        a.get("recall"),
                        a.get("flagged_rows"),
                    ]
                )
    if not rows:
        return ""
    return "\n".join(
        [
            "## Automatic-action thresholds at the platform's base rate",
            "",
            "Validation precision on these mostly balanced sets overstates precision on a stream where 5% of "
            "posts violate. Each scorer's pooled validation rows are reweighted so that violating rows are "
            "5% of the weight (`base_rate`), and `threshold` is the lowest whose weighted precision has a "
            "Wilson 95% lower bound ≥ 0.95 over the flagged rows' effective sample size (Kish), with ≥ 50 "
            "rows "
            "flagged. `–`: no threshold qualifies; the scorer never acts alone at this base rate. The same "
            "figures are in each head's metadata (`auto_thresholds` in `fast/<head>.npz`, and in "
            "`semantic/calibration.json` for the cascade), where policies read them.",
            "",
            _table(
                [
                    "scorer",
                    "label",
                    "tier",
                    "base rate",
                    "threshold",
                    "precision",
                    "Wilson 95% lower",
                    "recall",
                    "flagged rows",
                ],
                rows,
            ),
        ]
    )


def _reliability(q: dict[str, Any]) -> str:
    out = ["## Calibration (reliability on the test splits)", ""]
    for scorer, e in q["fast"].items():
        for name, d in e["datasets"].items():
            rel = d.get("report", {}).get("reliability")
            if not rel:
                continue
            cells = ", ".join(f"{b['bin']}: {b['observed']:.2f}/{b['n']}" for b in rel if b["n"])
            out.append(
                f"- **{scorer} / {name}** (observed positive rate / rows, per probability bin): {cells}"
            )
    return "\n".join(out)


# Why a bar is missed: the reasons behind each gap, shown under the table for every bar a run misses.
WHY_MISSED = {
    "TweetEval offensive macro-F1": "OLID's labels turn on context, sarcasm and who is addressed, which "
    "word and character n-grams cannot see; the encoder was fine-tuned for half an epoch on a 2-core CPU "
    "(the published 0.80+ comes from fully fine-tuned RoBERTa-size models). Issue 12 could not fine-tune "
    "it further: the 2 cores were shared by 7 sessions (a single fast-head fit took minutes), and no GPU "
    "was lent. Closing it needs the semantic tier fine-tuned for 2+ epochs (about an hour on an idle CPU).",
    "Davidson hate-class F1": "Davidson's hate class is about 6% of rows and is told apart from its "
    "'offensive' class (full of the same slurs) by annotators' reading of intent; one hate threshold is "
    "shared with HatEval, Stormfront and the team's sets, so on Davidson it flags many offensive-only "
    "tweets (low hate-class precision). Weighting Davidson twice (issue 12) raised it but not to 0.50; "
    "published linear models reach about 0.45 on this class, so closing it needs the fine-tuned encoder.",
    "CONSTRAINT fake-news F1": "the fast head is linear on n-grams and shares one threshold with CoAID, the "
    "infodemic set and everyday posts; issue 12 removed LIAR (no live policy removes political statements "
    "rated false) and weighted CONSTRAINT twice, which raised it; CONSTRAINT-only fine-tuned transformers "
    "reach 0.93+, so closing it needs the semantic tier fine-tuned further.",
    "SMS spam F1": "the spam head is trained with everyday posts and real news posts as negatives, at the "
    "price of some SMS spam recall: the version trained without them flagged 76% of CONSTRAINT's real news "
    "posts and 37% of everyday posts as spam. On validation, weighting the SMS set twice at C=128 "
    "did not reach 0.97 either (issue 12's trial, kept out of the committed head).",
    "SMS smishing F1": "the smishing set labels spam and smishing separately while both are unwanted bulk "
    "messages; the scam head must not flag plain advertising spam, and the two classes share wording "
    "(links, prizes, urgency). Weighting the smishing set twice at C=128 did not change its test F1.",
    "misinformation beats the TF-IDF + LR baseline (mean macro-F1)": "one threshold is shared by the "
    "datasets, one of which (the infodemic set, 26 test rows) is near chance for any text-only model; the "
    "per-dataset rows below show where the gap to the per-dataset baseline lies.",
    "hateful cases caught": "implicit hate (stereotypes, dehumanising comparisons without slurs) is "
    "learned from few examples; the hard negatives that lowered counter-speech flags (issue 12) also "
    "raised the threshold, which costs recall on the hateful cases.",
    "negated hate and counter-speech flagged as hate": "quoting or negating a hateful sentence keeps its "
    "words; bag-of-n-grams cannot read the negation, and the encoder only partly does.",
    "obfuscated hateful cases caught": "the fast tier's hate threshold rose (0.22 to 0.31) with the team's "
    "hard negatives; obfuscated spellings score lower margins (only some character n-grams match), so the "
    "fast tier misses them; the cascade, which production runs, meets the bar.",
    "neutral/positive identity statements flagged as hate": "identity terms co-occur with hate in every "
    "hate dataset, so a linear model learns them as evidence; the team's identity statements counter it "
    "only partly.",
}


def _why(q: dict[str, Any]) -> str:
    missed = sorted({b["name"] for b in q["bars"] if not b["met"]})
    lines = [f"- **{name}**: {WHY_MISSED.get(name, 'not yet analysed.')}" for name in missed]
    return "\n".join(["Why the missed bars are missed:", "", *lines]) if lines else "Every bar is met."


def _bars(q: dict[str, Any]) -> str:
    rows = [
        [
            b["name"],
            b["tier"],
            b["value"],
            f"{b['op']} {b['target']}",
            "met" if b["met"] else f"**missed** by {abs(b['gap'] or 0):.4f}",
        ]
        for b in q["bars"]
    ]
    table = _table(["bar", "tier", "value", "target", "result"], rows)
    return "\n".join(["## Quality bars", "", table, "", _why(q)])


def _hard_cases(q: dict[str, Any]) -> str:
    fast = q["hard_cases"]["accuracy"]
    casc = q.get("hard_cases_cascade", {}).get("accuracy", {})
    rows = [[t, v["n"], v["accuracy"], casc.get(t, {}).get("accuracy")] for t, v in fast.items()]
    groups = q["groups"]
    gcasc = q.get("groups_cascade", {})
    grows = [
        [
            g,
            v["hard_cases_n"],
            v["hard_cases_fpr"],
            v["dataset_n"],
            v["dataset_fpr"],
            gcasc.get(g, {}).get("dataset_fpr"),
        ]
        for g, v in groups.items()
    ]
    return "\n".join(
        [
            "## Hard cases (evalsets/hard_cases.jsonl)",
            "",
            "Accuracy per case type: a hateful case is right when flagged as hate (threat cases: hate or "
            "threat); a non-hateful case is right when not flagged as hate.",
            "",
            _table(["case type", "n", "fast", "cascade"], rows),
            "",
            "## False positives per protected group",
            "",
            "Share of non-hateful texts naming each group that the hate scorer flags: the hard cases' "
            "non-hateful ones, and the non-hate test rows of the hate datasets that name the group (identity "
            "lexicon).",
            "",
            _table(["group", "hard cases", "fast FPR", "dataset rows", "fast FPR", "cascade FPR"], grows),
        ]
    )


def _claims(q: dict[str, Any]) -> str:
    c = q.get("claims", {})
    rows = []
    for method in ("bm25", "embedding", "combined"):
        m = c.get(method)
        if m:
            rows.append(
                [
                    method,
                    m["positives"],
                    m["recall_at_1"],
                    m["recall_at_5"],
                    m["mean_reciprocal_rank"],
                    m["threshold"],
                    m["flagged_with_right_claim"],
                    m["match_precision"],
                    m["negatives_flagged"],
                ]
            )
    return "\n".join(
        [
            "## Known false claims",
            "",
            f"{c.get('claims')} claims in `claims/` (version {c.get('version')}); test set "
            "`evalsets/claim_paraphrases.jsonl`, written from the fact-check articles without the claim "
            "texts. Thresholds are set so that at most 0.5% of ordinary posts (benign validation rows) match "
            "any claim.",
            "",
            _table(
                [
                    "method",
                    "paraphrases",
                    "recall@1",
                    "recall@5",
                    "MRR",
                    "threshold",
                    "matched right claim",
                    "match precision",
                    "negatives matched",
                ],
                rows,
            ),
            "",
            "Whether a matched post asserts the claim (rather than correcting, questioning or reporting "
            "it) is decided by the claim verifier (`detection/claims_verify.py`, semantic tier; trained "
            "on dev only, threshold by cross-validation grouped by claim); its held-out figures are in "
            "`bench/results/claims.json`.",
        ]
    )


def _cascade(q: dict[str, Any]) -> str:
    if "cascade" not in q:
        return (
            "## Semantic tier and cascade\n\nNot evaluated: the semantic extra or artifact is not installed."
        )
    rows = []
    for scorer, e in q["cascade"].items():
        if scorer == "version":
            continue
        for name, d in e["datasets"].items():
            if "cascade" in d:
                fast = q["fast"][scorer]["datasets"][name]["report"]["macro_f1"]
                rows.append(
                    [
                        scorer,
                        name,
                        fast,
                        d["semantic"]["macro_f1"],
                        d["cascade"]["macro_f1"],
                        d["cascade"]["roc_auc"],
                        d["rescored_share"],
                    ]
                )
    return "\n".join(
        [
            "## Semantic tier and cascade",
            "",
            "all-MiniLM-L6-v2 fine-tuned on every scorer's data at once, int8 ONNX "
            f"(version {q['cascade']['version']}). The cascade re-scores a post when its fast probability is "
            "within 2.5 log-odds of the fast threshold "
            "(or the post has high reach) and combines fast and semantic log-odds (fitted on validation).",
            "",
            _table(
                [
                    "scorer",
                    "dataset",
                    "fast macro-F1",
                    "semantic macro-F1",
                    "cascade macro-F1",
                    "cascade AUC",
                    "re-scored",
                ],
                rows,
            ),
        ]
    )


def render_card(q: dict[str, Any]) -> str:
    """The whole model card."""
    m = q["manifest"]
    files = _table(["file", "sha256"], [[f, h] for f, h in sorted(m["files"].items())])
    parts = [
        "# Townsquare detection models: model card",
        "",
        f"Generated by `townsquare models eval` at {q['generated']} from the artifacts in `models/` "
        f"(trained {m['created']}). Machine-readable twin: `bench/results/quality.json`."
        + (
            f" **Sample run** ({q['sample']} rows per split): not the committed figures."
            if q.get("sample")
            else ""
        ),
        "",
        "## Reproduce",
        "",
        REPRODUCE,
        "",
        "## What the scorers are",
        "",
        "- **Fast tier** (always on): the text is normalised (`detection/normalize.py`: Unicode folding, "
        "look-alike letters, leetspeak, spaced-out letters), links/mentions/numbers become placeholders, and "
        "word 1-2 grams plus character 2-5 grams are hashed into 2^20 features (log counts × idf, unit "
        "length). "
        "One logistic regression per scorer; datasets weigh equally unless the head says otherwise (hate: "
        "the team's two sets ×4, Davidson ×2; misinformation: CONSTRAINT ×2, everyday posts and the "
        "infodemic set ×0.5) and "
        "classes are balanced within each; C chosen on validation; Platt calibration on "
        "validation. The misinformation head is a health-misinformation head: LIAR (political statements "
        "PolitiFact rates false, which no live policy removes) is no longer in its data.",
        "- **hate** adds `target` from an identity-term lexicon (`detection/identity_terms.yaml`); **abuse** "
        "adds `targeted` (none / individual / group) from a 3-way head trained on OLID levels B and C (OTH "
        "folded "
        "into group); **misinformation** adds the matched known false claims (BM25; cosine on the semantic "
        "encoder when installed).",
        "- **Evidence** for a flagged score: the words whose features raised the score most, the identity "
        "term, or the matched claim.",
        "",
        _thresholds(q),
        "",
        _base_rate(q),
        "",
        _bars(q),
        "",
        _data_section(q),
        "",
        _fast_section(q),
        "",
        _cascade(q),
        "",
        _hard_cases(q),
        "",
        _claims(q),
        "",
        _reliability(q),
        "",
        "## Limitations",
        "",
        "- English only: posts in other languages are scored but never acted on automatically.",
        "- Calibration is to the validation mix of each scorer's datasets, which holds far more harmful "
        "posts than real traffic; probabilities on live traffic run high, and precision there is lower than "
        "on validation. Shadow policies should be measured before raising automation.",
        "- The datasets disagree about what hate is (HatEval: immigrants and women; Davidson: slurs, with "
        "misogynist insults labelled merely offensive; Stormfront: white-supremacist forum sentences), so "
        "one "
        "operating threshold trades them off.",
        "- The COVID-19 infodemic set is close to chance for any text-only model (its test split has 26 "
        "rows); it stays in training, at half weight, for coverage of social-media claims. "
        "Election-procedure "
        "claims have no labelled dataset; they are matched against the known-claims library instead.",
        "- Bag-of-n-gram models cannot read negation or quotation reliably; counter-speech quoting hate is "
        "the "
        "fast tier's weakest case, which the cascade is meant to soften.",
        "",
        "## Artifacts",
        "",
        files,
        "",
    ]
    return "\n".join(parts)


def card_fast_rows(card: str) -> dict[tuple[str, str], float]:
    """The (scorer, dataset) -> macro-F1 rows of a card's fast-tier table (for the drift test)."""
    if FAST_TABLE not in card:
        return {}
    section = card.split(FAST_TABLE, 1)[1].split("\n## ", 1)[0]
    out = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[2] not in ("macro-F1", "–") and not cells[0].startswith("---"):
            try:
                out[(cells[0], cells[1])] = float(cells[2])
            except ValueError:
                continue
    return out
