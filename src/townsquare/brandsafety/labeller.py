"""Label texts outside the database: text banks, the trained models (when enabled) and the rule scorer.

This is what `townsquare brand-safety classify` runs and what the model card measures; stored posts are
labelled by the index (brandsafety/index.py) from the signals already computed for them, with the same
functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from townsquare.brandsafety import learned
from townsquare.brandsafety.scorers import Label, merge, rule_scorer, signal_labels
from townsquare.config import Settings
from townsquare.detection.base import Signal
from townsquare.detection.classify import Classifier
from townsquare.detection.classify import signals as classifier_signals
from townsquare.detection.loading import load_classifier
from townsquare.detection.textbanks import TextBankScorer, load_textbanks, scan_all


@dataclass
class Labeller:
    """Every source of suitability labels for raw texts."""

    banks: list[TextBankScorer]
    classifier: Classifier | None
    model: learned.LearnedModel | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Labeller:
        """Text banks from the configured folder; the models unless TOWNSQUARE_MODELS_ENABLED=false."""
        banks = [TextBankScorer(b) for b in load_textbanks(settings.textbanks_dir).values()]
        classifier = load_classifier(settings) if settings.models_enabled else None
        return cls(banks, classifier, learned.for_settings(settings))

    def version(self) -> str:
        """The rule scorer's version and, when the models score too, theirs."""
        rules = rule_scorer().label
        if self.model is not None:
            rules = f"{rules}+{learned.version(self.model)}"
        if self.classifier is None:
            return rules
        return f"{rules}+" + ",".join(f"{k}@{v}" for k, v in sorted(self.classifier.versions().items()))

    def thresholds(self) -> dict[str, float | None]:
        """Each scorer's validated automatic-action threshold (a score above it gives the floor)."""
        out = {b.name: b.auto_threshold for b in self.banks}
        if self.classifier is not None:
            out.update(self.classifier.validated_thresholds())
        return out

    def signals(self, texts: Sequence[str]) -> list[list[Signal]]:
        """Detection signals for a batch of texts (the models score the batch at once)."""
        results = self.classifier.classify(texts) if self.classifier is not None else None
        out = []
        for i, text in enumerate(texts):
            sigs = scan_all(self.banks, text)
            if results is not None:
                sigs.extend(classifier_signals(results[i]))
            out.append(sigs)
        return out

    def base(self, texts: Sequence[str]) -> list[list[Label]]:
        """The rule scorer's labels merged with the signals mapped to GARM (before the learned check)."""
        thresholds = self.thresholds()
        rules = rule_scorer()
        return [
            merge(rules.score(text), signal_labels(sigs, thresholds))
            for text, sigs in zip(texts, self.signals(texts), strict=True)
        ]

    def label(self, texts: Sequence[str]) -> list[list[Label]]:
        """Suitability labels for each text: rules and signals, checked and completed by the learned model."""
        return learned.refine(self.model, texts, self.base(texts))
