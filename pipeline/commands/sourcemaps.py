"""``vigil sourcemaps upload|list``: source maps for symbolicated error frames."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from clickhouse_connect.driver import Client

from pipeline.stream.sourcemap_store import UploadError, find_maps, list_maps, resolve_project, store

HELP = "upload and list source maps (symbolicated error frames)"


def arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="sourcemaps_command", required=True, metavar="ACTION")
    upload = actions.add_parser("upload", help="upload every *.js.map under DIR for one release")
    upload.add_argument("--project", required=True, help="project id or name")
    upload.add_argument("--release", required=True, help="the release your SDK reports, e.g. shop@1.4.2")
    upload.add_argument("--url-prefix", default="~/", metavar="PREFIX",
                        help="URL of DIR as the browser loads it; ~/ = any host (default ~/), "
                             "e.g. ~/static/js/ or https://cdn.example.com/js/")
    upload.add_argument("folder", metavar="DIR", help="the build output folder holding the *.js and *.js.map")
    listed = actions.add_parser("list", help="list uploaded source maps")
    listed.add_argument("--project", required=True, help="project id or name")
    listed.add_argument("--release", default="", help="only this release")


def main(args: Any) -> int:
    """``vigil sourcemaps upload|list``."""
    from clickhouse_connect.driver.exceptions import DatabaseError

    from pipeline import settings as settings_module
    from pipeline.warehouse.client import WarehouseUnavailable, connect

    command = f"vigil sourcemaps {args.sourcemaps_command}"
    try:
        client = connect(settings_module.load())
        return (_upload if args.sourcemaps_command == "upload" else _list)(client, args)
    except (UploadError, WarehouseUnavailable) as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return 2
    except DatabaseError as exc:
        if "sourcemaps" in str(exc) and "UNKNOWN_TABLE" in str(exc):
            print(f"{command}: the warehouse has no sourcemaps table yet; run `vigil migrate` first", file=sys.stderr)
            return 2
        raise


def _upload(client: Client, args: Any) -> int:
    project_id = resolve_project(client, args.project)
    if not args.release.strip():
        raise UploadError("--release must name the release your SDK reports (its `release` option), e.g. shop@1.4.2")
    maps = find_maps(Path(args.folder), args.url_prefix)
    store(client, project_id, args.release, maps)
    for found in maps:
        minified = f"+ minified {len(found.minified):,} B" if found.minified else "(no minified file beside it)"
        print(f"  {found.url}  ←  {found.map_path}  {len(found.map_content):,} B {minified}")
    print(f"uploaded {len(maps)} source map{'s' if len(maps) != 1 else ''} for project {project_id}, "
          f"release {args.release!r}")
    return 0


def _list(client: Client, args: Any) -> int:
    project_id = resolve_project(client, args.project)
    maps = list_maps(client, project_id, args.release or "")
    if not maps:
        scope = f"release {args.release!r} of project {project_id}" if args.release else f"project {project_id}"
        print(f"no source maps for {scope}; upload with `vigil sourcemaps upload --project {args.project} "
              f"--release RELEASE DIR`", file=sys.stderr)
        return 1
    for row in maps:
        minified = f"{row['minified_bytes']:>10,}" if row["minified_bytes"] else "         -"
        print(f"{row['release']:<20} {row['url']:<48} map {row['map_bytes']:>10,} B  minified {minified} B  "
              f"{row['uploaded_at']:%Y-%m-%d %H:%M:%S}")
    return 0
