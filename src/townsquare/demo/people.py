"""Demo accounts: ordinary users, officials and journalists, notable accounts and a few bad actors."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

N_ACCOUNTS = 420
_WORDS = {
    "first": "alex sam maria jose wei priya omar lena jamal chloe diego aisha noah emma liam olivia yuki "
    "kofi ines mateo sofia arjun fatima ben hannah luca zara tom nina raj elena kai maya ivan grace leo "
    "amara felix rosa dev ana marco julia sean tara hugo mei carlos lucy femi iris",
    "last": "garcia smith nguyen patel kim okafor muller rossi silva cohen brown tanaka ali jones lopez "
    "novak walsh mensah haddad schmidt moreau larsen costa byrne singh reyes kowalski osei park diaz "
    "evans fischer dubois hughes khan price mbeki",
    "adj": "sunny quiet lucky rusty cosmic salty urban wild midnight golden tiny brave lazy retro "
    "electric velvet crispy mellow stormy neon",
    "noun": "fox otter kettle pixel harbor maple comet river badger lantern pepper falcon biscuit cactus "
    "walrus mango ember sparrow teapot",
    "job": "teacher|nurse|software dev|barista|student|designer|paramedic|carpenter|retired engineer|"
    "chef|accountant|grad student|bus driver|librarian|photographer|data analyst|shop owner|vet",
    "interest": "coffee|hiking|jazz|football|gardening|baking|cycling|board games|sci-fi|birding|"
    "running|photography|cooking|local politics|climbing|knitting|basketball|podcasts|travel|film",
    "city": "Leeds|Austin|Toronto|Lyon|Manila|Nairobi|Denver|Glasgow|Melbourne|Dublin|Chicago|Cardiff|"
    "Seattle|Bristol|Phoenix|Auckland|Atlanta|Lagos",
    "town": "Fairview|Riverton|Millbrook|Lakeside|Harborview|Cedar Falls",
}
WORDS = {key: value.split("|" if "|" in value else " ") for key, value in _WORDS.items()}
# (display name, handle, bio, link) for protected accounts: public officials and journalists.
OFFICIALS = [
    (
        "{Town} County Elections",
        "{town}votes",
        "Official account of the {Town} County Elections Office. Registration, deadlines, polling places, "
        "results. Public office.",
        "https://elections.{town}county.gov",
    ),
    ("Mayor {First} {Last}", "mayor{last}", "Mayor of {Town}. Official account of a public official.", ""),
    ("Sen. {First} {Last}", "sen{first}{last}", "State Senator, District {n}. Public official.", ""),
    (
        "{First} {Last}",
        "{first}{last}news",
        "Journalist at the {Town} Herald covering elections and local government. Tips by DM.",
        "https://{town}herald.com/staff/{first}-{last}",
    ),
    (
        "{First} {Last}",
        "{first}_{last}_reports",
        "Health & science reporter, {Town} Public Radio. Journalist.",
        "https://{town}publicradio.org/people/{last}",
    ),
    (
        "Dr. {First} {Last}",
        "dr{last}health",
        "Public health officer, {Town} Health Department. Official account.",
        "https://health.{town}.gov",
    ),
]
NOTABLES = [
    ("{Town} Daily News", "{town}daily", "News from {Town} and beyond, around the clock."),
    ("{Town} FC", "{town}fc", "Official account of {Town} Football Club."),
    ("{First} {Last}", "{first}music", "Singer-songwriter. New album out now."),
    ("The {Adj} {Noun} Podcast", "{adj}{noun}pod", "A weekly podcast about everything and nothing."),
    ("{First} {Last}", "{first}{last}comedy", "Comedian. Touring this spring."),
]
BAD_ROLES = ["hate"] * 5 + ["spam"] * 3 + ["scam"] * 3 + ["misinfo"] * 4
BAD_BIOS = {
    "hate": ["Saying what others won't.", "Not sorry. Free speech absolutist.", ""],
    "spam": ["Follow for follow! Daily giveaways", "Best deals online, link below", "Promo | Collabs | DM"],
    "scam": ["Crypto mentor. 10x your money, DM me", "Helping you earn from home", "Customer support team"],
    "misinfo": [
        "Do your own research.",
        "They are lying to you. Wake up.",
        "Asking the questions they won't.",
    ],
}


@dataclass
class DemoAccount:
    """One generated account; role is the ground truth (regular, official, notable or a bad-actor kind)."""

    handle: str
    display_name: str
    bio: str
    created_at: datetime
    followers: int
    role: str = "regular"
    links: list[str] = field(default_factory=list)
    verified: bool = False
    protected: bool = False
    activity: float = 1.0  # relative posting rate
    platform_id: str = ""

    def record(self) -> dict[str, Any]:
        """The account in the platform ingest format."""
        return {
            "kind": "account",
            "platform_id": self.platform_id,
            "handle": self.handle,
            "display_name": self.display_name,
            "bio": self.bio,
            "links": self.links,
            "created_at": iso(self.created_at),
            "follower_count": self.followers,
            "verified": self.verified,
            "protected": self.protected,
        }


def iso(t: datetime) -> str:
    """ISO 8601 in UTC with a Z suffix, to the second."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cap(word: str) -> str:
    return word[:1].upper() + word[1:]


def _fill(template: str, rng: random.Random, values: dict[str, str]) -> str:
    return template.format(n=str(rng.randint(2, 40)), **values)


def _template_values(rng: random.Random) -> dict[str, str]:
    town = rng.choice(WORDS["town"])
    values = {key: rng.choice(WORDS[key]) for key in ("first", "last", "adj", "noun")}
    values |= {key.capitalize(): _cap(value) for key, value in values.items()}
    return values | {"Town": town, "town": town.replace(" ", "").lower()}


