"""Ban-evasion fingerprints: what we keep of a banned account, and how a new account is scored against it.

What is kept (`fingerprint`): the account's handle and display name in a normalised form (case folded,
NFKC, look-alike letters and leetspeak folded, digits, punctuation and underscores dropped, repeated
letters squeezed: "J0hn_Smith88" -> "john smith"), the words of its bio, the URLs and domains of its
profile links, the domains it shared in posts, a writing-style vector over its posts, and the device
and IP hashes the platform sent. Raw post text is not kept: only the style vector (hashed character
n-gram counts and a few rates), from which the posts cannot be read back. The caller stores
`created_at` and drops fingerprints after the retention period.

The style vector: character 2-4-gram counts (case kept, so casing habits count; URLs replaced by a
placeholder) hashed into 8,192 slots with log(1 + count) weights, L2-normalised, joined with a small
block of habits (rates of ~100 function words, punctuation and capitals, word length) at weight 0.4,
and L2-normalised again; stored sparse, float32 precision.

Components of a (candidate, banned) pair, each computed for all banned accounts at once by `Matcher`:
- name: the best match over handle and display name on either side: 1 for the same normalised key or
  the same tokens in another order ("smith_john"), else the Dice coefficient of their character 2- and
  3-gram sets; times min(1, shorter key length / 8), because "john" = "john" says less than
  "ironwolf" = "ironwolf"; times 0.75 unless both sides are handles, because display names are not
  unique and are often just a first name. In [0, 1].
- bio: idf-weighted Jaccard of bio words (idf over the banned pool, so template words weigh little).
- links: 1 when a profile link URL is the same, else idf-weighted Jaccard of link domains.
- domains: idf-weighted Jaccard of the domains shared in posts; everyday domains (youtube.com, ...)
  weigh nothing, and a domain many banned accounts share (stormfront.org on that forum) weighs little.
- style: a z-score, not a similarity. With at least `min_cohort` accounts to learn from (the banned
  pool plus an optional background sample), vectors are idf-weighted, centred on the pool mean (which
  removes what every author shares) and compared by cosine; the cosine is then normalised twice against
  an impostor cohort (s-norm, as in speaker verification): how far above the candidate's own mean
  similarity to the cohort it is, and how far above the banned account's, averaged. Without enough
  accounts the raw cosine is turned into a z-score with fixed priors (a different author's expected
  cosine grows with the length of the two texts). Clipped to [-style_clip, style_clip].
- device / ip: 1 when any device (IP) hash is shared, counted only when `use_device_hashes` is on.

Combined score: a logistic model with fixed weights, score = 1 / (1 + exp(-(bias + sum w_i * x_i))), in
[0, 1]; defaults in `EvasionParams`, where each weight's reason is given. The name, style and bio
weights and the bias come from a grid search on the development half of the Stormfront authors
(`bench/ban_evasion.py --fit`), keeping the weights with the best recall at precision >= 0.90 and the
bias that puts the default threshold, 0.5, at that point; the link, domain, device and IP weights are
set by hand (the data has almost none of them). The benchmark's headline is measured on the other,
held-out half of the authors (bench/results/ban_evasion.json). A match at or above `threshold` should
open a ban-evasion case, with `Match.evidence` laid out side by side: which names, bio words, links and
domains matched, the style z-score with the strongest shared habits, and any shared hashes.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer

from townsquare.detection.normalize import normalize, squeeze

__all__ = [
    "AccountProfile", "EvasionParams", "Fingerprint", "Match", "Matcher",
    "fingerprint", "name_key", "style_vector",
]  # fmt: skip

NAME = "ban_evasion"
VERSION = "1"
CHAR_DIM = 2**13
_FUNCTION_WORDS = tuple(
    "a about after again against all also am an and any are as at be because been before being both but "
    "by can could did do does doing down during each even few for from had has have having he her here "
    "him his how however i if in into is it its just may me might more most must my no nor not now of off "
    "on once only or other our out over own perhaps quite rather really same she should so some still "
    "such than that the their them then there these they this those though through thus to too under "
    "until up very was we were what when where which while who why will with would yet you your".split()
)
_PUNCT = ".,;:!?'\"()-/&%*"
STYLE_DIM = CHAR_DIM + len(_FUNCTION_WORDS) + len(_PUNCT) + 2
_HABIT_WEIGHT = 0.4  # the habit block helps a little on its own scale, hurts when it outweighs n-grams
_MAX_POSTS, _MAX_CHARS = 500, 100_000  # the most recent posts only: bounds the work per account
# Small pools: the raw cosine of two different authors grows with text length (Stormfront, 1-16 sentences:
# 0.22 at ~90 characters, 0.52 at ~700, 0.62 at ~1,400), so its prior mean is a line in log(length).
_RAW_COS_SLOPE, _RAW_COS_AT_E0, _RAW_COS_STD = 0.143, -0.418, 0.07

_CHARS = HashingVectorizer(
    analyzer="char", ngram_range=(2, 4), lowercase=False, n_features=CHAR_DIM,
    alternate_sign=False, norm=None, dtype=np.float32,
)  # fmt: skip
_FW_INDEX = {w: i for i, w in enumerate(_FUNCTION_WORDS)}
_WORD = re.compile(r"[A-Za-z']+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_NAME_SEP = re.compile(r"[^\w$@!|]+|_+")
_LEET = str.maketrans({"4": "a", "3": "e", "1": "i", "!": "i", "0": "o", "5": "s", "$": "s", "7": "t",
                       "@": "a", "8": "b", "9": "g", "|": "l", "2": "z", "6": "g"})  # fmt: skip
# Words evaders wrap around an old name ("the_real_john", "john_returns"): no evidence either way.
_NAME_FILLER = frozenset(
    "the real official its im iam mr mrs ms dr not og alt new back again returns v".split()
)
_STOPWORDS = frozenset(_FUNCTION_WORDS) | frozenset("and the for are you your not but all".split())
_TLDS = "com|org|net|info|de|uk|ru|tv|us|ca|eu|io|me|be|biz|nl|se|no|fr|au|pl|co"
_URL = re.compile(
    rf"(?:\bhttps?\s?:\s?//\s?|\bwww\.)[^\s/?#:]+\.[a-z]{{2,}}[^\s]*|\b(?:[a-z0-9-]+\.)+(?:{_TLDS})\b(?![.\w])",
    re.IGNORECASE,
)
_HOST = re.compile(r"^(?:https?\s?:\s?//\s?)?([^\s/?#:]+)(/[^\s?#]*)?", re.IGNORECASE)
_PER_USER_HOSTS = ("blogspot.com", "wordpress.com", "tumblr.com", "substack.com", "github.io")
# Domains so many people link that sharing one is no evidence.
EVERYDAY_DOMAINS = frozenset(
    "youtube.com youtu.be google.com facebook.com twitter.com x.com instagram.com wikipedia.org reddit.com "
    "tiktok.com t.co bit.ly imgur.com amazon.com t.me".split()
)


@dataclass(frozen=True)
class AccountProfile:
    """What the platform tells us about an account."""

    handle: str
    display_name: str = ""
    bio: str = ""
    links: tuple[str, ...] = ()
    posts: tuple[str, ...] = ()
    device_hashes: tuple[str, ...] = ()
    ip_hashes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fingerprint:
    """What we keep of a banned account; `to_dict`/`from_dict` give plain JSON."""

    handle_key: str  # normalised tokens, space-separated: "john smith"
    name_key: str  # the display name, the same way
    name_shingles: frozenset[str]  # character 2-/3-grams of both keys (with ^ $ at the ends)
    bio_features: frozenset[str]  # bio words, stop words left out
    link_urls: frozenset[str]  # profile links without scheme, "www." or query: "example.org/about"
    link_domains: frozenset[str]
    shared_domains: frozenset[str]  # domains found in the posts
    style: tuple[tuple[int, float], ...]  # sparse (index, value) of the L2-normalised style vector
    device_hashes: frozenset[str] = frozenset()
    ip_hashes: frozenset[str] = frozenset()
    n_posts: int = 0
    n_chars: int = 0  # characters of post text behind the style vector
    version: str = VERSION

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (sets become sorted lists, the style vector index/value lists)."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            out[key] = sorted(value) if isinstance(value, frozenset) else value
        out["style"] = {
            "dim": STYLE_DIM,
            "indices": [i for i, _ in self.style],
            "values": [v for _, v in self.style],
        }
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Fingerprint:
        """Inverse of `to_dict`."""
        style = d.get("style") or {"indices": [], "values": []}
        sets = ("name_shingles", "bio_features", "link_urls", "link_domains", "shared_domains",
                "device_hashes", "ip_hashes")  # fmt: skip
        return cls(
            handle_key=d.get("handle_key", ""),
            name_key=d.get("name_key", ""),
            style=tuple(
                zip((int(i) for i in style["indices"]), (float(v) for v in style["values"]), strict=True)
            ),
            n_posts=int(d.get("n_posts", 0)),
            n_chars=int(d.get("n_chars", 0)),
            version=str(d.get("version", VERSION)),
            **{k: frozenset(d.get(k, ())) for k in sets},
        )


def name_key(name: str) -> str:
    """Normalised tokens of a handle or display name: "TheReal_J0hnSmith88" -> "john smith"."""
    text = _CAMEL.sub(" ", unicodedata.normalize("NFKC", name))
    out = []
    for raw in _NAME_SEP.split(text):
        tok = normalize(raw.rstrip("0123456789")).translate(_LEET)  # suffix digits go, inner ones are leet
        tok = squeeze("".join(c for c in tok if c.isalpha()), 1)
        if tok and tok not in _NAME_FILLER:
            out.append(tok)
    return " ".join(out)


def _grams(key: str) -> frozenset[str]:
    """Character 2- and 3-grams of a key written without spaces, with ^ and $ marking the ends."""
    s = f"^{key.replace(' ', '')}$"
    return (
        frozenset(s[i : i + n] for n in (2, 3) for i in range(len(s) - n + 1)) if len(s) > 4 else frozenset()
    )


def _domain(url: str) -> tuple[str, str]:
    """(normalised URL, registrable domain) of a URL or bare domain."""
    m = _HOST.match(url.strip().replace(" ", ""))
    if not m:
        return "", ""
    host = m.group(1).lower().rstrip(".")
    host = re.sub(r"^(?:www\d?|m|mobile)\.", "", host)
    labels = host.split(".")
    if host.endswith(_PER_USER_HOSTS):
        dom = host
    elif len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in {"co", "com", "org", "net", "ac", "gov"}:
        dom = ".".join(labels[-3:])
    else:
        dom = ".".join(labels[-2:])
    path = (m.group(2) or "").rstrip("/")
    return host + path, dom


def _habits(text: str) -> np.ndarray:
    """Function-word rates, punctuation and capital rates and mean word length (square roots)."""
    words = [w.lower() for w in _WORD.findall(text)]
    v = np.zeros(len(_FUNCTION_WORDS) + len(_PUNCT) + 2, dtype=np.float32)
    for w, n in Counter(words).items():
        if w in _FW_INDEX:
            v[_FW_INDEX[w]] = n / len(words)
    k = len(_FUNCTION_WORDS)
    for j, p in enumerate(_PUNCT):
        v[k + j] = 10 * text.count(p) / max(1, len(text))
    v[-2] = 10 * sum(c.isupper() for c in text) / max(1, len(text))
    v[-1] = sum(map(len, words)) / len(words) / 10 if words else 0.0
    return np.sqrt(v)


def _style_text(posts: Sequence[str]) -> str:
    """The text the style vector is built from: recent posts, URLs replaced by a placeholder."""
    return _URL.sub(" URL ", "\n".join(posts[-_MAX_POSTS:]))[-_MAX_CHARS:]


def style_vector(posts: Sequence[str]) -> tuple[tuple[int, float], ...]:
    """The sparse, L2-normalised writing-style vector of some posts (empty when there is no text)."""
    text = _style_text(posts)
    if not text.strip():
        return ()
    chars = _CHARS.transform([text]).tocsr()
    chars.data = np.log1p(chars.data)
    habits = _habits(text)
    cn, hn = np.linalg.norm(chars.data), float(np.linalg.norm(habits))
    idx = np.concatenate([chars.indices, CHAR_DIM + np.flatnonzero(habits)])
    val = np.concatenate([chars.data / max(cn, 1e-12), _HABIT_WEIGHT * habits[habits > 0] / max(hn, 1e-12)])
    val /= max(float(np.linalg.norm(val)), 1e-12)
    order = np.argsort(idx)
    return tuple((int(i), float(np.float32(x))) for i, x in zip(idx[order], val[order], strict=True))


def fingerprint(profile: AccountProfile) -> Fingerprint:
    """Everything the matcher needs about an account, and nothing more (no raw post text)."""
    handle, display = name_key(profile.handle), name_key(profile.display_name)
    bio_words = {t for t in re.findall(r"[^\W\d_]{3,}", normalize(profile.bio)) if t not in _STOPWORDS}
    links = [_domain(u) for u in profile.links if u.strip()]
    shared = {_domain(m.group())[1] for post in profile.posts for m in _URL.finditer(post)}
    return Fingerprint(
        handle_key=handle,
        name_key=display,
        name_shingles=_grams(handle) | _grams(display),
        bio_features=frozenset(bio_words),
        link_urls=frozenset(u for u, _ in links if u),
        link_domains=frozenset(d for _, d in links if d),
        shared_domains=frozenset(d for d in shared if d),
        style=style_vector(profile.posts),
        device_hashes=frozenset(profile.device_hashes),
        ip_hashes=frozenset(profile.ip_hashes),
        n_posts=len(profile.posts),
        n_chars=len(_style_text(profile.posts)),
    )


@dataclass(frozen=True)
class EvasionParams:
    """Weights of the logistic score, the threshold, and what counts (defaults: see each comment)."""

    # Weights: a grid search on the dev half of the benchmark (`bench/ban_evasion.py --fit`: three draws of
    # the dev worlds), maximising recall at precision >= 0.90; the bias puts the threshold at that point.
    bias: float = -9.25  # a random pair must score ~0: one evader per thousands of (new, banned) pairs
    w_name: float = 8.0  # an exact name alone (8) stays under the threshold (9.25): names collide by chance
    w_style: float = 0.8  # per z unit: with an exact name style must add ~1.6 z, alone ~11.6 z (a near copy)
    w_domains: float = 4.0  # hand-set: sharing a rare domain is good evidence, but the data has too few
    w_links: float = 6.0  # hand-set: the same profile link (a personal site, a channel) is near-proof
    w_bio: float = 1.5  # bios are short and formulaic: supporting evidence only
    w_device: float = 16.0  # hand-set: a shared device hash decides on its own
    w_ip: float = 8.0  # hand-set: IPs are shared by households, NAT and VPNs: strong, not decisive
    threshold: float = 0.5  # logit 0, i.e. the summed evidence reaches -bias; see bias
    use_device_hashes: bool = True
    style_clip: float = 12.0
    name_full_length: int = 8  # key length (letters) from which a name match counts in full
    display_weight: float = 0.75  # display names are not unique and often just a first name
    min_cohort: int = 30  # fewer accounts than this: raw-cosine style with fixed priors
    cohort_size: int = 500  # impostors sampled for the style normalisation

    def to_dict(self) -> dict[str, Any]:
        """Every parameter, for logs and benchmark results."""
        return asdict(self)


@dataclass(frozen=True)
class Match:
    """A candidate's match to one banned account: score, components and side-by-side evidence."""

    score: float
    components: dict[str, float]
    evidence: list[dict[str, Any]]


