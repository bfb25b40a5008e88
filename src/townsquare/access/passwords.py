"""Password strength: a length floor, a common-password blocklist and zxcvbn's estimate (NIST 800-63B).

Checked wherever a person chooses a password (API, the password page, and creation with a chosen
password); generated one-time passwords pass it by construction.
"""

from __future__ import annotations

import re
from functools import lru_cache

from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from townsquare.errors import Invalid

MIN_PASSWORD_CHARS = 12
MIN_PASSWORD_SCORE = 3  # zxcvbn: 3 = "safely unguessable", at least 10^8 guesses
ZXCVBN_MAX_CHARS = 72  # zxcvbn refuses longer input (its matching grows with the square)


def check_password_strength(password: str, user_inputs: tuple[str, ...] = ()) -> None:
    """Refuse short, common or guessable passwords (NIST 800-63B: length and a blocklist, not composition).

    The blocklist is zxcvbn's list of the 30,000 most common passwords; the estimate is zxcvbn's, which
    also sees through common words, names, keyboard patterns, dates, leetspeak and the `user_inputs`
    (username, display name). A password must be "safely unguessable" (score 3 of 4: at least 10^8
    guesses), which argon2 puts far beyond an online or offline attack.
    """
    if len(password) < MIN_PASSWORD_CHARS:
        raise Invalid(f"passwords need at least {MIN_PASSWORD_CHARS} characters", {"field": "password"})
    if password.lower() in _common_passwords():
        raise Invalid(
            "this password is one of the 30,000 most common passwords; choose another",
            {"field": "password", "reason": "common"},
        )
    # A tail beyond what zxcvbn reads adds strength, never removes it.
    estimate = zxcvbn(password[:ZXCVBN_MAX_CHARS], user_inputs=_words(user_inputs))
    if estimate["score"] < MIN_PASSWORD_SCORE:
        feedback = estimate["feedback"]
        why = " ".join([feedback.get("warning") or "", *feedback.get("suggestions", [])]).strip()
        raise Invalid(
            f"this password is too easy to guess (strength {estimate['score']} of 4, "
            f"{MIN_PASSWORD_SCORE} needed). {why or 'Add another word or two.'}",
            {"field": "password", "reason": "weak", "score": estimate["score"]},
        )


def _words(user_inputs: tuple[str, ...]) -> list[str]:
    """Each input whole, squeezed and in pieces ("Grace Hopper": gracehopper, grace, hopper)."""
    out: set[str] = set()
    for text in (u.lower() for u in user_inputs if u):
        pieces = [p for p in re.split(r"[^0-9a-z]+", text) if p]
        out.update([text, "".join(pieces), *pieces])
    return sorted(w for w in out if len(w) >= 3)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])
