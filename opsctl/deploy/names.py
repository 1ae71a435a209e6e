"""The one place that knows what opsctl calls things on a host (like Kamal's Role).

State directory, env files, network, container names, labels, proxy files and image references of
an app's environment. Python code asks a `Names`; the Ansible modules receive the results as
arguments and never build a name themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

STATE_ROOT = "/var/lib/opsctl"
# The shared ingress proxy of a server, owned by no app. Its directory cannot be an app's: an app
# name never holds '_'.
INGRESS_NAME = "opsctl-ingress"
INGRESS_DIR = f"{STATE_ROOT}/_ingress"
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
        """The app's own proxy container (`opsctl dev`, and hosts from before the shared ingress)."""
        return f"{self.app}-{self.env}-proxy"

    @property
    def ingress_key(self) -> str:
        """The app's directory under the shared ingress: its claims, upstreams and certificates."""
        return f"{self.app}.{self.env}"  # '.' is in no app or env name: unique per app and env

    @property
    def ingress_app_dir(self) -> str:
        return f"{INGRESS_DIR}/apps/{self.ingress_key}"

    def ingress_upstream_file(self, service: str) -> str:
        return f"{self.ingress_app_dir}/{service}.upstream.conf"

    @property
    def proxy_conf_dir(self) -> str:
        return f"{self.state_dir}/proxy"

    def upstream_file(self, service: str) -> str:
        return f"{self.proxy_conf_dir}/services/{service}.conf"

    def upstream_name(self, service: str) -> str:
        # Unique on a shared ingress: '.' is in no app, env or service name.
        return f"{self.app}.{self.env}.{service}"

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
