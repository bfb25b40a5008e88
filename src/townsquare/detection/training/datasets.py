"""Labelled training data for every fast-tier scorer, read from the shared datasets with honest splits.

Each dataset keeps its official train/validation/test split where it has one. Where it has none
(Davidson, the SMS and YouTube sets, CoAID, the COVID-19 infodemic set, the team's threat set) the
rows are split 80/10/10, stratified by label, with seed 20261121. OLID and TweetEval-offensive are one
dataset (TweetEval re-splits OLID's training tweets and shares its test set), so they are read once.
No training or validation row may equal (after normalisation) a test row of any dataset that feeds
the same scorer: such rows are dropped from training, so a test set is never learned.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sklearn.model_selection import train_test_split

from townsquare.config import PROJECT_ROOT
from townsquare.datafiles import dict_rows, plain_rows, text_lines
from townsquare.detection.normalize import normalize

SEED = 20261121
STRATIFIED = "stratified 80/10/10, seed 20261121"
TRAINING_DIR = PROJECT_ROOT / "training"
THREATS_FILE = TRAINING_DIR / "threats.jsonl"
TARGETED_CLASSES = ("none", "individual", "group")


class DatasetMissing(FileNotFoundError):
    """A dataset a scorer needs is not in the data directory."""


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled text; `label` is a class index (binary tasks: 1 = the harmful class)."""

    text: str
    label: int


@dataclass
class Part:
    """One dataset's contribution to one scorer, split three ways."""

    dataset: str
    title: str
    license: str
    research_only: bool
    split: str
    classes: tuple[str, ...]
    train: list[Example]
    val: list[Example]
    test: list[Example]
    dropped_overlap: int = 0
    notes: str = ""

    def counts(self) -> dict[str, dict[str, int]]:
        """Rows per split and class."""
        out: dict[str, dict[str, int]] = {}
        for name, rows in (("train", self.train), ("val", self.val), ("test", self.test)):
            out[name] = {c: sum(1 for r in rows if r.label == i) for i, c in enumerate(self.classes)}
        return out


@dataclass
class TaskData:
    """All the data one scorer trains and is evaluated on."""

    task: str
    parts: list[Part] = field(default_factory=list)

    def rows(self, split: str) -> list[Example]:
        """Every part's rows of one split, concatenated in part order."""
        return [r for p in self.parts for r in getattr(p, split)]


def stratified(rows: list[Example]) -> tuple[list[Example], list[Example], list[Example]]:
    """Split rows 80/10/10, stratified by label, seed 20261121."""
    labels = [r.label for r in rows]
    train, rest = train_test_split(rows, test_size=0.2, random_state=SEED, stratify=labels)
    val, test = train_test_split(rest, test_size=0.5, random_state=SEED, stratify=[r.label for r in rest])
    return list(train), list(val), list(test)


def _need(path: Path) -> Path:
    if not path.exists():
        raise DatasetMissing(f"{path} is missing (set TOWNSQUARE_DATA_DIR to the shared datasets folder)")
    return path


def _clean(rows: Iterable[Example]) -> list[Example]:
    """Drop empty texts and exact duplicates (first label wins)."""
    seen: set[str] = set()
    out = []
    for r in rows:
        t = r.text.strip()
        if t and t not in seen:
            seen.add(t)
            out.append(Example(t, r.label))
    return out


# --- per-dataset readers: each returns a Part for one scorer ------------------------------------------


def tweeteval_hate(d: Path) -> Part:
    """TweetEval hate (SemEval-2019 HatEval): hate against immigrants and women; official splits."""
    root = _need(d / "tweeteval-hate")
    splits = {}
    for s in ("train", "val", "test"):
        texts = text_lines(root / f"{s}_text.txt")
        labels = text_lines(root / f"{s}_labels.txt")
        splits[s] = _clean(Example(t, int(y)) for t, y in zip(texts, labels, strict=True))
    return Part(
        "tweeteval-hate",
        "TweetEval hate (HatEval 2019)",
        "no license file; released without restrictions, Twitter terms apply",
        False,
        "official",
        ("not_hate", "hate"),
        splits["train"],
        splits["val"],
        splits["test"],
    )


