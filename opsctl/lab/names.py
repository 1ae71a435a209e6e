"""Fixed names of everything the lab makes: other code and users rely on these."""

from __future__ import annotations

LABEL = "opsctl.lab"
"""Every container (and the network) the lab makes carries `opsctl.lab=1`."""
LABEL_ROLE = "opsctl.lab.role"
"""`host` for servers, `registry` for the registry container."""
LABEL_HOST = "opsctl.lab.host"
LABEL_INDEX = "opsctl.lab.index"
LABEL_SSH_PORT = "opsctl.lab.ssh_port"
LABEL_HTTP_PORT = "opsctl.lab.http_port"
LABEL_SPEC = "opsctl.lab.spec"
"""A hash of what a container was made from; a container whose hash differs is recreated."""
LABEL_IMAGE = "opsctl.lab.image"
"""On images the lab built: which one (base, host, proxy)."""
LABEL_BUILD = "opsctl.lab.build"
"""On images the lab built: a hash of its inputs; a different hash means rebuild."""

ROLE_HOST = "host"
ROLE_REGISTRY = "registry"

NETWORK = "opsctl-lab"
CONTAINER_PREFIX = "opsctl-lab-"
REGISTRY_CONTAINER = "opsctl-lab-registry"

BASE_IMAGE = "opsctl/base:bookworm"
HOST_IMAGE = "opsctl/lab-host:bookworm"
REGISTRY = "localhost:5050"
PROXY_IMAGE = f"{REGISTRY}/opsctl/proxy:bookworm"
REGISTRY_USER = "opsctl"

SSH_PORT_BASE = 2220
HTTP_PORT_BASE = 8080
REGISTRY_PORT = 5050
MOTO_PORT = 5051
BIND_ADDRESS = "127.0.0.1"
AWS_ENDPOINT = f"http://{BIND_ADDRESS}:{MOTO_PORT}"
AWS_REGION = "us-east-1"
AWS_ACCESS_KEY_ID = "testing"
AWS_SECRET_ACCESS_KEY = "testing"
"""moto accepts any credentials; opsctl signs with these whenever the endpoint is the lab's."""

DEFAULT_HOSTS = 3
MAX_HOSTS = 20
"""Keeps the fixed SSH (2221..) and HTTP (8081..) port ranges clear of each other and of 5050."""


def host_name(index: int) -> str:
    """Server `index` (1-based) is named lab1, lab2, ..."""
    return f"lab{index}"


def container_name(host: str) -> str:
    return f"{CONTAINER_PREFIX}{host}"


def ssh_port(index: int) -> int:
    return SSH_PORT_BASE + index


def http_port(index: int) -> int:
    return HTTP_PORT_BASE + index


def is_lab_endpoint(url: str | None) -> bool:
    """True for the lab's AWS endpoint (http://127.0.0.1:5051 or http://localhost:5051)."""
    from urllib.parse import urlsplit

    if not url:
        return False
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return False
    return parts.scheme == "http" and parts.hostname in {"127.0.0.1", "localhost"} and port == MOTO_PORT


def lab_aws_credentials(url: str | None) -> tuple[str | None, str | None]:
    """(access key id, secret key) for a boto3 Session: the lab's for the lab's endpoint, else
    (None, None) and the standard chain decides. So `provision -e lab` needs nothing exported."""
    if not is_lab_endpoint(url):
        return None, None
    return AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
