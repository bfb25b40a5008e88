"""Does a post *assert* the claim it resembles, or correct, question, report or discuss it?

Claim retrieval (BM25 and embeddings) measures what a post is about, not what it says about it: a
fact-check that quotes "Dominion switched votes" resembles the claim as much as the lie does. Flagging
both punishes the people correcting misinformation. This module reads the cues that mark a post's stance
toward a claim it resembles:

- refuting: debunk vocabulary ("false", "myth", "debunked", "fact check", "no evidence", "hoax"), explicit
  denials ("did not", "is not true", "no,"), or what investigations found ("audit", "recount", "court");
- asking: the post is a question ("is it true that ...?", "does anyone know ...?") rather than a
  rhetorical flourish appended to an assertion;
- reporting: attribution to courts, officials, studies or settlements, with the claim as the thing
  reported on rather than stated.

A cue word that the matched claim itself contains is ignored ("the pandemic is a hoax" asserts "hoax").
Each stance scales the match's similarity by a factor below one, so a correction needs to resemble the
claim much more closely than an assertion does before it is flagged; the ranking of claims for one post is
unchanged. The cue lists are hand-written from how corrections are worded in general (fact-check house
styles), never fitted to the evaluation set; `evalsets/claim_near_misses.jsonl` keeps a held-out part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from townsquare.detection.normalize import tokens

# Words and phrases that mark a correction. Matched on word boundaries, case-insensitive.
_REFUTE = (
    r"false(ly)?",
    r"fake",
    r"hoax(es)?",
    r"myths?",
    r"debunk(ed|s|ing)?",
    r"fact[- ]?check(ed|s|ers?)?",
    r"no evidence",
    r"not true",
    r"isn'?t true",
    r"untrue",
    r"baseless",
    r"unfounded",
    r"unverified",
    r"no proof",
    r"misinformation",
    r"disinformation",
    r"conspiracy theor(y|ies|ists?)",
    r"recant(ed|s)?",
    r"retract(ed|ion)",
    r"out of context",
    r"misread(ing)?",
    r"misleading",
    r"(was|were|is|are) (a|an) (hoax|lie|scam|joke)",
    r"doesn'?t hold up|didn'?t hold up|did not hold up",
    r"never (said|happened|isolated)",
    r"there (is|was) no such",
    r"no such thing",
    r"nothing to do with",
    r"(has|have|had) been (debunked|disproven|refuted)",
    r"don'?t (believe|fall for|share|panic)",
    r"do not (believe|fall for|share)",
    r"please do not|please don'?t",
    r"(it|this|that)'?s a scam",
    r"nope",
    r"not (an? )?(real|thing)",
    r"(officials|investigators|courts?|judges?|experts?|scientists|studies|regulators) "
    r"(found|said|say|have said|confirmed|rejected|dismissed|denied)",
    r"(found|finds|showed|shows) no (evidence|link|increase|rise|drop)",
    r"no (link|increase|rise) (between|in)",
    r"(hand )?(re)?counts? (matched|confirmed)",
    r"matched the (machine|original)",
)
_REFUTE_RE = re.compile(r"\b(" + "|".join(_REFUTE) + r")", re.IGNORECASE)
_DENIAL_OPENING = re.compile(
    r"^\s*(no[,.!:]|nope\b|false[,.!:]|fact[- ]?check\b|psa: (that|the) )", re.IGNORECASE
)
# Attribution to those who investigate, rule or report: a post about what they did or said.
_REPORT_RE = re.compile(
    r"\b(lawsuit|settle[sd]?|settlement|verdict|defamation|indicted|charged|prosecutors?|attorney general|"
    r"inspector general|according to|investigat(ed|ion|ors)|audit(s|ed)?|study of|studies of|"
    r"published in|intelligence agencies|remain divided|apologi[sz]ed)\b",
    re.IGNORECASE,
)
_QUESTION_OPENING = re.compile(
    r"^\s*(genuine question|honest question|serious question|asking (honestly|for a friend)|quick question|"
    r"(is|are|was|were|do|does|did|can|could|should|will|would|has|have|how|why|what|where|when|which|who)\b|"
    r"(does )?any(one|body) know|my \w+ (keeps saying|swears|said|got)|someone (at|in) )",
    re.IGNORECASE,
)
# Openings of rhetorical questions that introduce an assertion ("Did you know? ...", "Ever wonder why ...").
_RHETORICAL = re.compile(
    r"^\s*(did you know|ever wonder|guess what|coincidence|why is nobody|why isn'?t anyone)", re.I
)
# The answer that turns a question into an assertion ("Why ...? Because they ...").
_ANSWER = re.compile(r"^\s*(because|that'?s why|simple|answer:)", re.IGNORECASE)
_NEGATION = re.compile(r"\b(not|no|never|nobody|nothing|none|neither|nor|cannot)\b|n't\b", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an the and or but of to in on at for by with from is are was were be been it its this that "
    "these those you your they their them he she his her we our i my me so as if than then there here "
    "just all any".split()
)
_SENTENCES = re.compile(r"[^.!?]+[.!?]*")


@dataclass(frozen=True)
class Stance:
    """How a post relates to a claim it resembles, and the factor its similarity is scaled by."""

    label: str  # asserts | refutes | asks | reports
    factor: float
    cues: tuple[str, ...]


ASSERTS = Stance("asserts", 1.0, ())
# How much closer than an assertion a correction, question or report must be to the claim's wording to be
# flagged as the claim. Corrections quote the claim most closely, so they are discounted most.
FACTORS = {"refutes": 0.55, "asks": 0.7, "reports": 0.75}


def _cues(pattern: re.Pattern[str], text: str, claim_words: frozenset[str]) -> list[str]:
    found = []
    for m in pattern.finditer(text):
        words = set(tokens(m.group(0)))
        # A cue the claim itself uses is part of the claim ("COVID is a hoax"), not a correction of it.
        if words and words <= claim_words:
            continue
        found.append(m.group(0).strip().lower())
    return found


def _is_question(sentences: list[str]) -> bool:
    """The post asks rather than asserts: it opens with a real question, or every sentence is one."""
    if not sentences or not any(x.endswith("?") for x in sentences):
        return False
    if all(x.endswith("?") for x in sentences):
        return not _RHETORICAL.match(sentences[0])
    first = sentences[0]
    if _RHETORICAL.match(first) or (len(sentences) > 1 and _ANSWER.match(sentences[1])):
        return False
    return bool(first.endswith("?") and _QUESTION_OPENING.match(first))


def _content(text: str) -> set[str]:
    return {w[:6] for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2}


def _negated(text: str) -> bool:
    return bool(_NEGATION.search(text.replace("\u2019", "'")))


def _polarity_flip(sentences: list[str], claim_text: str) -> bool:
    """The sentence closest to the claim says the opposite: one of the two is negated, the other not.

    "Provisional ballots are counted whether or not a race is close" against "provisional ballots are
    only counted when a race is close": the same words, the opposite polarity.
    """
    claim = _content(claim_text)
    if not claim or not sentences:
        return False
    best = max(sentences, key=lambda x: len(_content(x) & claim))
    if len(_content(best) & claim) < 2:
        return False
    return _negated(best) != _negated(claim_text)


def stance(text: str, claim_text: str = "") -> Stance:
    """The post's stance toward the claim (`claim_text`, whose own words are never counted as cues)."""
    claim_words = frozenset(tokens(claim_text))
    sentences = [x.strip() for x in _SENTENCES.findall(text) if x.strip()]
    refute = _cues(_REFUTE_RE, text, claim_words)
    if _DENIAL_OPENING.match(text):
        refute.insert(0, text.strip().split()[0].lower())
    if refute:
        return Stance("refutes", FACTORS["refutes"], tuple(refute[:3]))
    if _is_question(sentences):
        return Stance("asks", FACTORS["asks"], ("?",))
    if claim_text and _polarity_flip(sentences, claim_text):
        return Stance("refutes", FACTORS["refutes"], ("negation",))
    report = _cues(_REPORT_RE, text, claim_words)
    if report:
        return Stance("reports", FACTORS["reports"], tuple(report[:3]))
    return ASSERTS