def _davidson_rows(d: Path, positive: set[str]) -> list[Example]:
    path = _need(d / "davidson-hate-offensive" / "labeled_data.csv")
    return _clean(Example(r["tweet"], int(r["class"] in positive)) for r in dict_rows(path))


def davidson_hate(d: Path) -> Part:
    """Davidson et al. 2017: class 0 (hate speech) against offensive and neither."""
    train, val, test = stratified(_davidson_rows(d, {"0"}))
    return Part(
        "davidson-hate-offensive",
        "Davidson hate vs offensive vs neither (hate class)",
        "MIT",
        False,
        STRATIFIED,
        ("not_hate", "hate"),
        train,
        val,
        test,
    )


def davidson_abuse(d: Path) -> Part:
    """Davidson et al. 2017: hate speech or offensive language against neither."""
    train, val, test = stratified(_davidson_rows(d, {"0", "1"}))
    return Part(
        "davidson-hate-offensive",
        "Davidson (hate or offensive vs neither)",
        "MIT",
        False,
        STRATIFIED,
        ("not_abusive", "abusive"),
        train,
        val,
        test,
    )


_DETOKENIZE = re.compile(r" ([.,!?;:]|'s|'re|'m|'ll|'ve|'d|n't)(?=\s|$)")


def stormfront_hate(d: Path) -> Part:
    """Stormfront sentences (de Gibert et al. 2018): hate vs noHate.

    The authors' own split covers only a balanced subset; its test sentences are our test set, and the
    other sentences are split 90/10 (stratified, seed 20261121) into train and validation.
    """
    path = _need(d / "stormfront-hate" / "stormfront_sentences.csv")
    test: list[Example] = []
    rest: list[Example] = []
    for r in dict_rows(path):
        if r["label"] not in ("hate", "noHate"):
            continue  # "relation" needs the neighbouring sentences; "idk/skip" has no label
        ex = Example(_DETOKENIZE.sub(r"\1", r["text"]), int(r["label"] == "hate"))
        (test if r["sampled_split"] == "test" else rest).append(ex)
    rest = _clean(rest)
    train, val = train_test_split(rest, test_size=0.1, random_state=SEED, stratify=[r.label for r in rest])
    return Part(
        "stormfront-hate",
        "Stormfront white-supremacist forum sentences",
        "CC BY-SA 3.0 ES",
        False,
        "authors' balanced test subset; the rest 90/10 train/val, stratified, seed 20261121",
        ("not_hate", "hate"),
        list(train),
        list(val),
        _clean(test),
    )


def _olid_training(d: Path) -> dict[str, dict[str, str]]:
    path = _need(d / "olid" / "olid-training-v1.0.tsv")
    return {r["tweet"].strip(): r for r in dict_rows(path, "\t", raw=True)}


def _olid_test(d: Path) -> list[dict[str, str]]:
    root = _need(d / "olid")
    rows = {r["id"]: dict(r) for r in dict_rows(root / "testset-levela.tsv", "\t", raw=True)}
    for level in ("a", "b", "c"):
        for r in dict_rows(root / f"labels-level{level}.csv"):
            rows[r["id"]][f"subtask_{level}"] = r["label"]
    return list(rows.values())


def _tweeteval_offensive_split(d: Path, s: str) -> list[str]:
    return text_lines(_need(d / "tweeteval-offensive" / f"{s}_text.txt"))


def olid_abuse(d: Path) -> Part:
    """OLID level A (= TweetEval offensive): TweetEval's train/val split of OLID training, OLID's test."""
    splits = {}
    for s in ("train", "val"):
        labels = text_lines(_need(d / "tweeteval-offensive" / f"{s}_labels.txt"))
        texts = _tweeteval_offensive_split(d, s)
        splits[s] = _clean(Example(t, int(y)) for t, y in zip(texts, labels, strict=True))
    test = _clean(Example(r["tweet"], int(r["subtask_a"] == "OFF")) for r in _olid_test(d))
    return Part(
        "olid",
        "OLID level A / TweetEval offensive (one dataset)",
        "CC BY 4.0 (hosting repository)",
        False,
        "official (TweetEval's train/val of OLID training; OLID test = TweetEval test)",
        ("not_offensive", "offensive"),
        splits["train"],
        splits["val"],
        test,
    )


