"""The lab's images, built on this machine's engine and cached (rebuilt only when missing or when
their inputs under templates/lab/ changed):

- `opsctl/base:bookworm`: a Debian rootfs from debootstrap (python3, ca-certificates, nginx),
  trimmed and `docker import`ed. App images build FROM it.
- `opsctl/lab-host:bookworm`: the server image (base + sshd + docker.io + socat + docker-registry).
- `localhost:5050/opsctl/proxy:bookworm`: the per-server reverse proxy (base + nginx CMD).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from opsctl import output, paths
from opsctl.docker_engine import LineSplitter, clean, event_error
from opsctl.errors import OpsctlError
from opsctl.lab import names, workdir
from opsctl.lab.progress import Progress

SUITE = "bookworm"
WORKDIR_PARENT = "/var/tmp"
WORKDIR_PREFIX = "opsctl-rootfs-"
MIRROR = os.environ.get("OPSCTL_DEBIAN_MIRROR", "http://deb.debian.org/debian")
BASE_PACKAGES = ("python3", "ca-certificates", "nginx-light")
NGINX_FALLBACK = {"nginx-light": "nginx"}
"""nginx-light exists in bookworm; should a mirror lack it, the full nginx does the same job."""
TRIM_PATHS = (
    "var/lib/apt/lists",
    "var/cache/apt/archives",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/lintian",
)
TRIM_SUBDIRS = ("usr/share/locale",)
"""Emptied of directories (translations) but not of files (locale.alias stays)."""
LOG_DIR = "var/log"
"""Emptied of files but not of directories (nginx needs /var/log/nginx)."""
BASE_CHANGES = (
    "ENV LANG=C.UTF-8",
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    'CMD ["bash"]',
)
BUILD_HINT = "see build.log in the lab dir"
APT_HINT = (
    "the build runs apt-get inside a container: the engine's containers must reach "
    "deb.debian.org; see build.log in the lab dir"
)


def lab_templates() -> Path:
    return paths.templates_dir() / "lab"


def tree_hash(*roots: Path, extra: str = "") -> str:
    """A hash of every file's path, mode and content under `roots` (plus `extra`)."""
    digest = hashlib.sha256(extra.encode())
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(b"x" if path.stat().st_mode & 0o111 else b"-")  # not umask-dependent
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def base_build_hash() -> str:
    extra = " ".join([SUITE, "minbase", *BASE_PACKAGES, *BASE_CHANGES, *TRIM_PATHS, *TRIM_SUBDIRS])
    return tree_hash(lab_templates() / "rootfs", extra=extra)


def _image(client: Any, ref: str) -> Any | None:
    from docker.errors import ImageNotFound

    try:
        return client.images.get(ref)
    except ImageNotFound:
        return None


def _cached(client: Any, ref: str, build_hash: str) -> Any | None:
    image = _image(client, ref)
    if image is not None and (image.labels or {}).get(names.LABEL_BUILD) == build_hash:
        return image
    return None


def ensure_base(client: Any, progress: Progress | None = None) -> str:
    """Build `opsctl/base:bookworm` unless the cached one is current; return its image id."""
    build_hash = base_build_hash()
    cached = _cached(client, names.BASE_IMAGE, build_hash)
    if cached is not None:
        return str(cached.id)
    progress = progress or Progress()
    old = _image(client, names.BASE_IMAGE)
    with progress.step(f"Building {names.BASE_IMAGE} (debootstrap {SUITE}, about a minute)"):
        image_id = _build_base(client, progress, build_hash)
    _drop_old(client, old, image_id)
    return image_id


def _require_tools() -> str:
    if os.geteuid() != 0:
        raise OpsctlError(
            f"building the lab's base image ({names.BASE_IMAGE}) needs root (debootstrap)",
            hint="run `sudo opsctl lab up` once; later runs reuse the cached image",
        )
    debootstrap = shutil.which("debootstrap") or shutil.which("debootstrap", path="/usr/sbin:/sbin")
    if debootstrap is None:
        raise OpsctlError(
            "debootstrap is not installed (the lab builds its Debian base image with it)",
            hint="apt-get install debootstrap, or run tools/setup-machine.sh",
        )
    if shutil.which("tar") is None:
        raise OpsctlError("tar is not installed", hint="apt-get install tar")
    return debootstrap


