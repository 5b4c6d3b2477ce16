"""OpenLineage transformation types: how an expression context classifies the columns inside it.

A column reached while walking an output expression gets a *context*: the subtype it contributes
with and whether the value is masked on the way. Contexts compose when lineage passes through
CTEs and subqueries: an INDIRECT use outside wins (a filter on an aggregate still filters), an
INDIRECT use inside stays (a window key stays a window key), and DIRECT subtypes keep the
strongest of IDENTITY < TRANSFORMATION < AGGREGATION.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlglot import exp

from observer.lineage.model import DIRECT_SUBTYPES, Subtype

# (table, column) -> {subtype: masking}
Lineage = dict[tuple[str, str], dict[Subtype, bool]]

_DIRECT_RANK = {Subtype.IDENTITY: 0, Subtype.TRANSFORMATION: 1, Subtype.AGGREGATION: 2}

# Functions whose output does not reveal the input values.
MASKING_FUNCTIONS: tuple[type[exp.Expr], ...] = tuple(
    cls
    for name in (
        "MD5",
        "MD5Digest",
        "SHA",
        "SHA2",
        "SHA1Digest",
        "SHA2Digest",
        "StandardHash",
        "FarmFingerprint",
        "Count",
        "CountIf",
        "ApproxDistinct",
        "HllCount",
    )
    if isinstance(cls := getattr(exp, name, None), type)
)
MASKING_FUNCTION_NAMES = frozenset(
    {
        "hash",
        "md5",
        "sha",
        "sha1",
        "sha2",
        "sha256",
        "sha512",
        "hash_md5",
        "hashbytes",
        "crc32",
        "xxhash64",
        "murmur3",
        "farm_fingerprint",
        "mask",
        "mask_hash",
        "approx_count_distinct",
        "hll",
        "hll_count",
    }
)


class Context(NamedTuple):
    subtype: Subtype
    masking: bool = False

    @property
    def direct(self) -> bool:
        return self.subtype in DIRECT_SUBTYPES

    def transformed(self, masking: bool = False) -> Context:
        """The context below a function or operator: IDENTITY becomes TRANSFORMATION."""
        subtype = Subtype.TRANSFORMATION if self.subtype is Subtype.IDENTITY else self.subtype
        return Context(subtype, self.masking or masking)

    def aggregated(self, masking: bool = False) -> Context:
        subtype = Subtype.AGGREGATION if self.direct else self.subtype
        return Context(subtype, self.masking or masking)

    def indirect(self, subtype: Subtype) -> Context:
        return Context(subtype if self.direct else self.subtype, self.masking)


IDENTITY = Context(Subtype.IDENTITY)


def compose(outer: Context, inner: Subtype) -> Subtype:
    if not outer.direct:
        return outer.subtype
    if inner not in DIRECT_SUBTYPES:
        return inner
    return outer.subtype if _DIRECT_RANK[outer.subtype] >= _DIRECT_RANK[inner] else inner


def add(target: Lineage, key: tuple[str, str], subtype: Subtype, masking: bool) -> None:
    subtypes = target.get(key)
    if subtypes is None:
        target[key] = {subtype: masking}
    else:
        # a value that also reaches the output unmasked is not masked
        subtypes[subtype] = subtypes[subtype] and masking if subtype in subtypes else masking


def add_composed(target: Lineage, outer: Context, inner: Lineage) -> None:
    for key, subtypes in inner.items():
        for subtype, masking in subtypes.items():
            add(target, key, compose(outer, subtype), masking or outer.masking)


def merge(target: Lineage, source: Lineage) -> None:
    for key, subtypes in source.items():
        for subtype, masking in subtypes.items():
            add(target, key, subtype, masking)


def is_masking(node: exp.Expr) -> bool:
    if isinstance(node, MASKING_FUNCTIONS):
        return True
    if isinstance(node, exp.Anonymous):
        return node.name.lower() in MASKING_FUNCTION_NAMES
    return False
