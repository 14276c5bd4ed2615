"""Tests of ci/: the cluster job and the peer suite's runner."""
