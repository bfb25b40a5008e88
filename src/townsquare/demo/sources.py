"""Demo post texts: read the shared datasets (or the builtin sample) and clean them into post text."""

from __future__ import annotations

import csv
import html
import random
import re
import string
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path

from townsquare.datafiles import dict_rows, plain_rows

SAMPLE_FILE = Path(__file__).with_name("sample_posts.txt")
MAX_TEXT = 2000
# Within a category, how often each dataset is drawn (unlisted sources weigh 0.5).
SOURCE_WEIGHTS: dict[str, dict[str, float]] = {
    "benign": {
        "tweeteval-offensive": 3,
        "olid": 2,
        "tweeteval-hate": 2,
        "davidson-hate-offensive": 1,
        "constraint-covid19-fakenews": 1.5,
        "sms-spam-collection": 0.3,
        "sms-smishing-5971": 0.3,
        "covid19-infodemic-en": 0.2,
        "coaid": 0.2,
        "liar": 0.3,
    },
    "offensive": {"tweeteval-offensive": 1, "olid": 1, "davidson-hate-offensive": 1.5},
    "hate": {"davidson-hate-offensive": 1, "tweeteval-hate": 2, "stormfront-hate": 1},
    "spam": {"sms-spam-collection": 1, "sms-smishing-5971": 1, "youtube-spam-collection": 1.5},
    "health_misinfo": {"constraint-covid19-fakenews": 3, "coaid": 0.3, "covid19-infodemic-en": 0.3},
}


def source_weight(category: str, source: str) -> float:
    """How often a dataset is drawn for a category (relative to the others that have it)."""
    return SOURCE_WEIGHTS.get(category, {}).get(source, 0.5)


_MENTION = re.compile(r"(?<![\w@])@\w+")  # not emails (a@b)
_GLUED_USER = re.compile(r"(?<=\w)@(?:USER|user)\b")
_URL_TOKEN = re.compile(r"\bURL\b")
_TAG = re.compile(r"</?[a-zA-Z][^<>]{0,200}>")
_WORDY = re.compile(r"[^\W_]{2}")  # at least two letters or digits in a row


def _davidson(d: Path) -> Iterator[tuple[str, str]]:
    names = {"0": "hate", "1": "offensive", "2": "benign"}
    for row in dict_rows(d / "labeled_data.csv"):
        yield names[row["class"]], row["tweet"]


def _tweeteval(d: Path, positive: str) -> Iterator[tuple[str, str]]:
    for split in ("train", "val", "test"):
        texts = (d / f"{split}_text.txt").read_text(encoding="utf-8").split("\n")
        labels = (d / f"{split}_labels.txt").read_text(encoding="utf-8").split("\n")
        for text, label in zip(texts, labels, strict=False):
            if label.strip() in ("0", "1"):
                yield (positive if label.strip() == "1" else "benign"), text


def _olid(d: Path) -> Iterator[tuple[str, str]]:
    names = {"NOT": "benign", "OFF": "offensive"}
    for row in dict_rows(d / "olid-training-v1.0.tsv", "\t", raw=True):
        yield names[row["subtask_a"]], row["tweet"]
    gold = {row["id"]: row["label"] for row in dict_rows(d / "labels-levela.csv")}
    for row in dict_rows(d / "testset-levela.tsv", "\t", raw=True):
        yield names[gold[row["id"]]], row["tweet"]


_DETOKENIZE = re.compile(r" ([.,!?;:]|'s|'re|'m|'ll|'ve|'d)(?=\s|$)")


def _stormfront(d: Path) -> Iterator[tuple[str, str]]:
    for row in dict_rows(d / "stormfront_sentences.csv"):
        if row["label"] == "hate":  # forum "noHate" sentences read oddly out of context
            yield "hate", _DETOKENIZE.sub(r"\1", row["text"]).replace(" n't", "n't")


def _sms_spam(d: Path) -> Iterator[tuple[str, str]]:
    for row in plain_rows(d / "SMSSpamCollection"):
        if len(row) >= 2:
            yield ("spam" if row[0] == "spam" else "benign"), row[1]


def _smishing(d: Path) -> Iterator[tuple[str, str]]:
    names = {"ham": "benign", "spam": "spam", "smishing": "scam"}
    for row in dict_rows(d / "Dataset_5971.csv"):
        yield names[row["LABEL"].strip().lower()], row["TEXT"]


def _youtube(d: Path) -> Iterator[tuple[str, str]]:
    for path in sorted(d.glob("Youtube*.csv")):
        for row in dict_rows(path):
            yield ("spam" if row["CLASS"].strip() == "1" else "benign"), row["CONTENT"]


