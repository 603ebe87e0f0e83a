"""Find the run's data and outputs inside the pod, with a local-development fallback.

In a rendered run the env contract (POLYAXON_RUN_DATA_PATHS, POLYAXON_RUN_OUTPUTS_PATH, ...)
says where everything is.  On a laptop there is no contract: ``local_dev()`` turns on local
development, where the data store "datasets" is this example's ``sample-data`` folder and
outputs go under ``.stores-dev/`` in the current directory.  Inside a run the contract wins, so
the same script runs unchanged in both places.

    python3 examples/in-run/train.py

``stores.run`` loads only the standard library: no pydantic, no cloud SDK.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from stores.run import get_data_path, get_inputs, get_outputs_path, get_run_context, local_dev, log_outputs

HERE = Path(__file__).resolve().parent


def count_rows(folder: str) -> int:
    rows = 0
    for path in sorted(Path(folder).glob("*.csv")):
        with path.open() as fh:
            rows += sum(1 for _ in fh) - 1  # minus the header
    return rows


def main() -> int:
    # A no-op inside a rendered run: the contract wins over local development.
    local_dev(".stores-dev", data={"datasets": str(HERE / "sample-data")}, inputs={"epochs": 1})

    context = get_run_context()
    data = get_data_path("datasets")
    outputs = get_outputs_path()
    epochs = get_inputs().get("epochs", 1)
    assert context is not None and data is not None and outputs is not None
    print(f"mode: {context.mode}, run: {context.uuid}")
    if "://" in data:
        # a bucket: open it with stores.handles.open_store("datasets") (needs the s3/gcs/azure extra)
        print(f"datasets is a bucket: {data}")
        return 0
    rows = count_rows(data)
    print(f"read {rows} rows from {os.path.relpath(data)}, {epochs} epoch(s)")

    os.makedirs(outputs, exist_ok=True)
    with open(os.path.join(outputs, "model.txt"), "w") as fh:
        fh.write(f"rows={rows}\n")
    print(f"wrote {os.path.relpath(os.path.join(outputs, 'model.txt'))}")
    print("outputs:", log_outputs(rows=rows, loss=0.125))
    return 0


if __name__ == "__main__":
    sys.exit(main())
