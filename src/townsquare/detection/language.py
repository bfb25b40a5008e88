"""Language identification for posts the platform sent without a language.

py3langid (langid.py's model, shipped inside the wheel) decides. Because most traffic is English
and langid costs about 250 µs a text, plain-ASCII texts that are plainly English (at least three
words, a quarter or more of them common English function words that other Latin-script languages do
not share) skip it. Texts too short to tell get `und` (undetermined): our English models still
score them, but the engine's "not English, so never automatic" rule only applies to a known
non-English language.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

UNDETERMINED = "und"
MIN_CONFIDENCE = 0.80
_WORD = re.compile(r"[a-z']+")
_NOISE = re.compile(r"(?:https?://|www\.)\S+|[@#]\w+|\bURL\b")
_LETTER = re.compile(r"[^\W\d_]")
# English function words that are not also common words in Spanish, French, German, Dutch,
# Portuguese, Italian, Indonesian or Tagalog.
_ENGLISH = frozenset(
    """the and you that this with are have for what your they just but was were will would
    been there their them then than which when who why how its it's it is of to be not don't
    can't i'm i've you're we're my me our us he she his her him all some any would should could
    about from into because also very really much more most other only over after before""".split()
)


@dataclass(frozen=True)
class LanguageGuess:
    """An ISO 639-1 code (or `und`) and how sure the detector is."""

    language: str
    confidence: float
    method: str  # fast-path | langid | too-short


class LanguageDetector:
    """Detects a text's language; thread-safe, model loaded on first use."""

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    def _langid(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    from py3langid.langid import MODEL_FILE, LanguageIdentifier

                    self._model = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        return self._model

    def detect(self, text: str) -> LanguageGuess:
        """The language of one text."""
        letters = len(_LETTER.findall(text))
        if letters < 8:
            return LanguageGuess(UNDETERMINED, 0.0, "too-short")
        text = _NOISE.sub(" ", text)  # mentions, hashtags and links say nothing of the language
        if text.isascii():
            words = _WORD.findall(text.lower())
            if len(words) >= 3:
                hits = sum(w in _ENGLISH for w in words)
                if hits >= 1 and hits * 4 >= len(words):
                    return LanguageGuess("en", 0.99, "fast-path")
        code, prob = self._langid().classify(text)
        # English is what the models know, so an English guess is kept at any confidence; another
        # language must be clear, or a short tweet with slang would be sent away from the models.
        if code != "en" and prob < MIN_CONFIDENCE:
            return LanguageGuess(UNDETERMINED, float(prob), "langid")
        return LanguageGuess(str(code), float(prob), "langid")
