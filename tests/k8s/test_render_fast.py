"""The render's shortcuts give what the plain way gives, on a large mixed catalog.

``k8s.serialize.dump`` calls the pydantic serializer directly; ``to_dict()`` reuses the env the
checks looked at; a catalog's connection keeps its catalog entry's JSON and its store path
(``catalog_json``, ``store_path``), and ``connections_catalog`` joins those parts, resolving
templates only in entries holding a ``{{``.  Each is compared here with the plain computation
(``model_dump``, ``json.dumps`` of the whole catalog, a fresh catalog), on 200 connections of
every storage kind, with secrets mounted, keyed and shared.
"""

from __future__ import annotations

import json

import pytest

from bench.render_bench import connection  # the very mix the benchmark times
from k8s import render_patch
from k8s.serialize import dump
from stores.catalog import Catalog
from stores.contract import catalog_entry, connections_catalog
from stores.names import parse_bucket
from support.k8s import RUN, assert_patch_valid

N = 200


def mixed_catalog(templated: bool = False) -> Catalog:
    connections = [connection(i) for i in range(N)]
    if templated:  # every tenth connection carries templates in its env (resolved in the catalog too)
        for i in range(0, N, 10):
            connections[i]["env"] = [{"name": "OUT", "value": "{{ globals.run_outputs_path }}/x"},
                                     {"name": "OPEN", "value": "{{ globals.uuid"}]
    return Catalog.from_values({"connections": connections})


def test_dump_is_model_dump_for_every_object_of_a_render() -> None:
    patch = render_patch(mixed_catalog(), None, RUN)
    items = [e.item for e in (*patch.volumes, *patch.volume_mounts, *patch.env, *patch.env_from)]
    assert len(items) > 2 * N
    for item in items:
        assert dump(item) == item.model_dump(by_alias=True, exclude_none=True, mode="json")
        # and the object is what validating that spelling gives: nothing built is off-schema
        assert dump(type(item).model_validate(dump(item))) == dump(item)


def test_connections_catalog_is_the_json_of_its_entries() -> None:
    for templated in (False, True):
        catalog = mixed_catalog(templated)
        connections = [conn for _, conn in catalog.entries()]
        resolve = render_patch(catalog, None, RUN).resolve
        assert resolve is not None
        plain = json.dumps({"connections": [catalog_entry(c) for c in connections]}, separators=(",", ":"), ensure_ascii=False)
        assert connections_catalog(connections) == plain
        # resolved value by value, as the plain way: every string of every entry mapped
        mapped = json.loads(plain)
        for entry in mapped["connections"]:
            for pair in entry.get("env", []):
                pair[1] = resolve(pair[1])
        assert connections_catalog(connections, resolve) == json.dumps(mapped, separators=(",", ":"), ensure_ascii=False)
        assert (f"{RUN.uuid}/outputs/x" in connections_catalog(connections, resolve)) is templated


def test_a_warm_catalog_renders_what_a_fresh_one_does() -> None:
    warm = mixed_catalog(templated=True)
    first = render_patch(warm, None, RUN).to_dict()
    again = render_patch(warm, None, RUN).to_dict()  # the connections' kept JSON and paths in use
    fresh = render_patch(mixed_catalog(templated=True), None, RUN).to_dict()
    assert first == again == fresh
    assert json.dumps(first, sort_keys=False) == json.dumps(fresh, sort_keys=False)  # same key order too
    assert_patch_valid(first)


@pytest.mark.parametrize("url", ["s3://b", "s3://b/", "s3://b/a/b/", "gs://b//x", "gcs://b/x",
                                 "wasbs://c@acct.blob.core.windows.net", "wasbs://c@acct.blob.core.windows.net/p/q/",
                                 "wasb://c@acct.blob.core.windows.net/p"])
def test_a_bucket_store_path_is_its_url_parsed_again(url: str) -> None:
    # store_path reads the URL the schema's validator normalised instead of parsing it again
    kind = {"s3": "s3", "gs": "gcs", "gcs": "gcs", "wasbs": "wasb", "wasb": "wasb"}[url.split(":")[0]]
    try:
        catalog = Catalog.from_values({"connections": [{"name": "b", "kind": kind, "schema": {"bucket": url}}]})
    except ValueError:
        return  # a spelling the loader refuses has no store path
    conn = catalog.get("b")
    assert conn.store_path == parse_bucket(kind, conn.schema_.bucket).url == parse_bucket(kind, url).url
    for _, other in mixed_catalog().entries():
        assert other.store_path == (other.bucket.url if other.bucket is not None else other.mount_path)


def test_to_dict_twice_gives_equal_outputs_that_share_no_env_dicts() -> None:
    patch = render_patch(mixed_catalog(), None, RUN)
    one, two = patch.to_dict(), patch.to_dict()
    assert one == two
    env_one, env_two = one["spec"]["containers"][0]["env"], two["spec"]["containers"][0]["env"]
    assert not {id(v) for v in env_one} & {id(v) for v in env_two}, "a caller editing one output must not edit the other"
