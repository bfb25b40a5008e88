"""Tests for the demo data builder: shape, ordering, determinism and the builtin fallback."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from townsquare.config import PROJECT_ROOT, Settings
from townsquare.demo.build import DemoData, build_demo, write_jsonl
from townsquare.demo.campaigns import CAMPAIGNS
from townsquare.detection.textbanks import load_textbanks, scan_all

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
REASONS = {
    "hate_speech",
    "harassment_threats",
    "violent_extremism",
    "election_misinformation",
    "health_misinformation",
    "scams_fraud",
    "spam",
    "impersonation",
    "private_information",
    "self_harm",
    "child_safety",
    "ban_evasion",
    "other",
}
HARMFUL_REASON = {
    "hate": "hate_speech",
    "offensive": "harassment_threats",
    "spam": "spam",
    "scam": "scams_fraud",
    "health_misinfo": "health_misinformation",
    "election_misinfo": "election_misinformation",
    "doxxing": "private_information",
    "threat": "harassment_threats",
}
# The text bank each campaign's posts should trip, and the share of its copies that may be acted on alone.
CAMPAIGN_BANK = {
    "crypto_doubling": ("scams_fraud", 0.5),
    "parcel_smishing": ("scams_fraud", 0.8),
    "fake_followers": ("spam", 0.8),
    "election_procedure": ("election_misinformation", 0.2),
    "doxxing": ("private_information", 0.2),
    "threats": ("harassment_threats", 0.0),
    "dehumanising": ("hate_speech", 0.0),
}


def _data_dir() -> Path:
    """The shared datasets: TOWNSQUARE_DATA_DIR through Settings, else ../shared/datasets."""
    configured = Settings().data_dir
    return configured if configured.is_dir() else Path(__file__).parents[2].parent / "shared" / "datasets"


def _ts(value: str) -> datetime:
    assert value.endswith("Z")
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _of(data: DemoData, kind: str) -> list[dict[str, Any]]:
    return [r for r in data.records if r["kind"] == kind]


@pytest.fixture(scope="module")
def demo() -> DemoData:
    return build_demo(_data_dir(), now=NOW)


@pytest.fixture(scope="module")
def builtin(tmp_path_factory: pytest.TempPathFactory) -> DemoData:
    return build_demo(tmp_path_factory.mktemp("empty") / "nope", n_posts=1000, now=NOW)


def test_source_is_datasets_when_the_shared_dir_exists(demo: DemoData) -> None:
    expected = "datasets" if _data_dir().is_dir() else "builtin"
    assert demo.source == expected
    if expected == "datasets":
        assert any(k.startswith("from_") and k != "from_builtin" for k in demo.counts)


def test_builtin_fallback_when_dir_missing(builtin: DemoData) -> None:
    assert builtin.source == "builtin"
    assert builtin.counts["post"] == 1000
    assert set(builtin.counts) >= {"posts_benign", "posts_hate", "posts_scam", "posts_election_misinfo"}


def test_builtin_fallback_when_dir_is_none() -> None:
    data = build_demo(None, n_posts=100, now=NOW)
    assert data.source == "builtin"
    assert data.counts["post"] == 100


def test_a_missing_or_broken_dataset_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "sms-spam-collection").mkdir()
    lines = [f"ham\tSee you at the station at {h} then" for h in range(1, 40)]
    lines += [f"spam\tWIN a prize number {n}! Text CLAIM to 80{n:03d} now" for n in range(20)]
    (tmp_path / "sms-spam-collection" / "SMSSpamCollection").write_text("\n".join(lines), encoding="utf-8")
    (tmp_path / "davidson-hate-offensive").mkdir()
    (tmp_path / "davidson-hate-offensive" / "labeled_data.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    data = build_demo(tmp_path, n_posts=200, now=NOW)
    assert data.source == "datasets"
    from_data = {k for k in data.counts if k.startswith("from_") and not k.startswith("from_campaign:")}
    assert from_data == {"from_sms-spam-collection", "from_builtin"}
    posts = [p["platform_id"] for p in _of(data, "post") if p["platform_id"] not in data.campaigns]
    assert {data.labels[p] for p in posts} == {"benign", "spam"}


def test_same_seed_same_records_other_seed_differs() -> None:
    first = build_demo(_data_dir(), n_posts=400, now=NOW)
    again = build_demo(_data_dir(), n_posts=400, now=NOW)
    other = build_demo(_data_dir(), n_posts=400, seed=7, now=NOW)
    assert first.records == again.records
    assert first.counts == again.counts
    assert first.campaigns == again.campaigns
    assert first.labels == again.labels
    assert first.records != other.records


@pytest.mark.parametrize("which", ["demo", "builtin"])
def test_every_reference_points_backwards(which: str, request: pytest.FixtureRequest) -> None:
    data: DemoData = request.getfixturevalue(which)
    accounts: dict[str, datetime] = {}
    posts: dict[str, datetime] = {}
    views: dict[str, int] = {}
    seen_post = False
    for r in data.records:
        if r["kind"] == "account":
            assert not seen_post, "accounts come first"
            accounts[r["platform_id"]] = _ts(r["created_at"])
        elif r["kind"] == "post":
            seen_post = True
            created = _ts(r["created_at"])
            assert r["author"] in accounts
            assert accounts[r["author"]] < created
            for ref in (r["reply_to"], r["quote_of"]):
                assert ref is None or (ref in posts and posts[ref] <= created)
            assert not posts or (max(posts) < r["platform_id"] and max(posts.values()) <= created)
            posts[r["platform_id"]] = created
        elif r["kind"] == "metrics":
            assert r["post"] in posts
            assert posts[r["post"]] < _ts(r["observed_at"])
            assert r["views"] > views.get(r["post"], -1), "views only grow"
            views[r["post"]] = r["views"]
        else:
            assert r["kind"] == "report"
            assert r["reporter"] in accounts
            subjects = posts if r["subject_type"] == "post" else accounts
            assert r["subject"] in subjects
            assert subjects[r["subject"]] < _ts(r["created_at"])


def test_counts_roughly_as_specified(demo: DemoData) -> None:
    c = demo.counts
    assert 300 <= c["account"] <= 500
    assert c["post"] == 3000 == len(_of(demo, "post"))
    assert 2 * 3000 <= c["metrics"] <= 4 * 3000
    assert 250 <= c["report"] <= 350
    assert 0.07 <= c["replies"] / 3000 <= 0.13
    n_data = 3000 - len(demo.campaigns)  # campaign posts are part of the budget
    assert 0.65 <= c["posts_benign"] / n_data <= 0.75
    assert c["non_english"] >= 25
    assert c["protected"] >= 3
    assert c["verified"] >= c["protected"]
    followers = [a["follower_count"] for a in _of(demo, "account")]
    assert sum(f > 100_000 for f in followers) >= 3
    assert sorted(followers)[len(followers) // 2] < 2_000, "most accounts are small"
    for category in ("offensive", "hate", "spam", "scam", "health_misinfo", "election_misinfo"):
        assert c[f"posts_{category}"] >= 40, category
    assert c["posts_doxxing"] >= 5
    assert c["posts_threat"] >= 5


def test_each_post_has_two_to_four_snapshots(demo: DemoData) -> None:
    per_post = Counter(m["post"] for m in _of(demo, "metrics"))
    assert len(per_post) == 3000
    assert set(per_post.values()) <= {2, 3, 4}
    last = {m["post"]: m["views"] for m in _of(demo, "metrics")}
    assert max(last.values()) > 100_000, "a few posts go viral"


def test_bad_actors_post_most_of_the_hate_and_scams(demo: DemoData) -> None:
    roles = {k: v for k, v in demo.labels.items() if k.startswith("acct-")}
    harmful = [p for p in _of(demo, "post") if demo.labels[p["platform_id"]] in ("hate", "scam")]
    by_bad = sum(1 for p in harmful if roles.get(p["author"]) in ("hate", "scam", "impostor", "throwaway"))
    assert by_bad / len(harmful) > 0.5


def test_reports_mostly_match_harmful_posts(demo: DemoData) -> None:
    reports = _of(demo, "report")
    assert {r["reason"] for r in reports} <= REASONS
    assert all(r["text"] for r in reports)
    on_posts = [r for r in reports if r["subject_type"] == "post"]
    matching = [r for r in on_posts if HARMFUL_REASON.get(demo.labels[r["subject"]]) == r["reason"]]
    noise = [r for r in on_posts if demo.labels[r["subject"]] == "benign"]
    assert len(matching) > len(on_posts) / 2
    assert 0 < len(noise) < len(on_posts) / 3
    assert 0 < len(reports) - len(on_posts) < 30


@pytest.mark.parametrize("which", ["demo", "builtin"])
def test_texts_are_clean_non_empty_and_bounded(which: str, request: pytest.FixtureRequest) -> None:
    data: DemoData = request.getfixturevalue(which)
    handles = {a["handle"] for a in _of(data, "account")}
    for post in _of(data, "post"):
        text = post["text"]
        assert 0 < len(text) <= 2000
        assert text == text.strip()
        assert "@USER" not in text
        assert "&amp;" not in text
        assert " URL " not in f" {text} "
        if post["reply_to"]:
            assert text.split(" ", 1)[0][1:] in handles


def test_records_are_json_with_utc_z_times(demo: DemoData, tmp_path: Path) -> None:
    window_start = NOW - timedelta(days=14)
    for r in demo.records:
        json.dumps(r)
        for key in ("created_at", "observed_at"):
            if key in r:
                assert _ts(r[key]) <= NOW
    assert all(window_start <= _ts(p["created_at"]) for p in _of(demo, "post"))
    path = tmp_path / "out" / "demo.jsonl"
    assert write_jsonl(demo.records, path) == len(demo.records)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == demo.records


def test_non_english_posts_carry_language_codes(demo: DemoData) -> None:
    languages = Counter(p["language"] for p in _of(demo, "post"))
    foreign = {lang for lang in languages if lang not in ("en", None)}
    assert len(foreign) >= 5
    assert all(isinstance(lang, str) and len(lang) == 2 for lang in foreign)
    assert sum(languages[lang] for lang in foreign) >= 25
    assert languages["en"] > languages[None] > 0, "some English posts leave language unset"


# Coordinated campaigns -----------------------------------------------------------------------------------


def test_campaigns_take_their_share_of_the_budget_and_are_labelled(demo: DemoData) -> None:
    assert 150 <= len(demo.campaigns) <= 250
    assert demo.counts["post"] == 3000
    assert set(demo.campaigns.values()) == {c.name for c in CAMPAIGNS}
    category = {c.name: c.category for c in CAMPAIGNS}
    for pid, name in demo.campaigns.items():
        assert demo.labels[pid] == category[name]
        assert demo.counts[f"from_campaign:{name}"] >= 5
    assert sum(v for k, v in demo.counts.items() if k.startswith("from_campaign:")) == len(demo.campaigns)


def test_builtin_fallback_has_campaigns_too(builtin: DemoData) -> None:
    assert 40 <= len(builtin.campaigns) <= 80
    assert builtin.counts["post"] == 1000


def test_campaigns_come_in_waves_from_a_few_repeat_offenders(demo: DemoData) -> None:
    posts = {p["platform_id"]: p for p in _of(demo, "post")}
    for campaign in CAMPAIGNS:
        mine = sorted(pid for pid, name in demo.campaigns.items() if name == campaign.name)
        authors = Counter(posts[pid]["author"] for pid in mine)
        assert 1 <= len(authors) <= 8, campaign.name
        assert authors.most_common(1)[0][1] >= 3, f"{campaign.name}: someone posts it again and again"
        assert all(demo.labels.get(a) not in (None, "official", "notable") for a in authors), campaign.name
        times = [_ts(posts[pid]["created_at"]) for pid in mine]
        gaps = sorted((b - a).total_seconds() for a, b in zip(times, times[1:], strict=False))
        assert gaps[len(gaps) // 2] < 30 * 60, f"{campaign.name}: copies arrive minutes apart"
    accounts = _of(demo, "account")
    assert len({a["handle"].lower() for a in accounts}) == len(accounts)
    throwaways = [a for a in accounts if demo.labels.get(a["platform_id"]) == "throwaway"]
    assert 5 <= len(throwaways) <= 12
    for account in throwaways:
        first = min(_ts(p["created_at"]) for p in posts.values() if p["author"] == account["platform_id"])
        assert NOW - timedelta(days=18) < _ts(account["created_at"]) < first, "fresh, made for the wave"


def test_campaign_copies_vary_and_some_are_disguised(demo: DemoData) -> None:
    texts = [p["text"] for p in _of(demo, "post") if p["platform_id"] in demo.campaigns]
    assert len(set(texts)) >= 0.9 * len(texts), "amounts, links, handles and emoji differ"
    invisible = sum(any(c in t for c in "\u200b\u200d\u2060") for t in texts)
    lookalike = sum(any("\u0400" <= c <= "\u04ff" for c in t) for t in texts)
    assert invisible >= 3
    assert lookalike >= 3


def test_campaigns_are_caught_by_the_shipped_text_banks(demo: DemoData) -> None:
    """The demo promises automated actions: the banks must see through the campaigns' disguises."""
    banks = load_textbanks(PROJECT_ROOT / "textbanks")
    texts = {p["platform_id"]: p["text"] for p in _of(demo, "post")}
    for name, (policy, auto_share) in CAMPAIGN_BANK.items():
        pids = [pid for pid, n in demo.campaigns.items() if n == name]
        scores = [{s.policy: s.score for s in scan_all(banks, texts[pid])}.get(policy, 0.0) for pid in pids]
        threshold = banks[policy].auto_threshold or 1.0
        assert sum(s > 0 for s in scores) >= 0.9 * len(pids), name
        assert sum(s >= threshold for s in scores) >= auto_share * len(pids), name