def _build_base(client: Any, progress: Progress, build_hash: str) -> str:
    debootstrap = _require_tools()
    workdir.remove_stale(WORKDIR_PARENT, WORKDIR_PREFIX)
    work = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX, dir=WORKDIR_PARENT))
    rootfs = work / "rootfs"
    try:
        packages = list(BASE_PACKAGES)
        while True:
            code = _run_logged(
                [
                    debootstrap,
                    "--variant=minbase",
                    f"--include={','.join(packages)}",
                    SUITE,
                    str(rootfs),
                    MIRROR,
                ],
                progress,
            )
            if code == 0:
                break
            missing = [p for p in packages if p in NGINX_FALLBACK and _not_found(progress, p)]
            if not missing:
                raise OpsctlError(
                    f"debootstrap failed (exit {code}):\n{progress.tail_text()}",
                    hint=f"check that {MIRROR} answers (or set OPSCTL_DEBIAN_MIRROR); "
                    "full output in build.log in the lab dir",
                )
            output.warn(f"{', '.join(missing)} not in {SUITE}; using the fallback package")
            packages = [NGINX_FALLBACK.get(p, p) for p in packages]
            workdir.remove_tree(rootfs)
        workdir.unmount_under(rootfs)
        shutil.copytree(lab_templates() / "rootfs", rootfs, dirs_exist_ok=True, symlinks=True)
        for rel in TRIM_PATHS:
            target = rootfs / rel
            if target.is_dir():
                for child in target.iterdir():
                    workdir.remove_tree(child)
        for rel in TRIM_SUBDIRS:
            for child in (rootfs / rel).glob("*/"):
                workdir.remove_tree(child)
        for log in (rootfs / LOG_DIR).rglob("*"):
            if log.is_file() or log.is_symlink():
                log.unlink()
        for cache in (rootfs / "var/cache/apt").glob("*.bin"):
            cache.unlink()
        progress.detail(f"importing {names.BASE_IMAGE}")
        return _import(client, rootfs, build_hash)
    finally:
        workdir.remove_tree(work)


def _not_found(progress: Progress, package: str) -> bool:
    text = progress.tail_text(40)
    return "Couldn't find these debs" in text and package in text


