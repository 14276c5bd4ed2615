"""Tests of tools/: the build and docs helpers."""
