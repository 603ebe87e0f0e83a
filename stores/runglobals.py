"""Old path of ``stores.contract.globals``: the very same module (kept importable)."""

import sys

from .contract import globals as _module

sys.modules[__name__] = _module
