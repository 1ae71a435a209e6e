"""Work directories of the base image build: debootstrap mounts /proc and /sys inside the rootfs
it makes, so nothing here deletes a tree without unmounting what is left under it first."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from opsctl.errors import OpsctlError


def remove_stale(parent: str, prefix: str, max_age: float = 1800) -> None:
    """Work dirs of killed builds (a rootfs is ~300 MB) go at the next build."""
    now = time.time()
    for stale in Path(parent).glob(prefix + "*"):
        try:
            if now - stale.stat().st_mtime > max_age:
                remove_tree(stale)
        except OSError:
            continue


def mounts_under(root: Path) -> list[str]:
    prefix = str(root.resolve()) + "/"
    found: list[str] = []
    with open("/proc/mounts") as mounts:
        for line in mounts:
            point = line.split()[1].replace("\\040", " ")
            if point.startswith(prefix) or point == prefix[:-1]:
                found.append(point)
    return found


def unmount_under(root: Path) -> None:
    """debootstrap mounts /proc, /sys (and may bind /dev) in the target; a failed run can leave
    them. Never delete through a mount point."""
    if not root.exists():
        return
    for point in sorted(mounts_under(root), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], check=False, capture_output=True)  # noqa: S603
    left = mounts_under(root)
    if left:
        raise OpsctlError(
            f"cannot unmount {', '.join(left)} left by debootstrap",
            hint=f"unmount them by hand (umount -l), then remove {root}",
        )


def remove_tree(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        unmount_under(path)
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()
