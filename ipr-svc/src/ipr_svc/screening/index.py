"""The active records held in memory, looked up per item without scanning them.

Every alias is stored under its folded key and under each one-character deletion of it
(a symmetric-delete neighbourhood): a misspelt brand finds its candidates in a few dict
lookups, however many records are active, and rapidfuzz then scores only those.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain

from rapidfuzz.distance import OSA

from customs_shared.events.schemas import ItemFacts
from ipr_svc.screening.normalise import fold

# Tuned on the labelled set in tests (ipr_labelled.py): below 5 characters one edit already
# turns a brand into an ordinary word (nike/nice), so short marks match exactly only.
MIN_FUZZY_LENGTH = 5
SCORE_CUTOFF = 0.8  # OSA similarity; the index finds candidates within 2 edits
MAX_NGRAM = 4  # words of a description joined to meet a multi-word mark
CACHE_SIZE = 1 << 17  # query keys remembered with the marks they meet


@dataclass(frozen=True, slots=True)
class ActiveRecord:
    record_id: str
    holder: str
    brands: tuple[str, ...]  # names and aliases, as recorded
    hs_headings: frozenset[str] = frozenset()  # 4-digit; empty: all goods
    authorised: frozenset[str] = frozenset()  # tax codes whose goods are genuine
    offices: frozenset[str] = frozenset()  # empty: every office
    valid_until: datetime | None = None  # none: until the topic says otherwise

    def in_force(self, at: datetime) -> bool:
        return self.valid_until is None or at < self.valid_until

    def covers(self, hs_code: str, office: str, importer: str | None) -> bool:
        return (
            (not self.hs_headings or hs_code[:4] in self.hs_headings)
            and (not self.offices or office in self.offices)
            and (importer is None or importer not in self.authorised)
        )


@dataclass(frozen=True, slots=True)
class Match:
    record: ActiveRecord
    item_line: int
    score: float
    matched: str  # the item's text that met the mark
    mark: str  # the recorded brand or alias it met
    why: str


@dataclass(slots=True)
class _Entry:
    record: ActiveRecord
    mark: str
    key: str


def _deletions(key: str) -> Iterator[str]:
    for i in range(len(key)):
        yield key[:i] + key[i + 1 :]


def _queries(item: ItemFacts, longest: int) -> Iterator[tuple[str, str]]:
    """(text, folded key) of the item's texts a mark may hide in: its brand whole, and its
    description's runs of up to MAX_NGRAM words joined (spacing is ignored, so
    ``Louis Vuitton`` meets ``Louis-Vuitton``). Each word is folded once; runs longer than
    the longest recorded key plus one edit cannot match and are not formed."""
    if item.brand:
        yield item.brand, fold(item.brand)
    tokens = item.description.split()
    keys = [fold(t) for t in tokens]
    for start in range(len(tokens)):
        key = ""
        for end in range(start, min(start + MAX_NGRAM, len(tokens))):
            key += keys[end]
            if len(key) > longest:
                break
            yield " ".join(tokens[start : end + 1]), key


@dataclass
class RecordIndex:
    _records: dict[str, ActiveRecord] = field(default_factory=dict)
    # folded alias key, and each one-character deletion of it (fuzzy marks only) -> entries
    _keys: dict[str, list[_Entry]] = field(default_factory=lambda: defaultdict(list))
    _longest: int = 0  # of the folded keys, plus one edit
    _cache: dict[str, tuple[tuple[_Entry, float], ...]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self._records)

    def put(self, record: ActiveRecord) -> None:
        """Adds ``record`` or replaces the one with its id."""
        self.remove(record.record_id)
        self._cache.clear()
        self._records[record.record_id] = record
        for mark in dict.fromkeys(record.brands):
            key = fold(mark)
            if not key:
                continue
            entry = _Entry(record, mark, key)
            self._longest = max(self._longest, len(key) + 1)
            self._keys[key].append(entry)
            if len(key) >= MIN_FUZZY_LENGTH:
                for near in set(_deletions(key)):
                    self._keys[near].append(entry)

    def remove(self, record_id: str) -> None:
        record = self._records.pop(record_id, None)
        if record is None:
            return
        self._cache.clear()
        for mark in dict.fromkeys(record.brands):
            key = fold(mark)
            keys = {key, *(_deletions(key) if len(key) >= MIN_FUZZY_LENGTH else ())}
            for k in keys:
                entries = self._keys.get(k)
                if entries is None:
                    continue
                entries[:] = [e for e in entries if e.record.record_id != record_id]
                if not entries:
                    del self._keys[k]

    def match(
        self,
        items: Iterable[ItemFacts],
        *,
        office: str,
        importer: str | None,
        at: datetime | None = None,
    ) -> list[Match]:
        """The best match per (record, item line): an exact alias beats a fuzzy one. With
        ``at``, a record whose validity has ended by then matches nothing, even before the
        expiry job has taken it out of the index."""
        found: dict[tuple[str, int], Match] = {}
        for item in items:
            for text, key in _queries(item, self._longest):
                for match in self._match_key(key, text, item, office, importer):
                    slot = (match.record.record_id, match.item_line)
                    if slot not in found or match.score > found[slot].score:
                        found[slot] = match
        return [m for m in found.values() if at is None or m.record.in_force(at)]

    def _match_key(
        self, key: str, text: str, item: ItemFacts, office: str, importer: str | None
    ) -> Iterator[Match]:
        for entry, score in self._candidates(key):
            if entry.record.covers(item.hs_code, office, importer):
                why = "alias" if score == 1.0 else "fuzzy"
                yield Match(entry.record, item.line, score, text, entry.mark, why)

    def _candidates(self, key: str) -> tuple[tuple[_Entry, float], ...]:
        """The marks ``key`` meets, whatever the goods: goods are described in a small
        vocabulary, so most keys are answered from the cache, emptied on every change."""
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = tuple(self._lookup(key))
            if len(self._cache) > CACHE_SIZE:
                del self._cache[next(iter(self._cache))]  # oldest first
        return cached

    def _lookup(self, key: str) -> Iterator[tuple[_Entry, float]]:
        if not key:
            return
        same = self._keys.get(key, ())
        for entry in same:
            if entry.key == key:
                yield entry, 1.0
        if len(key) < MIN_FUZZY_LENGTH - 1:
            return
        # Symmetric delete: the query or one deletion of it meets an alias or one deletion
        # of it, which covers one insertion, deletion, substitution or transposition.
        seen: set[int] = set()
        for entry in chain(same, *(self._keys.get(d, ()) for d in _deletions(key))):
            if len(entry.key) < MIN_FUZZY_LENGTH or entry.key == key or id(entry) in seen:
                continue
            seen.add(id(entry))
            score = OSA.normalized_similarity(key, entry.key, score_cutoff=SCORE_CUTOFF)
            if score:
                yield entry, score
