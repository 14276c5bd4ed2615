"""YAML from a file nobody here wrote: loaded only when its aliases stay small.

PyYAML builds an alias as a second reference to the anchored object, so a
few hundred bytes of nested anchors (9 levels of 9 aliases) load at once;
what blows up is every later walk of them (copying, JSON for Helm, traitlets
config), which meets 9**9 nodes. Helm's own parser (go-yaml) refuses such a
document while it decodes it ("document contains excessive aliasing"); this
applies go-yaml's rule to the composed node graph before anything is built
from it, counting each node once, so the check is linear in the file's size.

go-yaml's rule (yaml.v2/v3 decode.go): with ``decoded`` nodes decoded so far
(aliases expanded) and ``aliased`` of them decoded inside an alias, refuse
once ``aliased > 100``, ``decoded > 1000`` and ``aliased / decoded`` is above
0.99 for up to 400,000 decoded nodes, falling linearly to 0.10 at 4,000,000
and staying there.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

#: go-yaml's bounds (decode.go: alias_ratio_range_low/high).
_RATIO_LOW, _RATIO_HIGH = 400_000, 4_000_000


class UnsafeYAML(ValueError):
    """A document refused before it is built; the message is one line."""


def allowed_alias_ratio(decoded: int) -> float:
    """The share of decoded nodes go-yaml lets come from aliases."""
    if decoded <= _RATIO_LOW:
        return 0.99
    if decoded >= _RATIO_HIGH:
        return 0.10
    return 0.99 - 0.89 * (decoded - _RATIO_LOW) / (_RATIO_HIGH - _RATIO_LOW)


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _sizes(root: Node) -> dict[int, int]:
    """Each node's size with its aliases expanded (itself included), by id;
    each node's children are added up once. UnsafeYAML for a node that
    contains itself (go-yaml: "anchor ... value contains itself")."""
    sizes: dict[int, int] = {}
    entered: set[int] = set()
    stack: list[Node] = [root]
    while stack:  # each node is pushed at most twice: entered, then summed
        node = stack[-1]
        if id(node) in sizes:
            stack.pop()
            continue
        children = _children(node)
        if id(node) not in entered:
            entered.add(id(node))
            for child in children:
                if id(child) in entered and id(child) not in sizes:
                    raise UnsafeYAML("refused: a YAML anchor's value contains itself")
            stack.extend(c for c in reversed(children) if id(c) not in sizes)
            continue
        sizes[id(node)] = 1 + sum(sizes[id(c)] for c in children)
        stack.pop()
    return sizes


def check_aliases(root: Node) -> None:
    """UnsafeYAML when go-yaml would refuse the document's aliasing.

    The document is walked in order; a node met again is an alias, which
    go-yaml decodes as one node plus its target's whole expanded size."""
    sizes = _sizes(root)
    decoded = aliased = 0
    seen: set[int] = set()
    stack = [root]
    while stack:  # a node is descended into once: bounded by the file's nodes
        node = stack.pop()
        decoded += 1
        if id(node) in seen:
            aliased += sizes[id(node)]
            decoded += sizes[id(node)]
            if (
                aliased > 100
                and decoded > 1000
                and aliased / decoded > allowed_alias_ratio(decoded)
            ):
                raise UnsafeYAML(
                    f"refused: its YAML aliases expand past {decoded} values "
                    "(excessive aliasing, which Helm refuses too)"
                )
            continue
        seen.add(id(node))
        stack.extend(reversed(_children(node)))


def load(text: str, loader: type[yaml.SafeLoader] = yaml.SafeLoader) -> Any:
    """One YAML document, as ``yaml.load(text, loader)`` builds it, refused
    (UnsafeYAML) when its aliases expand too far or it nests too deeply for
    the parser. yaml.YAMLError for text that is not YAML."""
    reader = loader(text)
    try:
        node = reader.get_single_node()
        if node is None:
            return None
        check_aliases(node)
        return reader.construct_document(node)
    except RecursionError:
        raise UnsafeYAML("refused: nested too deeply") from None
    finally:
        reader.dispose()
