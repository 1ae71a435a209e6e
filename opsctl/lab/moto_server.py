"""moto's HTTP server with one gap filled: the lab's AWS endpoint, and the tests' (one launcher).

Run as `python -m opsctl.lab.moto_server -H HOST -p PORT` (opsctl/lab/aws.py, tests/aws/conftest.py);
it needs the `lab` extra (moto[server]).

moto 5 stores SES bounce/complaint topics (SetIdentityNotificationTopic) but leaves them out of
GetIdentityNotificationAttributes, which real SES returns. Without them every plan would show the
topics as drift. This adds the stored topics to the response and changes nothing else.
"""

from __future__ import annotations

import sys
from typing import Any

from moto.server import main
from moto.ses.models import SESBackend

_original = SESBackend.get_identity_notification_attributes


def _with_topics(self: Any, identities: list[str]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = _original(self, identities)
    for identity, attributes in result.items():
        stored = self.sns_topics.get(identity, {})
        for kind in ("Bounce", "Complaint", "Delivery"):
            if stored.get(kind):
                attributes[f"{kind}Topic"] = stored[kind]
    return result


def run(argv: list[str]) -> None:
    """Patch moto (in this process only) and serve; argv as for `moto_server`."""
    SESBackend.get_identity_notification_attributes = _with_topics  # type: ignore[method-assign]
    main(argv)


if __name__ == "__main__":
    run(sys.argv[1:])
