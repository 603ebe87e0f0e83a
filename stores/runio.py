"""Old path of ``stores.contract.io``: the very same module (kept importable)."""

import sys

from .contract import io as _module

sys.modules[__name__] = _module
