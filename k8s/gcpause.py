"""Rendering with the cyclic garbage collector paused: linear cost in the number of connections.

A render allocates tens of thousands of short-lived, acyclic objects (client models, dicts,
strings); reference counting frees them all.  The cyclic collector's passes, triggered by those
allocations, walk every tracked object still alive, the caller's catalog included, so with the
collector running a render of 10,000 connections cost about twice as much per connection as one
of 1,000 (``bench/render_bench.py`` prints both columns).  Pausing it for the duration of one
call is what ``gc.disable`` documents it for; the previous state is restored on every exit.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import ParamSpec, TypeVar

__all__ = ["gc_paused"]

P = ParamSpec("P")
R = TypeVar("R")


def gc_paused(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` runs with the cyclic collector off (unless a caller already turned it off)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if not gc.isenabled():
            return fn(*args, **kwargs)
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            gc.enable()

    return wrapper
