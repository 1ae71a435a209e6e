"""Pure logic of `opsctl build`: versions, build args, labels, tags, registries, stream parsing."""

from __future__ import annotations

from typing import Any

import pytest

from opsctl.build import git
from opsctl.build.image import BuildStream
from opsctl.build.push import Credentials, PushStream
from opsctl.build.spec import (
    LABEL_CREATED,
    LABEL_OPSCTL,
    LABEL_REVISION,
    LABEL_VERSION,
    image_labels,
    image_tags,
    merge_build_args,
    parse_build_args,
    registry_from_image,
    scrub,
)
from opsctl.errors import UsageError
from opsctl.validate import check_version

HOSTILE_VERSIONS = [
    "v1;touch /tmp/x",
    "$(id)",
    "a b",
    "../x",
    "v1\n",
    "",
    "x" * 129,
    "-v1",
    ".v1",
    "_v1",
    "v1/2",
    "v1'",
    'v1"',
    "v1`id`",
    "v1\0",
]


@pytest.mark.parametrize("version", HOSTILE_VERSIONS)
def test_hostile_versions_are_usage_errors(version: str) -> None:
    with pytest.raises(UsageError) as caught:
        check_version(version)
    assert caught.value.exit_code == 2
    assert "invalid version" in caught.value.message


@pytest.mark.parametrize("version", ["v1", "1.2.3", "v65-rc.1", "2024_01_01", "x" * 128, "latest"])
def test_good_versions_pass(version: str) -> None:
    assert check_version(version) == version


def test_parse_build_args() -> None:
    assert parse_build_args(["A=1", "B=x=y", "C="]) == {"A": "1", "B": "x=y", "C": ""}
    assert parse_build_args(None) == {}


@pytest.mark.parametrize("item", ["NOEQUALS", "=v", "1A=v", "A-B=v", "A B=v", "A=\0"])
def test_parse_build_args_refuses(item: str) -> None:
    with pytest.raises(UsageError):
        parse_build_args([item])


def test_merge_build_args_cli_wins_and_version_is_ours() -> None:
    merged = merge_build_args({"A": "config", "B": "b"}, {"A": "cli"}, "v7")
    assert merged == {"A": "cli", "B": "b", "OPSCTL_VERSION": "v7"}


@pytest.mark.parametrize(("config", "cli"), [({"OPSCTL_VERSION": "x"}, {}), ({}, {"OPSCTL_VERSION": "x"})])
def test_merge_build_args_refuses_opsctl_version(config: dict[str, str], cli: dict[str, str]) -> None:
    with pytest.raises(UsageError, match="OPSCTL_VERSION"):
        merge_build_args(config, cli, "v1")


def test_labels() -> None:
    labels = image_labels("v1", "abc123", "2024-01-02T03:04:05Z", "0.1.0")
    assert labels == {
        LABEL_VERSION: "v1",
        LABEL_REVISION: "abc123",
        LABEL_CREATED: "2024-01-02T03:04:05Z",
        LABEL_OPSCTL: "0.1.0",
    }
    assert LABEL_VERSION == "org.opencontainers.image.version"
    assert LABEL_REVISION == "org.opencontainers.image.revision"
    assert LABEL_CREATED == "org.opencontainers.image.created"
    assert LABEL_OPSCTL == "dev.opsctl.version"


def test_no_revision_label_outside_git() -> None:
    assert LABEL_REVISION not in image_labels("v1", None, "t", "0.1.0")


def test_tags() -> None:
    assert image_tags("v1") == ["v1", "latest"]
    assert image_tags("latest") == ["latest"]


@pytest.mark.parametrize(
    ("image", "registry"),
    [
        ("localhost:5050/hello", "localhost:5050"),
        ("localhost/hello", "localhost"),
        ("registry.example.com/team/app", "registry.example.com"),
        ("127.0.0.1:5000/a/b", "127.0.0.1:5000"),
        ("library/app", "docker.io"),
        ("app", "docker.io"),
        ("team/app", "docker.io"),
    ],
)
def test_registry_from_image(image: str, registry: str) -> None:
    assert registry_from_image(image) == registry


def test_scrub() -> None:
    assert scrub("bad password s3cret for s3cret", "s3cret") == "bad password *** for ***"
    assert scrub("nothing", None) == "nothing"


def test_credentials_repr_hides_password() -> None:
    creds = Credentials("localhost:5050", "opsctl", "s3cret", "environment variable X")
    assert "s3cret" not in repr(creds)
    assert creds.auth_config()["password"] == "s3cret"


