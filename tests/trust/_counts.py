"""Counts of fuzz cases run in this session, printed by conftest.py at the end."""
from collections import Counter

COUNTS: Counter = Counter()


def bump(kind: str, n: int = 1) -> None:
    COUNTS[kind] += n
