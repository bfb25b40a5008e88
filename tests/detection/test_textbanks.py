"""Text banks: the file format and its errors, matching through obfuscation, allow lists, the shipped
banks' consistency and precision on neutral text, and the literal prefilter behind `scan_all`."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from townsquare.config import PROJECT_ROOT
from townsquare.detection.base import Scorer
from townsquare.detection.normalize import normalize
from townsquare.detection.prefilter import LiteralIndex, required_literals
from townsquare.detection.textbanks import MAX_EVIDENCE, TextBank, TextBankScorer, load_textbanks, scan_all
from townsquare.policy.loader import load_policies

SHIPPED = PROJECT_ROOT / "textbanks"
POLICY_IDS = {
    "hate_speech", "harassment_threats", "violent_extremism", "election_misinformation",
    "health_misinformation", "scams_fraud", "spam", "impersonation", "private_information",
    "self_harm", "child_safety", "ban_evasion",
}  # fmt: skip


@pytest.fixture(scope="module")
def banks() -> dict[str, TextBank]:
    return load_textbanks(SHIPPED)


def make_bank(**over: Any) -> TextBank:
    data: dict[str, Any] = {
        "policy": "test",
        "version": 1,
        "description": "Test bank.",
        "auto_threshold": None,
        "terms": ["hate", "kill", {"term": "kill you", "weight": 0.9}, {"term": "good", "weight": 0.5}],
        "patterns": [{"pattern": r"\bsend \d+ coins\b", "weight": 0.7}],
        "allow": [],
    }
    data.update(over)
    return TextBank.from_mapping(data)


def write_bank(directory: Path, name: str, **over: Any) -> Path:
    data = make_bank().model_dump(mode="json") | {"policy": name} | over
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


# Matching -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["I HATE it", "ｈａｔｅ", "ha\u200dte", "\u202ehate", "һаtе", "h4te", "h@te", "h a t e", "h.a.t.e",
     "h-a-t-e", "haaaaate", "H 4 T 3!!"],
    ids=["case", "full-width", "zwj", "rtl", "cyrillic", "leet", "leet-symbol", "spaced", "dotted",
         "hyphenated", "stretched", "everything"],
)  # fmt: skip
def test_term_matches_through_obfuscation(text: str) -> None:
    sig = make_bank().match(text)
    assert sig is not None
    assert sig.evidence[0]["kind"] == "term"
    assert sig.evidence[0]["match"] in {"hate", "haate"}
    assert sig.evidence[0]["bank"] == "textbank.test@1"


def test_signal_carries_scorer_version_policy_and_best_weight() -> None:
    sig = make_bank().match("I will k1ll y0u, send 5 coins")
    assert sig is not None
    assert (sig.scorer, sig.scorer_version, sig.policy, sig.label) == ("textbank.test", "1", "test", "match")
    assert sig.score == 1.0  # "kill" (1.0) beats "kill you" (0.9) and the pattern (0.7)
    assert {e["kind"] for e in sig.evidence} == {"term", "pattern"}


def test_no_match_gives_none() -> None:
    assert make_bank().match("A quiet afternoon by the river.") is None


def test_evidence_is_capped() -> None:
    bank = make_bank(terms=[f"word{i}" for i in range(10)])
    sig = bank.match(" ".join(f"word{i}" for i in range(10)))
    assert sig is not None
    assert len(sig.evidence) == MAX_EVIDENCE


def test_terms_match_whole_words_only() -> None:
    bank = make_bank(terms=["cunt", "rape", "paki"])
    for text in ["Scunthorpe United won", "I ate a grape", "Flights to Pakistan"]:
        assert bank.match(text) is None


def test_repeated_letters_in_text_are_tolerated_but_not_missing_ones() -> None:
    bank = make_bank()
    assert bank.match("sooo gooood") is not None
    assert bank.match("thank god") is None  # "good" needs two o's


def test_multiword_terms_ignore_punctuation_between_words() -> None:
    sig = make_bank(terms=["kill you"]).match("I'll kill... you")
    assert sig is not None
    assert sig.evidence[0]["match"] == "kill... you"


@pytest.mark.parametrize(
    ("policy", "text"),
    [
        ("harassment_threats", "I will k1ll y0u"),
        ("harassment_threats", "i know where you l i v e"),
        ("scams_fraud", "Dоublе yоur bitcoin"),  # Cyrillic о and е
        ("scams_fraud", "send 0.5 BTC and get 1 BTC back"),
        ("self_harm", "i w a n t to end it all"),
        ("hate_speech", "what a f a g g o t"),
        ("spam", "f4f"),
    ],
)
def test_shipped_banks_see_through_obfuscation(banks: dict[str, TextBank], policy: str, text: str) -> None:
    assert policy in {s.policy for s in scan_all(banks, text)}


# Allow lists --------------------------------------------------------------------------------------------


def test_allow_phrase_suppresses_negated_hate(banks: dict[str, TextBank]) -> None:
    hate = banks["hate_speech"]
    assert hate.match("I really hate immigrants") is not None
    assert hate.match("I don't hate immigrants") is None
    assert hate.match("I don’t hate immigrants") is None  # curly apostrophe


def test_without_the_allow_list_negated_hate_would_match(banks: dict[str, TextBank]) -> None:
    data = banks["hate_speech"].model_dump(mode="json") | {"allow": []}
    assert TextBank.from_mapping(data).match("I don't hate immigrants") is not None


def test_allow_scope_ends_at_the_clause(banks: dict[str, TextBank]) -> None:
    assert banks["hate_speech"].match("I don't hate them. I hate immigrants") is not None


def test_allow_scope_is_a_few_words() -> None:
    bank = make_bank(allow=["not really"])
    assert bank.match("not really hate") is None
    assert bank.match("not really, said the man with the dog, hate") is not None


def test_counter_speech_is_allowed(banks: dict[str, TextBank]) -> None:
    assert banks["hate_speech"].match("Someone called me a faggot at school today") is None
    assert banks["election_misinformation"].match("Reminder: you cannot vote by text") is None


def test_allow_phrase_that_is_a_whole_word_blocks_only_that_word() -> None:
    bank = make_bank(terms=["scunt"], allow=["scunthorpe"])
    assert bank.match("scunthorpe") is None
    assert bank.match("you scunt") is not None


# File format and errors ---------------------------------------------------------------------------------


def test_bad_regex_names_file_and_field(tmp_path: Path) -> None:
    path = write_bank(tmp_path, "broken", patterns=["fine", {"pattern": "(unclosed", "weight": 0.5}])
    with pytest.raises(ValueError, match=r"broken\.yaml: field 'patterns\[1\]\.pattern': invalid regular"):
        load_textbanks(tmp_path)
    assert path.exists()


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"auto_threshold": 2.0}, r"field 'auto_threshold'"),
        ({"version": "one"}, r"field 'version'"),
        ({"terms": [{"term": "x", "weight": 0}]}, r"field 'terms\[0\]\.weight'"),
        ({"terms": ["hate", "HAAATE"]}, r"field 'terms\[1\]\.term': duplicates terms\[0\]"),
        ({"terms": ["!!!"]}, r"field 'terms\[0\]\.term'.*no letters or digits"),
        ({"patterns": [r"\bx*"]}, r"field 'patterns\[0\]\.pattern'.*empty string"),
        ({"patterns": [r"<nowhere> man"]}, r"field 'patterns\[0\]\.pattern': <nowhere> is not in define"),
        ({"define": {"Bad-Name": "x"}}, r"field 'define\.Bad-Name'"),
        ({"colour": "red"}, r"field 'colour'"),
    ],
    ids=["threshold-range", "version-type", "weight", "duplicate", "no-letters", "empty-match", "undefined",
         "define-name", "unknown-key"],
)  # fmt: skip
def test_invalid_bank_is_refused(tmp_path: Path, over: dict[str, Any], message: str) -> None:
    write_bank(tmp_path, "bad", **over)
    with pytest.raises(ValueError, match=message):
        load_textbanks(tmp_path)


@pytest.mark.parametrize("field", ["policy", "version", "description", "auto_threshold"])
def test_missing_required_field_is_named(tmp_path: Path, field: str) -> None:
    data = make_bank().model_dump(mode="json") | {"policy": "bad"}
    del data[field]
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ValueError, match=rf"bad\.yaml: field '{field}': is required"):
        load_textbanks(tmp_path)


def test_policy_must_match_file_name(tmp_path: Path) -> None:
    write_bank(tmp_path, "spam", policy="scams_fraud")
    with pytest.raises(ValueError, match=r"spam\.yaml: field 'policy'"):
        load_textbanks(tmp_path)


def test_invalid_yaml_names_file(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("policy: [unclosed", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.yaml: not valid YAML"):
        load_textbanks(tmp_path)


def test_missing_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        load_textbanks(tmp_path / "nope")


def test_define_fragments_expand_in_patterns() -> None:
    bank = make_bank(define={"coin": "btc|eth"}, patterns=[r"\bdouble your <coin>\b"])
    assert bank.match("DOUBLE YOUR ETH") is not None


def test_content_hash_is_canonical_and_tracks_edits() -> None:
    shorthand = make_bank(terms=["hate"])
    explicit = make_bank(terms=[{"term": "hate", "weight": 1.0}])
    assert shorthand.content_hash == explicit.content_hash
    assert len(shorthand.content_hash) == 64
    assert make_bank(terms=["hate"], version=2).content_hash != shorthand.content_hash


def test_scorer_follows_the_protocol() -> None:
    bank = make_bank(auto_threshold=0.95)
    scorer: Scorer = TextBankScorer(bank)
    assert (scorer.name, scorer.version, scorer.auto_threshold) == ("textbank.test", "1", 0.95)
    assert scorer.score("h4te") == bank.match("h4te")


# The shipped banks --------------------------------------------------------------------------------------


def test_every_shipped_bank_loads(banks: dict[str, TextBank]) -> None:
    assert set(banks) == POLICY_IDS
    assert all(b.version >= 1 for b in banks.values())


def test_every_term_matches_itself(banks: dict[str, TextBank]) -> None:
    failures = []
    for bank in banks.values():
        for entry in bank.terms:
            sig = bank.match(entry.term)
            if sig is None or sig.score < entry.weight:
                failures.append(f"{bank.policy}: {entry.term!r}")
    assert failures == []


@pytest.mark.parametrize(
    ("policy", "text"),
    [
        ("hate_speech", "All immigrants are vermin"),
        ("hate_speech", "refugees deserve to die"),
        ("hate_speech", "gas the jews"),
        ("harassment_threats", "im gonna stab you tomorrow"),
        ("harassment_threats", "you should go kill yourself"),
        ("violent_extremism", "pledge allegiance to the islamic state"),
        ("violent_extremism", "14/88"),
        ("election_misinformation", "Republicans vote on Wednesday"),
        ("election_misinformation", "you cant vote if you have unpaid parking tickets"),
        ("health_misinformation", "5G causes coronavirus"),
        ("health_misinformation", "the vaccine contains microchips"),
        ("scams_fraud", "verify your account at https://secure-login.xyz/x"),
        ("scams_fraud", "send me the codes on the back of the steam gift cards"),
        ("spam", "buy 10k real followers at www.cheapfans.com"),
        ("spam", "Earn $500 a day from home, link in bio"),
        ("impersonation", "send me your seed phrase to restore"),
        ("private_information", "his SSN is 123-45-6789"),
        ("private_information", "call him at (555) 123-4567"),
        ("private_information", "she lives at 42 Oak Tree Lane"),
        ("self_harm", "what is the easiest way to kill myself"),
        ("child_safety", "send me a pic in your underwear"),
        ("child_safety", "13 yo looking for a sugar daddy"),
        ("ban_evasion", "new account since they suspended me"),
        ("ban_evasion", "twitter banned my main account again"),
        # Campaign scripts (v2 banks): review-level entries
        ("scams_fraud", "Just got 2 BTC back after sending 1 to the giveaway, it's legit!!"),
        (
            "scams_fraud",
            "URGENT! Your Mobile number has been awarded a £2000 prize GUARANTEED. Call 09061790321",
        ),
        ("scams_fraud", "Dear customer, your ATM card has been blocked. To re-activate call 8927307655 now"),
        (
            "scams_fraud",
            "We noticed unusual activity on your account, log in at http://secure-bank.xyz/login",
        ),
        ("spam", "I'll subscribe back, promise"),
        ("election_misinformation", "Conservative voters vote on Wednesday this year"),
        (
            "election_misinformation",
            "You can vote online this year at https://vote-now.info/x, skip the lines",
        ),
        ("election_misinformation", "Heads up: ballots filled in with pencil are NOT counted"),
        ("harassment_threats", "Watch your back. We know where you work."),
    ],
)
def test_shipped_patterns_catch_their_examples(banks: dict[str, TextBank], policy: str, text: str) -> None:
    assert banks[policy].match(text) is not None


@pytest.mark.parametrize(
    ("policy", "text"),
    [
        ("scams_fraud", "send 1 btc get 2 back"),
        ("scams_fraud", "Double your bitcoin in 24 hours!"),
        ("private_information", "social security number: 078 05 1121"),
        # v2: the demo campaigns' scripts, disguised the way the campaigns disguise them
        ("scams_fraud", "Send 1 ETH to 0x4622029051f84fc23bf32e663eff28517c6c555f and we send back 2 ETH"),
        ("scams_fraud", "Bitvora is doubling all USDT! S e n d 5 USDT, receive 10 USDT. https://x.top/a"),
        (
            "scams_fraud",
            "Your parcel is on hold due to an unpaid shipping fee of £1.99. Pay now: https://pl-fee.top/x",
        ),
        (
            "scams_fraud",
            "We attempted to deliver your p4rc3l but the customs f.e.e ($2.49) is unpaid. Pay at https://a.xyz/b",
        ),
        (
            "scams_fraud",
            "Hi, your delivery is pending. Confirm your address and pay £0.89 at https://a.site/c",
        ),
        (
            "spam",
            "Buy 10,000 real followers for just £5! Instant delivery, no password needed 🚀 https://x.live/f",
        ),
        ("spam", "Cheap followers, likes and views. 5k f o l l o w e r s = £5. DM me!"),
        ("spam", "Want to go viral? 10K followers for $2, 500 likes for $1.99. Order at https://x.info/1"),
        ("election_misinformation", "Too busy to vote? Text VOTE to 45678 and your ballot is cast for you."),
        (
            "election_misinformation",
            "REMINDER: you can now vote by text! Text V.O.T.E to 71717 with your candidate's name.",
        ),
        ("election_misinformation", "Republicans: text VOTE to 55123"),
    ],
)
def test_near_certain_entries_reach_the_auto_threshold(
    banks: dict[str, TextBank], policy: str, text: str
) -> None:
    sig = banks[policy].match(text)
    threshold = banks[policy].auto_threshold
    assert sig is not None
    assert threshold is not None
    assert sig.score >= threshold


@pytest.mark.parametrize(
    ("policy", "text"),
    [
        ("scams_fraud", "Just got 2 BTC back after sending 1 to the giveaway"),  # testimonial: review
        ("scams_fraud", "Your package is on hold at the depot"),
        ("scams_fraud", "Your parcel has a customs fee to pay, see https://post.example.com/fees"),  # no hold
        ("spam", "I will follow back"),
        ("spam", "Get 500 free followers"),  # no link, no "DM me"
        ("election_misinformation", "Text VOTE to 80123 for your favourite singer on the show"),
        ("election_misinformation", "Conservative voters vote on Wednesday this year"),
        ("election_misinformation", "You can vote online this year at https://vote-now.info/x"),
        ("harassment_threats", "We know where you live. I will kill you."),
    ],
)
def test_review_level_entries_stay_below_the_auto_threshold(
    banks: dict[str, TextBank], policy: str, text: str
) -> None:
    sig = banks[policy].match(text)
    threshold = banks[policy].auto_threshold
    assert sig is not None
    assert threshold is not None
    assert sig.score < threshold


@pytest.mark.parametrize(
    "text",
    [
        "Fact check: you cannot text VOTE to 55123, the election office does not take votes by text.",
        "Scam alert: texts telling voters to text VOTE to 55123 are fake.",
        "Do not text VOTE to 55123, it is not how the election works.",
    ],
)
def test_fact_checks_of_the_text_vote_script_are_allowed(banks: dict[str, TextBank], text: str) -> None:
    sig = banks["election_misinformation"].match(text)
    assert sig is None or sig.score < 0.95


NEUTRAL = [
    "I love my Muslim neighbours, they brought us soup when I was ill.",
    "The election is on Tuesday 5 November; polls open at 7am.",
    "Drinking water is good for you.",
    "Our synagogue is hosting an interfaith dinner on Friday.",
    "My gay brother and his husband adopted a baby girl!",
    "Refugees in our town opened a great bakery on Main Street.",
    "Black people and white people marched together for civil rights.",
    "She is a trans woman and an amazing engineer.",
    "I voted by mail this year and it was easy.",
    "Remember to bring photo ID to your polling station.",
    "The vaccine appointment took ten minutes and my arm is a bit sore.",
    "5G rollout in our city finished in 2000 and 23 towers went up.",
    "Covid-19 cases fell again this week according to the health ministry.",
    "Call the office at 555-0100 for opening hours.",
    "Our shop is at 10 Downing Street, come visit!",
    "Killing time before the match, anyone want coffee?",
    "That comedian killed it last night, I was dying of laughter.",
    "I could kill for a pizza right now.",
    "The Islamic State was defeated in Mosul in 2017, the report says.",
    "Chinese food and Mexican food are my two favourites.",
    "I ate a grape and some spicy chips in Scunthorpe.",
    "Flights to Pakistan are cheaper in March.",
    "Please subscribe to the newsletter for council updates.",
    "My package arrived on time, thanks to the courier.",
    "The bank will never ask for your password.",
    "I am so happy for my best friend today.",
    "Women's football is growing fast in Europe.",
    "Disabled people deserve accessible buildings.",
    "My old laptop finally died after ten years.",
    "How old are the pyramids of Giza?",
    "The bitcoin price doubled over the year, analysts said.",
    "Our team won 3-1 in the final minute.",
    "Your parcel was delivered today, track your next delivery in the app.",
    "Customs fees on parcels from abroad went up this year, the post office said.",
    "Ballots marked in pencil are counted like any other, the returning officer said.",
    "I sent 2 photos to the printer and got 4 prints back.",
    "Voting for the community photo contest is open online until Friday.",
    "We know where the best coffee in town is.",
    "Bought 2 tickets for $40 each, see you at the show!",
    "My account has 500 followers and I love every one of you.",
]


@pytest.mark.parametrize("text", NEUTRAL)
def test_no_shipped_bank_matches_neutral_text(banks: dict[str, TextBank], text: str) -> None:
    assert scan_all(banks, text) == []


def test_shipped_thresholds_satisfy_the_shipped_policies(banks: dict[str, TextBank]) -> None:
    # The policy loader refuses policies laxer than (or contradicting) the scorers' validation.
    load_policies(PROJECT_ROOT / "policies", {b.scorer_name: b.auto_threshold for b in banks.values()})


# scan_all and the prefilter -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["I will k1ll y0u and double your bitcoin", "hello there", NEUTRAL[0]])
def test_scan_all_equals_scoring_each_bank(banks: dict[str, TextBank], text: str) -> None:
    scorers = [TextBankScorer(b) for b in banks.values()]
    expected = [s for s in (sc.score(text) for sc in scorers) if s is not None]
    assert scan_all(banks, text) == expected
    assert scan_all(scorers, text) == expected
    assert scan_all(list(banks.values()), text) == expected


def test_scan_all_returns_one_signal_per_matching_bank(banks: dict[str, TextBank]) -> None:
    sigs = scan_all(banks, "I will kill you. Double your bitcoin now!")
    assert {s.policy for s in sigs} == {"harassment_threats", "scams_fraud"}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"\bsend (?:me )?\d+ btc", {"send "}),
        (
            r"\b(?:hate|despise) (?:all )?jews\b",
            {"hate jews", "hate all jews", "despise jews", "despise all jews"},
        ),
        (r"\bi know where (?:you|u) live", {"i know where you live", "i know where u live"}),
        (r"\d{3}-\d{2}-\d{4}", None),
        (r"(?i)\bHELLO there", {"hello there"}),
    ],
)
def test_required_literals(pattern: str, expected: set[str] | None) -> None:
    found = required_literals(re.compile(pattern))
    assert found == (None if expected is None else frozenset(expected))


def test_literal_index_finds_overlapping_and_prefix_literals() -> None:
    index = LiteralIndex(["abc", "ab", "cde", "zzz"])
    assert index.find("xabcdex") == {"ab", "abc", "cde"}
    assert index.find("nothing here") == frozenset()


def test_prefilter_never_hides_a_match(banks: dict[str, TextBank]) -> None:
    texts = NEUTRAL + ["All immigrants are vermin", "send 2 btc get 4 back", "his SSN is 123-45-6789"]
    literals = set().union(*(p.gate for b in banks.values() for p in b._matcher.patterns if p.gate))
    index = LiteralIndex(literals)
    for text in texts:
        norm, present = normalize(text), index.find(normalize(text))
        for b in banks.values():
            for p in b._matcher.patterns:
                if p.rx.search(norm):
                    assert p.gate is None or not p.gate.isdisjoint(present), (p.rx.pattern, text)


@pytest.mark.parametrize(
    "text",
    ["a " * 5000, "h4" * 5000, "!" * 10000, "@" * 10000, "a" * 10000, "send 1 " * 1400, "1-" * 5000,
     "h.a." * 2500, "https://x.io/ " * 700],
    ids=["spaced", "leet", "bangs", "ats", "one-letter", "repeated-phrase", "digits", "dotted", "urls"],
)  # fmt: skip
def test_long_adversarial_posts_stay_fast(banks: dict[str, TextBank], text: str) -> None:
    start = time.perf_counter()
    scan_all(banks, text)
    assert time.perf_counter() - start < 1.0


def test_a_define_that_refers_to_another_define_is_refused() -> None:
    data = {
        "policy": "spam",
        "version": 1,
        "description": "x",
        "auto_threshold": None,
        "define": {"a": "foo", "b": "<a>bar"},
        "patterns": [{"pattern": "<b>"}],
    }
    with pytest.raises(ValueError, match="define.b"):
        TextBank.from_mapping(data, "inline.yaml")
