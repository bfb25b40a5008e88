"""Coordinated campaigns in the demo: copy-paste waves of scams, spam, election lies, doxxing and threats.

Real platforms see the same script posted dozens of times within an hour by a handful of accounts, each
copy varied a little (amounts, links, handles, emoji) and disguised a little (b.i.t.c.o.i.n, v0te,
zero-width characters, look-alike letters) to slip past exact-match filters. `plan_campaigns` writes
such waves from the templates below, posted by the existing bad actors plus a few throwaway accounts
created shortly before their first wave. Every string is generated here: addresses, phone numbers, SSNs,
wallets and links are fake (555-01xx numbers, published sample SSNs, invented brands and domains).
"""

from __future__ import annotations

import math
import random
import re
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from townsquare.demo.people import WORDS, DemoAccount

CAMPAIGN_SHARE = 0.06  # of the demo's posts
WINDOW = timedelta(days=14)
MIN_AGE = timedelta(minutes=10)  # the newest post is at least this old
WAVE_SIZE = 12  # posts per wave, about
WAVE_GAP_S = 240.0  # mean seconds between copies in a wave

BRANDS = ["CoinHarbor", "Bitvora", "NexaChain", "Satova", "OrbitCoin"]
CARRIERS = ["ParcelLine", "SwiftPost", "PostNow", "ExpressDrop", "ShipRight"]
PARTIES = ["Democrats", "Republicans", "Labour", "Conservative", "Green Party", "Democrat", "Republican"]
GROUPS = ["immigrants", "refugees", "muslims", "jews", "migrants", "mexicans", "gays", "asylum seekers"]
VERMIN = ["vermin", "parasites", "rats", "cockroaches", "a plague", "subhuman"]
FAKE_SSNS = ["123-45-6789", "078-05-1120", "219-09-9999"]  # published samples and voided numbers
FAKE_STREETS = [
    "742 Evergreen Terrace",
    "1234 Fake Street",
    "99 Nowhere Lane",
    "10 Example Road",
    "404 Notreal Ave",
]
TLDS = ["top", "xyz", "live", "site", "info", "online"]
PATHS = ["event", "claim", "official", "help", "pay", "fast", "now", "secure"]
_HOMOGLYPHS = {"a": "а", "e": "е", "o": "о", "c": "с", "p": "р", "i": "і"}  # Cyrillic
_LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}


@dataclass(frozen=True)
class Campaign:
    """One script and who posts it: the category it is labelled with and its share of campaign posts."""

    name: str
    category: str
    share: float
    roles: tuple[str, ...]  # existing bad-actor roles that join in
    throwaways: tuple[tuple[str, str, str], ...]  # (handle, display name, bio) templates
    templates: tuple[str, ...]
    disguise: tuple[str, ...]  # words that get obfuscated in some copies
    site: str  # the campaign's link domains start with this
    emoji: tuple[str, ...]
    tags: tuple[str, ...]  # hashtags
    reply_rate: float = 0.1