def _targeted_label(row: dict[str, str]) -> int | None:
    """OLID levels B and C as none / individual / group; OTH (organisations, events) counts as group."""
    if row.get("subtask_a") != "OFF":
        return None
    if row.get("subtask_b") == "UNT":
        return 0
    return {"IND": 1, "GRP": 2, "OTH": 2}.get(row.get("subtask_c", ""))


def olid_targeted(d: Path) -> Part:
    """OLID levels B and C on offensive tweets: untargeted, individual or group target."""
    train_rows = _olid_training(d)
    splits: dict[str, list[Example]] = {}
    for s in ("train", "val"):
        out = []
        for t in _tweeteval_offensive_split(d, s):
            row = train_rows.get(t.strip().replace("@user", "@USER"))
            label = _targeted_label(row) if row else None
            if label is not None:
                out.append(Example(t, label))
        splits[s] = _clean(out)
    test = []
    for r in _olid_test(d):
        label = _targeted_label(r)
        if label is not None:
            test.append(Example(r["tweet"], label))
    return Part(
        "olid",
        "OLID levels B and C (target of offensive tweets)",
        "CC BY 4.0 (hosting repository)",
        False,
        "official (TweetEval's train/val of OLID training; OLID test)",
        TARGETED_CLASSES,
        splits["train"],
        splits["val"],
        _clean(test),
        notes="OTH (an organisation, event or issue) is folded into group",
    )


def _team_file(path: Path) -> list[Example]:
    if not path.exists():
        raise DatasetMissing(f"{path} is missing (it is part of the repository)")
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            obj = json.loads(line)
            rows.append(Example(obj["text"], int(obj["label"])))
    return _clean(rows)


def _team_part(name: str, title: str, classes: tuple[str, str]) -> Part:
    train, val, test = stratified(_team_file(TRAINING_DIR / name))
    return Part(
        f"team-{name.removesuffix('.jsonl')}",
        title,
        "Apache-2.0 (this project)",
        False,
        STRATIFIED,
        classes,
        train,
        val,
        test,
    )


def team_threats(d: Path) -> Part:
    """The team's own labelled threats and hard negatives (training/threats.jsonl)."""
    return _team_part(
        "threats.jsonl", "Townsquare team-written threats and hard negatives", ("not_threat", "threat")
    )


def team_hate(d: Path) -> Part:
    """The team's own hate examples across every protected category, with hard negatives."""
    return _team_part("hate.jsonl", "Townsquare team-written hate and hard negatives", ("not_hate", "hate"))


def team_hate_hard(d: Path) -> Part:
    """The team's second hate file: counter-speech, negation and identity statements, and implicit hate.

    Written for issue 12 from the hard-case failures' kinds (never from the evaluation set's texts).
    """
    return _team_part(
        "hate-hard.jsonl",
        "Townsquare team-written hard negatives and implicit hate (issue 12)",
        ("not_hate", "hate"),
    )


def team_scams(d: Path) -> Part:
    """The team's own social-media scams (giveaways, investment, phishing...) and hard negatives."""
    return _team_part("scams.jsonl", "Townsquare team-written scams and hard negatives", ("not_scam", "scam"))


def constraint_misinfo(d: Path) -> Part:
    """CONSTRAINT 2021 COVID-19 fake news: official splits; fake = 1."""
    root = _need(d / "constraint-covid19-fakenews")
    splits = {}
    for s, f in (("train", "train"), ("val", "valid"), ("test", "test")):
        rows = dict_rows(root / f"{f}.tsv", "\t", raw=True)
        splits[s] = _clean(Example(r["tweet"], int(r["label"] == "fake")) for r in rows)
    return Part(
        "constraint-covid19-fakenews",
        "CONSTRAINT 2021 COVID-19 fake news",
        "MIT (repository); no separate data licence",
        False,
        "official",
        ("real", "fake"),
        splits["train"],
        splits["val"],
        splits["test"],
    )