class _SetIndex:
    """Inverted index of token sets: idf-weighted Jaccard of one set against all indexed sets at once."""

    def __init__(self, sets: Sequence[frozenset[str]], ignore: frozenset[str] = frozenset()) -> None:
        self.n, self.ignore = len(sets), ignore
        df = Counter(t for s in sets for t in s if t not in ignore)
        self.idf = {t: math.log((1 + self.n) / (1 + c)) + 1 for t, c in df.items()}
        post: dict[str, list[int]] = defaultdict(list)
        for i, s in enumerate(sets):
            for t in s:
                post[t].append(i)
        self.postings = {t: np.array(ix) for t, ix in post.items() if t not in ignore}
        self.total = np.array([sum(self.weight(t) for t in s) for s in sets], dtype=np.float64)

    def weight(self, token: str) -> float:
        """idf of a token over the indexed sets (unseen tokens weigh the most, ignored ones nothing)."""
        return 0.0 if token in self.ignore else self.idf.get(token, math.log(1 + self.n) + 1)

    def jaccard(self, s: Iterable[str]) -> np.ndarray:
        """Weighted Jaccard of `s` with every indexed set."""
        inter = np.zeros(self.n)
        own = 0.0
        for t in set(s):
            w = self.weight(t)
            own += w
            if t in self.postings:
                inter[self.postings[t]] += w
        union = self.total + own - inter
        return np.divide(inter, union, out=np.zeros(self.n), where=union > 0)

    def any_shared(self, s: Iterable[str]) -> np.ndarray:
        """1.0 where an indexed set shares any token with `s`."""
        out = np.zeros(self.n)
        for t in set(s):
            if t in self.postings:
                out[self.postings[t]] = 1.0
        return out


