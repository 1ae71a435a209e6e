"""The git commit an image is built from, and whether the files that go into it are committed."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GitState:
    repo_root: Path | None  # None: the build context is not inside a git repository
    revision: str | None  # None outside a repository, or in one without commits yet
    dirty: list[str]  # paths (relative to the repository root) with uncommitted changes

    @property
    def in_repo(self) -> bool:
        return self.repo_root is not None


class GitError(Exception):
    pass


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    git = shutil.which("git")
    if git is None:
        raise FileNotFoundError("git")
    return subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [git, "-C", str(cwd), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def parse_porcelain_z(output: str) -> list[str]:
    """Paths from `git status --porcelain=v1 -z`. A rename/copy entry is followed by its old path
    as a separate NUL-terminated field, which is not another change."""
    paths: list[str] = []
    fields = output.split("\0")
    i = 0
    while i < len(fields):
        entry = fields[i]
        i += 1
        if len(entry) < 4:
            continue
        status, path = entry[:2], entry[3:]
        paths.append(path)
        if "R" in status or "C" in status:
            i += 1
    return paths


def inspect(context: Path, extra: list[Path] | None = None) -> GitState:
    """The repository that holds the build context (not the current directory's: opsctl may run
    from elsewhere, and examples/hello sits inside the opsctl repository).

    Only the context and the Dockerfile count for dirtiness: they are what the image is made
    of, and a change elsewhere in a monorepo does not make the image differ from its commit.
    """
    try:
        top = _git(context, "rev-parse", "--show-toplevel")
    except FileNotFoundError:
        return GitState(repo_root=None, revision=None, dirty=[])
    if top.returncode != 0:
        # "not a git repository" (or git refusing an unsafe directory): say so and carry on.
        return GitState(repo_root=None, revision=None, dirty=[])
    root = Path(top.stdout.strip())

    head = _git(context, "rev-parse", "--verify", "-q", "HEAD")
    revision = head.stdout.strip() if head.returncode == 0 else None

    # A Dockerfile outside the repository cannot be dirty in it (and git would refuse the path).
    paths = [context.resolve()] + [p.resolve() for p in extra or [] if p.resolve().is_relative_to(root)]
    pathspecs = [str(p) for p in paths]
    status = _git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", *pathspecs)
    if status.returncode != 0:
        raise GitError(f"git status failed in {root}: {status.stderr.strip()}")
    return GitState(repo_root=root, revision=revision, dirty=parse_porcelain_z(status.stdout))
