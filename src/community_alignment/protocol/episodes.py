"""Few-shot episodes of the individual track: per annotator, a fixed query set and k-shot support sets.

The definition (`DESIGN`, recorded in every results file) depends only on the comparisons' ids, their
annotators and which comparisons are informative, never on a random generator's version: every choice
is a BLAKE2b hash of a salted string, so anyone rebuilds the same episodes.

For each annotator of the evaluated split:

1. Their **informative** comparisons (≥ 2 competing candidates, as everywhere in the contract) are
   grouped by conversation. The conversations are ordered by `hash(salt, annotator, "query", id)`;
   the first ⌈n_conversations · QUERY_SHARE⌉ form the **query set**, the rest the **support pool**.
   The turns of one conversation are never split between query and support.
2. An annotator whose query set has fewer than MIN_QUERY comparisons is **too few**: counted and
   listed (with their numbers) in the results, never silently dropped.
3. For k in K_SWEEP, draw d in 0..DRAWS−1: the pool's conversations are ordered by
   `hash(salt, annotator, d, id)`, their turns kept in order; the **support** is the first k
   comparisons of that order. Support sets of one draw are nested (k = 4 ⊂ k = 16). An annotator is
   evaluated at k when the pool holds ≥ k comparisons; k = 0 (no support: the population model) has
   one draw. The query set is the same for every k and draw.
4. **Random other user** (the control): for k and draw d, the annotators evaluated at k are put in a
   random cyclic order (by `hash(salt, "other", k, d, annotator)`); annotator a's other user is the
   next one in that order — another annotator of the same split, uniformly random, different per draw,
   and every support set serves as exactly one annotator's control per draw. The control scores a's
   query with the method fitted on the other user's support(k, d). None when a is alone at k.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field

import numpy as np

CONTROL_OWN = 0
CONTROL_OTHER = 1
CONTROLS = {CONTROL_OWN: "own support", CONTROL_OTHER: "random other user's support"}


@dataclass(frozen=True)
class EpisodeDesign:
    k_sweep: tuple[int, ...] = (0, 1, 4, 16, 64)
    headline_k: int = 16
    draws: int = 10
    query_share: float = 1 / 3
    min_query: int = 4
    salt: str = "community-alignment-individual-v1"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["k_sweep"] = list(self.k_sweep)
        d["unit"] = "comparisons (best-of-4 turns); query/support split by conversation"
        d["other_user"] = (
            "per (k, draw): the next annotator in a hashed random cyclic order of the annotators evaluated at k"
        )
        return d


DESIGN = EpisodeDesign()


def hashed(salt: str, *parts) -> int:
    """A stable 64-bit hash of the salted parts (BLAKE2b): the same on every machine and version."""
    key = "\x00".join([salt, *map(str, parts)]).encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big")


@dataclass
class AnnotatorEpisodes:
    annotator: int
    query: np.ndarray  # row indices of the split (sorted)
    pool: np.ndarray  # row indices of the support pool (sorted)
    orders: list[np.ndarray] = field(default_factory=list)  # per draw: the pool rows in support order

    def support(self, k: int, draw: int) -> np.ndarray:
        if k == 0:
            return np.zeros(0, dtype=np.int64)
        if k > len(self.pool):
            raise ValueError(f"annotator {self.annotator}: support pool of {len(self.pool)} < k = {k}")
        return self.orders[draw][:k]


@dataclass
class Episodes:
    design: EpisodeDesign
    annotators: dict[int, AnnotatorEpisodes]  # evaluated annotators (query ≥ min_query)
    too_few: list[dict]  # {annotator, comparisons, conversations, query, reason}
    _others: dict = field(default_factory=dict, repr=False, compare=False)

    def at(self, k: int) -> list[int]:
        """Annotators evaluated at k (support pool ≥ k), in id order."""
        return sorted(a for a, e in self.annotators.items() if len(e.pool) >= k)

    def others(self, k: int) -> dict[tuple[int, int], int | None]:
        """(annotator, draw) → the random other user at k, for every annotator evaluated at k (cached)."""
        cache = self._others
        if k not in cache:
            at = self.at(k)
            out: dict[tuple[int, int], int | None] = {}
            for d in range(self.draws(k)):
                cycle = sorted(at, key=lambda b, d=d: hashed(self.design.salt, "other", k, d, b))
                for i, a in enumerate(cycle):
                    out[(a, d)] = cycle[(i + 1) % len(cycle)] if len(cycle) > 1 and k > 0 else None
            cache[k] = out
        return cache[k]

    def draws(self, k: int) -> int:
        return 1 if k == 0 else self.design.draws

    def other(self, annotator: int, k: int, draw: int) -> int | None:
        return self.others(k).get((annotator, draw))

    def summary(self) -> dict:
        per_k = {}
        for k in self.design.k_sweep:
            n = len(self.at(k))
            per_k[str(k)] = {"annotators": n, "pool_smaller_than_k": len(self.annotators) - n}
        return {
            "evaluated": len(self.annotators),
            "too_few": {"count": len(self.too_few), "annotators": self.too_few},
            "per_k": per_k,
        }


def build_episodes(
    conversation_id: np.ndarray,
    turn: np.ndarray,
    annotators: np.ndarray,
    informative: np.ndarray | None = None,
    design: EpisodeDesign = DESIGN,
) -> Episodes:
    """The episodes of one split (row indices refer to the arrays given)."""
    conv = np.asarray(conversation_id, dtype=np.int64)
    turn = np.asarray(turn, dtype=np.int64)
    ann = np.asarray(annotators).astype(np.int64)
    ok = np.ones(len(conv), dtype=bool) if informative is None else np.asarray(informative, dtype=bool)
    out: dict[int, AnnotatorEpisodes] = {}
    too_few = []
    order = np.lexsort((turn, conv, ann))
    order = order[ok[order]]
    starts = np.flatnonzero(np.r_[True, ann[order][1:] != ann[order][:-1]]) if len(order) else np.zeros(0, int)
    for s, e in zip(starts, np.r_[starts[1:], len(order)]):
        rows = order[s:e]
        a = int(ann[rows[0]])
        convs = np.unique(conv[rows])
        ranked = sorted(convs.tolist(), key=lambda c: hashed(design.salt, a, "query", c))
        nq = int(np.ceil(len(ranked) * design.query_share))
        query_convs = set(ranked[:nq])
        in_query = np.array([c in query_convs for c in conv[rows]])
        query, pool = np.sort(rows[in_query]), np.sort(rows[~in_query])
        if len(query) < design.min_query:
            too_few.append(
                {
                    "annotator": a,
                    "comparisons": int(len(rows)),
                    "conversations": int(len(convs)),
                    "query": int(len(query)),
                    "reason": f"query set of {len(query)} < {design.min_query} comparisons",
                }
            )
            continue
        pool_convs = sorted(set(conv[pool].tolist()))
        orders = []
        for d in range(design.draws):
            ranked_pool = sorted(pool_convs, key=lambda c: hashed(design.salt, a, d, c))
            parts = [pool[conv[pool] == c] for c in ranked_pool]
            orders.append(np.concatenate([p[np.argsort(turn[p], kind="stable")] for p in parts]) if parts else pool)
        out[a] = AnnotatorEpisodes(a, query, pool, orders)
    return Episodes(design, out, too_few)
