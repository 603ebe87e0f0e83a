"""Old path of ``stores.contract.read``: the very same module (kept importable)."""

import sys

from .contract import read as _module

sys.modules[__name__] = _module
