"""The lab's AWS endpoint: recognised by URL, signed with the lab's credentials, one launcher."""

from __future__ import annotations

import pytest

from opsctl.lab import aws, names


@pytest.mark.parametrize(
    ("url", "lab"),
    [
        ("http://127.0.0.1:5051", True),
        ("http://localhost:5051/", True),
        ("http://127.0.0.1:5000", False),
        ("https://127.0.0.1:5051", False),
        ("http://10.0.0.1:5051", False),
        ("http://127.0.0.1:notaport", False),
        ("", False),
        (None, False),
    ],
)
def test_the_lab_endpoint_is_recognised(url: str | None, lab: bool) -> None:
    assert names.is_lab_endpoint(url) is lab
    expected = (names.AWS_ACCESS_KEY_ID, names.AWS_SECRET_ACCESS_KEY) if lab else (None, None)
    assert names.lab_aws_credentials(url) == expected


def test_the_lab_runs_the_packaged_launcher() -> None:
    argv = aws.command()
    assert argv[1:3] == ["-m", "opsctl.lab.moto_server"]
    assert argv[-4:] == ["-H", names.BIND_ADDRESS, "-p", str(names.MOTO_PORT)]
