"""moto's server with authentication enforced: ``python tests/support/moto_auth_server.py PORT``.

Started by the ``s3_auth_server`` fixture of ``tests/support/servers.py`` in a process of its own (moto
keeps its auth switch process-wide: an in-process server would enforce it on every other test).
``INITIAL_NO_AUTH_ACTION_COUNT`` (from the environment) lets the fixture create an admin user
first; every later request must be signed by a key IAM knows and its policy must allow it.

One correction: AWS does not sign ``AssumeRoleWithWebIdentity`` (the web-identity token is the
credential; botocore sends it unsigned), but moto 5.2 asks such a request for an Authorization
header and answers 500; here it is let through unsigned, as AWS does.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("INITIAL_NO_AUTH_ACTION_COUNT", "0")

from moto.core.responses import BaseResponse  # noqa: E402

_UNSIGNED = frozenset({"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"})
_checked = BaseResponse._authenticate_and_authorize_normal_action


def _authenticate(self: BaseResponse, resource: str = "*") -> None:
    if self._get_action() in _UNSIGNED:
        return
    _checked(self, resource)


BaseResponse._authenticate_and_authorize_normal_action = _authenticate  # type: ignore[method-assign]

if __name__ == "__main__":
    from moto.server import main

    main(["-H", "127.0.0.1", "-p", sys.argv[1]])
