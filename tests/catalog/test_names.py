"""Every name and path rule is a whole-string rule.

A ``$``-anchored pattern used with ``re.match`` accepts ``"data\\n"`` (``$`` matches before a
trailing newline); such a name then reaches a volume name, an env var name or a file path.  Each
rule here is fed a good value, then the same value with a trailing newline, an embedded NUL and a
lone surrogate appended, and must refuse all three.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from stores import Catalog, ValuesError, names
from stores.settings import load_settings

BAD_TAILS = {"newline": "\n", "crlf": "\r\n", "nul": "\x00", "surrogate": "\ud800", "del": "\x7f"}


def _bucket(kind: str) -> Callable[[str], Any]:
    return lambda v: names.parse_bucket(kind, v)


RULES: dict[str, tuple[Callable[[str], Any], str]] = {
    "dns label": (names.check_name, "data"),
    "connection name": (names.check_connection_name, "data_v1.x"),
    "other-kind name": (names.check_other_name, "my slack"),
    "resource name": (names.check_resource_name, "aws-creds"),
    "secret key": (names.check_secret_key, "key.json"),
    "env name": (names.check_env_name, "AWS_REGION"),
    "annotation key": (names.check_annotation_key, "example.com/owner"),
    "mount path": (names.check_mount_path, "/data/1"),
    "host path": (names.check_host_path, "/mnt/data"),
    "relative path": (names.check_relative_path, "team/a"),
    "s3 bucket": (_bucket("s3"), "s3://data-bucket"),
    "s3 prefix": (_bucket("s3"), "s3://data-bucket/runs"),
    "gcs bucket": (_bucket("gcs"), "gs://models"),
    "azure url": (_bucket("wasb"), "wasbs://outputs@plxstorage.blob.core.windows.net/runs"),
}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_the_good_value_passes(rule: str) -> None:
    check, good = RULES[rule]
    check(good)


@pytest.mark.parametrize("tail", sorted(BAD_TAILS))
@pytest.mark.parametrize("rule", sorted(RULES))
def test_a_bad_tail_is_refused(rule: str, tail: str) -> None:
    check, good = RULES[rule]
    with pytest.raises(ValueError):
        check(good + BAD_TAILS[tail])


@pytest.mark.parametrize("tail", sorted(BAD_TAILS))
@pytest.mark.parametrize("rule", sorted(RULES))
def test_a_bad_character_inside_is_refused(rule: str, tail: str) -> None:
    check, good = RULES[rule]
    cut = len(good) // 2 + 1
    with pytest.raises(ValueError):
        check(good[:cut] + BAD_TAILS[tail] + good[cut:])


def test_the_octal_mode_rule_is_whole_string() -> None:
    assert names.OCTAL_MODE.fullmatch("0400")
    assert not names.OCTAL_MODE.fullmatch("0400\n")


@pytest.mark.parametrize(
    "field, value",
    [
        ("name", "data\n"),
        ("schema.mountPath", "/data\n"),
        ("schema.hostPath", "/mnt/data\n"),
        ("env[0].name", "REGION\n"),
        ("env[0]", "AWS_SECRET_ACCESS_KEY\n"),  # refused first as a literal secret, value unshown
        ("secret.name", "aws-creds\n"),
        ("annotations", {"example.com/a\n": "x"}),
    ],
)
def test_a_values_document_with_a_trailing_newline_is_refused_at_its_path(field: str, value: Any) -> None:
    conn: dict[str, Any] = {
        "name": "data",
        "kind": "host_path",
        "schema": {"hostPath": "/mnt/data", "mountPath": "/data"},
        "env": [{"name": "REGION", "value": "x"}],
        "secret": {"name": "aws-creds"},
    }
    if field == "annotations":
        conn["annotations"] = value
        want = "connections[0].annotations"
    else:
        if field == "env[0]":
            conn["env"] = [{"name": value, "value": "x"}]
        else:
            *parents, last = field.split(".")
            target = conn
            for part in parents:
                target = target["env"][0] if part == "env[0]" else target[part]
            target[last] = value
        want = f"connections[0].{field}"
    with pytest.raises(ValuesError) as err:
        Catalog.from_values({"connections": [conn]})
    assert want in str(err.value)


def test_settings_urls_are_whole_string() -> None:
    with pytest.raises(ValuesError) as err:
        load_settings({}, api_host="https://polyaxon.example.com\n")
    assert "api_host" in str(err.value)
    assert load_settings({}, api_host="https://polyaxon.example.com").api_host == "https://polyaxon.example.com"