def _person(rng: random.Random) -> tuple[str, str, str]:
    first, last = rng.choice(WORDS["first"]), rng.choice(WORDS["last"])
    adj, noun, n = rng.choice(WORDS["adj"]), rng.choice(WORDS["noun"]), rng.randint(1, 99)
    handle = rng.choice(
        [
            f"{first}{last}",
            f"{first}_{last}",
            f"{first}{last}{n}",
            f"{first}_{adj}",
            f"the{noun}{first}",
            f"{adj}{noun}{n}",
            f"{first}{rng.randint(1960, 2006)}",
            f"{first[0]}{last}",
            f"{_cap(first)}{_cap(last)}",
        ]
    )
    name = rng.choice(
        [
            f"{_cap(first)} {_cap(last)}",
            _cap(first),
            f"{_cap(first)} {last[0].upper()}.",
            f"{_cap(first)} {_cap(last)} {rng.choice('🌻⚽📚☕🎸🌊🐾✨')}",
            f"{_cap(adj)} {_cap(noun)}",
        ]
    )
    parts = [
        rng.choice(WORDS["job"]),
        f"{rng.choice(WORDS['interest'])} & {rng.choice(WORDS['interest'])}",
        rng.choice(WORDS["city"]),
        rng.choice(["she/her", "he/him", "they/them", "views my own"]),
    ]
    bio = " · ".join(rng.sample(parts, rng.randint(1, 3))) if rng.random() < 0.8 else ""
    return handle, name, bio


def _links(rng: random.Random, handle: str) -> list[str]:
    sites = [
        f"https://github.com/{handle}",
        f"https://{handle.lower().replace('_', '-')}.substack.com",
        f"https://linktr.ee/{handle}",
        f"https://www.instagram.com/{handle}",
    ]
    return rng.sample(sites, rng.choices([0, 1, 2], weights=[60, 35, 5])[0])


def _bad_actor(rng: random.Random, role: str, now: datetime) -> DemoAccount:
    digits = rng.randint(1000, 99999)
    adj, noun, first = rng.choice(WORDS["adj"]), rng.choice(WORDS["noun"]), rng.choice(WORDS["first"])
    handle = rng.choice([f"{adj}{noun}{digits}", f"{first}{digits}", f"real_{noun}_{digits}"])
    links = {"spam": [f"https://bit.ly/{digits:x}"], "scam": [f"https://{noun}-rewards.top/join"]}
    # Half are fresh accounts, as when a banned user comes back under a new name.
    age = rng.uniform(15, 60) if rng.random() < 0.5 else rng.uniform(60, 900)
    return DemoAccount(
        handle,
        _person(rng)[1],
        rng.choice(BAD_BIOS[role]),
        now - timedelta(days=age),
        int(rng.lognormvariate(4.0, 1.5)),
        role=role,
        links=links.get(role, []),
        activity=rng.uniform(4, 12),
    )


def _prominent(rng: random.Random, now: datetime) -> list[DemoAccount]:
    accounts = []
    for display, handle, bio, link in OFFICIALS:
        values = _template_values(rng)
        accounts.append(
            DemoAccount(
                _fill(handle, rng, values),
                _fill(display, rng, values),
                _fill(bio, rng, values),
                now - timedelta(days=rng.uniform(700, 4400)),
                int(10 ** rng.uniform(4.3, 6.2)),
                role="official",
                links=[_fill(link, rng, values)] if link else [],
                verified=True,
                protected=True,
                activity=rng.uniform(2, 5),
            )
        )
    for display, handle, bio in NOTABLES:
        values = _template_values(rng)
        accounts.append(
            DemoAccount(
                _fill(handle, rng, values),
                _fill(display, rng, values),
                _fill(bio, rng, values),
                now - timedelta(days=rng.uniform(1000, 5000)),
                int(10 ** rng.uniform(5.0, 6.5)),
                role="notable",
                verified=True,
                activity=rng.uniform(3, 8),
            )
        )
    return accounts


def _impostors(rng: random.Random, originals: list[DemoAccount], now: datetime) -> list[DemoAccount]:
    return [
        DemoAccount(
            original.handle + rng.choice(["_", "_official", "1"]),
            original.display_name,
            original.bio,
            now - timedelta(days=rng.uniform(15, 40)),
            rng.randint(5, 400),
            role="impostor",
            activity=rng.uniform(3, 6),
        )
        for original in originals
    ]


def make_accounts(rng: random.Random, now: datetime, n: int = N_ACCOUNTS) -> list[DemoAccount]:
    """Generate n accounts, oldest first, with platform ids acct-000001...; every one is >= 15 days old."""
    accounts = _prominent(rng, now)
    accounts += _impostors(rng, accounts[:2], now)  # of the elections office and the mayor
    accounts += [_bad_actor(rng, role, now) for role in BAD_ROLES]
    while len(accounts) < n:
        handle, name, bio = _person(rng)
        verified = rng.random() < 0.01
        accounts.append(
            DemoAccount(
                handle,
                name,
                bio,
                now - timedelta(days=rng.uniform(15, 3650)),
                int(rng.lognormvariate(5.0, 1.7) * (20 if verified else 1)),
                links=_links(rng, handle),
                verified=verified,
                activity=min(rng.paretovariate(1.16), 60.0),  # a few prolific posters
            )
        )
    seen: set[str] = set()
    for account in accounts:
        base, k = account.handle, 1
        while account.handle.lower() in seen:
            k += 1
            account.handle = f"{base}{k}"
        seen.add(account.handle.lower())
    accounts.sort(key=lambda a: a.created_at)
    for i, account in enumerate(accounts, start=1):
        account.platform_id = f"acct-{i:06d}"
        account.created_at = account.created_at.replace(microsecond=0)
    return accounts