def coaid_misinfo(d: Path) -> Part:
    """CoAID claims and news titles (fake vs real)."""
    root = _need(d / "coaid")
    rows = []
    for path in sorted(root.glob("*/*COVID-19.csv")):
        for r in dict_rows(path):
            text = (r.get("title") or r.get("newstitle") or "").strip('"“” ')
            rows.append(Example(text, int("Fake" in path.name)))
    train, val, test = stratified(_clean(rows))
    return Part(
        "coaid",
        "CoAID COVID-19 claims and news titles",
        "none stated (citation requested)",
        True,
        STRATIFIED,
        ("real", "fake"),
        train,
        val,
        test,
    )


def infodemic_misinfo(d: Path) -> Part:
    """COVID-19 infodemic tweets: Q2 'contains false information' 4-5 against 1-2 (3 and NA left out)."""
    path = _need(d / "covid19-infodemic-en" / "covid19_infodemic_english_data.tsv")
    rows = []
    for r in dict_rows(path, "\t", raw=True):
        grade = r["q2_label"][:2]
        if grade in ("1_", "2_", "4_", "5_"):
            rows.append(Example(r["text"], int(grade in ("4_", "5_"))))
    train, val, test = stratified(_clean(rows))
    return Part(
        "covid19-infodemic-en",
        "COVID-19 infodemic tweets (Q2 false information)",
        "freely available for general research use",
        True,
        STRATIFIED,
        ("no_false_info", "false_info"),
        train,
        val,
        test,
    )


def liar_misinfo(d: Path) -> Part:
    """LIAR (PolitiFact): pants-fire, false and barely-true against half-true, mostly-true and true."""
    root = _need(d / "liar")
    false_labels = {"pants-fire", "false", "barely-true"}
    splits = {}
    for s, f in (("train", "train"), ("val", "valid"), ("test", "test")):
        rows = (r for r in plain_rows(root / f"{f}.tsv") if len(r) > 2)
        # Only the statement: the speaker's credit-history columns include this very statement's label.
        splits[s] = _clean(Example(r[2], int(r[1] in false_labels)) for r in rows)
    return Part(
        "liar",
        "LIAR political statements (binary)",
        "research use only",
        True,
        "official",
        ("true", "false"),
        splits["train"],
        splits["val"],
        splits["test"],
    )


def _sms_rows(d: Path) -> list[Example]:
    path = _need(d / "sms-spam-collection" / "SMSSpamCollection")
    return _clean(Example(r[1], int(r[0] == "spam")) for r in plain_rows(path) if len(r) >= 2)


def sms_spam(d: Path) -> Part:
    """SMS Spam Collection: spam vs ham."""
    train, val, test = stratified(_sms_rows(d))
    return Part(
        "sms-spam-collection",
        "SMS Spam Collection",
        "free use, copyright kept by the authors",
        False,
        STRATIFIED,
        ("ham", "spam"),
        train,
        val,
        test,
    )


def _smishing_rows(d: Path, positive: set[str]) -> list[Example]:
    path = _need(d / "sms-smishing-5971" / "Dataset_5971.csv")
    return _clean(Example(r["TEXT"], int(r["LABEL"].strip().lower() in positive)) for r in dict_rows(path))


def smishing_scam(d: Path) -> Part:
    """SMS smishing 5971: smishing (phishing) against ham and ordinary spam."""
    train, val, test = stratified(_smishing_rows(d, {"smishing"}))
    return Part(
        "sms-smishing-5971",
        "SMS phishing (smishing) dataset",
        "none stated in mirror (Mendeley Data upstream)",
        True,
        STRATIFIED,
        ("not_smishing", "smishing"),
        train,
        val,
        test,
    )


def smishing_spam(d: Path) -> Part:
    """SMS smishing 5971: spam or smishing against ham."""
    train, val, test = stratified(_smishing_rows(d, {"smishing", "spam"}))
    return Part(
        "sms-smishing-5971",
        "SMS smishing dataset (spam or smishing vs ham)",
        "none stated in mirror (Mendeley Data upstream)",
        True,
        STRATIFIED,
        ("ham", "spam"),
        train,
        val,
        test,
    )


