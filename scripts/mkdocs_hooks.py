"""mkdocs hooks (mkdocs.yml ``hooks:``): the diagrams are drawn at build time.

Every build draws the SVGs of ``scripts/diagrams.py`` (standard library only, no network) and
serves them as ``img/<name>.svg`` in place of the copies in ``docs/img/``, which exist for
readers of the Markdown on GitHub (``tests/docs/test_diagrams.py`` keeps them current).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

_SPEC = importlib.util.spec_from_file_location("stores_docs_diagrams", Path(__file__).with_name("diagrams.py"))
assert _SPEC and _SPEC.loader
diagrams = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(diagrams)


def on_files(files: Files, config: Any, **kwargs: Any) -> Files:
    for name, svg in diagrams.render_all().items():
        uri = f"img/{name}"
        old = files.get_file_from_path(uri)
        if old is not None:
            files.remove(old)
        files.append(File.generated(config, uri, content=svg))
    return files
