"""Read + map + clean with two copies of crmkit: CPU seconds of each, and whether their outputs are identical.

    cp -r crmkit /tmp/before/                       # (a copy of the package from before a change)
    python benchmarks/compare_read_clean.py --before /tmp/before --rows 300000
    python benchmarks/compare_read_clean.py --before /tmp/before sample_data/*.csv tests/data/read/*

Each side runs in its own process (read_paths/read, map_sheets, apply_mapping, clean, as ``crmkit migrate`` does)
and prints wall and CPU seconds per stage (CPU of the process and of the forked phone process). Then every
sheet's read frame, kinds, skipped rows, issues, mapped frame, cleaned frame and clean issues are compared
value by value (pandas.testing, exact, dtypes, and None stays None). ``--rows N`` uses the cached migrate
corpus benchmarks/_data/contacts_N_7_v2.csv (see bench_migrate.py). CPU seconds are the figure to compare
on a shared machine.
"""
from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

_SIDE = r'''
import os, pickle, resource, sys, time
if sys.argv[1] != "-":
    sys.path.insert(0, sys.argv[1])
out, files = sys.argv[2], sys.argv[3:]
from crmkit.clean import clean
from crmkit.mapping import apply_mapping, map_sheets
from crmkit.read import read

def cpu():
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime, c.ru_utime + c.ru_stime

times = {"read": [0, 0, 0], "map": [0, 0, 0], "clean": [0, 0, 0]}
def add(stage, w0, c0):
    c1 = cpu()
    t = times[stage]
    t[0] += time.perf_counter() - w0; t[1] += c1[0] - c0[0]; t[2] += c1[1] - c0[1]

res = {}
for f in files:
    w, c = time.perf_counter(), cpu()
    try:
        sheets = read(f)
    except Exception as exc:
        res[f] = f"{type(exc).__name__}: {exc}"
        continue
    add("read", w, c)
    for s in sheets:
        w, c = time.perf_counter(), cpu()
        sm = map_sheets([s], None).sheets[0]
        d = {"frame": s.frame, "kinds": s.kinds, "header_row": s.header_row, "skipped": s.skipped,
             "issues": s.issues, "skipped_issues": s.skipped_issues, "encoding": s.encoding,
             "delimiter": s.delimiter, "skipped_text": s.skipped_text, "entity": sm.entity, "columns": sm.columns}
        if sm.entity is not None:
            mapped = apply_mapping(s, sm)
            add("map", w, c)
            d.update(mapped=mapped.frame, mapped_kinds=mapped.kinds, extras=mapped.extras)
            w, c = time.perf_counter(), cpu()
            try:
                d["cleaned"], d["clean_issues"] = clean(mapped.frame, sm.entity, kinds=mapped.kinds)
            except Exception as exc:
                d["clean_error"] = f"{type(exc).__name__}: {exc}"
            add("clean", w, c)
        res[f"{f} [{s.sheet}]"] = d
with open(out, "wb") as fh:
    pickle.dump((times, res), fh, protocol=pickle.HIGHEST_PROTOCOL)
'''


def _run(package: str, files: list[str], out: Path) -> dict:
    subprocess.run([sys.executable, "-c", _SIDE, package, str(out), *files], check=True)
    with out.open("rb") as fh:
        return pickle.load(fh)


def _differences(a: dict, b: dict) -> list[str]:
    import pandas as pd
    from pandas.testing import assert_frame_equal

    found = []
    if a.keys() != b.keys():
        return [f"different files/sheets: {sorted(set(a) ^ set(b))}"]
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, str) or isinstance(y, str):
            if x != y:
                found.append(f"{key}: {x!r} != {y!r}")
            continue
        if x.keys() != y.keys():
            found.append(f"{key}: {sorted(set(x) ^ set(y))}")
            continue
        for name in x:
            u, v = x[name], y[name]
            try:
                if isinstance(u, pd.DataFrame):
                    assert_frame_equal(u, v, check_exact=True)
                    for c in u.columns:
                        if u[c].dtype == object:
                            assert [type(t) for t in u[c]] == [type(t) for t in v[c]], f"value types of {c!r}"
                else:
                    assert u == v, f"{u!r} != {v!r}"
            except AssertionError as exc:
                found.append(f"{key} {name}: {str(exc)[:300]}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*")
    parser.add_argument("--before", required=True, help="folder holding the other copy of the crmkit package")
    parser.add_argument("--rows", type=int, help="use the cached migrate corpus of this many rows")
    args = parser.parse_args()
    files = list(args.files)
    if args.rows:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bench_migrate import corpus_csv

        files.append(str(corpus_csv(args.rows, 7)[0]))
    with tempfile.TemporaryDirectory() as tmp:
        before = _run(args.before, files, Path(tmp) / "before.pkl")
        after = _run("-", files, Path(tmp) / "after.pkl")
    for label, (times, _) in (("before", before), ("after", after)):
        print(f"{label:<7}" + "".join(f"  {stage} {w:6.2f} s wall, CPU {c:6.2f} s + {k:5.2f} s forked"
                                      for stage, (w, c, k) in times.items() if stage != "map"))
    diff = _differences(before[1], after[1])
    print(f"{len(before[1])} sheets compared: " + ("identical" if not diff else f"{len(diff)} differences"))
    for d in diff[:20]:
        print("  " + d)
    sys.exit(1 if diff else 0)


if __name__ == "__main__":
    main()