def youtube_spam(d: Path) -> Part:
    """YouTube Spam Collection (five music videos' comments): spam vs ham."""
    root = _need(d / "youtube-spam-collection")
    rows = [
        Example(r["CONTENT"].replace("\ufeff", ""), int(r["CLASS"].strip() == "1"))
        for path in sorted(root.glob("Youtube*.csv"))
        for r in dict_rows(path)
    ]
    train, val, test = stratified(_clean(rows))
    return Part(
        "youtube-spam-collection",
        "YouTube Spam Collection",
        "none stated in mirror (UCI lists CC BY 4.0)",
        True,
        STRATIFIED,
        ("ham", "spam"),
        train,
        val,
        test,
    )


def background_negatives(d: Path) -> Part:
    """Ordinary tweets (OLID's not-offensive ones) as examples of everyday posts.

    The threat data is half threats and the misinformation data is all claims about news; these rows
    teach those heads what everyday posts look like, so they are calibrated for real traffic.
    """
    olid = olid_abuse(d)
    keep = [Example(r.text, 0) for r in olid.train if r.label == 0]
    val = [Example(r.text, 0) for r in olid.val if r.label == 0]
    test = [Example(r.text, 0) for r in olid.test if r.label == 0]
    return Part(
        "olid-not-offensive",
        "OLID not-offensive tweets as everyday negatives",
        olid.license,
        False,
        olid.split,
        ("negative", "positive"),
        keep,
        val,
        test,
        notes="negatives only: every row is an ordinary post",
    )


def news_negatives(d: Path) -> Part:
    """Real news posts (CONSTRAINT's "real" rows) as examples of what spam is not.

    The spam data is SMS and YouTube comments; without these, news posts with links and numbers look
    like spam to the spam head.
    """
    c = constraint_misinfo(d)

    def real(rows: list[Example]) -> list[Example]:
        return [Example(r.text, 0) for r in rows if r.label == 0]

    return Part(
        "constraint-real-news",
        "CONSTRAINT real news posts as spam negatives",
        c.license,
        False,
        c.split,
        ("negative", "positive"),
        real(c.train),
        real(c.val),
        real(c.test),
        notes="negatives only: every row is a real news post",
    )


Reader = Callable[[Path], Part]
TASKS: dict[str, tuple[Reader, ...]] = {
    "hate": (tweeteval_hate, davidson_hate, stormfront_hate, team_hate, team_hate_hard),
    "abuse": (olid_abuse, davidson_abuse),
    "targeted": (olid_targeted,),
    "threat": (team_threats, background_negatives),
    # Ordinary tweets keep the misinformation head from reading all informal talk as "unlike the news".
    # LIAR is not here (issue 12): a political statement PolitiFact rates false breaks no live policy
    # (health and election-procedure misinformation), and sharing one threshold with it cost CONSTRAINT.
    "misinformation": (
        constraint_misinfo,
        coaid_misinfo,
        infodemic_misinfo,
        background_negatives,
    ),
    "scam": (smishing_scam, team_scams),
    # Everyday posts and news posts keep the spam head from flagging ordinary links and numbers.
    "spam": (sms_spam, smishing_spam, youtube_spam, background_negatives, news_negatives),
}


@functools.lru_cache(maxsize=2**17)
def _overlap_key(text: str) -> str:
    """A text's normalised form, remembered: the same dataset rows recur in most tasks' loads."""
    return normalize(text)


def _drop_test_overlap(parts: list[Part]) -> None:
    """Remove from train/val every row whose normalised text is a test row of any part."""
    test_keys = {_overlap_key(r.text) for p in parts for r in p.test}
    for p in parts:
        before = len(p.train) + len(p.val)
        p.train = [r for r in p.train if _overlap_key(r.text) not in test_keys]
        p.val = [r for r in p.val if _overlap_key(r.text) not in test_keys]
        p.dropped_overlap = before - len(p.train) - len(p.val)


def load_task(task: str, data_dir: Path, extra: list[Part] | None = None) -> TaskData:
    """Every dataset part of one scorer (plus `extra` ones, e.g. reviewers' decisions), with test
    overlap removed from training."""
    if task not in TASKS:
        raise KeyError(f"unknown task {task!r}; known: {', '.join(TASKS)}")
    parts = [reader(data_dir) for reader in TASKS[task]] + list(extra or [])
    _drop_test_overlap(parts)
    return TaskData(task, parts)