CAMPAIGNS = (
    Campaign(
        "crypto_doubling", "scam", 0.22, ("scam",),
        (("{brand}_giveaway{d}", "{Brand} ✅", "Official {Brand} community event. Limited time only!"),
         ("{brand}support{d}", "{Brand} Support", "24/7 help desk for {Brand} customers.")),
        ("🚨 {Brand} GIVEAWAY 🚨 To celebrate {total} users we are giving back! Send {n} {coin} to {wallet} "
         "and get {n2} {coin} back instantly. {url}",
         "{Brand} is doubling all {coin} sent to the address below for the next {hours} hours! "
         "Send {n} {coin}, receive {n2} {coin}. Only {left} spots left {emoji} {url}",
         "Double your {coin} with the official {Brand} event {emoji} Send {n} {coin} get {n2} {coin} back, "
         "guaranteed. Wallet: {wallet}",
         "Last chance: {Brand} x {coin} airdrop. Send {n} {coin} to {wallet} and we send back {n2} {coin} "
         "within {minutes} minutes. Official page: {url}",
         "Just got {n2} {coin} back after sending {n} to the {Brand} giveaway, it's legit!! {emoji} {url}"),
        ("bitcoin", "giveaway", "double", "send", "official", "legit"),
        "{brand}", ("🚀", "💰", "🔥", "✅", "‼️", "👉", "🎁"), ("giveaway", "crypto", "bitcoin"), 0.35,
    ),
    Campaign(
        "parcel_smishing", "scam", 0.15, ("scam",),
        (("{carrier}_delivery{d}", "{Carrier} Delivery", "Tracking and delivery updates."),),
        ("{Carrier}: your parcel is on hold due to an unpaid shipping fee of {fee}. "
         "Pay now to release it: {url}",
         "Your package could not be delivered. A redelivery fee of {fee} is required. Reschedule at {url}",
         "{Carrier} NOTICE: we attempted to deliver your parcel {tracking} but the customs fee ({fee}) "
         "is unpaid. Pay within 24h at {url} or it will be returned to sender.",
         "Hi, your {Carrier} delivery is pending. Confirm your address and pay {fee} at {url} "
         "to avoid return.",
         "{emoji} Your parcel has been held at our depot. Pay the {fee} release fee here: {url}"),
        ("parcel", "package", "delivery", "fee"),
        "{carrier}", ("📦", "⚠️", "‼️"), ("delivery",),
    ),
    Campaign(
        "fake_followers", "spam", 0.18, ("spam",),
        (("grow{noun}{d}", "Insta Growth {emoji}", "Followers | Likes | Views. Cheap & fast."),),
        ("Buy {k} real followers for just {price}! Instant delivery, no password needed {emoji} {url}",
         "Get {k} instant likes on every post. Cheap, safe, 100% real. DM me or visit {url}",
         "Want to go viral? {emoji} {k} followers for {price}, {k2} likes for {price2}. Order at {url}",
         "Grow your account fast: buy real active followers and likes, starting at {price}. Link: {url}",
         "{emoji} Cheap followers, likes and views for any platform. {k} followers = {price}. DM me!"),
        ("followers", "likes", "cheap", "real"),
        "{growth}", ("🚀", "🔥", "💯", "✅", "📈"), ("fyp", "viral", "growth"), 0.35,
    ),
    Campaign(
        "election_procedure", "election_misinfo", 0.18, ("misinfo", "impostor"),
        (("vote_info_{town}{d}", "{Town} Voter Info", "Voting updates. Share to help!"),),
        ("REMINDER: you can now vote by text! Text VOTE to {short} with your candidate's name. "
         "No need to go to the polls. {emoji}",
         "{party} voters: because of high turnout, {party} voters vote on Wednesday this year. "
         "Don't go on Tuesday, the lines are for the other side. Share!",
         "You can vote online this year at {url}, skip the lines, it takes 2 minutes. Deadline Tuesday 8pm.",
         "Heads up: ballots filled in with pencil are NOT counted. Only use a pen or your vote goes "
         "in the bin. Please RT {emoji}",
         "Too busy to vote? Text VOTE to {short} and your ballot is cast for you. Official service. {emoji}"),
        ("vote", "voters", "ballots", "text"),
        "vote-{town}", ("🗳️", "⚠️", "‼️", "🇺🇸"), ("election", "vote", "share"),
    ),
    Campaign(
        "doxxing", "doxxing", 0.08, ("hate",),
        (("truth_{noun}{d}", "{Adj} {Noun}", "Exposing them one by one."),),
        ("This is the {first} {last} who reported me. Her home address is {street}, {Town}. SSN {ssn}. "
         "You know what to do.",
         "Found him. {first} {last}, lives at {street}, {Town}, phone {phone}. Make his life hell.",
         "Everyone say hi to {first} {last} {emoji} address: {street}, {Town}. Social security number: {ssn}",
         "{first} {last}'s real address is {street}. Call her at {phone} and tell her what you think."),
        ("address", "security"),
        "{growth}", ("👋", "😈", "📍"), ("exposed",), 0.3,
    ),
    Campaign(
        "threats", "threat", 0.1, ("hate",), (),
        ("I know where you live. I will kill you.",
         "Keep talking. I know where you live and I'm coming for you.",
         "You're dead meat. I will find you and I will kill you",
         "Watch your back. We know where you work.",
         "I'm going to kill you and your family {emoji}"),
        ("kill", "live"),
        "", ("🔪", "😡", "💀"), (), 0.7,
    ),
    Campaign(
        "dehumanising", "hate", 0.09, ("hate",), (),
        ("{Group} are {vermin}.",
         "All these {group} are {vermin} and everyone knows it",
         "Wake up. {Group} are nothing but {vermin} living off us.",
         "{Group} are {vermin}, send them all back"),
        ("vermin", "parasites", "rats"),
        "", ("🤮", "🐀", "😡"), ("wakeup",),
    ),
)  # fmt: skip


class CampaignPost(NamedTuple):
    """One copy of a campaign script, ready to become a demo post."""

    created: datetime
    author: DemoAccount
    category: str
    campaign: str
    text: str
    language: str | None
    reply: bool


