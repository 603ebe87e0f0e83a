"""The reader of large objects (``stores.transfer.ranged``): ranges handed out in order, a seek
before the first read, a short object ending the stream, and the limits on what is in flight.
The ranges come from a function over bytes in memory: the reader's own logic; the same reader
against moto's S3 server is in test_native_engine.py and the stall/resume tests."""

from __future__ import annotations

import os
import threading
import time

from stores.transfer import ranged
from stores.transfer.ranged import AHEAD_BYTES, MAX_RANGE, RangedReader, range_size

MiB = 1024 * 1024


def _read_all(reader: RangedReader, block: int) -> bytes:
    out = bytearray()
    while chunk := reader.read(block):
        out += chunk
    return bytes(out)


def test_ranges_grow_with_the_object_up_to_a_bound():
    assert range_size(3 * MiB, MiB) == MiB
    assert range_size(20 * MiB, MiB) == -(-20 * MiB // 8)
    assert range_size(10_000 * MiB, 8 * MiB) == MAX_RANGE
    assert range_size(100, 8 * MiB) == 8 * MiB


def test_the_object_is_handed_out_in_order_from_a_seek():
    data = os.urandom(5 * MiB + 17)
    calls: list[tuple[int, int]] = []
    lock = threading.Lock()

    def fetch(start: int, end: int) -> bytes:
        with lock:
            calls.append((start, end))
        return data[start:end]

    reader = RangedReader(fetch, len(data), 256 * 1024)
    assert _read_all(reader, 100_000) == data
    reader = RangedReader(fetch, len(data), 256 * 1024)
    reader.seek(3 * MiB)
    calls.clear()
    assert _read_all(reader, 65536) == data[3 * MiB:]
    assert min(s for s, _ in calls) == 3 * MiB  # the prefix is never asked for again


def test_a_shorter_object_ends_the_stream_where_it_ends():
    data = os.urandom(3 * MiB)
    reader = RangedReader(lambda s, e: data[s:min(e, 2 * MiB + 5)], len(data), MiB)
    got = _read_all(reader, MiB)
    assert got == data[:2 * MiB + 5]
    reader.close()


def test_what_is_in_flight_stays_within_the_limits():
    data = os.urandom(40 * MiB)
    live = [0, 0]  # now, most
    lock = threading.Lock()

    def fetch(start: int, end: int) -> bytes:
        with lock:
            live[0] += end - start
            live[1] = max(live[1], live[0])
        time.sleep(0.01)
        with lock:
            live[0] -= end - start
        return data[start:end]

    reader = RangedReader(fetch, len(data), MiB)
    assert _read_all(reader, MiB) == data
    assert 0 < live[1] <= AHEAD_BYTES
    assert ranged._inflight[0] == 0  # every share of the process budget given back


def test_closing_gives_back_what_was_not_started():
    data = os.urandom(64 * MiB)
    started = threading.Event()
    release = threading.Event()

    def fetch(start: int, end: int) -> bytes:
        started.set()
        release.wait(5)
        return data[start:end]

    reader = RangedReader(fetch, len(data), 8 * MiB)
    threading.Thread(target=lambda: reader.read(1), daemon=True).start()
    assert started.wait(5)
    reader.close()
    release.set()
    deadline = time.monotonic() + 5
    while ranged._inflight[0] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ranged._inflight[0] == 0
