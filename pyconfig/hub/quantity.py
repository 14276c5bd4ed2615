"""Kubernetes resource quantities ("500m", "16Gi", 8), read exactly.

The namespace quota check (namespace_quota.py) compares what a quota holds
with what a launch asks; the loopback cluster's admission (tools/) counts
with the same type, so both read an amount as the API server does.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

_QUANTITY = re.compile(
    r"(?P<number>[+-]?(?:\d+\.?\d*|\.\d+))"
    r"(?:(?P<binary>Ki|Mi|Gi|Ti|Pi|Ei)|(?P<decimal>[numkMGTPE]?)|[eE](?P<exp>[+-]?\d+))"
)
_BINARY = {s: 1024**i for i, s in enumerate(("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"))}
_DECIMAL = {
    "n": -9,
    "u": -6,
    "m": -3,
    "": 0,
    "k": 3,
    "M": 6,
    "G": 9,
    "T": 12,
    "P": 15,
    "E": 18,
}


def _nano(amount: Fraction) -> Fraction:
    """Below nano-units the API server rounds up: it keeps no finer amount."""
    return Fraction(-((-amount * 10**9) // 1), 10**9)


class Quantity:
    """A Kubernetes resource quantity: an exact amount and how to print it."""

    __slots__ = ("amount", "binary")

    def __init__(self, amount: Fraction, binary: bool = False) -> None:
        self.amount = amount
        self.binary = binary

    @classmethod
    def parse(cls, value: Any) -> Quantity:
        """``value`` as the API server reads it (a string or a JSON number)."""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError(f"quantities must match the regular expression: {value!r}")
        text = repr(value) if isinstance(value, float) else str(value)
        match = _QUANTITY.fullmatch(text.strip())
        if match is None:
            raise ValueError(
                f"quantities must match the regular expression "
                f"'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {value!r}"
            )
        number = Fraction(match["number"])
        if match["binary"]:
            return cls(_nano(number * _BINARY[match["binary"]]), binary=True)
        exponent = int(match["exp"]) if match["exp"] else _DECIMAL[match["decimal"]]
        if abs(exponent) > 30:  # bounds the arithmetic of a hostile amount
            raise ValueError(f"quantities must be between 1n and 1e30: {value!r}")
        return cls(_nano(number * Fraction(10) ** exponent))

    def __add__(self, other: Quantity) -> Quantity:
        return Quantity(self.amount + other.amount, self.binary)

    def __str__(self) -> str:
        """The canonical form the API server prints."""
        amount = self.amount
        if self.binary and amount.denominator == 1 and abs(amount) >= 1024:
            for suffix, size in reversed(_BINARY.items()):
                if amount % size == 0:
                    return f"{amount // size}{suffix}"
        if amount == 0:
            return "0"
        for suffix, exponent in sorted(_DECIMAL.items(), key=lambda i: -i[1]):
            scaled = amount / Fraction(10) ** exponent
            if scaled.denominator == 1 and exponent >= -9:
                return f"{scaled.numerator}{suffix}"
        raise AssertionError("unreachable: amounts are whole nano-units")
