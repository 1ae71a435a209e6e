"""`lab up` / `lab down` / `lab status`: the lab's containers, network and moto process.

Python API (used by tests and other code):
- `up(hosts=3) -> LabState`: start or resize the lab; returns when every server answers SSH and
  its own `docker info`, the registry answers with auth, and moto answers.
- `down(purge=False) -> None`: remove every container, network, volume, process and file the lab
  made (`purge`: its images too).
- `status() -> LabState`: what runs now (read from the engine, not from lab.json).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from opsctl import output
from opsctl.errors import OpsctlError, UsageError
from opsctl.lab import aws, containers, credentials, ec2, engine, images, names, ports, probes, state
from opsctl.lab.plan import Existing, plan_resize
from opsctl.lab.progress import Progress
from opsctl.lab.state import HostState, LabState

T = TypeVar("T")


def up(hosts: int = names.DEFAULT_HOSTS) -> LabState:
    """Start the lab with `hosts` servers, or bring an existing lab to that size."""
    if not 1 <= hosts <= names.MAX_HOSTS:
        raise UsageError(f"--hosts must be between 1 and {names.MAX_HOSTS} (got {hosts})")
    aws.require_moto()
    directory = state.lab_dir()
    state.ensure_dir(directory)
    with _locked(directory):
        client = engine.connect()
        progress = Progress(directory / state.BUILD_LOG_FILE)
        found = engine.lab_containers(client)
        _check_ports(client, directory, hosts, found)
        aws.start(directory)  # moto imports for a second or two: let it start meanwhile
        pubkey = credentials.ensure_key(directory)
        password = credentials.ensure_password(directory)

        base_id = images.ensure_base(client, progress)
        host_id = images.ensure_host(client, base_id, progress)
        images.ensure_proxy(client, base_id, progress)

        with progress.step(f"Starting {hosts} server(s), the registry and the AWS endpoint"):
            _ensure_network(client)
            _converge(client, found, hosts, host_id, pubkey, password)
            images.prune_replaced(client)
        auth = (names.REGISTRY_USER, password)
        key = directory / state.KEY_FILE
        with progress.step(
            f"Waiting for SSH + Docker on each server, the registry and moto; pushing {names.PROXY_IMAGE}"
        ):
            moto_url = f"{names.AWS_ENDPOINT}/moto-api/"
            tasks: list[Callable[[], object]] = [
                lambda: _registry_ready_and_proxy_pushed(client, auth),
                lambda: probes.wait_http("the moto server", moto_url, {200}, timeout=60),
            ]
            tasks += [_bind_wait(names.host_name(i), key, names.ssh_port(i)) for i in range(1, hosts + 1)]
            _parallel(tasks)

        result = _observe(client, directory)
        # Each server is also an EC2 instance on moto, so a target group can hold it.
        result.target_ids = ec2.register([h.name for h in result.hosts])
        state.write_state_files(result)
        return result


def down(purge: bool = False) -> None:
    """Remove every container, network, volume, process and file the lab made."""
    directory = state.lab_dir()
    if directory.exists():
        with _locked(directory):
            _down(directory, purge)
    else:
        _down(directory, purge)


def _down(directory: Path, purge: bool) -> None:
    client: Any = None
    try:
        client = engine.connect()
    except OpsctlError as exc:
        output.warn(
            f"{exc.message}: lab containers (if any) were not removed; the next `opsctl lab up` replaces them"
        )
    if client is not None:
        _remove_containers(client)
        _remove_networks(client)
        for volume in client.volumes.list(filters={"label": f"{names.LABEL}=1"}):
            volume.remove(force=True)
        if purge:
            removed = images.remove_all(client)
            if removed:
                output.info(f"removed images: {', '.join(removed)}")
    if directory.exists():
        aws.stop(directory)
        state.remove_files(directory)


def status() -> LabState:
    """The lab as the engine sees it now."""
    return _observe(engine.connect(), state.lab_dir())


# ---------------------------------------------------------------------------------------------


def _observe(client: Any, directory: Path) -> LabState:
    result = LabState(directory=directory)
    for container in engine.lab_containers(client):
        labels = container.labels or {}
        role = labels.get(names.LABEL_ROLE)
        if role == names.ROLE_REGISTRY:
            result.registry_state = str(container.status)
        elif role == names.ROLE_HOST and labels.get(names.LABEL_INDEX, "").isdigit():
            index = int(labels[names.LABEL_INDEX])
            result.hosts.append(
                HostState(
                    name=labels.get(names.LABEL_HOST, names.host_name(index)),
                    index=index,
                    ssh_port=int(labels.get(names.LABEL_SSH_PORT, names.ssh_port(index))),
                    http_port=int(labels.get(names.LABEL_HTTP_PORT, names.http_port(index))),
                    state=str(container.status),
                )
            )
    result.hosts.sort(key=lambda h: h.index)
    result.aws_state = "running" if aws.running_pid(directory) is not None else "stopped"
    return result


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """One `lab up` at a time on this machine (a second waits for the first)."""
    fd = os.open(directory / state.LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _check_ports(client: Any, directory: Path, hosts: int, found: list[Any]) -> None:
    held = engine.published_ports(client)
    lab_names = {c.name for c in found}
    ours = {port for port, name in held.items() if name in lab_names}
    if aws.running_pid(directory) is not None:
        ours.add(names.MOTO_PORT)
    ports.check_free(ports.port_plan(hosts), ours=ours, docker_holders=held)


def _ensure_network(client: Any) -> Any:
    same = [n for n in client.networks.list(names=[names.NETWORK]) if n.name == names.NETWORK]
    if len(same) == 1:
        return same[0]
    for stale in same:  # duplicates can be left by a killed run: start with one
        _remove_network(stale)
    return client.networks.create(
        names.NETWORK, driver="bridge", labels={names.LABEL: "1"}, check_duplicate=True
    )


def _converge(client: Any, found: list[Any], hosts: int, host_id: str, pubkey: str, password: str) -> None:
    servers: dict[str, Any] = {}
    registry: Any = None
    strays: list[Any] = []
    for container in found:
        labels = container.labels or {}
        if labels.get(names.LABEL_ROLE) == names.ROLE_REGISTRY:
            registry = container
        elif labels.get(names.LABEL_ROLE) == names.ROLE_HOST and names.LABEL_HOST in labels:
            servers[labels[names.LABEL_HOST]] = container
        else:
            strays.append(container)
    specs = {names.host_name(i): containers.server_spec(i, host_id, pubkey) for i in range(1, hosts + 1)}
    existing = {
        name: Existing(
            name=name,
            running=c.status == "running",
            spec=(c.labels or {}).get(names.LABEL_SPEC, ""),
        )
        for name, c in servers.items()
    }
    plan = plan_resize(hosts, existing, specs)
    reg_spec = containers.registry_spec(host_id, password)
    keep_registry = (
        registry is not None
        and registry.status == "running"
        and (registry.labels or {}).get(names.LABEL_SPEC) == reg_spec
    )

    doomed = [servers[n] for n in plan.remove + plan.replace] + strays
    if registry is not None and not keep_registry:
        doomed.append(registry)
    _parallel([_bind_remove(c) for c in doomed])

    tasks: list[Callable[[], object]] = []
    if not keep_registry:
        line = credentials.htpasswd_line(names.REGISTRY_USER, password)
        tasks.append(lambda: _start_registry(client, host_id, reg_spec, line))
    for name in plan.create:
        index = int(name.removeprefix("lab"))
        tasks.append(_bind_start_server(client, index, host_id, specs[name], pubkey))
    _parallel(tasks)


def _create(client: Any, args: dict[str, Any]) -> Any:
    from docker.errors import APIError

    _drop_stale_endpoint(client, args["name"])
    try:
        return client.containers.create(**args)
    except APIError as exc:
        raise OpsctlError(
            f"cannot create container {args['name']}: {exc.explanation or exc}",
            hint=f"`docker rm -f {args['name']}` if it is a leftover, then `opsctl lab up` again",
        ) from exc


def _drop_stale_endpoint(client: Any, name: str) -> None:
    """An engine that died with the lab running can keep the network endpoint of a container
    that is gone; a new container of the same name would then fail to attach."""
    from docker.errors import APIError

    try:
        client.api.disconnect_container_from_network(name, names.NETWORK, force=True)
    except APIError:
        pass


def _start(container: Any) -> None:
    from docker.errors import APIError

    try:
        container.start()
    except APIError as exc:
        container.remove(force=True)
        message = str(exc.explanation or exc)
        hint = "see `opsctl lab status`"
        if "port is already allocated" in message or "address already in use" in message:
            hint = "a port the lab needs is taken: free it (see `ss -ltnp`) and run again"
        raise OpsctlError(f"cannot start container {container.name}: {message}", hint=hint) from exc


def _start_registry(client: Any, image_id: str, spec: str, htpasswd: str) -> None:
    container = _create(client, containers.registry_create_args(image_id, spec))
    container.put_archive("/etc/docker/registry", containers.htpasswd_archive(htpasswd))
    _start(container)


def _bind_start_server(
    client: Any, index: int, image_id: str, spec: str, pubkey: str
) -> Callable[[], object]:
    def start() -> None:
        container = _create(client, containers.server_create_args(index, image_id, spec))
        container.put_archive("/root", containers.authorized_keys_archive(pubkey))
        _start(container)

    return start


def _bind_wait(name: str, key: Path, port: int) -> Callable[[], object]:
    return lambda: probes.wait_server(name, key, port)


def _bind_remove(container: Any) -> Callable[[], object]:
    return lambda: _remove_container(container)


def _remove_container(container: Any) -> None:
    from docker.errors import NotFound

    try:
        container.remove(force=True, v=True)
    except NotFound:
        pass


def _bind_clean(container: Any) -> Callable[[], object]:
    return lambda: _clean_inner(container)


def _clean_inner(container: Any) -> None:
    """Remove the containers on a server's own engine first, so their cgroups go with them."""
    from docker.errors import APIError

    if container.status != "running":
        return
    try:
        container.exec_run(
            ["timeout", "15", "sh", "-c", "docker ps -aq | xargs -r docker rm -f >/dev/null 2>&1"]
        )
    except APIError:
        pass