def _token(rng: random.Random, k: int, alphabet: str = string.ascii_lowercase + string.digits) -> str:
    return "".join(rng.choices(alphabet, k=k))


def _values(rng: random.Random, campaign: Campaign, brand: str, carrier: str) -> dict[str, str]:
    """Fresh fake details for one copy: amounts, links, wallets, names and numbers."""
    coin = rng.choice(["BTC", "BTC", "ETH", "bitcoin", "ETH", "USDT"])
    n = (
        rng.choice([0.1, 0.25, 0.5, 1, 2, 5])
        if coin in ("BTC", "bitcoin")
        else rng.choice([1, 2, 5, 10, 500])
    )
    if coin in ("BTC", "bitcoin"):
        wallet = "bc1q" + _token(rng, 38, "023456789acdefghjklmnpqrstuvwxyz")
    else:
        wallet = "0x" + _token(rng, 40, "0123456789abcdef")
    growth = rng.choice(["fastfame", "growfans", "instaboost", "likehub", "viralkit"])
    town = rng.choice(WORDS["town"])
    site = (
        campaign.site.format(brand=brand, carrier=carrier, growth=growth, town=town).lower().replace(" ", "")
    )
    first, last = rng.choice(WORDS["first"]).capitalize(), rng.choice(WORDS["last"]).capitalize()
    k = rng.choice(["1000", "5k", "10,000", "10K", "2500", "50k"])
    return {
        "brand": brand.lower(), "Brand": brand, "carrier": carrier.lower(), "Carrier": carrier,
        "coin": coin, "n": f"{n:g}", "n2": f"{2 * n:g}", "wallet": wallet,
        "total": rng.choice(["1 million", "10M", "5,000,000", "2M"]),
        "hours": str(rng.choice([2, 6, 12, 24, 48])),
        "left": str(rng.randint(3, 90)), "minutes": str(rng.choice([10, 15, 30])),
        "url": f"https://{site}-{rng.choice(PATHS)}.{rng.choice(TLDS)}/{_token(rng, rng.randint(4, 8))}",
        "fee": rng.choice(["$1.99", "$2.49", "£1.45", "£2.99", "€1.99", "$3.00", "£0.89"]),
        "tracking": rng.choice(["RX", "LP", "CN"]) + str(rng.randint(10**8, 10**9 - 1)) + "GB",
        "k": k, "k2": rng.choice(["500", "1k", "5000", "20K"]),
        "price": rng.choice(["$4.99", "$9.99", "£5", "$2", "$14.99"]),
        "price2": rng.choice(["$1.99", "$3", "£2"]),
        "short": str(rng.choice([55123, 88022, 45678, 30303, 71717])),
        "party": rng.choice(PARTIES), "first": first, "last": last,
        "street": rng.choice(FAKE_STREETS), "ssn": _ssn(rng),
        "phone": f"(555) 555-01{rng.randint(0, 99):02d}",
        "group": (group := rng.choice(GROUPS)), "Group": group.capitalize(), "vermin": rng.choice(VERMIN),
        "emoji": rng.choice(campaign.emoji), "noun": rng.choice(WORDS["noun"]),
        "Noun": rng.choice(WORDS["noun"]).capitalize(),
        "Adj": rng.choice(WORDS["adj"]).capitalize(), "d": str(rng.randint(10, 9999)),
        "Town": town, "town": town.replace(" ", "").lower(),
    }  # fmt: skip


def _ssn(rng: random.Random) -> str:
    ssn = rng.choice(FAKE_SSNS)
    return rng.choice([ssn, ssn, ssn.replace("-", " "), ssn.replace("-", "")])


def disguise(rng: random.Random, word: str) -> str:
    """One evasion a campaign uses on a keyword: dots, spaces, leetspeak, zero-width or look-alike letters."""
    style = rng.choice(["dots", "spaces", "leet", "zero_width", "homoglyph"])
    if style == "dots":
        return ".".join(word)
    if style == "spaces":
        return " ".join(word)
    if style == "zero_width":
        cut = rng.randint(1, len(word) - 1)
        return word[:cut] + rng.choice(["\u200b", "\u200d", "\u2060"]) + word[cut:]
    table = _LEET if style == "leet" else _HOMOGLYPHS
    inner = "".join(table.get(c, c) if rng.random() < 0.7 else c for c in word[1:-1])
    return word[0] + inner + word[-1]


