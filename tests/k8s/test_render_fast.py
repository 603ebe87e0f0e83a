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
import random
from typing import Any

import pytest
from pydantic import ValidationError

from bench.render_bench import connection  # the very mix the benchmark times
from k8s import render_patch
from k8s.serialize import dump
from stores.catalog import Catalog
from stores.contract import catalog_entry, catalog_entry_json, connections_catalog
from stores.models import HostPathSchema, parse_connection
from stores.names import parse_bucket
from support.k8s import RUN, assert_patch_valid
from tools.reliability.fuzzing import UNICODE, generate_plausible

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


def _plain_entry_json(conn: Any) -> str:
    return json.dumps(catalog_entry(conn), separators=(",", ":"), ensure_ascii=False)


def test_a_catalog_entry_is_written_as_the_encoder_writes_its_dict() -> None:
    # catalog_entry_json writes the text field by field; the encoder, given catalog_entry's
    # dicts, is the reference: plausible documents' connections of every kind and spelling
    seen = 0
    for seed in range(400):
        doc = generate_plausible(random.Random(f"catalog-entry-{seed}"))
        for raw in [doc.get("artifactsStore"), *doc.get("connections", [])]:
            try:
                conn = parse_connection(raw)
            except (ValidationError, TypeError, ValueError):
                continue
            assert catalog_entry_json(conn) == _plain_entry_json(conn), raw
            seen += 1
    assert seen > 300  # not vacuous: most plausible connections parse


@pytest.mark.parametrize("text", [*UNICODE, "\ud800", "a\"b", "\x00\x1f", "</script>"])
def test_a_catalog_entry_writes_every_string_as_the_encoder_does(text: str) -> None:
    conn = parse_connection({
        "name": "c", "kind": "s3", "description": text, "tags": [text, "t"],
        "schema": {"bucket": "s3://bucket/" + ("p" if text.isascii() else "\u00f1")},
        "secret": {"name": "s", "items": ["A_B", {"key": "k", "path": "p", "mode": 0o400}], "mountPath": "/m",
                   "defaultMode": "0440"},
        "configMap": {"name": "cm"},
        "env": [{"name": "V", "value": text}, {"name": "W", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "annotations": {"example.com/a": text},
    })
    assert catalog_entry_json(conn) == _plain_entry_json(conn)
    assert json.loads(catalog_entry_json(conn))["description"] == text


def test_a_schema_pydantic_cannot_write_goes_the_plain_way() -> None:
    # a lone surrogate, which pydantic's UTF-8 writer refuses (the loader refuses one in a path,
    # so the schema is built past validation here)
    conn = parse_connection({"name": "h", "kind": "host_path", "schema": {"hostPath": "/d", "mountPath": "/m"}})
    odd = conn.model_copy(update={"schema_": HostPathSchema.model_construct(host_path="/d\ud800", mount_path="/m")})
    assert catalog_entry_json(odd) == _plain_entry_json(odd)
    assert "\ud800" in catalog_entry_json(odd)
