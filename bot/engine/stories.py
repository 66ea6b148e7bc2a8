"""Near-duplicate story assignment: MinHash LSH over normalised word shingles.

The same wire report reprinted by several outlets (new headline, a dropped
sentence, an added byline) shares most of its word 3-shingles; two different
reports on the same topic share only stock phrases. Each story keeps the
MinHash of its first article; a new article joins the most similar story
created within the window (default 3 days) whose estimated Jaccard
similarity of shingles reaches ``threshold``, else it starts a new story.

This module is pure (no database). Replicas decide in the database
(``bot.store.stories``): a story's LSH bands (:func:`band_keys`, the same
bands ``MinHashLSH`` hashes into its buckets) are rows of a table, looked up
and written in the article's transaction, and :func:`best_story` picks among
the candidates exactly as :class:`StoryIndex` does in memory, so one process
and several make the same stories.
"""

from __future__ import annotations

import hashlib
import heapq
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from datasketch import LeanMinHash, MinHash, MinHashLSH

from bot.engine.text import tokens
from bot.models import Article

SHINGLE_SIZE = 3
NUM_PERM = 128
SEED = 1
SCHEME = "affine32"  # datasketch 2 default; stored signatures carry it
THRESHOLD = 0.5  # estimated Jaccard of 3-shingles; reprints score ~0.6-0.95, other stories < 0.15
LSH_THRESHOLD = 0.4  # LSH band tuning sits below THRESHOLD so candidates near it are not missed
MIN_SHINGLES = 8  # shorter texts (a bare headline) never join a story: too little evidence
WINDOW = timedelta(days=3)

# One set of permutations shared by every signature (creating them is the slow part).
_PERMUTATIONS = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations
# The bands MinHashLSH uses at LSH_THRESHOLD (32 bands of 4 rows for 128 permutations):
# two signatures are candidates when one band is equal.
_BAND_RANGES = tuple(MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM).hashranges)
BANDS = len(_BAND_RANGES)


@dataclass(frozen=True)
class StoryRules:
    """When an article joins a story: its window, similarity threshold and minimum
    of shingles (the same defaults as :class:`StoryIndex`)."""

    window: timedelta = WINDOW
    threshold: float = THRESHOLD
    min_shingles: int = MIN_SHINGLES



K = TypeVar("K", int, tuple[int, int])  # a candidate story's key (best_story)

def shingles(article: Article, size: int = SHINGLE_SIZE) -> set[bytes]:
    """Distinct word ``size``-grams of the normalised title and text."""
    toks = tokens(article.title) + tokens(article.text)
    if len(toks) < size:
        return {" ".join(toks).encode()} if toks else set()
    return {" ".join(toks[i : i + size]).encode() for i in range(len(toks) - size + 1)}


def signature(article: Article) -> LeanMinHash:
    """The MinHash signature of the article's shingles."""
    return signature_of(shingles(article))


def signature_of(items: Iterable[bytes]) -> LeanMinHash:
    m = MinHash(num_perm=NUM_PERM, seed=SEED, permutations=_PERMUTATIONS, scheme=SCHEME)
    batch = list(items)
    if batch:
        m.update_batch(batch)
    return LeanMinHash(m)


def signature_to_bytes(sig: LeanMinHash) -> bytes:
    """Portable bytes of a signature (little-endian; carries seed and scheme)."""
    buf = bytearray(sig.bytesize(byteorder="<"))
    sig.serialize(buf, byteorder="<")
    return bytes(buf)


def signature_from_bytes(data: bytes) -> LeanMinHash:
    """The signature stored by ``signature_to_bytes``; ValueError when unreadable."""
    try:
        return LeanMinHash.deserialize(bytes(data), byteorder="<")
    except (struct.error, TypeError) as exc:
        raise ValueError(f"not a stored signature: {exc}") from exc


def similarity(a: LeanMinHash, b: LeanMinHash) -> float:
    """Estimated Jaccard similarity of the two shingle sets."""
    return float(a.jaccard(b))


def band_keys(sig: LeanMinHash) -> list[int]:
    """One signed 64-bit key per LSH band of ``sig`` (band number and its hash values).

    Equal bands give equal keys, so "shares a key" is MinHashLSH's "is a
    candidate" (a 64-bit collision only adds a candidate, which the exact
    similarity then rejects). Keys are stable across processes and machines.
    """
    values = sig.hashvalues.astype("<u8")
    keys = []
    for band, (start, end) in enumerate(_BAND_RANGES):
        digest = hashlib.blake2b(
            struct.pack("<H", band) + values[start:end].tobytes(), digest_size=8
        ).digest()
        keys.append(int.from_bytes(digest, "little", signed=True))
    return keys