class Recorder:
    """A progress sink that records what it was told (implements BuildProgress)."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def build_step(self, header: str) -> None:
        self.events.append(("step", header))

    def build_output(self, line: str) -> None:
        self.events.append(("out", line))

    def build_done(self, image_id: str) -> None:
        self.events.append(("done", image_id))

    def build_failed(self, header: str | None, lines: list[str]) -> None:
        self.events.append(("failed", header, lines))

    def push_start(self, ref: str) -> None:
        self.events.append(("push", ref))

    def layer(self, layer_id: str, status: str, current: int | None, total: int | None) -> None:
        self.events.append(("layer", layer_id, status, current, total))

    def push_done(self, ref: str, digest: str | None) -> None:
        self.events.append(("pushed", ref, digest))

    def close(self) -> None:
        pass


def test_build_stream_tracks_the_failing_step() -> None:
    rec = Recorder()
    stream = BuildStream(rec)
    events: list[dict[str, Any]] = [
        {"stream": "Step 1/3 : FROM base\n"},
        {"stream": " ---> 0123456789ab\n"},
        {"stream": "Step 2/3 : RUN echo one && echo two && false\n"},
        {"stream": " ---> Running in abc\n"},
        {"stream": "one\ntw"},  # lines can be split across chunks
        {"stream": "o\n"},
        {
            "error": "The command '/bin/sh -c false' returned a non-zero code: 1",
            "errorDetail": {"code": 1, "message": "The command ... returned a non-zero code: 1"},
        },
    ]
    for event in events:
        stream.feed(event)
    assert stream.step == "Step 2/3 : RUN echo one && echo two && false"
    assert stream.step_lines == ["one", "two"]
    assert stream.error is not None and "non-zero code: 1" in stream.error
    assert ("out", " ---> 0123456789ab") not in rec.events


def test_build_stream_image_id() -> None:
    stream = BuildStream(Recorder())
    stream.feed({"aux": {"ID": "sha256:" + "a" * 64}})
    stream.feed({"stream": "Successfully built aaaaaaaaaaaa\n"})
    assert stream.image_id == "sha256:" + "a" * 64
    other = BuildStream(Recorder())
    other.feed({"stream": "Successfully built 0123456789ab\n"})
    assert other.image_id == "0123456789ab"


def test_push_stream_digest_and_layers() -> None:
    rec = Recorder()
    stream = PushStream(rec, "v1")
    digest = "sha256:" + "b" * 64
    events: list[dict[str, Any]] = [
        {"status": "The push refers to repository [localhost:5050/hello]"},
        {"status": "Preparing", "progressDetail": {}, "id": "l1"},
        {"status": "Pushing", "progressDetail": {"current": 512, "total": 1024}, "id": "l1"},
        {"status": "Pushed", "progressDetail": {}, "id": "l1"},
        {"status": "Layer already exists", "progressDetail": {}, "id": "l2"},
        {"status": f"v1: digest: {digest} size: 527"},
        {"progressDetail": {}, "aux": {"Tag": "v1", "Digest": digest, "Size": 527}},
    ]
    for event in events:
        stream.feed(event)
    assert stream.digest == digest
    assert stream.error is None
    assert stream.layers == {"l1": "Pushed", "l2": "Layer already exists"}
    assert ("layer", "l1", "Pushing", 512, 1024) in rec.events


def test_push_stream_error() -> None:
    stream = PushStream(Recorder(), "v1")
    stream.feed({"errorDetail": {"message": "denied"}, "error": "denied: requested access"})
    assert stream.error == "denied: requested access"


def test_porcelain_z_parsing() -> None:
    out = " M a.txt\0?? new file.txt\0R  new.py\0old.py\0D  gone\0"
    assert git.parse_porcelain_z(out) == ["a.txt", "new file.txt", "new.py", "gone"]
    assert git.parse_porcelain_z("") == []


def test_build_output_escape_sequences_are_removed() -> None:
    rec = Recorder()
    stream = BuildStream(rec)
    stream.feed({"stream": "Step 1/2 : RUN ls /nope\n"})
    stream.feed(
        {"stream": "\x1b[91mls: cannot access '/nope'\r\n\x1b[0mRemoving intermediate container ab\n"}
    )
    stream.feed({"stream": "\x1b]0;title\x07evil\x1b[2J\n"})
    assert stream.step_lines == ["ls: cannot access '/nope'", "evil"]
    assert all("\x1b" not in line for line in stream.step_lines)


def test_failure_hint_for_a_missing_base_image() -> None:
    from opsctl.build.image import failure_hint

    hint = failure_hint("Step 1/13 : FROM opsctl/base:bookworm")
    assert "opsctl/base:bookworm is not on this Docker engine" in hint
    assert "Dockerfile" in failure_hint("Step 6/13 : RUN false")
    assert "Dockerfile" in failure_hint(None)
