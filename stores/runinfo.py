"""Old path of ``stores.contract.runinfo``: the very same module (kept importable)."""

import sys

from .contract import runinfo as _module

sys.modules[__name__] = _module
