"""Does a changed link stage give the same results as before? ``build_contacts`` of two copies of crmkit on
the same captured inputs, compared table by table, value by value.

Each case is a pickle of ``build_contacts``' inputs and the matcher's pairs (``bench_merge.py --link``
makes ``benchmarks/_data/link_inputs_*.pkl``); the matcher is replayed from the pickle, so only the link
stage itself is compared. "Before" is a copy of the package taken before the change
(``cp -r crmkit /tmp/orig_crmkit_link``); "after" is this checkout, or with ``--only-link-files`` that copy
with this checkout's link files (crmkit/link.py, crmkit/_link_tables.py, crmkit/merge/) put in, which keeps
other people's concurrent changes out of the comparison. "After" runs with the forked paths even on small
cases, and once more with ``CRMKIT_WORKERS=0`` (the serial path). The clock of the run is fixed, so time stamps compare too.

    /work/venv/bin/python benchmarks/compare_link.py --before /tmp/orig_crmkit_link \\
        benchmarks/_data/link_inputs_100000_7.pkl [more.pkl ...]
"""
from __future__ import annotations

import argparse
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
_FIELDS = ["contact_records", "contacts", "deals", "orders", "record_targets", "lineage", "contact_values",
           "conflicts", "match_pairs", "review_queue", "merge_history", "stats", "settings"]


def _package_root(package: Path, tmp: Path, name: str, link_files_from: Path | None = None) -> Path:
    """A directory holding ``crmkit`` (a copy of ``package``), to put first on sys.path."""
    root = tmp / name
    shutil.copytree(package, root / "crmkit", ignore=shutil.ignore_patterns("__pycache__"))
    if link_files_from is not None:
        for rel in ("link.py", "_link_tables.py"):
            shutil.copy(link_files_from / rel, root / "crmkit" / rel)
        shutil.rmtree(root / "crmkit" / "merge")
        shutil.copytree(link_files_from / "merge", root / "crmkit" / "merge",
                        ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _run(root: str, case: str, out: str) -> None:
    """Child: build_contacts of the crmkit under ``root`` on one case; pickle its result's fields."""
    sys.path.insert(0, root)
    import datetime as dt

    import crmkit
    import crmkit.link as link
    import crmkit.match as match

    assert Path(crmkit.__file__).resolve().is_relative_to(Path(root).resolve()), crmkit.__file__

    class FixedClock(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=tz)

    link.datetime = FixedClock
    if os.environ.get("COMPARE_FORK_ALL") == "1":  # the forked path even on small cases
        import importlib

        importlib.import_module("crmkit._fork").PARALLEL_MIN_ROWS = 0
    with open(case, "rb") as f:
        data = pickle.load(f)
    pairs = data["pairs"]
    if pairs is not None:
        if data.get("settings"):
            from crmkit.match import MatchSettings

            pairs.attrs["settings"] = MatchSettings.from_json(data["settings"])
        match.find_duplicates = lambda records, settings: pairs
    else:
        def no_matcher(records, settings):
            raise AssertionError("the case holds no matcher pairs")
        match.find_duplicates = no_matcher
    t = time.process_time()
    res = link.build_contacts(*data["args"], **data["kw"])
    cpu = time.process_time() - t
    fields = {f: getattr(res, f) for f in _FIELDS}
    attrs = {f: dict(v.attrs) for f, v in fields.items() if hasattr(v, "attrs")}
    with open(out, "wb") as f:
        pickle.dump({"fields": fields, "attrs": attrs, "cpu": cpu}, f, protocol=5)


def _same(a, b, what: str) -> list[str]:
    try:
        if isinstance(a, pd.DataFrame):
            if list(a.columns) != list(b.columns):
                return [f"{what}: columns {list(a.columns)} != {list(b.columns)}"]
            pd.testing.assert_frame_equal(a, b, check_exact=True)
        elif isinstance(a, pd.Series):
            pd.testing.assert_series_equal(a, b, check_exact=True)
        elif a != b:
            return [f"{what}: {a!r} != {b!r}"]
    except AssertionError as exc:
        return [f"{what}: {str(exc)[:600]}"]
    return []


def compare(before: dict, after: dict) -> list[str]:
    problems = []
    for f in _FIELDS:
        problems += _same(before["fields"][f], after["fields"][f], f)
        if before["attrs"].get(f, {}).keys() != after["attrs"].get(f, {}).keys() or \
                any(before["attrs"][f][k] != after["attrs"][f][k] for k in before["attrs"].get(f, {})):
            problems.append(f"{f}: attrs differ")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="+", type=Path)
    ap.add_argument("--before", type=Path, required=True, help="a copy of the crmkit package before the change")
    ap.add_argument("--only-link-files", action="store_true",
                    help="after = the before copy with this checkout's link files (not the whole checkout)")
    a = ap.parse_args()
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        before = _package_root(a.before, tmp, "before")
        after = _package_root(a.before, tmp, "after", REPO / "crmkit") if a.only_link_files else REPO
        for case in a.cases:
            results = {}
            for name, root, env in (("before", before, {}), ("after", after, {"COMPARE_FORK_ALL": "1"}),
                                    ("after, serial", after, {"CRMKIT_WORKERS": "0"})):
                out = tmp / "out.pkl"
                subprocess.run([sys.executable, __file__, "--child", str(root), str(case), str(out)], check=True,
                               env={**os.environ, **env})
                with open(out, "rb") as f:
                    results[name] = pickle.load(f)
            problems = compare(results["before"], results["after"]) + \
                [f"serial: {p}" for p in compare(results["before"], results["after, serial"])]
            cpu = " / ".join(f"{results[k]['cpu']:.2f}" for k in results)
            print(f"{'SAME' if not problems else 'DIFFERENT'}  {case.name}  (CPU s before / after / serial: {cpu})")
            for p in problems:
                print("   ", p)
            failed += bool(problems)
    print(f"{len(a.cases) - failed} of {len(a.cases)} cases the same")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        _run(*sys.argv[2:])
        sys.exit(0)
    sys.exit(main())
