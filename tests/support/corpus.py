"""The bad-values corpus (``tests/data/bad/*.yaml``) and its header format.

Each file starts with comment lines::

    # what the file is about
    # expect: <line>: <path>: <message>     one line per Problem that must be reported
    # schema: accepts | not-yaml            optional; see tests/catalog/test_schema.py
    # secret: <text>                        optional, repeatable: secret material the file holds,
                                            which no message, repr or CLI output may contain

``<message>`` is matched as a substring of the problem's message; `` ... `` inside it lets the
middle of a long message go unchecked (the parts must still appear in order).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from support.paths import DATA

__all__ = ["BAD_DIR", "CORPUS", "BadDoc", "Expected", "load_corpus"]

BAD_DIR = DATA / "bad"
_EXPECT = re.compile(r"^# expect: (\d+): (the document|\S+): (.+)$")
_SCHEMA = re.compile(r"^# schema: (accepts|not-yaml)\b")
_SECRET = re.compile(r"^# secret: (\S+)$")


@dataclass(frozen=True)
class Expected:
    line: int
    path: str
    message: str

    def matches(self, problem_text: str, file: str) -> bool:
        prefix = f"{file}:{self.line}: {self.path}: "
        if not problem_text.startswith(prefix):
            return False
        rest = problem_text[len(prefix):]
        pos = 0
        for part in self.message.split(" ... "):
            found = rest.find(part, pos)
            if found < 0:
                return False
            pos = found + len(part)
        return True


@dataclass(frozen=True)
class BadDoc:
    path: Path
    expected: tuple[Expected, ...]
    schema: str  # "rejects" (default), "accepts" or "not-yaml"
    secrets: tuple[str, ...] = ()


def load_corpus() -> list[BadDoc]:
    docs = []
    for path in sorted(BAD_DIR.glob("*.yaml")):
        expected, schema, secrets = [], "rejects", []
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.startswith("#"):
                break
            if m := _EXPECT.match(line):
                expected.append(Expected(int(m.group(1)), m.group(2), m.group(3)))
            elif m := _SCHEMA.match(line):
                schema = m.group(1)
            elif m := _SECRET.match(line):
                secrets.append(m.group(1))
        docs.append(BadDoc(path, tuple(expected), schema, tuple(secrets)))
    return docs


CORPUS = load_corpus()
