"""Tests of offline/: preview, diff and the demo, as an admin runs them."""
