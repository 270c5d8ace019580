"""Identity check of the matcher: the output of a reference copy of crmkit against this checkout's.

    cp -r crmkit /tmp/orig_crmkit/                      # once, before changing the matcher
    python benchmarks/check_match_identity.py --reference /tmp/orig_crmkit --rows 100000
    python benchmarks/check_match_identity.py --reference /tmp/orig_crmkit --inputs /tmp/sample_inputs.pkl

Each run happens in its own process (``--reference`` is put first on ``sys.path`` there): find_duplicates, then
cluster and explain of its pairs. Inputs are generated corpora (``--rows``, ``make_corpus``) and/or pickles of
``(records, settings)`` (``--inputs``, e.g. what link.py passes to find_duplicates during a migrate). The
checkout runs once per ``--workers`` value (``CRMKIT_WORKERS``: 0 = serial, '' = unset, the default: forked
from ``crmkit._fork.PARALLEL_MIN_ROWS`` records), so the serial and the forked paths are both compared with the
reference. Every column must be equal, floats
bit for bit, as must the trained settings, the blocking counts, the cluster labels and the explanations.
"""
from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

_CHILD = r"""
import os, pickle, sys, time
sys.path.insert(0, sys.argv[1])
sys.path.insert(1, sys.argv[4])
import crmkit
assert crmkit.__file__.startswith(sys.argv[1]), crmkit.__file__
from crmkit.match import cluster, explain, find_duplicates
src = sys.argv[2]
if src.startswith("rows:"):
    from make_corpus import make_corpus
    records, settings = make_corpus(int(src[5:])).drop(columns=["true_id"]), None
else:
    with open(src, "rb") as fh:
        records, settings = pickle.load(fh)
t0, c0 = time.perf_counter(), time.process_time()
pairs = find_duplicates(records, settings)
labels = cluster(pairs, records["record_id"], pairs.attrs["settings"])
secs, cpu = time.perf_counter() - t0, time.process_time() - c0
expl = explain(pairs.head(20000), records)
out = {"pairs": pairs, "settings": pairs.attrs["settings"].to_json(), "blocking": pairs.attrs.get("blocking"),
       "labels": labels, "explain": expl, "seconds": secs, "cpu": cpu}
with open(sys.argv[3], "wb") as fh:
    pickle.dump(out, fh, protocol=5)
"""


def _run(package_parent: str, source: str, out: str, env: dict) -> dict:
    full_env = {**os.environ, **env}
    subprocess.run([sys.executable, "-c", _CHILD, package_parent, source, out, str(HERE)], check=True, env=full_env)
    with open(out, "rb") as fh:
        return pickle.load(fh)


def _same_frame(a, b) -> str | None:
    import numpy as np

    if list(a.columns) != list(b.columns):
        return f"columns differ: {list(a.columns)} / {list(b.columns)}"
    if len(a) != len(b):
        return f"lengths differ: {len(a)} / {len(b)}"
    if a.dtypes.tolist() != b.dtypes.tolist():
        return f"dtypes differ: {a.dtypes.tolist()} / {b.dtypes.tolist()}"
    for c in a.columns:
        x, y = a[c].to_numpy(), b[c].to_numpy()
        if x.dtype != y.dtype:
            return f"dtype of {c} differs: {x.dtype} / {y.dtype}"
        if x.dtype.kind == "f":
            same = np.array_equal(x.view(np.int64), y.view(np.int64))        # bit for bit (NaN included)
        else:
            same = bool((pd_isna(x) == pd_isna(y)).all() and (x[~pd_isna(x)] == y[~pd_isna(y)]).all())
        if not same:
            return f"column {c} differs"
    return None


def pd_isna(x):
    import pandas as pd

    return pd.isna(x)


def compare(ref: dict, new: dict) -> list[str]:
    problems = []
    for key in ("pairs", "explain"):
        why = _same_frame(ref[key], new[key])
        if why:
            problems.append(f"{key}: {why}")
    for key in ("settings", "blocking"):
        if ref[key] != new[key]:
            problems.append(f"{key} differ")
    if not (ref["labels"].index.equals(new["labels"].index) and ref["labels"].equals(new["labels"])):
        problems.append("cluster labels differ")
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", required=True, help="folder holding the reference copy of the crmkit package")
    ap.add_argument("--rows", type=int, nargs="*", default=[], help="generated corpora of these sizes")
    ap.add_argument("--inputs", nargs="*", default=[], help="pickles of (records, settings)")
    ap.add_argument("--workers", nargs="*", default=["0", ""],
                    help="CRMKIT_WORKERS values ('0' = the serial path, '' = unset: forked)")
    a = ap.parse_args()
    checkout = str(HERE.parent)
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for src in [f"rows:{n}" for n in a.rows] + a.inputs:
            ref = _run(a.reference, src, os.path.join(tmp, "ref.pkl"), {})
            print(f"{src}: reference {len(ref['pairs']):,} pairs, {ref['seconds']:.1f} s wall, {ref['cpu']:.1f} s CPU",
                  flush=True)
            for w in a.workers:
                env = {"CRMKIT_WORKERS": w} if w else {}
                saved = os.environ.pop("CRMKIT_WORKERS", None) if w == "" else None
                try:
                    new = _run(checkout, src, os.path.join(tmp, "new.pkl"), env)
                finally:
                    if saved is not None:
                        os.environ["CRMKIT_WORKERS"] = saved
                problems = compare(ref, new)
                failed |= bool(problems)
                print(f"  workers={w or 'default'}: {new['seconds']:.1f} s wall, {new['cpu']:.1f} s CPU: "
                      f"{'IDENTICAL' if not problems else 'DIFFERENT: ' + '; '.join(problems)}", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