def vary(rng: random.Random, campaign: Campaign, template: str, values: dict[str, str]) -> str:
    """Fill a template, then vary the copy the way copy-paste waves do."""
    text = template.format(**values)
    if rng.random() < 0.5:  # disguise one or two keywords (first occurrence, case kept)
        for word in rng.sample(campaign.disguise, min(len(campaign.disguise), rng.randint(1, 2))):
            if m := re.search(rf"(?<![\w./-]){word}(?![\w-])(?!\.\w)", text, re.IGNORECASE):  # not in links
                text = text[: m.start()] + disguise(rng, m.group()) + text[m.end() :]
    roll = rng.random()
    if roll < 0.15:
        text = text.upper()
    elif roll < 0.35:
        text = f"{rng.choice(campaign.emoji)} {text}"
    elif roll < 0.5:
        text = f"{text} {rng.choice(campaign.emoji)}{rng.choice(campaign.emoji)}"
    if campaign.tags and rng.random() < 0.15:
        text += " #" + rng.choice(campaign.tags)
    return text


def _split(n: int, shares: list[float]) -> list[int]:
    """n split in proportion to shares (largest remainder), so the total is exact."""
    exact = [n * s / sum(shares) for s in shares]
    counts = [math.floor(x) for x in exact]
    for i in sorted(range(len(shares)), key=lambda i: counts[i] - exact[i])[: n - sum(counts)]:
        counts[i] += 1
    return counts


def _wave_times(rng: random.Random, n: int, now: datetime) -> list[datetime]:
    """n times in bursts of about WAVE_SIZE copies a few minutes apart, inside the demo window."""
    times: list[datetime] = []
    for size in _split(n, [1.0] * max(1, math.ceil(n / WAVE_SIZE))):
        gaps = [rng.expovariate(1 / WAVE_GAP_S) for _ in range(size)]
        span = sum(gaps)
        latest = (WINDOW - MIN_AGE).total_seconds() - span - 1
        start = now - WINDOW + timedelta(seconds=rng.uniform(3600, max(3601, latest)))
        offset = 0.0
        for gap in gaps:
            offset += gap
            times.append(start + timedelta(seconds=int(offset)))
    return sorted(times)


def _throwaway(
    rng: random.Random, spec: tuple[str, str, str], values: dict[str, str], first: datetime
) -> DemoAccount:
    handle, name, bio = (s.format(**values) for s in spec)
    links = [values["url"]] if rng.random() < 0.6 else []
    created = first - timedelta(seconds=rng.randint(2 * 3600, 3 * 86400))
    return DemoAccount(handle, name, bio, created, rng.randint(0, 60), role="throwaway", links=links)


def plan_campaigns(
    rng: random.Random, accounts: list[DemoAccount], n: int, now: datetime
) -> tuple[list[DemoAccount], list[CampaignPost]]:
    """n campaign posts in time order, and the accounts with the campaigns' throwaways added (renumbered)."""
    brand, carrier = rng.choice(BRANDS), rng.choice(CARRIERS)
    posts: list[CampaignPost] = []
    new: list[DemoAccount] = []
    for campaign, count in zip(CAMPAIGNS, _split(n, [c.share for c in CAMPAIGNS]), strict=True):
        authors = [a for a in accounts if a.role in campaign.roles]
        if count == 0 or not (authors or campaign.throwaways):
            continue
        times = _wave_times(rng, count, now)
        for spec in campaign.throwaways:
            authors.append(_throwaway(rng, spec, _values(rng, campaign, brand, carrier), times[0]))
            new.append(authors[-1])
        for created in times:
            values = _values(rng, campaign, brand, carrier)
            text = vary(rng, campaign, rng.choice(campaign.templates), values)
            author = rng.choice([a for a in authors if a.created_at < created] or authors)
            language = "en" if rng.random() < 0.85 else None
            reply = rng.random() < campaign.reply_rate
            posts.append(
                CampaignPost(created, author, campaign.category, campaign.name, text, language, reply)
            )
    return _renumbered(accounts + new), sorted(posts, key=lambda p: p.created)


def _renumbered(accounts: list[DemoAccount]) -> list[DemoAccount]:
    """Unique handles, oldest first, platform ids acct-000001... (as `make_accounts` numbers them)."""
    seen = {a.handle.lower() for a in accounts if a.role != "throwaway"}
    for account in accounts:
        if account.role == "throwaway":
            base, k = account.handle, 1
            while account.handle.lower() in seen:
                k += 1
                account.handle = f"{base}{k}"
            seen.add(account.handle.lower())
            account.created_at = account.created_at.replace(microsecond=0)
    accounts = sorted(accounts, key=lambda a: a.created_at)
    for i, account in enumerate(accounts, start=1):
        account.platform_id = f"acct-{i:06d}"
    return accounts
