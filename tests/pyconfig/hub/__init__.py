"""Tests of pyconfig/hub: the code that runs in the hub, on real hub objects."""
