"""How much the in-run lookup adds to a process start (a script, not a test).

    .venv/bin/python bench/inrun_import.py [RUNS]

Runs ``python -c pass`` and ``python -c "import stores.run; stores.run.get_data_paths()"`` (with
``POLYAXON_RUN_DATA_PATHS`` set) RUNS times each (default 30), interleaved so both see the same
machine load, and prints the median wall time of each and their difference.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import clean_env, wall as _wall  # noqa: E402

LOOKUP = "import stores.run; stores.run.get_data_paths()"


def lookup_env() -> dict[str, str]:
    return clean_env(POLYAXON_RUN_DATA_PATHS='{"data1":"/data/1","data-s3":"s3://data-bucket"}')


def wall(code: str, env: dict[str, str], python: str = sys.executable) -> float:
    return _wall([python, "-c", code], env)


def main(runs: int = 30) -> None:
    env = lookup_env()
    wall("pass", env), wall(LOOKUP, env)  # warm the OS file cache and __pycache__
    bare, lookup = [], []
    for _ in range(runs):
        bare.append(wall("pass", env))
        lookup.append(wall(LOOKUP, env))
    b, l = statistics.median(bare), statistics.median(lookup)
    print(f"python: {sys.executable} ({sys.version.split()[0]}), {runs} runs each")
    print(f"median python -c pass:                  {b * 1000:7.1f} ms")
    print(f"median import stores.run + lookup:      {l * 1000:7.1f} ms")
    print(f"difference:                             {(l - b) * 1000:7.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
