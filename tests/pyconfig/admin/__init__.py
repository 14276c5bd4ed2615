"""Tests of pyconfig/admin: the `pyconfig check` command."""