def _run_logged(argv: list[str], progress: Progress) -> int:
    with progress.logging():
        proc = subprocess.Popen(  # noqa: S603 - argument list, no shell
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            progress.detail(line)
        return proc.wait()


def _chunks(stream: IO[bytes], size: int = 1 << 20) -> Iterator[bytes]:
    while chunk := stream.read(size):
        yield chunk


def _import(client: Any, rootfs: Path, build_hash: str) -> str:
    repository, tag = names.BASE_IMAGE.rsplit(":", 1)
    changes = [
        *BASE_CHANGES,
        f"LABEL {names.LABEL_IMAGE}=base",
        f"LABEL {names.LABEL_BUILD}={build_hash}",
    ]
    tar = subprocess.Popen(  # noqa: S603 - argument list, no shell
        ["tar", "--numeric-owner", "--xattrs", "-C", str(rootfs), "-c", "."],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    assert tar.stdout is not None
    try:
        client.api.import_image(
            src=_chunks(tar.stdout),
            repository=repository,
            tag=tag,
            changes=changes,
            stream_src=True,
        )
    finally:
        tar.stdout.close()
        code = tar.wait()
    if code != 0:
        raise OpsctlError(f"tar of the base rootfs failed (exit {code})")
    return str(client.images.get(names.BASE_IMAGE).id)


def _drop_old(client: Any, old: Any | None, new_id: str) -> None:
    if old is not None and old.id != new_id:
        from docker.errors import APIError

        try:
            client.images.remove(old.id)
        except APIError:
            pass  # still used by a container or a child image: left for `lab down --purge`


def _docker_build(
    client: Any,
    progress: Progress,
    context: Path,
    tag: str,
    kind: str,
    build_hash: str,
    hint: str = BUILD_HINT,
) -> str:
    with progress.logging():
        events = client.api.build(
            path=str(context),
            tag=tag,
            labels={names.LABEL_IMAGE: kind, names.LABEL_BUILD: build_hash},
            rm=True,
            forcerm=True,
            pull=False,
            decode=True,
        )
        lines = LineSplitter(progress.detail)
        for event in events:
            error = event_error(event, "unknown build error")
            if error is not None:
                raise OpsctlError(
                    f"building {tag} failed: {clean(error).strip()}\n{progress.tail_text()}",
                    hint=hint,
                )
            lines.feed(str(event.get("stream", "")))
        lines.close()
    return str(client.images.get(tag).id)


def ensure_host(client: Any, base_id: str, progress: Progress | None = None) -> str:
    """Build the server image unless the cached one is current; return its image id."""
    return _ensure_built(
        client, base_id, progress, "host", names.HOST_IMAGE,
        f"Building {names.HOST_IMAGE} (sshd, docker.io, socat, registry)", APT_HINT,
    )


def ensure_proxy(client: Any, base_id: str, progress: Progress | None = None) -> str:
    """Build the reverse proxy image unless the cached one is current; return its image id."""
    return _ensure_built(client, base_id, progress, "proxy", names.PROXY_IMAGE, f"Building {names.PROXY_IMAGE}")


def _ensure_built(
    client: Any, base_id: str, progress: Progress | None, kind: str, tag: str, title: str,
    hint: str = "",
) -> str:
    """Build templates/lab/KIND into TAG unless the image built from the same files is cached."""
    context = lab_templates() / kind
    build_hash = tree_hash(context, extra=base_id)
    cached = _cached(client, tag, build_hash)
    if cached is not None:
        return str(cached.id)
    progress = progress or Progress()
    old = _image(client, tag)
    with progress.step(title):
        image_id = _docker_build(client, progress, context, tag, kind, build_hash, hint or BUILD_HINT)
    _drop_old(client, old, image_id)
    return image_id


def push(client: Any, ref: str, username: str, password: str) -> None:
    """Push `ref` to the lab registry with basic auth (no login is stored on this machine)."""
    repository, tag = ref.rsplit(":", 1)
    events = client.api.push(
        repository,
        tag=tag,
        auth_config={"username": username, "password": password},
        stream=True,
        decode=True,
    )
    for event in events:
        error = event_error(event, "unknown push error")
        if error is not None:
            raise OpsctlError(
                f"pushing {ref} to the lab registry failed: {clean(error).strip()}",
                hint="check `opsctl lab status`; `opsctl lab down && opsctl lab up` starts anew",
            )


def prune_replaced(client: Any) -> None:
    """Remove untagged old versions of the lab's images that a rebuild could not remove while
    containers still used them. App images built FROM the base inherit its labels, so an
    untagged `base` is only taken when it is a single imported layer, and never by force."""
    from docker.errors import APIError, NotFound

    for image in client.images.list(filters={"dangling": True, "label": names.LABEL_IMAGE}):
        kind = (image.labels or {}).get(names.LABEL_IMAGE)
        layers = ((image.attrs.get("RootFS") or {}).get("Layers")) or []
        if kind in ("host", "proxy") or (kind == "base" and len(layers) == 1):
            try:
                client.images.remove(image.id)
            except (APIError, NotFound):
                continue


def remove_all(client: Any) -> list[str]:
    """Remove the lab's own image tags (proxy, server, base); return those removed.

    Only these references are removed, never by label: app images built FROM the base inherit
    its labels. A base that app images still build on is untagged by Docker, not deleted.
    """
    from docker.errors import APIError, ImageNotFound

    removed: list[str] = []
    for ref in (names.PROXY_IMAGE, names.HOST_IMAGE, names.BASE_IMAGE):
        try:
            client.images.remove(ref)
            removed.append(ref)
        except ImageNotFound:
            continue
        except APIError as exc:
            output.warn(f"kept image {ref}: {exc.explanation or exc}")
    return removed
