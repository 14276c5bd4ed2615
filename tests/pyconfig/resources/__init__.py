"""Tests of pyconfig/resources: the .resources contract."""
