"""Tests of fakes/: the simulated cluster behaves as Kubernetes does."""
