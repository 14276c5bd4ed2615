"""Tests of the pyconfig package: the wheel, and one folder per package folder."""
