"""Streaming detection of coordinated campaigns: accounts acting together within short windows.

The method is the coordination network of the QUT toolkit and the literature it follows: two accounts
are linked each time they do the same thing within `window_s` seconds of each other (post near-identical
text, share the same link, repost the same post, reply to the same account with near-identical text); a
link's weight counts their distinct coincidences. One coincidence is what strangers sharing a viral post
or a popular quote produce by chance; accounts that coincide again and again are acting together. A
campaign is a connected group of at least `min_accounts` accounts whose links each carry at least
`min_weight` coincidences, with at least `min_posts` posts between them. A second rule catches what fresh
accounts do at once: when most of the accounts pushing the same link, hashtag or reply target within
`burst_s` are younger than `fresh_days` (organic sharing is mostly by established accounts), they form a
campaign on their own.

Near-identical text is found with MinHash LSH (datasketch) over character 5-grams, which survives light
edits (a changed amount, link or emoji) that break word shingles. State is kept for `horizon_s` and
pruned as time moves; `sweep` turns the current network into campaigns, and is cheap enough to run every
simulated minute. The detector is pure (no I/O): the service feeds it stored posts, the benchmark a stream.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections import Counter, defaultdict, deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice

import numpy as np
from datasketch import MinHash, MinHashLSH

from townsquare.detection.normalize import normalize

_URL = re.compile(r"https?://[^\s]+", re.IGNORECASE)
_TAG = re.compile(r"(?<!\w)#(\w{2,64})")
_MENTION = re.compile(r"(?<!\w)@\w+")
_SPACE = re.compile(r"\s+")
NUM_PERM = 64
SHINGLE = 5
MIN_TEXT = 24  # characters of normalised text below which a post has no text fingerprint
MAX_TEXT = 400  # characters fingerprinted (copies share their opening; long tails only cost time)
_TEMPLATE = MinHash(num_perm=NUM_PERM, seed=1)  # its permutations are reused: building them is the slow part
BURST_KINDS = ("link", "tag", "reply")


def _back(now: datetime, seconds: float) -> datetime:
    """`now` less `seconds`, or the earliest time there is (a post may be dated year 1)."""
    try:
        return now - timedelta(seconds=seconds)
    except OverflowError:
        return datetime.min.replace(tzinfo=now.tzinfo)


@dataclass(frozen=True)
class Config:
    """The detector's windows and thresholds (documented in the module docstring)."""

    window_s: float = 60.0  # two accounts coincide when they repost or reply this close in time
    # Near-identical text or the same link from two accounts counts over a longer window: copy-paste and
    # link campaigns spread their posts over tens of minutes, while strangers sharing a popular quote or
    # a news link still coincide only once each (they post it once).
    text_window_s: float = 600.0
    text_horizon_s: float = 600.0  # how long a text stays findable as a near-duplicate (the text window)
    horizon_s: float = 3 * 3600.0  # how long a link between two accounts is remembered
    similarity: float = 0.6
    min_weight: int = 2
    core: int = 3  # each account of a campaign keeps this many strong links inside it
    min_density: float = 0.3  # strong links / possible pairs within a campaign
    min_accounts: int = 4
    min_posts: int = 8
    burst_s: float = 600.0
    fresh_days: float = 7.0
    fresh_min: int = 5
    fresh_share: float = 0.5
    scan_cap: int = 50  # posts per key looked back at for coincidences (bounds a viral key's cost)


@dataclass(frozen=True)
class Observation:
    """One post as the detector sees it."""

    post: Hashable
    account: Hashable
    at: datetime
    text: str
    account_created: datetime
    reply_to_account: Hashable | None = None
    repost_of: Hashable | None = None


@dataclass
class Found:
    """A campaign as detected: its accounts and posts, what they shared, and when it was seen."""

    key: str
    accounts: set[Hashable]
    posts: set[Hashable]
    kinds: set[str]
    first_at: datetime
    last_at: datetime
    detected_at: datetime
    evidence: dict[str, object] = field(default_factory=dict)
    score: float = 0.0


@dataclass
class _Edge:
    pairs: set[tuple[Hashable, Hashable]] = field(default_factory=set)
    kinds: set[str] = field(default_factory=set)
    last: datetime | None = None