def _name_sim(a: str, b: str, full_length: int) -> float:
    """Similarity of two name keys (see the module docstring); 0 when either is under 3 letters."""
    ca, cb = a.replace(" ", ""), b.replace(" ", "")
    if len(ca) < 3 or len(cb) < 3:
        return 0.0
    if ca == cb or sorted(a.split()) == sorted(b.split()):
        sim = 1.0
    else:
        ga, gb = _grams(a), _grams(b)
        sim = 2 * len(ga & gb) / (len(ga) + len(gb))
    return sim * min(1.0, min(len(ca), len(cb)) / full_length)


class _NameIndex:
    """Handle and display-name keys of the banned accounts, matched all at once by gram Dice."""

    def __init__(self, fps: Sequence[Fingerprint], params: EvasionParams) -> None:
        self.n, self.full, self.display_weight = len(fps), params.name_full_length, params.display_weight
        rows = [(i, k, field) for i, f in enumerate(fps) for field, k in _name_fields(f)]
        self.owner = np.array([i for i, _, _ in rows], dtype=np.int64)
        self.length = np.array([len(k.replace(" ", "")) for _, k, _ in rows], dtype=np.float64)
        self.is_handle = np.array([field == "handle" for _, _, field in rows], dtype=bool)
        self.vocab: dict[str, int] = {}
        self.exact: dict[str, list[int]] = defaultdict(list)
        cols: list[int] = []
        indptr = [0]
        for r, (_, key, _) in enumerate(rows):
            cols.extend(self.vocab.setdefault(g, len(self.vocab)) for g in _grams(key))
            indptr.append(len(cols))
            for form in {key.replace(" ", ""), " ".join(sorted(key.split()))}:
                self.exact[form].append(r)
        self.size = np.diff(indptr).astype(np.float64)
        data = np.ones(len(cols), dtype=np.float32)
        self.grams = sparse.csr_matrix((data, cols, indptr), shape=(len(rows), max(1, len(self.vocab))))

    def similarity(self, cand: Fingerprint) -> np.ndarray:
        """Best name similarity of the candidate's handle or display name to each banned account."""
        best = np.zeros(self.n)
        for field, key in _name_fields(cand):
            grams = _grams(key)
            query = np.zeros(self.grams.shape[1], dtype=np.float32)
            query[[self.vocab[g] for g in grams if g in self.vocab]] = 1.0
            sim = 2 * (self.grams @ query) / (self.size + len(grams))
            for form in {key.replace(" ", ""), " ".join(sorted(key.split()))}:
                sim[self.exact.get(form, [])] = 1.0
            sim *= np.minimum(1.0, np.minimum(self.length, len(key.replace(" ", ""))) / self.full)
            sim *= np.where(self.is_handle & (field == "handle"), 1.0, self.display_weight)
            np.maximum.at(best, self.owner, sim)
        return best


