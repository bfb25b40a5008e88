#!/usr/bin/env python
"""Ban-evasion benchmark: banned Stormfront authors come back under new accounts; do we find them?

Data: the Stormfront sentences (../shared/datasets/stormfront-hate). Sentences of one post are joined back
into that post. Authors with >= 10 sentences ("qualified") are split chronologically at the post boundary
nearest the middle (one-post authors at the middle sentence) into an old (banned) half and a new half.
Authors with 5-9 sentences ("fillers", as much text as a half) are whole accounts, banned or not; they are
needed because 194 qualified authors cannot give 99 non-evaders per evader.

Authors are split, seeded, into a development half (where the default weights and threshold of
townsquare.bans.fingerprint were chosen) and a held-out test half (the headline figure). Within a fold,
each qualified author is the evader of one round (a fresh "world"):
- every other author of the fold is banned or not, by a coin flip; banned qualified authors contribute
  their old half, the evader its old half;
- new accounts: the evader's new half plus 99 non-evaders (new halves of unbanned qualified authors and
  unbanned fillers), taken first from authors who posted in one of the evader's subforums (hard
  negatives: same forum, same topics), so exactly one new account in 100 is an evader;
- names: a deterministic generator (person names with common first names weighted up, or two-word
  pseudonyms). Half of the evaders reuse a variant of their old name (leetspeak, digits, separators,
  swapped order, a typo, "the_real_"...), the other half pick an unrelated one; 10% of non-evaders get
  a name that shares a part with a banned account of the round (coincidentally similar names).
- bios: 60% empty, else short template bios; profile links for 10% of accounts; evaders who reuse a name
  keep their old bio and link half the time. The dataset has no profiles, so these are synthetic, and the
  figure rests mostly on writing style and names (the domains in posts are real).
- device hashes (second figure only): every account has its own; an evader's new account reuses its
  old device hash with probability 0.6; non-evaders never share one.

Every new account is scored against every banned fingerprint of its round. An account is flagged when its
best score reaches the threshold; a flag is correct when the best match is its own old account.
Precision = correct flags / flags, recall = correctly flagged evaders / evaders (pooled over rounds).

Also reported: the same test worlds with every sentence shuffled before halving (optimistic: sentences of
one post on both sides), style-only and profile-only ablations, and the scoring time against 5,000 banned.
`--fit` reruns the grid search that chose the default weights, on the dev fold only, and prints it.

Run: `.venv/bin/python bench/ban_evasion.py [--quick] [--seed N] [--out PATH] [--fit]`.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import itertools
import json
import math
import os
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from bench_common import machine
from townsquare.bans.fingerprint import AccountProfile, EvasionParams, Fingerprint, Matcher, fingerprint
from townsquare.config import PROJECT_ROOT

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "ban_evasion.json"
DATA = Path("stormfront-hate") / "stormfront_sentences.csv"
SETUP = {
    "min_sentences": 10,  # qualified authors: evaders, and banned or new accounts
    "filler_sentences": [5, 9],  # whole-account authors, banned or new, never evaders
    "negatives_per_evader": 99,  # one evader per 100 new accounts
    "banned_share": 0.5,  # chance each other author of the fold is banned in a round
    "name_reuse_share": 0.5,  # evaders who reuse a variant of their old name
    "hard_negative_name_share": 0.1,  # non-evaders named like a banned account of the round
    "bio_share": 0.4,
    "link_share": 0.1,
    "evader_keeps_bio_link": 0.5,  # for name reusers only
    "device_reuse": 0.6,  # second figure only
    "dev_share": 0.5,
}
TARGET = {"precision": 0.90, "recall": 0.60}
QUICK_WORLDS = 12
FIT_SEEDS = 3
THRESHOLDS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)

FIRST = (
    "james john robert michael william david richard joseph thomas charles christopher daniel matthew "
    "anthony mark donald steven paul andrew joshua kenneth kevin brian george timothy ronald edward jason "
    "jeffrey ryan jacob gary nicholas eric jonathan stephen larry justin scott brandon benjamin samuel "
    "gregory alexander frank patrick raymond jack dennis jerry tyler aaron jose adam nathan henry douglas "
    "zachary peter kyle ethan walter noah jeremy christian keith roger terry gerald harold sean austin "
    "carl arthur lawrence dylan jesse jordan bryan billy joe bruce gabriel logan albert willie alan juan "
    "wayne elijah randy roy vincent ralph eugene russell bobby mason philip louis mary patricia jennifer "
    "linda elizabeth barbara susan jessica sarah karen lisa nancy betty margaret sandra ashley kimberly "
    "emily donna michelle carol amanda dorothy melissa deborah stephanie rebecca sharon laura cynthia "
    "kathleen amy angela shirley anna brenda pamela emma nicole helen samantha katherine christine debra "
    "rachel carolyn janet catherine maria heather diane ruth julie olivia joyce virginia victoria kelly "
    "lauren christina joan evelyn judith megan andrea cheryl hannah jacqueline martha gloria teresa ingrid "
    "sven erik lars bjorn olaf astrid freya gunnar"
).split()
LAST = (
    "smith johnson williams brown jones miller davis wilson anderson taylor thomas moore martin jackson "
    "thompson white harris clark lewis robinson walker young allen king wright scott hill green adams "
    "baker nelson carter mitchell roberts turner phillips campbell parker evans edwards collins stewart "
    "morris rogers reed cook morgan bell murphy bailey cooper richardson cox howard ward peterson gray "
    "james watson brooks kelly sanders price bennett wood barnes ross henderson coleman jenkins perry "
    "powell long patterson hughes flores washington butler simmons foster bryant alexander russell "
    "griffin hayes myers ford hamilton graham sullivan wallace woods cole west jordan owens reynolds "
    "fisher ellis harrison gibson mcdonald marshall murray freeman wells webb simpson stevens tucker "
    "porter hunter hicks crawford henry boyd mason kennedy warren dixon burns gordon shaw holmes rice "
    "hunt black daniels palmer mills nichols grant knight ferguson stone hawkins dunn perkins hudson "
    "spencer stephens payne pierce berry matthews arnold wagner willis ray watkins olson carroll duncan "
    "snyder hart cunningham bradley lane andrews ruiz harper fox riley armstrong carpenter weaver greene "
    "lawrence elliott chavez sims austin peters kelley franklin lawson fields larsen nilsson lindqvist"
).split()
ADJ = (
    "iron silver northern southern old lone wild red black white grey golden green blue dark bright "
    "silent quiet rusty stormy frozen crimson ancient brave free proud true honest loyal steady hidden "
    "western eastern highland lowland mountain river forest winter summer autumn spring thunder stone "
    "copper oak pine cedar misty dusty rolling lucky sleepy angry happy jolly humble mighty noble royal "
    "amber arctic ashen autumnal azure bitter bold broken burning calm clever cold crooked curious daring "
    "deep distant drowsy eager electric empty fading fearless fierce flying foggy fuzzy gentle giant "
    "gloomy glorious grumpy hollow icy idle jagged keen last late lazy little lost loud lucid lunar "
    "mellow merry midnight misty modest muddy mystic narrow nimble odd pale patient plain polar quick "
    "ragged rapid restless rough rugged rustic salty sandy scarlet shady sharp shining shy sly smoky "
    "solar solid sour spare stark steel sterling stout strange sunny swift tall tame tidy tired tough "
    "twin urban velvet vivid wandering wary weary windy wise wooden young zealous"
).split()
NOUN = (
    "wolf eagle hawk bear fox raven lion tiger falcon oak pine river stone hammer shield sword arrow "
    "rider walker hunter farmer smith sailor ranger knight warden keeper pilgrim wanderer drifter "
    "patriot yeoman viking saxon celt norse crow owl stag boar bison mustang hound badger otter heron "
    "anvil forge lantern compass anchor harbor valley ridge meadow prairie canyon glacier comet "
    "acorn arrowhead axe banner barrel beacon bell birch bluff boulder bramble bridge brook buck "
    "cabin candle castle cliff clover coyote crane creek cricket dagger deer dove dragon drum elk ember "
    "fern field flint frost gale garden goat granite gull hare hearth hill hornet island ivy jackal "
    "juniper kestrel kettle lark ledge lynx magpie maple marsh mill moose moth oar orchard osprey panther "
    "pebble pike plow pond quarry quill rabbit rain reed robin rook sparrow spear spruce squire starling "
    "steed storm summit swan thistle thorn timber torch trout tundra viper walrus willow wren yak"
).split()
SURNAME_HEADS = (
    "ash black brad bright brook cald chap clay cran dal dun els fair fen gar glad hal har hath hol kil "
    "kings lang lind mal mar new nor oak pen rad red ros ruth sand shel stan stock thorn wal wat wes whit "
    "win wood york bar car dar ed hen ken lamb mont pres ral sel tal ver wil"
).split()
SURNAME_TAILS = (
    "ton son ley field wood worth ford well by ham stead more wick dale er man ridge brook hurst combe "
    "land croft ett ing ings holm gate thorpe"
).split()
ROLE = "father mother husband wife veteran teacher farmer engineer student carpenter nurse mechanic".split()
PLACE = "Ohio Texas Ontario Bavaria Yorkshire Oregon Sweden Norway Ireland Scotland Virginia Montana".split()
HOBBY = (
    "history fishing hunting gardening music reading hiking football chess cooking woodwork genealogy".split()
)
LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}


def zipf_choice(rng: random.Random, items: list[str], exponent: float) -> str:
    """Pick with weights 1 / rank^exponent, so a few names are common (as John and Mary are)."""
    weights = [1 / (r + 1) ** exponent for r in range(len(items))]
    return rng.choices(items, weights=weights)[0]


@dataclass
class Identity:
    """A generated name: its parts (for variants), handle, display name, bio and link."""

    parts: list[str]
    person: bool
    handle: str
    display: str
    bio: str = ""
    links: tuple[str, ...] = ()


def digits(rng: random.Random) -> str:
    """A handle suffix: nothing, a year, a short number."""
    return rng.choice(
        ["", "", "", str(rng.randint(1, 99)), str(rng.randint(1950, 2010)), str(rng.randint(100, 999))]
    )


def render(rng: random.Random, parts: list[str], person: bool) -> tuple[str, str]:
    """Handle and display name from name parts."""
    a, b = parts
    fmts = (
        ["{a}_{b}", "{a}{b}", "{a0}{b}", "{a}.{b}", "{A}{B}", "{b}{a0}", "{a}_{b0}"]
        if person
        else ["{A}{B}", "{a}_{b}", "{a}{b}", "{A}_{B}", "the{A}{B}"]
    )
    handle = rng.choice(fmts).format(a=a, b=b, A=a.title(), B=b.title(), a0=a[0], b0=b[0]) + digits(rng)
    if person:
        display = rng.choices([f"{a.title()} {b.title()}", a.title(), f"{a.title()} {b[0].upper()}.", ""],
                              weights=[5, 2, 1, 2])[0]  # fmt: skip
    else:
        display = rng.choices([f"{a.title()} {b.title()}", "", rng.choice(FIRST).title()], weights=[4, 4, 2])[
            0
        ]
    return handle, display


def new_identity(rng: random.Random, setup: dict[str, Any], like: Identity | None = None) -> Identity:
    """A fresh name (sharing one part with `like` when given: a coincidentally similar name)."""
    person = like.person if like else rng.random() < 0.55
    if person:
        # Common first names come up often; surnames half from a common list, half rarer compounds.
        last = (
            zipf_choice(rng, LAST, 0.5)
            if rng.random() < 0.5
            else rng.choice(SURNAME_HEADS) + rng.choice(SURNAME_TAILS)
        )
        parts = [zipf_choice(rng, FIRST, 0.7), last]
    else:
        parts = [zipf_choice(rng, ADJ, 0.3), zipf_choice(rng, NOUN, 0.3)]
    if like:
        keep = rng.randrange(2)
        parts[keep] = like.parts[keep]
    handle, display = render(rng, parts, person)
    bio = ""
    if rng.random() < setup["bio_share"]:
        h1, h2, h3 = rng.sample(HOBBY, 3)
        bits = [f"{rng.choice(ROLE).title()} from {rng.choice(PLACE)}.", f"Into {h1} and {h2}.",
                f"Proud {rng.choice(ROLE)}.", f"{h3.title()} fan."]  # fmt: skip
        bio = " ".join(rng.sample(bits, rng.randint(1, 2)))
    links: tuple[str, ...] = ()
    if rng.random() < setup["link_share"]:
        compact = "".join(parts)
        choices = [f"https://www.youtube.com/@{compact}{rng.randint(1, 99)}", f"https://{compact}.blogspot.com/",
                   f"https://www.{parts[1]}-{parts[0]}.net/about"]  # fmt: skip
        links = (rng.choice(choices),)
    return Identity(parts, person, handle, display, bio, links)


def typo(rng: random.Random, s: str) -> str:
    """One keyboard slip: drop, double, swap or replace a letter."""
    letters = [i for i, c in enumerate(s) if c.isalpha()]
    if len(letters) < 4:
        return s
    i = rng.choice(letters[1:-1])
    op = rng.randrange(4)
    if op == 0:
        return s[:i] + s[i + 1 :]
    if op == 1:
        return s[:i] + s[i] + s[i:]
    if op == 2:
        return s[:i] + s[i + 1] + s[i] + s[i + 2 :]
    return s[:i] + rng.choice("aeiourstnl") + s[i + 1 :]


def variant(rng: random.Random, old: Identity, setup: dict[str, Any]) -> Identity:
    """The evader's new name, a variant of the old one (one to three transformations)."""
    parts = list(old.parts)
    if old.person and rng.random() < 0.25:
        parts.reverse()
    handle, _ = render(rng, parts, old.person)
    for op in rng.sample(["leet", "digits", "typo", "wrap", "same"], rng.randint(1, 3)):
        if op == "leet":
            handle = "".join(LEET[c] if c in LEET and rng.random() < 0.5 else c for c in handle)
        elif op == "digits":
            handle = handle.rstrip("0123456789") + str(rng.randint(1, 9999))
        elif op == "typo":
            handle = typo(rng, handle)
        elif op == "wrap":
            handle = rng.choice(["the_real_{}", "{}_returns", "its{}", "{}_again", "not_{}", "x{}x"]).format(
                handle
            )
        else:
            handle = old.handle.rstrip("0123456789") + digits(rng)
    display = rng.choices([old.display, "", typo(rng, old.display)], weights=[5, 2, 3])[0]
    keep = rng.random() < setup["evader_keeps_bio_link"]
    fresh = new_identity(rng, setup)
    return Identity(parts, old.person, handle, display, old.bio if keep else fresh.bio,
                    old.links if keep else fresh.links)  # fmt: skip


