"""The one place that knows what opsctl calls things on a host (like Kamal's Role).

State directory, env files, network, container names, labels, proxy files and image references of
an app's environment. Python code asks a `Names`; the Ansible modules receive the results as
arguments and never build a name themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

STATE_ROOT = "/var/lib/opsctl"
LABEL_PREFIX = "opsctl"  # container labels: opsctl.app, opsctl.env, opsctl.service, opsctl.release, ...


@dataclass(frozen=True)
class Names:
    app: str
    env: str

    @property
    def state_dir(self) -> str:
        return f"{STATE_ROOT}/{self.app}/{self.env}"

    def env_file(self, config_hash: str) -> str:
        """A release's env file (0600): one per runtime config, named by its hash."""
        return f"{self.state_dir}/env/{config_hash}.env"

    @property
    def network(self) -> str:
        return f"opsctl-{self.app}-{self.env}"

    @property
    def proxy(self) -> str:
        return f"{self.app}-{self.env}-proxy"

    @property
    def proxy_conf_dir(self) -> str:
        return f"{self.state_dir}/proxy"

    def upstream_file(self, service: str) -> str:
        return f"{self.proxy_conf_dir}/services/{service}.conf"

    def upstream_name(self, service: str) -> str:
        return f"{self.app}_{self.env}_{service}".replace("-", "_")

    def container(self, service: str, release: int, run: str, replica: int) -> str:
        # The run id keeps names unique when a release's containers are started again (a rollback
        # to it, or a failed deploy going back), so a running container is never mistaken for a leftover.
        return f"{self.app}-{self.env}-{service}-r{release}-{run}-{replica}"

    def release_container(self, token: str) -> str:
        return f"{self.app}-{self.env}-release-{token[:8]}"

    def label(self, key: str) -> str:
        return f"{LABEL_PREFIX}.{key}"


def image_ref(repository: str, tag: str | None = None, digest: str | None = None) -> str:
    """repo@sha256:... when the digest is known (what every host must run), else repo:tag."""
    if digest:
        return f"{repository}@{digest}"
    if tag is None:
        raise ValueError("an image reference needs a tag or a digest")
    return f"{repository}:{tag}"
