"""Ban-evasion fingerprints: names, style, hashes, serialisation, the matcher, the benchmark's quick run."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from townsquare.bans.fingerprint import (
    AccountProfile,
    EvasionParams,
    Fingerprint,
    Matcher,
    fingerprint,
    name_key,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "datasets" / "stormfront-hate" / "stormfront_sentences.csv"

CASUAL = (
    "lol ok so i went down to the lake again today... water was freezing but whatever, gonna go back tmrw!!",
    "honestly i dont get why ppl complain so much... just grab a coat and go outside lol!! its not that bad",
    "ok so update... the lake froze over last nite lol, gonna try ice fishing this weekend if its thick!!",
    "my cousin says im crazy lol... maybe, but the fish dont bite themselves!! gonna bring the big rod tmrw",
)
FORMAL = (
    "The committee has reviewed the proposal; however, several questions regarding its funding remain open.",
    "In my view, the council should publish its accounts annually, as is required of comparable bodies.",
    "It is, therefore, reasonable to ask whether the present arrangement serves the residents well.",
)
SHOUTY = (
    "THIS IS WHAT I HAVE BEEN SAYING FOR YEARS. NOBODY LISTENS. READ THE REPORT YOURSELF, IT IS ALL THERE.",
    "AGAIN: THE NUMBERS DO NOT ADD UP. WHO SIGNED THIS OFF? I WANT NAMES. I WANT ANSWERS. NOW.",
)


def fp(handle: str, display: str = "", posts: tuple[str, ...] = (), **kw: object) -> Fingerprint:
    """A fingerprint from a few fields."""
    return fingerprint(AccountProfile(handle=handle, display_name=display, posts=posts, **kw))  # type: ignore[arg-type]


def test_name_keys_fold_disguises() -> None:
    assert name_key("john_smith88") == "john smith"
    assert name_key("j0hnsmith") == "johnsmith"
    assert name_key("TheReal_J0hnSmith1488") == "john smith"
    assert name_key("Ｊｏｈｎ＿Ｓｍｉｔｈ") == "john smith"
    assert name_key("") == ""


def test_name_variants_score_high_and_unrelated_names_low() -> None:
    matcher = Matcher([("old", fp("john_smith88", "John Smith"))])
    for variant in ("j0hnsmith", "smith_john", "John.Smith2024", "the_real_johnsmith"):
        assert matcher.components(fp(variant))["name"][0] >= 0.95, variant
    assert matcher.components(fp("jon_smith"))["name"][0] >= 0.6  # a typo
    for other in ("nordic_oak", "QuietHeron", "mary_jones"):
        assert matcher.components(fp(other))["name"][0] < 0.35, other


def test_short_and_display_only_names_count_less() -> None:
    matcher = Matcher([("old", fp("riverpebble77", "Michael"))])
    assert matcher.components(fp("someoneelse", "Michael"))["name"][0] < 0.7  # a first name, display only
    assert matcher.components(fp("riverpebble"))["name"][0] == 1.0


def test_same_author_style_beats_a_different_author() -> None:
    matcher = Matcher([("casual", fp("a", posts=CASUAL[:2])), ("formal", fp("b", posts=FORMAL[:2])),
                       ("shouty", fp("c", posts=SHOUTY[:1]))])  # fmt: skip
    comps = matcher.components(fp("new", posts=CASUAL[2:]))
    assert comps["style"][0] > comps["style"][1] + 1
    assert comps["style"][0] > comps["style"][2] + 1
    formal = matcher.components(fp("new2", posts=FORMAL[2:]))
    assert formal["style"][1] == max(formal["style"])


def _synthetic_author(rng: random.Random, n: int) -> list[str]:
    """Posts from one made-up author: common words plus a few pet words and a punctuation habit."""
    common = "the a and to of in it is that for on with was as i be at this have not but they".split()
    pets = rng.sample(
        "indeed frankly basically whatever honestly surely perhaps anyway totally kinda".split(), 3
    )
    mark = rng.choice(["!!", "...", " ?", ";", " :)"])
    return [" ".join(rng.choice(common + pets * 3) for _ in range(25)) + mark for _ in range(n)]


def test_pooled_style_ranks_the_same_author_first() -> None:
    rng = random.Random(7)
    authors = [_synthetic_author(rng, 8) for _ in range(40)]  # enough for idf, centring and s-norm
    matcher = Matcher([(f"a{i}", fp(f"user{i}", posts=tuple(p[:4]))) for i, p in enumerate(authors)])
    assert matcher._style.pooled
    hits = sum(
        int(matcher.components(fp("x", posts=tuple(p[4:])))["style"].argmax() == i)
        for i, p in enumerate(authors)
    )
    assert hits >= 30


def test_shared_device_hash_dominates_and_can_be_switched_off() -> None:
    banned = [
        ("b1", fp("alpha_wolf", posts=FORMAL, device_hashes=("dev-1",))),
        ("b2", fp("quiet_heron", posts=SHOUTY)),
    ]
    cand = fp("totally_new_person", posts=CASUAL, device_hashes=("dev-1",), ip_hashes=("ip-9",))
    hit = Matcher(banned).best(cand)
    assert hit is not None
    assert hit[0] == "b1"
    assert hit[1].components["device"] == 1.0
    assert any(e["component"] == "device" and e["shared"] == ["dev-1"] for e in hit[1].evidence)
    assert Matcher(banned, EvasionParams(use_device_hashes=False)).best(cand) is None


def test_round_trip_through_json() -> None:
    original = fp("J0hn_Smith88", "John Smith", posts=CASUAL + ("see https://www.example.org/page",),
                  bio="Proud father from Ohio. Fishing fan.", links=("https://john.blogspot.com/",),
                  device_hashes=("d1",), ip_hashes=("i1", "i2"))  # fmt: skip
    again = Fingerprint.from_dict(json.loads(json.dumps(original.to_dict())))
    assert again == original
    assert "example.org" in again.shared_domains
    assert again.link_urls == frozenset({"john.blogspot.com"})
    assert "lake" not in json.dumps(original.to_dict())  # no raw post text is kept


def test_matcher_finds_the_evader_and_respects_the_threshold() -> None:
    banned = [
        ("casual", fp("lakeside_larry", "Larry", posts=CASUAL[:2])),
        ("formal", fp("council_watch", posts=FORMAL[:2])),
        ("shouty", fp("READ_THE_REPORT", posts=SHOUTY[:1])),
    ]
    matcher = Matcher(banned)
    ranked = matcher.score(fp("l4k3side_larry99", "Larry", posts=CASUAL[2:]))
    assert [r[0] for r in ranked][0] == "casual"
    assert [m.score for _, m in ranked] == sorted((m.score for _, m in ranked), reverse=True)
    best = matcher.best(fp("l4k3side_larry99", "Larry", posts=CASUAL[2:]))
    assert best is not None
    assert best[0] == "casual"
    assert best[1].score >= matcher.params.threshold
    kinds = {e["component"] for e in best[1].evidence}
    assert {"name", "style"} <= kinds
    assert matcher.best(fp("garden_gnome", posts=("Tomatoes need sun, water and patience.",))) is None
    strict = Matcher(banned, replace(EvasionParams(), threshold=0.999999))
    assert strict.best(fp("l4k3side_larry99", "Larry", posts=CASUAL[2:])) is None


def test_domains_in_posts_count_and_everyday_ones_do_not() -> None:
    old = fp("aaa", posts=("look : http : //www.rare-site.net/x and https://www.youtube.com/watch?v=1",))
    assert old.shared_domains == frozenset({"rare-site.net", "youtube.com"})
    matcher = Matcher([("old", old)])
    assert matcher.components(fp("bbb", posts=("rare-site.net again",)))["domains"][0] > 0.9
    assert matcher.components(fp("ccc", posts=("https://youtube.com/watch?v=2",)))["domains"][0] == 0.0


def test_empty_profiles_do_not_crash() -> None:
    empty = fingerprint(AccountProfile(handle=""))
    assert empty.style == ()
    assert empty.n_posts == 0
    assert Matcher([]).best(empty) is None
    assert Matcher([]).score(empty) == []
    matcher = Matcher([("e", empty), ("x", fp("someone", posts=CASUAL))])
    ranked = matcher.score(empty)
    assert len(ranked) == 2
    assert all(0.0 <= m.score <= 1.0 for _, m in ranked)
    assert matcher.best(empty) is None
    assert matcher.best(fp("someone_else", posts=("hi",))) is None


@pytest.mark.skipif(not DATA.exists(), reason="the Stormfront dataset is not present")
def test_bench_quick_run(tmp_path: Path) -> None:
    out = tmp_path / "ban_evasion.json"
    cmd = [sys.executable, str(ROOT / "bench" / "ban_evasion.py"), "--quick", "--out", str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    res = json.loads(out.read_text(encoding="utf-8"))
    assert {"precision", "recall", "threshold", "with_device_hashes", "params", "counts", "curve", "target",
            "notes", "timestamp", "machine"} <= set(res)  # fmt: skip
    test = res["counts"]["test"]
    assert test["non_evaders"] == 99 * test["evaders"]
    assert 0.0 <= res["precision"] <= 1.0
    assert 0.0 <= res["recall"] <= 1.0
    assert res["with_device_hashes"]["recall"] >= res["recall"]
    assert res["params"]["matcher"]["threshold"] == res["threshold"]