@dataclass
class Author:
    """One Stormfront user: posts in time order (post id, text) and the subforums they posted in."""

    uid: str
    posts: list[tuple[int, str]] = field(default_factory=list)
    sentences: list[tuple[int, int, str]] = field(default_factory=list)
    subforums: set[str] = field(default_factory=set)


def load_authors(path: Path) -> dict[str, Author]:
    """Authors of the dataset, with each post's sentences joined back in order."""
    authors: dict[str, Author] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            post, sent = row["file_id"].split("_")
            a = authors.setdefault(row["user_id"], Author(row["user_id"]))
            a.sentences.append((int(post), int(sent), row["text"]))
            a.subforums.add(row["subforum_id"])
    for a in authors.values():
        a.sentences.sort()
        by_post: dict[int, list[str]] = defaultdict(list)
        for post, _, text in a.sentences:
            by_post[post].append(text)
        a.posts = [(p, " ".join(t)) for p, t in sorted(by_post.items())]
    return authors


def halves(a: Author, split: str = "chronological") -> tuple[list[str], list[str], bool]:
    """Old and new posts, and whether a post had to be cut in two.

    chronological (the headline): cut at the post boundary nearest the middle sentence; one-post authors
    at the middle sentence. shuffled (for comparison only): sentences shuffled (seeded by author), then
    halved, so sentences of one post land on both sides and share its topic: an optimistic setup.
    """
    n = len(a.sentences)
    if split == "shuffled":
        sents = [t for *_, t in a.sentences]
        random.Random(a.uid).shuffle(sents)
        return [" ".join(sents[: n // 2])], [" ".join(sents[n // 2 :])], True
    if len(a.posts) < 2:
        cut = n // 2
        return (
            [" ".join(t for *_, t in a.sentences[:cut])],
            [" ".join(t for *_, t in a.sentences[cut:])],
            True,
        )
    counts = np.cumsum([sum(1 for s in a.sentences if s[0] == p) for p, _ in a.posts])[:-1]
    k = int(np.argmin(np.abs(counts - n / 2))) + 1
    return [t for _, t in a.posts[:k]], [t for _, t in a.posts[k:]], False


@dataclass
class World:
    """One round: the banned accounts and the new accounts (the evader first)."""

    evader: str
    banned: list[tuple[str, str]]  # (author, unit) with unit "old" or "all"
    new: list[tuple[str, str]]  # (author, unit) with unit "new" or "all"
    same_forum: int  # non-evaders who posted in one of the evader's subforums


def plan(authors: dict[str, Author], evaders: list[str], pool: list[str], rng: random.Random) -> list[World]:
    """One world per evader: coin-flip bans over the rest of the fold, 99 non-evaders, hard ones first."""
    need = SETUP["negatives_per_evader"]
    worlds = []
    for ev in evaders:
        banned, free = [(ev, "old")], []
        for uid in pool:
            if uid == ev:
                continue
            unit = "all" if len(authors[uid].sentences) < SETUP["min_sentences"] else None
            if rng.random() < SETUP["banned_share"]:
                banned.append((uid, unit or "old"))
            else:
                free.append((uid, unit or "new"))
        rng.shuffle(free)
        free.sort(key=lambda u: not (authors[u[0]].subforums & authors[ev].subforums))
        if len(free) < need:
            raise SystemExit(f"only {len(free)} unbanned accounts for {need} non-evaders: fold too small")
        same = sum(1 for u in free[:need] if authors[u[0]].subforums & authors[ev].subforums)
        worlds.append(World(ev, banned, [(ev, "new"), *free[:need]], same))
    return worlds


class Accounts:
    """Fingerprints of the post halves, computed once; names, bios, links and devices are per world."""

    def __init__(self, authors: dict[str, Author], split: str = "chronological") -> None:
        self.authors, self.split = authors, split
        self.cache: dict[tuple[str, str], Fingerprint] = {}
        self.seconds = 0.0

    def base(self, uid: str, unit: str) -> Fingerprint:
        """The post part of an account's fingerprint (style vector, shared domains)."""
        key = (uid, unit)
        if key not in self.cache:
            a = self.authors[uid]
            old, new, _ = halves(a, self.split) if unit != "all" else ([], [], False)
            posts = {"old": old, "new": new, "all": [t for _, t in a.posts]}[unit]
            start = time.perf_counter()
            self.cache[key] = fingerprint(AccountProfile(handle="", posts=tuple(posts)))
            self.seconds += time.perf_counter() - start
        return self.cache[key]

    def account(self, uid: str, unit: str, ident: Identity, device: str) -> Fingerprint:
        """A full fingerprint: this world's profile on top of the cached post part."""
        base = self.base(uid, unit)
        prof = fingerprint(AccountProfile(ident.handle, ident.display, ident.bio, ident.links, (), (device,)))
        return dataclasses.replace(
            prof, style=base.style, shared_domains=base.shared_domains, n_posts=base.n_posts
        )


NAME_HIT = 0.8  # a non-evader's name this close to a banned account's counts as a coincidental match
VARIANTS = {
    "headline": ("device", "ip"),  # every component but device and IP hashes
    "with_device_hashes": (),
    "style_and_domains_only": ("device", "ip", "name", "bio", "links"),
    "profile_only": ("device", "ip", "style", "domains"),
}


def run_world(
    w: World, accts: Accounts, params: EvasionParams, rng: random.Random, pairs: list[Any] | None = None
) -> list[dict[str, Any]]:
    """Score every new account of a world; one row per new account with each variant's best match.

    With `pairs`, also append (components, is-the-true-pair) of every (new, banned) pair: `--fit` uses them.
    """
    idents = {uid: new_identity(rng, SETUP) for uid, _ in w.banned}
    devices = {uid: f"{rng.getrandbits(64):016x}" for uid, _ in w.banned}
    matcher = Matcher(
        [(uid, accts.account(uid, u, idents[uid], devices[uid])) for uid, u in w.banned], params
    )
    reuse = rng.random() < SETUP["name_reuse_share"]
    rows = []
    for j, (uid, unit) in enumerate(w.new):
        evader = j == 0
        if evader:
            ident = variant(rng, idents[uid], SETUP) if reuse else new_identity(rng, SETUP)
            keep = rng.random() < SETUP["device_reuse"]
            device = devices[uid] if keep else f"{rng.getrandbits(64):016x}"
        else:
            like = (
                rng.choice(list(idents.values()))
                if rng.random() < SETUP["hard_negative_name_share"]
                else None
            )
            ident, device = new_identity(rng, SETUP, like), f"{rng.getrandbits(64):016x}"
        start = time.perf_counter()
        comps = matcher.components(accts.account(uid, unit, ident, device))
        if pairs is not None:
            pairs.append((comps, np.array([evader and i == uid for i in matcher.ids]), evader and reuse))
        hits = 0 if evader else int((comps["name"] >= NAME_HIT).sum())
        row: dict[str, Any] = {"evader": evader, "reuse": evader and reuse, "name_hits": hits, "seconds": 0.0}
        for name, off in VARIANTS.items():
            total = matcher.combine({k: (v * 0 if k in off else v) for k, v in comps.items()})
            i = int(np.argmax(total))
            row[name] = (float(total[i]), evader and matcher.ids[i] == uid)
        row["seconds"] = time.perf_counter() - start
        rows.append(row)
    return rows


def wilson(k: int, n: int) -> list[float]:
    """95% Wilson interval of a proportion k/n."""
    if n == 0:
        return [0.0, 1.0]
    p, z = k / n, 1.96
    mid, half = (p + z * z / (2 * n)), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return [round((mid - half) / (1 + z * z / n), 4), round((mid + half) / (1 + z * z / n), 4)]


def pr(rows: list[dict[str, Any]], variant_name: str, t: float) -> dict[str, Any]:
    """Precision and recall at threshold t (a flag is correct only when it names the right account)."""
    flags = [r for r in rows if r[variant_name][0] >= t]
    good = sum(1 for r in flags if r[variant_name][1])
    n_ev = sum(1 for r in rows if r["evader"])
    p = good / len(flags) if flags else 1.0
    return {"threshold": t, "precision": round(p, 4), "recall": round(good / max(1, n_ev), 4),
            "flags": len(flags), "correct": good, "precision_ci95": wilson(good, len(flags)),
            "recall_ci95": wilson(good, n_ev)}  # fmt: skip


def summary(rows: list[dict[str, Any]], variant_name: str, threshold: float) -> dict[str, Any]:
    """Figures for one variant: at the threshold, the curve, ROC-AUC, and the best recall at P >= target."""
    out = pr(rows, variant_name, threshold)
    scores = np.array([r[variant_name][0] for r in rows])
    y = np.array([r["evader"] for r in rows])
    out["roc_auc"] = round(float(roc_auc_score(y, scores)), 4) if 0 < y.sum() < len(y) else None
    out["evaders_best_match_right"] = round(
        float(np.mean([r[variant_name][1] for r in rows if r["evader"]])), 4
    )
    out["curve"] = [
        {k: v for k, v in pr(rows, variant_name, t).items() if "ci95" not in k} for t in THRESHOLDS
    ]
    best = {"recall": 0.0, "threshold": None}
    for t in sorted({round(s, 6) for s in scores}, reverse=True):
        point = pr(rows, variant_name, t)
        if point["precision"] >= TARGET["precision"] and point["recall"] > best["recall"]:
            best = {"recall": point["recall"], "threshold": t, "precision": point["precision"]}
    out["best_recall_at_target_precision"] = best  # an oracle threshold: for reading, never the headline
    for reuse in (True, False):
        ev = [r for r in rows if r["evader"] and r["reuse"] == reuse]
        hit = sum(1 for r in ev if r[variant_name][0] >= threshold and r[variant_name][1])
        out[f"recall_{'name_reusers' if reuse else 'new_names'}"] = round(hit / max(1, len(ev)), 4)
    return out


def scale_check(
    accts: Accounts, params: EvasionParams, n_banned: int, n_cand: int, seed: int
) -> dict[str, Any]:
    """Matcher build time and per-candidate latency against many banned fingerprints (posts reused)."""
    rng = random.Random(seed)
    bases = list(accts.cache)
    banned = [
        (f"b{i}", accts.account(*bases[i % len(bases)], new_identity(rng, SETUP), f"d{i}"))
        for i in range(n_banned)
    ]
    start = time.perf_counter()
    matcher = Matcher(banned, params)
    build = time.perf_counter() - start
    cands = [accts.account(*rng.choice(bases), new_identity(rng, SETUP), "x") for _ in range(n_cand)]
    start = time.perf_counter()
    for c in cands:
        matcher.best(c)
    per = (time.perf_counter() - start) / n_cand
    return {"banned": n_banned, "candidates": n_cand, "build_s": round(build, 3),
            "ms_per_candidate": round(per * 1000, 2), "candidates_per_s": round(1 / per, 1)}  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description="Ban-evasion benchmark on the Stormfront authors.")
    p.add_argument("--seed", type=int, default=20261121)
    p.add_argument("--out", "-o", type=Path, default=DEFAULT_OUT)
    p.add_argument(
        "--quick", action="store_true", help=f"{QUICK_WORLDS} worlds per fold, a small scale check"
    )
    p.add_argument("--data", type=Path, help="stormfront_sentences.csv (default: the shared datasets)")
    p.add_argument("--fit", action="store_true", help="grid-search the weights on the dev fold, print, exit")
    args = p.parse_args(argv)
    if args.data is None:
        env = os.environ.get("TOWNSQUARE_DATA_DIR")
        args.data = (Path(env) if env else PROJECT_ROOT.parent / "shared" / "datasets") / DATA
    return args


def folds(authors: dict[str, Author], seed: int) -> dict[str, tuple[list[str], list[str]]]:
    """Qualified and filler authors, split into dev and test halves (seeded)."""
    rng = random.Random(f"{seed}:folds")
    lo, hi = SETUP["filler_sentences"]
    qual = sorted(u for u, a in authors.items() if len(a.sentences) >= SETUP["min_sentences"])
    fill = sorted(u for u, a in authors.items() if lo <= len(a.sentences) <= hi)
    rng.shuffle(qual)
    rng.shuffle(fill)
    cq, cf = round(len(qual) * SETUP["dev_share"]), round(len(fill) * SETUP["dev_share"])
    return {"dev": (qual[:cq], fill[:cf]), "test": (qual[cq:], fill[cf:])}


def run_fold(
    fold: str,
    authors: dict[str, Author],
    accts: Accounts,
    params: EvasionParams,
    args: argparse.Namespace,
    pairs: list[Any] | None = None,
    world_seed: int | None = None,
) -> tuple[list[World], list[dict[str, Any]]]:
    """Plan a fold's worlds and score them; each world has its own seeded generator (same across splits)."""
    qual, fill = folds(authors, args.seed)[fold]
    evaders = qual[:QUICK_WORLDS] if args.quick else qual
    seed = args.seed if world_seed is None else world_seed
    worlds = plan(authors, evaders, qual + fill, random.Random(f"{seed}:{fold}:plan"))
    rows = []
    for i, w in enumerate(worlds):
        rows += run_world(w, accts, params, random.Random(f"{seed}:{fold}:{i}"), pairs)
    return worlds, rows


def fold_counts(authors: dict[str, Author], fold: tuple[list[str], list[str]], worlds: list[World],
                rows: list[dict[str, Any]]) -> dict[str, Any]:  # fmt: skip
    """What a fold held."""
    n_new, n_w = len(rows), len(worlds)
    return {
        "qualified_authors": len(fold[0]), "filler_authors": len(fold[1]), "worlds": n_w,
        "evaders": sum(r["evader"] for r in rows), "name_reusing_evaders": sum(r["reuse"] for r in rows),
        "new_accounts": n_new, "non_evaders": n_new - n_w,
        "banned_per_world_mean": round(float(np.mean([len(w.banned) for w in worlds])), 1),
        "non_evaders_same_subforum_share": round(sum(w.same_forum for w in worlds) / max(1, n_new - n_w), 4),
        "coincidental_name_matches_per_world": round(sum(r["name_hits"] for r in rows) / n_w, 2),
        "evaders_with_a_cut_post": sum(halves(authors[w.evader])[2] for w in worlds),
        "score_ms_per_new_account": round(1000 * float(np.mean([r["seconds"] for r in rows])), 2),
    }  # fmt: skip


def fit(authors: dict[str, Author], args: argparse.Namespace) -> int:
    """How the default weights were chosen: a grid on the dev fold, best recall at precision >= 0.90.

    The dev worlds are drawn FIT_SEEDS times (other names, bans and non-evaders; the same dev authors),
    so the chance name collisions that set the threshold are counted over more than one draw.
    """
    pairs: list[Any] = []
    accts = Accounts(authors)
    for k in range(FIT_SEEDS):
        run_fold("dev", authors, accts, EvasionParams(), args, pairs, world_seed=args.seed + k)
    keys = ("name", "style", "bio", "links", "domains")
    x = {k: np.concatenate([c[k] for c, _, _ in pairs]) for k in keys}
    y = np.concatenate([t for _, t, _ in pairs])
    group = np.concatenate([np.full(len(t), g) for g, (_, t, _) in enumerate(pairs)])
    starts = np.r_[0, np.flatnonzero(np.diff(group)) + 1]
    n_ev = int(y.sum())
    found = []
    for wn, ws, wb in itertools.product((6, 8, 10, 12), (0.6, 0.8, 1.0, 1.3), (0, 1.5, 3)):
        s = wn * x["name"] + ws * x["style"] + wb * x["bio"] + 6 * x["links"] + 4 * x["domains"]
        best = np.maximum.reduceat(s, starts)
        right = np.zeros(len(starts), dtype=bool)
        right[group[(s == np.repeat(best, np.diff(np.r_[starts, len(s)]))) & y]] = True
        order = np.argsort(-best)
        tp = np.cumsum(right[order])
        ok = np.flatnonzero(tp / np.arange(1, len(order) + 1) >= TARGET["precision"])
        if len(ok):
            k = ok[np.argmax(tp[ok])]
            found.append((round(float(tp[k]) / n_ev, 4), wn, ws, wb, round(float(best[order][k]), 2)))
    print("dev recall at precision >= 0.90 | w_name w_style w_bio | bias = -(score at that point)")
    for row in sorted(found, reverse=True)[:10]:
        print("  ", row)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run both folds (and the test fold with the shuffled split), write the JSON, print a summary."""
    args = parse_args(argv)
    started = time.perf_counter()
    params = EvasionParams()
    authors = load_authors(args.data)
    if args.fit:
        return fit(authors, args)
    accts = Accounts(authors)
    results: dict[str, dict[str, Any]] = {}
    counts: dict[str, Any] = {"authors_in_dataset": len(authors)}
    for fold in ("dev", "test"):
        worlds, rows = run_fold(fold, authors, accts, params, args)
        results[fold] = {v: summary(rows, v, params.threshold) for v in VARIANTS}
        counts[fold] = fold_counts(authors, folds(authors, args.seed)[fold], worlds, rows)
    counts["fingerprints_built"] = len(accts.cache)
    counts["fingerprint_ms_each"] = round(1000 * accts.seconds / max(1, len(accts.cache)), 2)
    _, shuffled = run_fold("test", authors, Accounts(authors, "shuffled"), params, args)
    shuffled_summary = summary(shuffled, "headline", params.threshold)
    scale = scale_check(accts, params, 1000 if args.quick else 5000, 50 if args.quick else 200, args.seed)
    test = results["test"]
    head, dev = test["headline"], results["dev"]["headline"]
    met = head["precision"] >= TARGET["precision"] and head["recall"] >= TARGET["recall"]
    out = {
        "benchmark": "ban_evasion",
        "precision": head["precision"],
        "recall": head["recall"],
        "threshold": params.threshold,
        "roc_auc": head["roc_auc"],
        "headline": {"fold": "test (held-out authors)", "split": "chronological",
                     "uses": "names, bio, links, post domains, style; no device/IP hashes", **head},
        "with_device_hashes": {"device_reuse": SETUP["device_reuse"], **test["with_device_hashes"]},
        "ablations": {k: v for k, v in test.items() if k not in ("headline", "with_device_hashes")},
        "shuffled_split": {"note": "optimistic, for comparison: sentences of one post on both sides",
                           **summary(shuffled, "headline", params.threshold)},
        "dev": results["dev"],
        "curve": head["curve"],
        "target": {**TARGET, "met": met, "precision_met": head["precision"] >= TARGET["precision"],
                   "recall_met": head["recall"] >= TARGET["recall"]},
        "params": {"matcher": params.to_dict(), "setup": SETUP, "seed": args.seed, "quick": args.quick,
                   "data": str(DATA), "thresholds_in_curve": list(THRESHOLDS), "name_hit": NAME_HIT},
        "counts": counts,
        "scale": scale,
        "notes": notes({**test, "dev": dev, "shuffled": shuffled_summary}, counts["test"], met),
        "runtime_s": round(time.perf_counter() - started, 1),
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print_summary(out)
    return 0


def notes(test: dict[str, Any], counts: dict[str, Any], met: bool) -> list[str]:
    """Plain-English caveats that travel with the figures."""
    head, dev, style, dev_hashes = (
        test["headline"],
        test["dev"],
        test["style_and_domains_only"],
        test["with_device_hashes"],
    )
    out = [
        "The Stormfront data has no profiles: handles, display names, bios and links are generated (see "
        "params.setup), so the figure rests on writing style over ~7 sentences per account and on names; "
        "the domains shared in posts are real but almost never shared between an author's two halves.",
        "Default weights and threshold were chosen on the dev fold (--fit); the headline is the held-out "
        f"test fold (dev fold at the same threshold: precision {dev['precision']}, recall {dev['recall']}). "
        "Each author is the evader of one world; non-evaders recur across worlds.",
        f"{counts['name_reusing_evaders']} of {counts['evaders']} test evaders reuse a variant of their name "
        f"(recall {head['recall_name_reusers']}); the others can only be found by style and shared domains "
        f"(recall {head['recall_new_names']}). Non-evaders' names come within {NAME_HIT} of a banned "
        f"account's {counts['coincidental_name_matches_per_world']} times per world by chance.",
    ]
    if not met:
        best = head["best_recall_at_target_precision"]
        out.append(
            f"Target missed: precision {head['precision']} (target {TARGET['precision']}), recall "
            f"{head['recall']} (target {TARGET['recall']}, {TARGET['recall'] - head['recall']:.3f} short). "
            f"The best threshold on the test fold reaches recall {best['recall']} at precision >= "
            f"{TARGET['precision']}. Why: style over ~7 chronologically split sentences rarely singles out "
            f"one author among ~{counts['banned_per_world_mean']:.0f} banned (style alone ranks the right "
            f"account first for {style['evaders_best_match_right']:.0%} of evaders, and non-evaders reach "
            "the same style scores against some banned account), so recall comes almost only from evaders "
            "who reuse their name, half by design, and chance name matches of non-evaders keep the "
            f"threshold from going lower. Device hashes (reused by {SETUP['device_reuse']:.0%} of evaders) "
            f"give precision {dev_hashes['precision']}, recall {dev_hashes['recall']}; the optimistic "
            "shuffled split gives precision "
            f"{test['shuffled']['precision']}, recall {test['shuffled']['recall']}."
        )
    return out


def print_summary(out: dict[str, Any]) -> None:
    """A few lines for the terminal."""
    h, d, c = out["headline"], out["with_device_hashes"], out["counts"]["test"]
    print(f"ban evasion (test fold: {c['evaders']} evaders, {c['non_evaders']} non-evaders, "
          f"~{c['banned_per_world_mean']} banned per world)")  # fmt: skip
    print(f"  headline   threshold {out['threshold']}: precision {h['precision']} recall {h['recall']} "
          f"(name reusers {h['recall_name_reusers']}, new names {h['recall_new_names']}) "
          f"roc_auc {h['roc_auc']}")  # fmt: skip
    print(f"  +devices   precision {d['precision']} recall {d['recall']} roc_auc {d['roc_auc']}")
    for k, v in [*out["ablations"].items(), ("shuffled_split", out["shuffled_split"])]:
        print(f"  {k:22s} precision {v['precision']} recall {v['recall']} roc_auc {v['roc_auc']}")
    dv = out["dev"]["headline"]
    print(f"  dev fold   precision {dv['precision']} recall {dv['recall']} roc_auc {dv['roc_auc']}")
    s = out["scale"]
    print(f"  scale: {s['banned']} banned, {s['ms_per_candidate']} ms per candidate")
    print(f"  runtime {out['runtime_s']} s; target met: {out['target']['met']}")


if __name__ == "__main__":
    sys.exit(main())
