"""Each exact username has its own object names; adversarial names included."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from kubespawner.slugs import safe_slug

from pyconfig.hub.user_names import (
    HASH_CHARS,
    name_hash,
    path_name,
    server_slug,
    user_slug,
)
from tests.identities import COLLIDING

#: A DNS-1123 label: what a pod, claim or Secret name may be, at most 63.
LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def test_kubespawners_slug_makes_the_two_names_one():
    """The precondition of the defect: without our names they share a claim."""
    assert safe_slug(COLLIDING[0]) == safe_slug(COLLIDING[1]) == "john-doe---30f69670"


def test_the_colliding_names_get_their_own_names_everywhere():
    first, second = COLLIDING
    assert user_slug(first) != user_slug(second)
    assert server_slug(first, "proj") != server_slug(second, "proj")
    assert path_name(first) != path_name(second)


def test_a_valid_kubernetes_name_is_kept_so_nothing_moves_for_it():
    assert user_slug("alice") == "alice"
    assert server_slug("alice", "repo-x1") == "alice--repo-x1"
    assert path_name("alice") == "alice"


def test_any_other_name_gets_a_readable_part_and_130_bits():
    slug = user_slug("Alice.Novak@cesnet.cz")
    readable, digest = slug.split("---")
    assert readable == "alice-novak-cesnet-cz"
    assert len(digest) == HASH_CHARS == 26
    assert digest == name_hash("Alice.Novak@cesnet.cz")


def test_names_that_differ_in_case_or_punctuation_differ():
    names = [
        "Alice",
        "alice",
        "ALICE",
        "a.lice",
        "a_lice",
        "a-lice",
        "a--lice",
        "alice ",
        " alice",
        "alice\u00e9",
        "alic\u00e9",
    ]
    assert len({user_slug(n) for n in names}) == len(names)
    assert len({server_slug(n, "s") for n in names}) == len(names)


def test_user_and_server_parts_cannot_be_shifted_into_each_other():
    """("a", "b--c") and ("a--b", "c") would both read a--b--c if joined."""
    assert server_slug("a", "b--c") != server_slug("a--b", "c")
    assert name_hash("a", "bc") != name_hash("ab", "c")


def test_a_kept_name_never_equals_a_hashed_one():
    """Kept names hold no "--"; hashed ones always "---"."""
    hashed = user_slug("x.y")
    assert "---" in hashed
    assert user_slug(hashed) != hashed  # as a username, it is hashed again


def test_a_name_that_is_no_safe_path_component_is_not_used_in_the_path():
    for name in (
        "../etc",
        "a/b",
        ".hidden",
        "-rf",
        "x" * 65,
        "tab\there",
        "",
        user_slug("x.y"),
    ):
        assert path_name(name) == user_slug(name)
        assert "/" not in path_name(name)
    assert path_name("john.doe") == "john.doe"
    assert path_name("123456@muni.cz") == "123456@muni.cz"


@given(st.text(max_size=300), st.text(max_size=300))
def test_every_name_is_a_valid_kubernetes_name(username, servername):
    for slug in (user_slug(username), server_slug(username, servername)):
        assert LABEL.fullmatch(slug), slug
        assert len(slug) <= 55, slug  # "jupyter-" + this fits a 63-char label
    assert "/" not in path_name(username)
    assert path_name(username) not in ("", ".", "..")


@given(st.text(max_size=60), st.text(max_size=60))
def test_distinct_names_get_distinct_slugs(one, other):
    if one != other:
        assert user_slug(one) != user_slug(other)
        assert path_name(one) != path_name(other)
