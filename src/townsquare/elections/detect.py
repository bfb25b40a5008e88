"""Election scorers: posts about how, when and where to vote; premature claims of victory; voter
intimidation. And which election a post is about.

Each scorer is a small set of patterns, written from how such posts are worded (voting logistics,
victory declarations, threats aimed at voters and election workers), plus what the store knows: a claim
of victory is premature only while the official source has not called the race. Predictions ("X will
win"), questions and hopes are not claims of victory. The scorers run on every post, so they are a few
compiled regular expressions, tried only after a cheap keyword gate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import pycountry

from townsquare.detection.base import Signal
from townsquare.elections.mode import ElectionInfo, RaceInfo

VERSION = "1.0"
VICTORY = "elections.premature_victory"
INTIMIDATION = "elections.voter_intimidation"
POLICY = "election_misinformation"

_GATE = re.compile(r"vot|poll|ballot|elect|won\b|win|victor|race|precinct|concede|landslide|registr", re.I)
_VOTING_INFO = re.compile(
    r"\b(polling (place|station|location|site)s?|polls? (open|close|opens|closes)|early voting|"
    r"vote[- ]by[- ]mail|mail[- ]in (ballot|vot)|absentee ballots?|postal (vote|voting|ballot)s?|"
    r"register(ed|ing)? to vote|voter registration|voter id|photo id to vote|drop ?box(es)?|"
    r"ballot (deadline|return|drop)|election day|voting hours|advance (poll|voting)|provisional ballots?|"
    r"same[- ]day registration|sample ballot|(where|when|how) (do|can|to|should|will) (i |you |we )?vote|"
    r"where to vote|how to vote|when to vote)\b",
    re.IGNORECASE,
)
_OFFICE = r"(election|elections|race|presidency|majority|senate|house|seat|vote|count|runoff|ballot)"
_VICTORY = re.compile(
    r"\b(declar(e|es|ed|ing) victory|victory is (ours|mine)|we (have )?won|i (have )?won|"
    r"(has|have|had) won|won (the|this|our|a) " + _OFFICE + r"|(is|are) the (clear |official )?winners?|"
    r"(is|as) (the )?(new )?president[- ]elect|(landslide|decisive) (win|victory) (for|by) |"
    r"(the )?(election|race|count) is (over|decided|done)|it'?s over[,.!]? \w+ won|"
    r"(they|he|she) (should|must|need to) concede|concede now)",
    re.IGNORECASE,
)
# Hedges that make a victory sentence a prediction, a hope or a hypothesis rather than a claim.
_HEDGE = re.compile(
    r"\b(will|would|going to|gonna|could|might|may|if|hope|hoping|predict\w*|expect\w*|likely|"
    r"think|should win|can win|to win|projected|polls? show|poll shows|leading|ahead)\b",
    re.IGNORECASE,
)
_CONTEXT = re.compile(
    r"\b(vot(e|es|er|ers|ing)|polls?|polling|ballots?|precincts?|election (workers?|officials?|day)|"
    r"poll workers?|drop ?box(es)?|count(ing)? (centre|center|room))\b",
    re.IGNORECASE,
)
_INTIMIDATION = re.compile(
    r"(we('| wi)ll be watching|we know (where you live|who you are)|we('| wi)ll (find|visit|remember) you|"
    r"(armed|militia|patrols?|guards?|men with guns)\b.{0,40}\b(at|outside|near|around) (the |every |your )?"
    r"(polls?|polling|precincts?|drop ?box)|"
    r"(bring|bringing|carry|carrying) (your |our )?(guns?|rifles?|weapons?|bats?) (to|at) (the )?"
    r"(polls?|polling)|"
    r"(don'?t|do not) (even )?(bother|try|think about|dare) (to )?"
    r"(vote|voting|going to the polls|showing up)|"
    r"(you|they)('ll| will| are going to| gonna) (be |get )?(arrested|deported|hurt|shot|beaten|doxx?ed|"
    r"followed|visited|fired)|"
    r"(regret|pay for|be sorry for|face the consequences of) (it|voting|casting|that vote|your vote)|"
    r"(stay home|stay away)[^.!?]{0,40}(or else|if you know what'?s good|for your own safety)|"
    r"(names|addresses|list) of (the )?(voters|poll workers|election workers|election officials)|"
    r"(hang|string up|lynch|shoot) (the |those |these )?(poll workers|election workers|election officials|"
    r"vote counters))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Found:
    """What the election scorers found in one text."""

    signals: list[Signal]
    voting_info: bool
    elections: list[ElectionInfo]  # the active elections the post is about


def _names(e: ElectionInfo) -> list[str]:
    names = [e.jurisdiction, *e.places]
    if e.jurisdiction != "EU":
        found = (
            pycountry.subdivisions.get(code=e.jurisdiction)
            if "-" in e.jurisdiction
            else pycountry.countries.get(alpha_2=e.jurisdiction)
        )
        if found is not None:
            names.append(found.name)
            names.extend(n for n in (getattr(found, "common_name", None),) if n)
    return [n for n in names if n]


_PLACE_RE: dict[int, re.Pattern[str]] = {}


def _place_re(e: ElectionInfo) -> re.Pattern[str]:
    key = hash((e.id, e.places, e.jurisdiction))
    if key not in _PLACE_RE:
        alts = "|".join(re.escape(n) for n in sorted(_names(e), key=len, reverse=True))
        # Two-letter codes only count in capitals ("US", "CO"); names in any case.
        _PLACE_RE[key] = re.compile(rf"(?<![\w.])({alts})(?![\w])", re.IGNORECASE)
    return _PLACE_RE[key]


def about(text: str, active: list[ElectionInfo]) -> list[ElectionInfo]:
    """The active elections a post is about: those it names, else the only one running."""
    named = []
    for e in active:
        for m in _place_re(e).finditer(text):
            word = m.group(1)
            if len(word) > 2 or word.isupper():
                named.append(e)
                break
    if named:
        return named
    return list(active) if len(active) == 1 else []


_RACE_STOP = frozenset({"majority", "composition", "election", "race", "the", "of", "and", "for"})


def _names_race(race: RaceInfo, text: str) -> bool:
    """The text names this race: one of its candidates, or a distinctive word of its name."""
    low = text.lower()
    if any(c.lower() in low for c in race.candidates):
        return True
    words = [w for w in re.findall(r"[a-z]{4,}", race.name.lower()) if w not in _RACE_STOP]
    return any(re.search(rf"\b{re.escape(w)}\b", low) for w in words)


def _victory(text: str, elections: list[ElectionInfo], now: datetime) -> tuple[float, dict[str, str]] | None:
    """A claim of victory in a race not yet called by the official source (score, evidence)."""
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        m = _VICTORY.search(sentence)
        if m is None or sentence.rstrip().endswith("?") or _HEDGE.search(sentence[: m.start()] + m.group(0)):
            continue
        for e in elections:
            if now.date() < e.polling_start:
                continue  # before polling day a victory claim is not about a result being counted
            named = [r for r in e.races if _names_race(r, sentence) or _names_race(r, text)]
            races = named or list(e.races)
            open_races = [r for r in races if r.called_at is None or r.called_at > now]
            if e.races and not open_races:
                continue  # the official source has called the race(s) the post is about
            race = open_races[0].key if open_races else ""
            return 0.9, {"kind": "premature_victory", "match": m.group(0), "election": e.slug, "race": race}
    return None


def score(text: str, active: list[ElectionInfo], now: datetime) -> Found:
    """The election scorers' signals for one text, given the elections active now."""
    if not active or not _GATE.search(text):
        return Found([], False, [])
    elections = about(text, active)
    sigs: list[Signal] = []
    victory = _victory(text, elections, now) if elections else None
    if victory is not None:
        sigs.append(Signal(VICTORY, VERSION, POLICY, victory[0], "premature_victory", (victory[1],)))
    threat = _INTIMIDATION.search(text)
    if threat is not None and _CONTEXT.search(text):
        evidence = {"kind": "voter_intimidation", "match": threat.group(0)[:120]}
        sigs.append(Signal(INTIMIDATION, VERSION, POLICY, 0.9, "voter_intimidation", (evidence,)))
    return Found(sigs, bool(_VOTING_INFO.search(text)) and bool(elections), elections)
