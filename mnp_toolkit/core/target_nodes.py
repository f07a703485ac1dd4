"""``TargetNodes``: the node-range syntax of multi-node parallel jobs, and what a set of ranges means.

* :func:`parse_target_nodes` accepts exactly ``n:m``, ``:m``, ``n:``, ``n`` and ``:`` (ASCII digits,
  n <= m), as the API reference of ``NodeRangeProperty.targetNodes`` and ``NodeOverrides.numNodes``
  describe them; nothing else (no blanks, signs or other scripts' digits).
* :func:`node_spans` / :func:`uncovered`: which node indexes ``0..NumNodes-1`` each set of ranges covers,
  computed on range boundaries, so a huge ``NumNodes`` costs nothing.
* :func:`innermost`: the range whose settings apply to a node covered by several. The API allows nested
  ranges (``0:9`` with ``4:5`` inside) and the inner one's settings win; among the ranges covering a node
  that is the one with the fewest nodes, the later one on a tie.
* :func:`relation`: how two ranges relate on a job's nodes: ``disjoint``, ``nested`` (one inside the
  other, identical ranges included) or ``partial`` (overlapping without nesting: which settings win there
  is not documented, MNP108).

Standard library only: the config, the constructs, the rule pack, ``mnp submit`` and the local runner
all use this one definition.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

# ASCII digits only: ``\d`` would accept other scripts' digits, which the API does not.
#: A node index has at most this many digits (an Integer of the API: 10): longer text is not an index, and
#: parsing it as one would cost (and fail with Python's 4,300-digit limit) for nothing.
MAX_INDEX_DIGITS = 10
_TARGET_NODES = re.compile(r"(?P<start>[0-9]*)(?P<colon>:?)(?P<end>[0-9]*)")


@dataclass(frozen=True)
class TargetNodes:
    """A parsed ``TargetNodes`` value: ``start`` and ``end`` inclusive; ``end`` None means open (``n:``)."""

    text: str
    start: int
    end: int | None

    @property
    def is_open(self) -> bool:
        return self.end is None

    def covers(self, index: int) -> bool:
        return self.start <= index and (self.end is None or index <= self.end)

    def last_index(self, num_nodes: int) -> int:
        return num_nodes - 1 if self.end is None else self.end

    def nodes(self, num_nodes: int) -> range:
        return range(self.start, self.last_index(num_nodes) + 1)

    def highest_named_index(self) -> int:
        """The highest index the text itself names (``n`` of an open ``n:``); must be < ``NumNodes``."""
        return self.start if self.end is None else self.end

    def extent(self, num_nodes: int | None) -> tuple[int, float]:
        """``(first, last)`` clipped to ``0..num_nodes-1``; an open end is infinite when ``num_nodes`` is None."""
        if num_nodes is None:
            return self.start, math.inf if self.end is None else self.end
        return self.start, min(self.last_index(num_nodes), num_nodes - 1)

    def contains(self, other: TargetNodes, num_nodes: int | None) -> bool:
        """Every node of ``other`` (clipped to the job's nodes) is a node of ``self``."""
        first, last = self.extent(num_nodes)
        other_first, other_last = other.extent(num_nodes)
        return first <= other_first and other_last <= last

    def overlaps(self, other: TargetNodes, num_nodes: int | None) -> bool:
        first, last = self.extent(num_nodes)
        other_first, other_last = other.extent(num_nodes)
        return max(first, other_first) <= min(last, other_last)


class TargetNodesError(ValueError):
    """A ``TargetNodes`` value that is not ``n:m``, ``:m``, ``n:`` or ``n`` with integers and n <= m."""


def parse_target_nodes(text: str) -> TargetNodes:
    """Parse ``n:m``, ``:m``, ``n:`` or ``n`` (non-negative integers, n <= m) per ``NodeRangeProperty``.

    Strict: no signs, no blanks, no other characters. A bare ``:`` (both ends omitted: every node) is
    accepted too: the API reference of ``NodeOverrides.numNodes`` names it as an open range ("such as
    ``:`` or ``n:``"), so rejecting it would be a false error.
    """
    match = _TARGET_NODES.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise TargetNodesError(f"{text!r} is not of the form n:m, :m, n: or n (non-negative integers)")
    start_text, colon, end_text = match.group("start"), match.group("colon"), match.group("end")
    if not start_text and not end_text and not colon:
        raise TargetNodesError(f"{text!r} names no node index")
    if max(len(start_text), len(end_text)) > MAX_INDEX_DIGITS:
        raise TargetNodesError(f"a node index of more than {MAX_INDEX_DIGITS} digits is not a node index")
    if not colon:
        index = int(start_text)
        return TargetNodes(text, index, index)
    start = int(start_text) if start_text else 0
    end = int(end_text) if end_text else None
    if end is not None and start > end:
        raise TargetNodesError(f"{text!r} starts after it ends ({start} > {end})")
    return TargetNodes(text, start, end)


# ------------------------------------------------------------------------------ coverage of node indexes


@dataclass(frozen=True)
class NodeSpan:
    """Consecutive node indexes ``first..last`` covered by the same ranges (``covering``: their positions
    in the sequence given to :func:`node_spans`; empty for a gap)."""

    first: int
    last: int
    covering: tuple[int, ...]

    def describe(self) -> str:
        return describe_nodes(self.first, self.last)


def describe_nodes(first: int, last: int) -> str:
    return f"node {first}" if first == last else f"nodes {first}-{last}"


def node_spans(targets: Sequence[TargetNodes], num_nodes: int) -> list[NodeSpan]:
    """Split ``0..num_nodes-1`` into spans on which the set of covering targets does not change.

    Works on range boundaries, not on every index, so a huge (invalid) ``NumNodes`` costs nothing.
    Adjacent spans with the same covering set are merged.
    """
    if num_nodes <= 0:
        return []
    cuts = {0, num_nodes}
    for target in targets:
        first, last = target.extent(num_nodes)
        if first <= last:
            cuts.update({first, int(last) + 1})
    points = sorted(cut for cut in cuts if 0 <= cut <= num_nodes)
    spans: list[NodeSpan] = []
    for first, after in pairwise(points):
        covering = tuple(position for position, target in enumerate(targets) if target.covers(first))
        if spans and spans[-1].covering == covering and spans[-1].last == first - 1:
            spans[-1] = NodeSpan(spans[-1].first, after - 1, covering)
        else:
            spans.append(NodeSpan(first, after - 1, covering))
    return spans


def uncovered(targets: Sequence[TargetNodes], num_nodes: int) -> list[tuple[int, int]]:
    """The ``(first, last)`` spans of ``0..num_nodes-1`` that no target covers."""
    return [(span.first, span.last) for span in node_spans(targets, num_nodes) if not span.covering]


def innermost(targets: Sequence[TargetNodes], covering: Iterable[int], num_nodes: int | None) -> int | None:
    """Of the positions ``covering`` (all covering one node), the one whose settings apply: the range with
    the fewest nodes (clipped to the job; open ends infinite when ``num_nodes`` is None), the later on a tie.
    """

    def size(position: int) -> float:
        first, last = targets[position].extent(num_nodes)
        return last - first + 1

    candidates = list(covering)
    if not candidates:
        return None
    return min(candidates, key=lambda position: (size(position), -position))


Relation = Literal["disjoint", "nested", "partial"]


def relation(left: TargetNodes, right: TargetNodes, num_nodes: int | None) -> Relation:
    """How two ranges relate on the nodes of a job of ``num_nodes`` (open ends unbounded when None)."""
    if not left.overlaps(right, num_nodes):
        return "disjoint"
    if left.contains(right, num_nodes) or right.contains(left, num_nodes):
        return "nested"
    return "partial"


def shared_nodes(left: TargetNodes, right: TargetNodes, num_nodes: int | None) -> str:
    """The nodes two overlapping ranges share, for messages (``nodes 2-3``, ``nodes 4 onwards``)."""
    first = max(left.extent(num_nodes)[0], right.extent(num_nodes)[0])
    last = min(left.extent(num_nodes)[1], right.extent(num_nodes)[1])
    return describe_nodes(first, int(last)) if last != math.inf else f"nodes {first} onwards"


def compact(nodes: Sequence[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``'1-3, 7'`` (for messages naming node indexes)."""
    if not nodes:
        return ""
    parts: list[str] = []
    start = previous = nodes[0]
    for node in [*nodes[1:], None]:
        if node is not None and node == previous + 1:
            previous = node
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if node is not None:
            start = previous = node
    return ", ".join(parts)


def spans_text(spans: Iterable[tuple[int, int]]) -> str:
    """``[(1, 3), (7, 7)]`` -> ``'nodes 1-3, node 7'``."""
    return ", ".join(describe_nodes(first, last) for first, last in spans)
