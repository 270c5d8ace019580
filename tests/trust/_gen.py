"""Generated inputs for the trust tests and benchmarks/bench_store.py."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def make_big_csv(path: Path, rows: int, seed: int = 7) -> Path:
    """A plausible contacts CSV with ``rows`` rows, made with numpy in about a second."""
    rng = np.random.default_rng(seed)
    first = np.array(["Ann", "Bob", "Chen", "Dana", "Émile", "Fatima", "Günter", "Hiro", "Ines", "José", "Kai",
                      "Lena", "Maria", "Nils", "Olga", "Priya", "伟", "Zoë"], dtype=object)
    last = np.array(["Lee", "Ray", "Wang", "Schmidt", "Dubois", "Khan", "Müller", "Sato", "García", "Rossi",
                     "O'Brien", "Novak", "张", "Smith"], dtype=object)
    cities = np.array(["Berlin", "Paris", "London", "São Paulo", "北京", "New York", "Zürich"], dtype=object)
    i = np.arange(rows)
    f, l = first[rng.integers(0, len(first), rows)], last[rng.integers(0, len(last), rows)]
    df = pd.DataFrame({
        "First Name": f, "Last Name": l,
        "Email": [f"user{n}@example{n % 97}.com" for n in i.tolist()],
        "Phone": [f"+1 415 {n // 10000 % 1000:03d} {n % 10000:04d}" for n in i.tolist()],
        "Company": [f"Company {n % 5000} GmbH" for n in i.tolist()],
        "City": cities[rng.integers(0, len(cities), rows)],
        "Notes": np.where(rng.random(rows) < 0.1, "call back; =not a formula", ""),
    })
    df.to_csv(path, index=False)
    return path
