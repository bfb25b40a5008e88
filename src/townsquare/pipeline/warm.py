"""Load and compile, before the first post, everything deciding a post needs lazily.

The text-bank indexes, the trained models' caches and the brand-safety rules and learned check are
built on first use. A worker (or the service) that meets them in its first batch spends seconds of CPU
there, which delays those posts and counts against them; `warm` pays it at start-up instead.
"""

from __future__ import annotations

from townsquare.brandsafety import hooks as brand_safety
from townsquare.brandsafety import learned
from townsquare.db import transaction
from townsquare.detection.normalize import normalize
from townsquare.pipeline import score
from townsquare.pipeline.refresh import refresh_states
from townsquare.runtime import Runtime

# Ordinary posts: they touch every scorer (banks, models, claims) without matching anything in particular.
SAMPLES = (
    "Polling stations open at 7am tomorrow, bring your ID and check your registration online.",
    "Thanks everyone for the birthday wishes, see you all at the game on Saturday!",
    "Mañana abrimos la panadería a las nueve, pan fresco los sábados.",  # loads the language model
)


def warm(rt: Runtime) -> None:
    """Bring the runtime up to date (live banks), then score and label a few sample posts; stores nothing."""
    with transaction(rt.sessions) as session:
        refresh_states(session, rt)
    found = score.detect(rt, list(SAMPLES))
    model = learned.for_settings(rt.settings)
    brand_safety.label_version(model)
    brand_safety.content_labels_batch(
        rt.scorer_thresholds(), [normalize(t) for t in SAMPLES], [d.signals for d in found], model
    )
