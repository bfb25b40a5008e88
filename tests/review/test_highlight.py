"""Evidence phrases are marked in the post's text; everything else stays escaped text."""

from __future__ import annotations

from townsquare.review.highlight import highlight, spans

SIGNALS = [
    {"scorer": "model.threat", "evidence": [{"kind": "phrase", "match": "going to kill", "weight": 1.4}]},
    {
        "scorer": "textbank.harassment_threats",
        "evidence": [
            {"kind": "term", "match": "i'm going to kill you"},
            {"kind": "claim", "match": "claim-1", "text": "not in the post"},
        ],
    },
    {"scorer": "model.hate", "evidence": [{"target": "religion"}]},
]


def test_phrases_are_marked_and_overlaps_merged() -> None:
    text = "Listen: I'm going to   kill you. Really."
    got = spans(text, SIGNALS)
    assert len(got) == 1
    start, end, why = got[0]
    assert text[start:end] == "I'm going to   kill you"
    assert "model.threat" in why
    assert "textbank.harassment_threats" in why


def test_the_rest_is_escaped_and_words_inside_words_are_not_marked() -> None:
    html = str(highlight('<b>skill</b> I\'m going to kill you "now"', SIGNALS))
    assert html.startswith("&lt;b&gt;skill&lt;/b&gt; ")
    assert '<mark class="evidence" title="' in html
    assert html.count("<mark") == 1
    assert "&#34;now&#34;" in html


def test_no_evidence_no_marks() -> None:
    assert str(highlight("plain <i>text</i>", None)) == "plain &lt;i&gt;text&lt;/i&gt;"
    assert str(highlight(None, SIGNALS)) == ""
