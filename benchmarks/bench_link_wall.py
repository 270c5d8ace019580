"""Wall time of the link stage without the matcher, with the CPU of this process and of its forked children.

``bench_merge.py --link`` times the steps by this process's CPU; once parts of the stage run in a forked
second process (``crmkit._fork``), wall time and the children's CPU tell the rest. Same cached inputs
(``benchmarks/_data/link_inputs_{rows}_{seed}.pkl``, the matcher's pairs replayed).

On a machine that other jobs keep busy, wall time says little about an idle 2-core machine, so each run
also prints its *critical path*: this process's CPU plus, for every forked part, the CPU its child used
beyond what this process did meanwhile (the time this process would wait for it with a core of its own).

    /work/venv/bin/python benchmarks/bench_link_wall.py --rows 1000000 --repeat 3
    CRMKIT_WORKERS=0 /work/venv/bin/python benchmarks/bench_link_wall.py --rows 300000   # serial path
"""
from __future__ import annotations

import argparse
import importlib
import pickle
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


class _Timed:
    def __init__(self, value, cpu: float):
        self.value, self.cpu = value, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=300_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    sys.path.insert(0, str(HERE))
    from bench_merge import _fresh_peak, _link_inputs, _memory

    import crmkit.link as link
    import crmkit.match as match
    from crmkit.match import MatchSettings

    waits: list[float] = []
    try:
        base = importlib.import_module("crmkit.clean._base")  # (crmkit.clean is also a function's name)

        class Timed(base.Forked):
            """Forked, reporting the child's CPU and this process's CPU between fork and result()."""

            def __init__(self, func):
                self.t0 = time.process_time()
                super().__init__(lambda: _Timed(func(), time.process_time()))  # a child's clock starts at 0

            def result(self):
                here = time.process_time() - self.t0
                value = super().result()
                if isinstance(value, _Timed):
                    waits.append(max(0.0, value.cpu - here))
                    return value.value
                return value
        base.Forked = Timed
    except (ImportError, AttributeError):  # pragma: no cover - a crmkit without Forked
        pass
    with open(_link_inputs(a.rows, a.seed), "rb") as f:
        data = pickle.load(f)
    pairs = data["pairs"]
    if data["settings"]:
        pairs.attrs["settings"] = MatchSettings.from_json(data["settings"])
    match.find_duplicates = lambda records, settings: pairs
    walls = []
    for run in range(a.repeat):
        waits.clear()
        before = _fresh_peak()
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        t, cpu = time.perf_counter(), time.process_time()
        result = link.build_contacts(*data["args"], **data["kw"])
        wall, cpu = time.perf_counter() - t, time.process_time() - cpu
        k = resource.getrusage(resource.RUSAGE_CHILDREN)
        child_cpu = k.ru_utime + k.ru_stime - kids.ru_utime - kids.ru_stime
        mem = _memory()
        walls.append(wall)
        print(f"link without matching, {a.rows:,} rows (run {run + 1}): {wall:.2f} s wall, critical path "
              f"{cpu + sum(waits):.2f} s ({len(waits)} forked parts), {cpu:.2f} s CPU here + "
              f"{child_cpu:.2f} s in children, peak {mem['VmHWM']:.2f} GB ({mem['VmHWM'] - before:+.2f} GB over its "
              f"inputs; children's peak RSS {k.ru_maxrss / 1024 / 1024:.2f} GB); {len(result.contacts):,} contacts",
              flush=True)
        del result
    print(f"best wall {min(walls):.2f} s, median {sorted(walls)[len(walls) // 2]:.2f} s")


if __name__ == "__main__":
    main()
