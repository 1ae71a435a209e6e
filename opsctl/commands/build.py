"""`opsctl build VERSION`: build, tag and push the app image."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from opsctl import output
from opsctl.commands.common import JsonOpt, SkipHooksOpt, load_config
from opsctl.validate import check_version


def build(
    ctx: typer.Context,
    version: Annotated[str, typer.Argument(metavar="VERSION", help="Version tag, e.g. v65 (letters, digits, . _ -).")],
    no_push: Annotated[bool, typer.Option("--no-push", help="Build and tag only.")] = False,
    build_arg: Annotated[
        list[str] | None, typer.Option("--build-arg", metavar="KEY=VALUE", help="Extra build argument K=V (repeatable).")
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Build without the layer cache.")] = False,
    allow_dirty: Annotated[
        bool, typer.Option("--allow-dirty", help="Build even if the git work tree has changes.")
    ] = False,
    skip_hooks: SkipHooksOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Build the image, tag it VERSION and latest, and push both to the registry."""
    # VERSION ends up in tags and labels: refuse a bad one before reading any file or running
    # anything (exit 2).
    check_version(version)
    from opsctl.build.spec import parse_build_args

    cli_args = parse_build_args(build_arg)
    config = load_config(ctx)

    # Lazy: the docker SDK is imported only when a build really runs, never for --help.
    from opsctl import lifecycle
    from opsctl.build import BuildOptions, run

    around = lifecycle.begin(config, "build", skip_hooks=skip_hooks, version=version)  # pre-build
    with around.guard():
        result = run(
            config,
            BuildOptions(
                version=version,
                build_args=cli_args,
                push=not no_push,
                no_cache=no_cache,
                allow_dirty=allow_dirty,
            ),
        )
    around.succeeded(detail=result.digest or "", event=not no_push)
    if json_:
        output.emit_json(result.to_json())
        return
    rows = [
        ("image", result.image),
        ("tags", ", ".join(result.tags)),
        ("digest", result.digest or "(not pushed)"),
        ("revision", result.revision or "(not in git)"),
        ("image id", result.image_id),
        ("time", ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())),
    ]
    # Plain text, never wrapped or styled: scripts read these lines.
    sys.stdout.write("".join(f"{key:<9} {value}\n" for key, value in rows))