def fingerprint_text(text: str) -> str:
    """The text with links, mentions and spacing removed, normalised (what near-duplicates share)."""
    return _SPACE.sub(" ", _MENTION.sub(" ", _URL.sub(" ", normalize(text)))).strip()


def links(text: str) -> list[str]:
    """The links in a text, without query strings or fragments (tracking parameters vary per copy)."""
    out = []
    for url in _URL.findall(text):
        base = re.split(r"[?#]", url.rstrip(".,;:!?)\"'"), maxsplit=1)[0].lower()
        out.append(base.rstrip("/"))
    return out


def hashtags(text: str) -> list[str]:
    """The hashtags of a text, lower-cased."""
    return sorted({t.lower() for t in _TAG.findall(text)})


class Detector:
    """Keeps the recent coordination network and reports campaigns (see the module docstring)."""

    def __init__(self, config: Config | None = None) -> None:
        self.cfg = config or Config()
        self.lsh = MinHashLSH(threshold=self.cfg.similarity, num_perm=NUM_PERM)
        self.text_cluster: dict[Hashable, Hashable] = {}
        self.signatures: dict[Hashable, np.ndarray] = {}
        self.inserted: deque[tuple[datetime, Hashable]] = deque()  # LSH entries, oldest first
        self.recent: dict[tuple[str, Hashable], deque[tuple[datetime, Hashable, Hashable]]] = defaultdict(
            deque
        )
        self.key_log: deque[tuple[datetime, tuple[str, Hashable]]] = deque()
        self.edges: dict[tuple[Hashable, Hashable], _Edge] = {}
        self.edge_log: deque[tuple[datetime, tuple[Hashable, Hashable]]] = deque()
        self.strong: set[tuple[Hashable, Hashable]] = set()  # links with at least min_weight coincidences
        self.by_post: dict[Hashable, Observation] = {}
        self.post_log: deque[tuple[datetime, Hashable]] = deque()
        self.touched: set[tuple[str, Hashable]] = set()  # burst keys with new posts since the last sweep
        self.campaigns: dict[str, Found] = {}
        self.owner: dict[Hashable, str] = {}  # account -> campaign key
        self.now: datetime | None = None

    # --- observing -------------------------------------------------------------------------------
    def _cluster(self, obs: Observation) -> Hashable | None:
        text = fingerprint_text(obs.text)[:MAX_TEXT]
        if len(text) < MIN_TEXT:
            return None
        m = MinHash(
            num_perm=NUM_PERM,
            seed=1,
            hashfunc=zlib.crc32,
            permutations=_TEMPLATE.permutations,
            scheme=_TEMPLATE.scheme,
        )
        m.update_batch([text[i : i + SHINGLE].encode() for i in range(len(text) - SHINGLE + 1)])
        values = m.hashvalues
        # LSH returns candidates whose bands collide; confirm each by its estimated Jaccard similarity,
        # or chains of chance collisions would join unrelated texts into one cluster.
        similar = [
            k
            for k in self.lsh.query(m)
            if k in self.signatures and float(np.mean(self.signatures[k] == values)) >= self.cfg.similarity
        ]
        cluster = min((self.text_cluster[k] for k in similar), default=obs.post, key=str)
        self.lsh.insert(obs.post, m)
        self.signatures[obs.post] = values
        self.inserted.append((obs.at, obs.post))
        self.text_cluster[obs.post] = cluster
        return cluster

    def _keys(self, obs: Observation, cluster: Hashable | None) -> list[tuple[str, Hashable, bool]]:
        """(kind, value, links accounts?) for each thing the post shares; burst-only keys do not link."""
        keys: list[tuple[str, Hashable, bool]] = []
        if cluster is not None:
            keys.append(("text", cluster, obs.reply_to_account is None))
            if obs.reply_to_account is not None:
                keys.append(("reply_text", (obs.reply_to_account, cluster), True))
        keys += [("link", u, True) for u in links(obs.text)]
        if obs.repost_of is not None:
            keys.append(("repost", obs.repost_of, True))
        if obs.reply_to_account is not None:
            keys.append(("reply", obs.reply_to_account, False))
        keys += [("tag", t, False) for t in hashtags(obs.text)]
        return keys

    def observe(self, obs: Observation) -> None:
        """Add one post: link its account to every other that did the same thing within the window."""
        if obs.post in self.by_post:
            return
        self.now = obs.at if self.now is None or obs.at > self.now else self.now
        self.by_post[obs.post] = obs
        self.post_log.append((obs.at, obs.post))
        cluster = self._cluster(obs)
        short, long = timedelta(seconds=self.cfg.window_s), timedelta(seconds=self.cfg.text_window_s)
        for kind, value, linking in self._keys(obs, cluster):
            key = (kind, value)
            queue = self.recent[key]
            window = long if kind in ("text", "reply_text", "link") else short
            if linking:
                near = []
                for at, account, post in islice(reversed(queue), self.cfg.scan_cap):
                    if abs(obs.at - at) > window:
                        break
                    near.append((account, post))
                # A key that scan_cap posts shared within the window is going viral: strangers crowding
                # around it coincide by the hundred, so it links no one (campaigns are tens of accounts).
                if len(near) < self.cfg.scan_cap:
                    for account, post in near:
                        if account != obs.account:
                            self._link(obs.account, account, obs.post, post, kind, obs.at)
            queue.append((obs.at, obs.account, obs.post))
            self.key_log.append((obs.at, key))
            if kind in BURST_KINDS:
                self.touched.add(key)

    def _link(self, a: Hashable, b: Hashable, pa: Hashable, pb: Hashable, kind: str, at: datetime) -> None:
        pair = (a, b) if str(a) <= str(b) else (b, a)
        edge = self.edges.get(pair)
        if edge is None:
            edge = self.edges[pair] = _Edge()
        edge.pairs.add((pa, pb) if str(pa) <= str(pb) else (pb, pa))
        edge.kinds.add(kind)
        edge.last = at
        self.edge_log.append((at, pair))
        if len(edge.pairs) >= self.cfg.min_weight:
            self.strong.add(pair)

    # --- pruning -----------------------------------------------------------------------------------
    def prune(self, now: datetime) -> None:
        """Forget texts, keys, posts and links older than their horizons (oldest first: amortised O(1))."""
        text_cut = _back(now, self.cfg.text_horizon_s)
        while self.inserted and self.inserted[0][0] < text_cut:
            _, post = self.inserted.popleft()
            self.lsh.remove(post)
            self.text_cluster.pop(post, None)
            self.signatures.pop(post, None)
        key_cut = _back(now, max(self.cfg.burst_s, self.cfg.window_s, self.cfg.text_window_s))
        while self.key_log and self.key_log[0][0] < key_cut:
            _, key = self.key_log.popleft()
            queue = self.recent.get(key)
            while queue and queue[0][0] < key_cut:
                queue.popleft()
            if queue is not None and not queue:
                del self.recent[key]
        cut = _back(now, self.cfg.horizon_s)
        while self.edge_log and self.edge_log[0][0] < cut:
            _, pair = self.edge_log.popleft()
            edge = self.edges.get(pair)
            if edge is not None and (edge.last is None or edge.last < cut):
                del self.edges[pair]
                self.strong.discard(pair)
        post_cut = _back(now, max(self.cfg.text_horizon_s, self.cfg.burst_s))
        while self.post_log and self.post_log[0][0] < post_cut:
            _, post = self.post_log.popleft()
            self.by_post.pop(post, None)

    # --- sweeping ----------------------------------------------------------------------------------
    def sweep(self, now: datetime | None = None) -> list[Found]:
        """Campaigns new or grown since the last sweep."""
        now = now or self.now
        if now is None:
            return []
        self.prune(now)
        changed: dict[str, Found] = {}
        # Bursts first: each names one link, hashtag or target, so it keeps campaigns apart that a network
        # component might join.
        for accounts, posts, kinds, extra in [*self._bursts(now), *self._networks()]:
            found = self._merge(accounts, posts, kinds, extra, now)
            if found is not None:
                changed[found.key] = found
        return list(changed.values())

    def _core(self) -> dict[tuple[Hashable, Hashable], _Edge]:
        """The strong links whose accounts each keep at least `core` of them (the k-core): a campaign is a
        dense cluster, while heavy organic users who happen to coincide twice form sparse chains."""
        strong = {p: self.edges[p] for p in self.strong}
        touching: dict[Hashable, set[tuple[Hashable, Hashable]]] = defaultdict(set)
        for pair in strong:
            for x in pair:
                touching[x].add(pair)
        weak = [x for x, pairs in touching.items() if len(pairs) < self.cfg.core]
        while weak:
            x = weak.pop()
            for pair in list(touching.get(x, ())):
                del strong[pair]
                for y in pair:
                    touching[y].discard(pair)
                    if y != x and len(touching[y]) == self.cfg.core - 1:
                        weak.append(y)
        return strong

    def _networks(self) -> Iterable[tuple[set[Hashable], set[Hashable], set[str], dict[str, object]]]:
        strong = self._core()
        parent: dict[Hashable, Hashable] = {}

        def find(x: Hashable) -> Hashable:
            while parent.setdefault(x, x) != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for a, b in strong:
            parent[find(a)] = find(b)
        groups: dict[Hashable, list[tuple[Hashable, Hashable]]] = defaultdict(list)
        for pair in strong:
            groups[find(pair[0])].append(pair)
        for pairs in groups.values():
            accounts = {x for pair in pairs for x in pair}
            posts = {p for pair in pairs for pp in strong[pair].pairs for p in pp}
            if len(accounts) < self.cfg.min_accounts or len(posts) < self.cfg.min_posts:
                continue
            density = len(pairs) / (len(accounts) * (len(accounts) - 1) / 2)
            if density < self.cfg.min_density:
                continue
            kinds = {k for pair in pairs for k in strong[pair].kinds}
            weights = sorted(len(strong[p].pairs) for p in pairs)
            yield (
                accounts,
                posts,
                kinds,
                {
                    "links": len(pairs),
                    "median_coincidences": weights[len(weights) // 2],
                    "density": round(density, 3),
                },
            )

    def _bursts(
        self, now: datetime
    ) -> Iterable[tuple[set[Hashable], set[Hashable], set[str], dict[str, object]]]:
        since = _back(now, self.cfg.burst_s)
        fresh = timedelta(days=self.cfg.fresh_days)
        touched, self.touched = self.touched, set()
        for key in touched:
            queue = self.recent.get(key)
            if queue is None or len(queue) < self.cfg.fresh_min:
                continue
            inside = [(a, p) for at, a, p in queue if at >= since and p in self.by_post]
            accounts = {a for a, _ in inside}
            young = {a for a, p in inside if self.by_post[p].at - self.by_post[p].account_created <= fresh}
            if len(young) < self.cfg.fresh_min or len(young) < self.cfg.fresh_share * len(accounts):
                continue
            posts = {p for _, a, p in queue if a in young}
            share = round(len(young) / len(accounts), 3)
            yield (
                young,
                posts,
                {"fresh_burst", key[0]},
                {"burst_key": f"{key[0]}:{key[1]}", "fresh_share": share},
            )

    def _merge(
        self,
        accounts: set[Hashable],
        posts: set[Hashable],
        kinds: set[str],
        extra: dict[str, object],
        now: datetime,
    ) -> Found | None:
        owned = Counter(self.owner[a] for a in accounts if a in self.owner)
        if owned:
            # Grow the campaign that holds most of these accounts; accounts of other campaigns stay theirs
            # (a shared hashtag or template does not make two operations one).
            key = min(owned, key=lambda k: (-owned[k], k))
            found = self.campaigns[key]
            mine = {a for a in accounts if self.owner.get(a, key) == key}
            before = (len(found.accounts), len(found.posts))
            found.accounts |= mine
            found.posts |= {p for p in posts if p not in self.by_post or self.by_post[p].account in mine}
            found.kinds |= kinds
            if (len(found.accounts), len(found.posts)) == before:
                return None
        else:
            digest = hashlib.sha256("|".join(sorted(map(str, posts))).encode()).hexdigest()[:12]
            key = f"cmp-{digest}"
            found = self.campaigns[key] = Found(key, set(accounts), set(posts), set(kinds), now, now, now)
        times = [self.by_post[p].at for p in found.posts if p in self.by_post]
        if times:
            found.first_at, found.last_at = min(min(times), found.first_at), max(max(times), found.last_at)
        found.evidence = {
            **found.evidence,
            **extra,
            "accounts": len(found.accounts),
            "posts": len(found.posts),
        }
        found.score = min(1.0, len(found.posts) / (4 * self.cfg.min_posts) + 0.5)
        for a in found.accounts:
            self.owner[a] = key
        return found
