"""Sample configs for the unit tests: a valid opsctl.yml to start from, and ways to break it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from opsctl.config.loader import parse
from opsctl.config.models import Config
from opsctl.errors import ConfigError

VALID = """\
app: hello
image: localhost:5000/hello
registry:
  server: localhost:5000
  username: deploy
services:
  web:
    command: bin/web --port 8080
    port: 8080
    healthcheck:
      path: /up
  worker:
    command: [bin/worker, --queue, default]
    groups: [workers]
  clock:
    command: bin/clock
    singleton: true
release:
  command: bin/migrate
env:
  clear:
    LOG_LEVEL: info
  secret: [DATABASE_URL]
environments:
  production:
    inventory: inventories/production.ini
    rollout:
      batch: 25%
    load_balancer:
      target_group: hello-production
  staging:
    inventory: inventories/staging.yml
    tag: latest
aws:
  region: eu-west-1
  endpoint_url: http://127.0.0.1:5000
"""

PRODUCTION_INI = """\
[web]
web[01:02] ansible_host=127.0.0.1

[workers]
worker1

[app:children]
web
workers
"""

STAGING_YML = """\
all:
  children:
    web:
      hosts:
        staging1:
    workers:
      hosts:
        staging1:
"""


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def line_of(text: str, fragment: str) -> int:
    """The 1-based line of the only line of `text` containing `fragment`."""
    found = [n for n, line in enumerate(text.splitlines(), start=1) if fragment in line]
    assert len(found) == 1, f"{fragment!r} is on lines {found}"
    return found[0]


def problems_of(text: str, environ: dict[str, str] | None = None) -> list[str]:
    """The problems parse() reports for `text`; fails the test when it parses."""
    with pytest.raises(ConfigError) as info:
        parse(text, Path("opsctl.yml"), environ or {})
    return info.value.problems


def parse_ok(text: str, environ: dict[str, str] | None = None) -> Config:
    return parse(text, Path("opsctl.yml"), environ or {})
