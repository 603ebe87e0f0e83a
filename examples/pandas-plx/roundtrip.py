"""Write and read a table with pandas in the store of connection NAME (default ``data-s3``):
a CSV through ``plx://NAME/...``, a parquet file through the backend's URL and
``storage_options`` (what libraries that take a URL plus options want).

NAME is looked up in ``$STORES_VALUES`` (a helm values file), or in a pod in the rendered
connections catalog, or in the run's ``POLYAXON_RUN_DATA_PATHS``.
"""

from __future__ import annotations

import sys

import pandas as pd

from stores.plxfs import storage_options, url


def main(argv: list[str]) -> int:
    name = argv[1] if len(argv) > 1 else "data-s3"
    frame = pd.DataFrame({"epoch": [1, 2, 3], "loss": [0.5, 0.25, 0.125]})

    # 1. any fsspec-aware library: a plx:// path, nothing else
    frame.to_csv(f"plx://{name}/metrics.csv", index=False)
    back = pd.read_csv(f"plx://{name}/metrics.csv")
    print(f"plx://{name}/metrics.csv: {len(back)} rows, last loss {back['loss'].iloc[-1]}")

    # 2. a library that takes a URL and options: the backend's own
    target = url(name, "metrics.parquet")
    frame.to_parquet(target, storage_options=storage_options(name))
    again = pd.read_parquet(target, storage_options=storage_options(name))
    assert again.equals(frame), "the parquet file did not come back as written"
    print(f"{target}: {len(again)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
