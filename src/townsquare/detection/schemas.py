"""Request and response shapes of the classify API (the public scoring contract)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from townsquare.content.schemas import Language, Text


class ClassifyItem(BaseModel):
    """One text to classify; `language` is optional (detected when missing)."""

    model_config = ConfigDict(extra="forbid")

    id: str | int | None = Field(default=None, description="Echoed back; any string or number.")
    text: Text
    language: Language | None = None


class ClassifyRequest(BaseModel):
    """Either one `text` or a list of `items` (at most the batch limit)."""

    model_config = ConfigDict(extra="forbid")

    text: Text | None = None
    language: Language | None = None
    items: list[ClassifyItem] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_form(self) -> ClassifyRequest:
        if (self.text is None) == (self.items is None):
            raise ValueError("send either 'text' or 'items', not both and not neither")
        return self

    def as_items(self) -> list[ClassifyItem]:
        """The request as a list of items."""
        if self.items is not None:
            return self.items
        assert self.text is not None
        return [ClassifyItem(text=self.text, language=self.language)]


class ScoreOut(BaseModel):
    """One scorer's verdict (see the README's scoring contract)."""

    probability: float = Field(description="Calibrated probability of the harmful class")
    flagged: bool = Field(description="probability >= threshold (misinformation: or a claim matched)")
    threshold: float | None = Field(description="The operating threshold")
    auto_threshold: float | None = Field(description="Validated threshold for acting alone; null: never")
    evidence: list[dict[str, Any]] = Field(description="What drove the score (terms, identity term, claim)")
    version: str = Field(description="Scorer version + artifact checksum")
    tier: str = Field(description="fast, or cascade when the semantic tier re-scored it")


class HateScore(ScoreOut):
    """The hate scorer adds the protected group the text names."""

    target: str | None = Field(description="race_ethnicity, religion, gender, sexual_orientation, ...")


class AbuseScore(ScoreOut):
    """The abuse scorer adds who is targeted."""

    targeted: str = Field(description="individual, group or none")


class ClaimOut(BaseModel):
    """A known false claim the text matches."""

    id: str
    text: str
    similarity: float
    verdict: str
    source: str
    topic: str
    method: str = Field(description="bm25 or embedding")
    stance: str = Field("asserts", description="The post's stance toward the claim (asserts for a match)")
    probability: float | None = Field(
        None, description="The claim verifier's probability that the post asserts the claim (semantic tier)"
    )


class MisinformationScore(ScoreOut):
    """The misinformation scorer adds the matched known false claims."""

    claims: list[ClaimOut]


class Scores(BaseModel):
    """One entry per scorer."""

    hate: HateScore
    abuse: AbuseScore
    threat: ScoreOut
    misinformation: MisinformationScore
    scam: ScoreOut
    spam: ScoreOut


class ClassifyResult(BaseModel):
    """Every scorer's verdict on one text."""

    id: str | int | None = None
    language: str = Field(description="ISO 639-1 code, or und when it cannot be told")
    scores: Scores


class ClassifyResponse(BaseModel):
    """Results in request order, with every scorer's version."""

    results: list[ClassifyResult]
    versions: dict[str, str]
