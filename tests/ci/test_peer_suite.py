"""ci/peer_suite.py's list of excluded peer tests: every entry says why.

(The runner itself checks that each entry names a test of the suite: pytest
ignores a --deselect that matches nothing. The suite runs in `make test-peer`,
once, not here.)"""

from __future__ import annotations

import re

import pytest

from ci import peer_suite


def test_every_excluded_peer_test_has_a_reason_and_a_node_id():
    excluded = peer_suite.exclusions()
    for node, reason in excluded.items():
        assert re.fullmatch(r"test_\w+\.py::test_\w+(\[[^\]]+\])?", node), node
        assert len(reason.split()) >= 3, (node, reason)


def test_an_entry_without_a_reason_is_refused(tmp_path):
    listed = tmp_path / "excluded.txt"
    listed.write_text("# comment\ntest_spawner.py::test_a | why it fails\n")
    assert peer_suite.exclusions(listed) == {"test_spawner.py::test_a": "why it fails"}
    listed.write_text("test_spawner.py::test_b\n")
    with pytest.raises(ValueError, match="no reason"):
        peer_suite.exclusions(listed)