def _name_fields(f: Fingerprint) -> list[tuple[str, str]]:
    """(field, key) of an account's names worth comparing: 3+ letters, the display name only if different."""
    out = [("handle", f.handle_key), ("display_name", f.name_key)]
    if f.name_key.replace(" ", "") == f.handle_key.replace(" ", ""):
        out = out[:1]
    return [(field, k) for field, k in out if len(k.replace(" ", "")) >= 3]


def _best_name_pair(
    b: Fingerprint, c: Fingerprint, p: EvasionParams
) -> tuple[float, tuple[str, str], tuple[str, str]]:
    """The best-matching (banned, candidate) name pair, as `_NameIndex` scores it (for the evidence)."""
    best: tuple[float, tuple[str, str], tuple[str, str]] = (0.0, ("handle", ""), ("handle", ""))
    for fb in _name_fields(b):
        for fc in _name_fields(c):
            w = 1.0 if fb[0] == fc[0] == "handle" else p.display_weight
            sim = w * _name_sim(fb[1], fc[1], p.name_full_length)
            best = max(best, (sim, fb, fc))
    return best


def _csr(styles: Sequence[tuple[tuple[int, float], ...]]) -> sparse.csr_matrix:
    """Stack sparse style vectors into a CSR matrix."""
    indptr = np.cumsum([0] + [len(s) for s in styles])
    idx = np.array([i for s in styles for i, _ in s], dtype=np.int32)
    val = np.array([v for s in styles for _, v in s], dtype=np.float32)
    return sparse.csr_matrix((val, idx, indptr), shape=(len(styles), STYLE_DIM))


