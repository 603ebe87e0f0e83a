"""The plan of a transfer: list the source, then the destination, and apply the incremental
rule: which files to send, which are unchanged, which destination keys to delete (the first
step of ``stores.transfer.engine``)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import TransferError
from ..handles import StoreHandle
from .compare import _up_to_date
from .listing import _Background, _is_dir, _key_problem, _list, _Listing, _planned_path, escape_key, posixpath_basename
from .options import TransferOptions, TransferResult
from .retry import _listed

__all__ = ["_EarlyListing", "_Plan", "_beater", "_early_listing", "_list_destination", "_list_hooked", "_list_source",
           "_plan", "_to_send"]

_log = logging.getLogger("stores.transfer")


def _list_hooked(handle: StoreHandle, opts: TransferOptions, **kw: Any) -> _Listing:
    """``_list(handle, **kw)``, through ``Hooks.list_store`` when the options give one."""
    hook = opts.hooks.list_store if opts.hooks is not None else None
    if hook is None:
        return _list(handle, **kw)
    listing: _Listing = hook(handle, lambda: _list(handle, **kw))
    return listing


def _beater(beats: list[int]) -> Callable[[], None]:
    """What a listing calls after each page it took: progress for the stall watch (a listing of
    100,000 keys from a slow store takes minutes, and is not a stall)."""
    def beat() -> None:
        beats[0] += 1
    return beat


def _list_source(src: StoreHandle, incremental: bool, opts: TransferOptions, beats: list[int]) -> _Listing | None:
    """The source's listing; None when there is nothing and that is fine (``missing_ok``); a
    TransferError when a copy has nothing to copy."""
    listing: _Listing = _listed(lambda: _list_hooked(src, opts, beat=_beater(beats)), src, opts)
    beats[0] += 1
    if not listing.files and not listing.failed and not listing.skipped:
        if opts.missing_ok:
            return None
        if src.is_local and not os.path.exists(src.root):
            raise TransferError(f"nothing to copy: {src.root} does not exist")
        if not incremental:  # an explicit copy of nothing is a mistake; an empty sync is not
            raise TransferError(f"nothing to copy: no file at or under {src.url}")
    return listing


@dataclass
class _Plan:
    """What a run will do: the files to send (``todo``: source key, destination key), the
    destination keys to delete (``extra``), and the account so far (``result``)."""

    src: StoreHandle
    dst: StoreHandle
    listing: _Listing
    single: bool
    result: TransferResult
    todo: list[tuple[str, str]] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def sources(self) -> dict[str, Any]:
        """The source files still to consider (those with a refused key are taken out)."""
        return self.listing.files

    def name(self, key: str) -> str:
        """The key a file reports: a single file's (key ``""``) is its destination's name."""
        return key or posixpath_basename(self.dst.root)


def _list_destination(dst: StoreHandle, opts: TransferOptions, beats: list[int]) -> _Listing:
    """The destination's listing as the engine takes it (retried, hooked, a beat per page), for
    the plan and for the check of a batch of uploads."""
    listing: _Listing = _listed(lambda: _list_hooked(dst, opts, strict=False, beat=_beater(beats)), dst, opts)
    return listing


class _EarlyListing(_Background[_Listing]):
    """A bucket destination's listing, started before the source's: a sync lists both sides,
    and the two waits overlap (a no-op sync of 1000 files is mostly these two listings)."""

    def __init__(self, dst: StoreHandle, opts: TransferOptions, beats: list[int]) -> None:
        self.dst = dst
        super().__init__(lambda: _list_destination(dst, opts, beats), "stores-list-destination")


def _early_listing(src: StoreHandle, dst: StoreHandle, incremental: bool, opts: TransferOptions,
                   beats: list[int]) -> _EarlyListing | None:
    """The bucket's listing under way while the local source is walked, for a sync of a local
    folder into a bucket (two local walks would only take turns for the interpreter).  Only for a
    folder: a single file goes to its own key, and the whole bucket folder it goes into must not
    be listed for it (a bucket source can be told from one file only by listing it)."""
    if not incremental or dst.is_local or not src.is_local or not os.path.isdir(src.root):
        return None
    return _EarlyListing(dst, opts, beats)


def _plan(src: StoreHandle, dst: StoreHandle, incremental: bool, opts: TransferOptions, listing: _Listing,
          beats: list[int], early: _EarlyListing | None = None) -> _Plan:
    result = TransferResult()
    single = list(listing.files) == [""] or list(listing.skipped) == [""]
    if single and _listed(lambda: _is_dir(dst), dst, opts):
        dst = dst.child(posixpath_basename(src.root))  # a file into a directory keeps its name
    plan = _Plan(src, dst, listing, single, result)
    for key, why in listing.skipped.items():
        result.excluded[plan.name(key)] = why
        # the plan of a dry run shows them already
        _log.log(logging.DEBUG if opts.dry_run else logging.INFO, "skipped %s: %s", escape_key(plan.name(key)),
                 escape_key(why), extra={"fields": {"key": plan.name(key), "fate": "skipped", "reason": why}})
    for key, why in listing.failed.items():
        result.failed[plan.name(key)] = why
    sources = plan.sources
    for key in list(sources):
        problem = _key_problem(key, src, dst)
        if problem:
            result.failed[key] = problem
            result.sizes[key] = sources.pop(key).size
    if not (incremental or (opts.delete and not single)):
        dentries: dict[str, Any] = {}
    elif early is not None and early.dst is dst:
        dentries = early.result().files
    else:  # no early listing, or a file into a directory: the destination is the file's own key there
        dentries = _list_destination(dst, opts, beats).files
    beats[0] += 1
    plan.todo = _to_send(plan, dentries, incremental, opts)
    # keys are identities: only a destination key that no source entry has (whatever became of
    # that entry: sent, failed, skipped) is extra; a key written in this run never is
    plan.extra = sorted(set(dentries) - set(listing.files) - set(listing.skipped) - set(listing.failed)) \
        if opts.delete and not single else []
    return plan


def _to_send(plan: _Plan, dentries: dict[str, Any], incremental: bool, opts: TransferOptions) -> list[tuple[str, str]]:
    """The pairs to send; the others (up to date in ``dentries``) are recorded as unchanged."""
    src, dst, sources, result = plan.src, plan.dst, plan.sources, plan.result
    todo: list[tuple[str, str]] = []
    uncompared = [0]
    real_dirs: dict[str, str] = {}  # this pass's resolved directories (local sides)
    for key in sorted(sources):
        result.sizes[plan.name(key)] = sources[key].size
        if incremental and _up_to_date(sources[key], dentries.get(key), src, dst,
                                       lambda: _planned_path(src, key, real_dirs),
                                       lambda: _planned_path(dst, key, real_dirs), opts, uncompared):
            result.skipped.append(plan.name(key))
            _log.debug("unchanged %s", escape_key(plan.name(key)))
        else:
            todo.append((key, key))
    if uncompared[0]:
        result.notes.append(f"--checksum: {uncompared[0]} same-size file(s) compared by size and time: "
                            f"{'the destination' if not dst.is_local else 'the source'} store gives no MD5 for them")
    return todo
