"""Old path of ``stores.contract.context``: the very same module (kept importable)."""

import sys

from .contract import context as _module

sys.modules[__name__] = _module
