"""Tests of chart/: the rendered release, its pods' configuration and its metadata."""