def _liar(d: Path) -> Iterator[tuple[str, str]]:
    names = {"pants-fire": "election_misinfo", "false": "election_misinfo", "true": "benign"}
    for split in ("train", "valid", "test"):
        for row in plain_rows(d / f"{split}.tsv"):
            if len(row) > 3 and "elections" in row[3].split(",") and row[1] in names:
                text = re.sub(r"^Says (that )?", "", row[2])
                yield names[row[1]], text[:1].upper() + text[1:]


def _constraint(d: Path) -> Iterator[tuple[str, str]]:
    for split in ("train", "valid", "test"):
        for row in dict_rows(d / f"{split}.tsv", "\t", raw=True):
            yield ("health_misinfo" if row["label"] == "fake" else "benign"), row["tweet"]


def _coaid(d: Path) -> Iterator[tuple[str, str]]:
    for path in sorted(d.glob("*/Claim*COVID-19.csv")):
        for row in dict_rows(path):
            yield ("health_misinfo" if "Fake" in path.name else "benign"), row["title"].strip('"“” ')


def _infodemic(d: Path) -> Iterator[tuple[str, str]]:
    for row in dict_rows(d / "covid19_infodemic_english_data.tsv", "\t", raw=True):
        grade = row["q2_label"][:2]
        if grade in ("4_", "5_", "1_", "2_"):
            yield ("health_misinfo" if grade in ("4_", "5_") else "benign"), row["text"]


LOADERS: dict[str, Callable[[Path], Iterable[tuple[str, str]]]] = {
    "coaid": _coaid,
    "constraint-covid19-fakenews": _constraint,
    "covid19-infodemic-en": _infodemic,
    "davidson-hate-offensive": _davidson,
    "liar": _liar,
    "olid": _olid,
    "sms-smishing-5971": _smishing,
    "sms-spam-collection": _sms_spam,
    "stormfront-hate": _stormfront,
    "tweeteval-hate": partial(_tweeteval, positive="hate"),
    "tweeteval-offensive": partial(_tweeteval, positive="offensive"),
    "youtube-spam-collection": _youtube,
}

Pools = dict[str, dict[str, list[str]]]  # category -> source -> texts
SampleRow = tuple[str, str, str]  # category, language, text


def load_pools(data_dir: Path | None) -> Pools:
    """Read every available dataset under data_dir into texts per category and source; skip missing ones."""
    pools: Pools = {}
    if data_dir is None or not data_dir.is_dir():
        return pools
    for name in sorted(LOADERS):
        seen: set[str] = set()
        try:
            rows = list(LOADERS[name](data_dir / name))
        except (OSError, csv.Error, KeyError, TypeError, ValueError):
            continue  # a missing or malformed dataset is skipped, the rest still count
        for category, text in rows:
            if isinstance(text, str) and _WORDY.search(_TAG.sub("", text)) and text not in seen:
                seen.add(text)
                pools.setdefault(category, {}).setdefault(name, []).append(text)
    return pools


def sample_rows(path: Path = SAMPLE_FILE) -> list[SampleRow]:
    """The builtin sample posts as (category, language, text) rows."""
    rows: list[SampleRow] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t", 2)
        if len(parts) == 3 and not line.startswith(("#", "category\t")):
            rows.append((parts[0], parts[1], parts[2]))
    return rows


def sample_pools(rows: Iterable[SampleRow]) -> Pools:
    """Pools from the English builtin sample rows (source "builtin")."""
    pools: Pools = {}
    for category, language, text in rows:
        if language == "en":
            pools.setdefault(category, {}).setdefault("builtin", []).append(text)
    return pools


# --- text cleaning --------------------------------------------------------------------------------------


def short_link(rng: random.Random) -> str:
    """A plausible shortened link."""
    return "https://t.co/" + "".join(rng.choices(string.ascii_letters + string.digits, k=10))


def clean_text(text: str, rng: random.Random, handles: list[str], reply_to: str | None = None) -> str:
    """Turn dataset placeholders (@USER, URL, HTML entities and tags) into plausible post text.

    Mentions become random handles; a reply starts by mentioning the handle it replies to.
    """
    text = html.unescape(text).replace("\ufeff", "")
    if '""' in text:  # CSV quoting left in some tweets: "text with ""quotes"""
        text = re.sub('"{2,}', '"', text).removeprefix('"').removesuffix('"')
    text = re.sub("\ufffd(?=\\d)", "£", text).replace("\ufffd", "")  # lost pound signs in SMS data
    text = _TAG.sub(" ", text)
    text = _URL_TOKEN.sub(lambda _: short_link(rng), text)
    text = _GLUED_USER.sub(" @USER", text)  # "donate@USER": a placeholder glued to the word before it
    text = _MENTION.sub(lambda _: "@" + rng.choice(handles), text)
    text = re.sub(r"\s+", " ", text).strip()
    if reply_to is not None:
        text = (
            "@" + reply_to + " " + (text.split(" ", 1)[1] if _MENTION.match(text) and " " in text else text)
        )
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT - 1].rsplit(" ", 1)[0] + "…"
    return text