def _remove_containers(client: Any) -> None:
    found = engine.lab_containers(client)
    servers = [c for c in found if (c.labels or {}).get(names.LABEL_ROLE) == names.ROLE_HOST]
    _parallel([_bind_clean(c) for c in servers])
    _parallel([_bind_remove(c) for c in found])


def _remove_network(network: Any) -> None:
    from docker.errors import APIError, NotFound

    try:
        network.reload()
        for container in network.containers:
            try:
                network.disconnect(container, force=True)
            except APIError:
                pass
        network.remove()
    except NotFound:
        pass


def _remove_networks(client: Any) -> None:
    seen: set[str] = set()
    candidates = list(client.networks.list(filters={"label": f"{names.LABEL}=1"}))
    candidates += [n for n in client.networks.list(names=[names.NETWORK]) if n.name == names.NETWORK]
    for network in candidates:
        if network.id not in seen:
            seen.add(network.id)
            _remove_network(network)


def _registry_ready_and_proxy_pushed(client: Any, auth: tuple[str, str]) -> None:
    registry_url = f"http://{names.BIND_ADDRESS}:{names.REGISTRY_PORT}/v2/"
    probes.wait_http("the lab registry", registry_url, {200}, auth=auth)
    _push_if_missing(client, names.PROXY_IMAGE, auth)


def _push_if_missing(client: Any, ref: str, auth: tuple[str, str]) -> None:
    held = probes.registry_digest(ref, auth)
    repository = ref.rsplit(":", 1)[0]
    local = client.images.get(ref)
    digests = {
        d.split("@", 1)[1] for d in local.attrs.get("RepoDigests") or [] if d.startswith(repository + "@")
    }
    if held is not None and held in digests:
        return
    images.push(client, ref, auth[0], auth[1])


def _parallel(tasks: Iterable[Callable[[], T]]) -> list[T]:
    """Run `tasks` at once; the first failure is raised after all have ended."""
    tasks = list(tasks)
    if not tasks:
        return []
    if len(tasks) == 1:
        return [tasks[0]()]
    with ThreadPoolExecutor(max_workers=min(len(tasks), 16)) as pool:
        futures = [pool.submit(task) for task in tasks]
        errors = [f.exception() for f in futures]
    for error in errors:
        if error is not None:
            raise error
    return [f.result() for f in futures]
