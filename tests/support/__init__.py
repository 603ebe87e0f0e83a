"""Shared test helpers: real servers (servers), manifest checks (k8s), corpus and docs runners,
paths. Imported as ``support.<module>``; ``tests/`` is on ``sys.path`` through the root conftest."""