def best_story(
    sig: LeanMinHash, candidates: Iterable[tuple[K, LeanMinHash]], threshold: float = THRESHOLD
) -> StoryCandidate[K] | None:
    """The most similar candidate at or above ``threshold``; ties go to the oldest story
    (the smallest key: a story id, or any key ordered as the stories' age)."""
    best: StoryCandidate[K] | None = None
    for story_id, other in candidates:
        sim = similarity(sig, other)
        if sim >= threshold and (
            best is None
            or sim > best.similarity
            or (sim == best.similarity and story_id < best.story_id)
        ):
            best = StoryCandidate(story_id, sim)
    return best


def article_signature(article: Article, min_shingles: int = MIN_SHINGLES) -> LeanMinHash | None:
    """The article's signature, or None when it is too short to be compared."""
    items = shingles(article)
    if len(items) < min_shingles:
        return None
    sig = signature_of(items)
    return sig if _usable(sig) else None


@dataclass(frozen=True)
class StoryCandidate(Generic[K]):
    story_id: K
    similarity: float


@dataclass(frozen=True)
class Lookup:
    """Where an article belongs: ``story_id`` None means a new story.

    ``signature`` is None when the article is too short to be compared (it
    then always starts its own story and is not indexed).
    """

    story_id: int | None
    similarity: float
    signature: LeanMinHash | None


class StoryIndex:
    """Recent stories' signatures in an LSH index; finds the story of an article.

    Not thread-safe: use it from one task (the pipeline) at a time.
    """

    def __init__(
        self,
        window: timedelta = WINDOW,
        threshold: float = THRESHOLD,
        min_shingles: int = MIN_SHINGLES,
    ):
        self.window = window
        self.threshold = threshold
        self.min_shingles = min_shingles
        self._lsh = MinHashLSH(threshold=min(LSH_THRESHOLD, threshold), num_perm=NUM_PERM)
        self._sigs: dict[int, LeanMinHash] = {}
        self._created: dict[int, datetime] = {}
        self._expiry: list[tuple[datetime, int]] = []  # heap of (created_at, story_id)
        self.max_story_id = 0

    def __len__(self) -> int:
        return len(self._sigs)

    def __contains__(self, story_id: object) -> bool:
        return story_id in self._sigs

    def add(self, story_id: int, sig: LeanMinHash, created_at: datetime) -> None:
        """Index a story (its first article's signature) created at ``created_at``."""
        if story_id in self._sigs or not _usable(sig):
            self.max_story_id = max(self.max_story_id, story_id)
            return
        created_at = _utc(created_at)
        self._lsh.insert(story_id, sig)
        self._sigs[story_id] = sig
        self._created[story_id] = created_at
        heapq.heappush(self._expiry, (created_at, story_id))
        self.max_story_id = max(self.max_story_id, story_id)

    def discard(self, story_id: int) -> None:
        """Forget a story (deleted, or never committed)."""
        if self._sigs.pop(story_id, None) is not None:
            del self._created[story_id]
            self._lsh.remove(story_id)

    def add_stored(self, rows: Iterable[tuple[int, bytes | None, datetime]]) -> int:
        """Add stories as stored (id, signature bytes, created_at); returns how many."""
        added = 0
        for story_id, data, created_at in rows:
            self.max_story_id = max(self.max_story_id, story_id)
            if not data:
                continue
            try:
                sig = signature_from_bytes(data)
            except ValueError:  # damaged, or written by an incompatible version
                continue
            if len(sig) != NUM_PERM:
                continue
            before = len(self._sigs)
            self.add(story_id, sig, created_at)
            added += len(self._sigs) - before
        return added

    def prune(self, now: datetime) -> int:
        """Forget stories created before ``now - window``; returns how many."""
        cutoff = _utc(now) - self.window
        removed = 0
        while self._expiry and self._expiry[0][0] < cutoff:
            created_at, story_id = heapq.heappop(self._expiry)
            if self._created.get(story_id) == created_at:  # not a stale entry of a re-added id
                self.discard(story_id)
                removed += 1
        return removed

    def find(self, sig: LeanMinHash, now: datetime | None = None) -> StoryCandidate | None:
        """The most similar recent story at or above the threshold, if any."""
        self.prune(now or datetime.now(UTC))
        if not self._sigs or not _usable(sig):
            return None
        found = ((story_id, self._sigs[story_id]) for story_id in self._lsh.query(sig))
        return best_story(sig, found, self.threshold)

    def lookup(self, article: Article, now: datetime | None = None) -> Lookup:
        """The story ``article`` belongs to (with the article's signature)."""
        items = shingles(article)
        if len(items) < self.min_shingles:
            return Lookup(None, 0.0, None)
        sig = signature_of(items)
        found = self.find(sig, now)
        if found is None:
            return Lookup(None, 0.0, sig)
        return Lookup(found.story_id, found.similarity, sig)

    def assign(self, article: Article, now: datetime | None = None) -> int | None:
        """The id of the story ``article`` belongs to, or None for a new story."""
        return self.lookup(article, now).story_id


def _usable(sig: LeanMinHash) -> bool:
    """False for the signature of an empty set or of another size."""
    return len(sig) == NUM_PERM and not sig.is_empty()


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