class _StyleIndex:
    """Style vectors of the banned accounts, and the pool statistics that turn cosines into z-scores."""

    def __init__(
        self, banned: Sequence[Fingerprint], background: Sequence[Fingerprint], params: EvasionParams
    ) -> None:
        own = _csr([f.style for f in banned])
        self.log_chars = np.log(np.maximum([f.n_chars for f in banned], 1.0))
        pool = sparse.vstack([own, _csr([f.style for f in background])]).tocsr() if background else own
        self.n, self.clip = own.shape[0], params.style_clip
        self.has = own.getnnz(axis=1) > 0
        live = np.flatnonzero(pool.getnnz(axis=1) > 0)
        self.pooled = len(live) >= params.min_cohort
        self.banned = own
        if not self.pooled:
            return
        self.idf = (
            np.log((1 + len(live)) / (1 + np.bincount(pool.indices, minlength=STYLE_DIM))) + 1
        ).astype(np.float32)
        weighed = self._weigh(pool)
        self.mean = np.asarray(weighed[live].mean(axis=0)).ravel()
        self.mm = float(self.mean @ self.mean)
        self.banned = weighed[: self.n]
        self.b_mean, self.b_norm = self._centre_terms(self.banned)
        pick = np.sort(np.random.default_rng(0).permutation(live)[: params.cohort_size])
        self.cohort = weighed[pick]
        self.c_mean, self.c_norm = self._centre_terms(self.cohort)
        sims = self._cos(self.banned @ self.cohort.T, self.b_mean, self.b_norm)
        sims[pick[pick < self.n], np.flatnonzero(pick < self.n)] = np.nan  # no account is its own impostor
        self.mu_b = np.nan_to_num(np.nanmean(sims, axis=1)) if self.n else np.zeros(0)
        self.sd_b = np.maximum(np.nan_to_num(np.nanstd(sims, axis=1)), 1e-3) if self.n else np.zeros(0)

    def _weigh(self, x: sparse.csr_matrix) -> sparse.csr_matrix:
        """idf-weight and L2-normalise rows."""
        w = sparse.csr_matrix(x.multiply(self.idf[None, :]))
        norms = np.sqrt(np.asarray(w.multiply(w).sum(axis=1)).ravel())
        return sparse.diags(1 / np.maximum(norms, 1e-12)) @ w

    def _centre_terms(self, x: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        """Each row's dot with the pool mean, and its norm once centred (rows have norm 1 or 0)."""
        dots = np.asarray(x @ self.mean).ravel()
        sq = (x.getnnz(axis=1) > 0).astype(np.float64)
        return dots, np.sqrt(np.maximum(sq - 2 * dots + self.mm, 1e-12))

    def _cos(self, raw: Any, dots: np.ndarray, norms: np.ndarray) -> np.ndarray:
        """Centred cosines from raw dots of rows (dots, norms) against the cohort."""
        raw = raw.toarray() if sparse.issparse(raw) else np.asarray(raw)
        return (raw - dots[:, None] - self.c_mean[None, :] + self.mm) / (
            norms[:, None] * self.c_norm[None, :]
        )

    def compare(self, cand_fp: Fingerprint) -> tuple[np.ndarray, np.ndarray]:
        """(z-score, cosine) of one account's style against every banned account; zeros without text."""
        style = cand_fp.style
        zeros = np.zeros(self.n)
        if not style or not self.n:
            return zeros, zeros
        cand = np.zeros(STYLE_DIM, dtype=np.float32)
        cand[[i for i, _ in style]] = [v for _, v in style]
        if not self.pooled:
            cos = self.banned @ cand
            log_len = (self.log_chars + math.log(max(cand_fp.n_chars, 1))) / 2  # of the geometric mean
            prior = np.clip(_RAW_COS_SLOPE * log_len + _RAW_COS_AT_E0, 0.1, 0.8)
            z = (cos - prior) / _RAW_COS_STD
        else:
            cand *= self.idf
            cand /= max(float(np.linalg.norm(cand)), 1e-12)
            c_dot = float(self.mean @ cand)
            c_norm = math.sqrt(max(1 - 2 * c_dot + self.mm, 1e-12))
            cos = (self.banned @ cand - self.b_mean - c_dot + self.mm) / (self.b_norm * c_norm)
            cohort = (self.cohort @ cand - self.c_mean - c_dot + self.mm) / (self.c_norm * c_norm)
            mu_c, sd_c = float(cohort.mean()), max(float(cohort.std()), 1e-3)
            z = 0.5 * ((cos - mu_c) / sd_c + (cos - self.mu_b) / self.sd_b)
        z = np.where(self.has, np.clip(z, -self.clip, self.clip), 0.0)
        return z, np.where(self.has, cos, 0.0)


_HABIT_NAMES = (
    [f"word '{w}'" for w in _FUNCTION_WORDS] + [f"'{p}'" for p in _PUNCT] + ["capitals", "word length"]
)


class Matcher:
    """Scores new accounts against many banned fingerprints; `background` adds accounts for statistics."""

    name, version = NAME, VERSION

    def __init__(
        self,
        banned: Sequence[tuple[str, Fingerprint]],
        params: EvasionParams = EvasionParams(),  # noqa: B008 - frozen, never mutated
        background: Sequence[Fingerprint] = (),
    ) -> None:
        self.ids = [i for i, _ in banned]
        self.fps = [f for _, f in banned]
        self.params = params
        self._names = _NameIndex(self.fps, params)
        self._bio = _SetIndex([f.bio_features for f in self.fps])
        self._urls = _SetIndex([f.link_urls for f in self.fps])
        self._link_domains = _SetIndex([f.link_domains for f in self.fps], EVERYDAY_DOMAINS)
        self._domains = _SetIndex([f.shared_domains for f in self.fps], EVERYDAY_DOMAINS)
        self._devices = _SetIndex([f.device_hashes for f in self.fps])
        self._ips = _SetIndex([f.ip_hashes for f in self.fps])
        self._style = _StyleIndex(self.fps, background, params)

    def components(self, candidate: Fingerprint) -> dict[str, np.ndarray]:
        """Every component for every banned account (arrays in banned order)."""
        use = 1.0 if self.params.use_device_hashes else 0.0
        z, cos = self._style.compare(candidate)
        links = np.maximum(
            self._urls.any_shared(candidate.link_urls), self._link_domains.jaccard(candidate.link_domains)
        )
        return {
            "name": self._names.similarity(candidate),
            "bio": self._bio.jaccard(candidate.bio_features),
            "links": links,
            "domains": self._domains.jaccard(candidate.shared_domains),
            "style": z,
            "style_cosine": cos,
            "device": use * self._devices.any_shared(candidate.device_hashes),
            "ip": use * self._ips.any_shared(candidate.ip_hashes),
        }

    def combine(self, comps: dict[str, np.ndarray]) -> np.ndarray:
        """The logistic score from components (see `EvasionParams`)."""
        p = self.params
        logit = (
            p.bias + p.w_name * comps["name"] + p.w_bio * comps["bio"] + p.w_links * comps["links"]
            + p.w_domains * comps["domains"] + p.w_style * comps["style"] + p.w_device * comps["device"]
            + p.w_ip * comps["ip"]
        )  # fmt: skip
        return 1 / (1 + np.exp(-np.asarray(logit, dtype=np.float64)))

    def scores(self, candidate: Fingerprint) -> np.ndarray:
        """The combined score against every banned account, in banned order."""
        return self.combine(self.components(candidate))

    def score(self, candidate: Fingerprint, top_k: int = 10) -> list[tuple[str, Match]]:
        """The `top_k` best-matching banned accounts, best first, with components and evidence."""
        comps = self.components(candidate)
        total = self.combine(comps)
        order = np.argsort(-total, kind="stable")[:top_k]
        return [(self.ids[i], self._match(candidate, int(i), float(total[i]), comps)) for i in order]

    def best(self, candidate: Fingerprint) -> tuple[str, Match] | None:
        """The best match when it reaches the threshold, else None."""
        top = self.score(candidate, top_k=1)
        return top[0] if top and top[0][1].score >= self.params.threshold else None

    def _match(self, cand: Fingerprint, i: int, total: float, comps: dict[str, np.ndarray]) -> Match:
        """A Match for banned account `i` with its side-by-side evidence."""
        values = {k: round(float(v[i]), 4) for k, v in comps.items()}
        return Match(
            score=total, components=values, evidence=_evidence(self.fps[i], cand, values, self.params)
        )


def _evidence(
    b: Fingerprint, c: Fingerprint, values: dict[str, float], p: EvasionParams
) -> list[dict[str, Any]]:
    """What matched, banned account next to candidate, for every component that contributed."""
    out: list[dict[str, Any]] = []
    if values["name"] > 0:
        _, (fb, kb), (fc, kc) = _best_name_pair(b, c, p)
        shared = sorted(g for g in _grams(kb) & _grams(kc) if len(g) == 3)
        out.append({"component": "name", "similarity": values["name"], "banned": {fb: kb},
                    "candidate": {fc: kc}, "shared_fragments": shared[:20]})  # fmt: skip
    sides = (
        ("bio", b.bio_features, c.bio_features),
        ("domains", b.shared_domains, c.shared_domains),
        ("links", b.link_urls | b.link_domains, c.link_urls | c.link_domains),
    )
    for comp, bs, cs in sides:
        if values[comp] > 0:
            shared, b_only, c_only = sorted(bs & cs)[:20], sorted(bs - cs)[:20], sorted(cs - bs)[:20]
            out.append({"component": comp, "similarity": values[comp], "shared": shared,
                        "banned_only": b_only, "candidate_only": c_only})  # fmt: skip
    bh, ch = dict(b.style), dict(c.style)
    habits = sorted(
        (bh[k] * ch[k], _HABIT_NAMES[k - CHAR_DIM]) for k in bh.keys() & ch.keys() if k >= CHAR_DIM
    )
    out.append({"component": "style", "z": values["style"], "cosine": values["style_cosine"],
                "banned_posts": b.n_posts, "candidate_posts": c.n_posts,
                "strongest_shared_habits": [name for _, name in habits[::-1][:5]]})  # fmt: skip
    for comp, bs, cs in (("device", b.device_hashes, c.device_hashes), ("ip", b.ip_hashes, c.ip_hashes)):
        if values[comp] > 0:
            out.append({"component": comp, "shared": sorted(bs & cs)})
    return out
