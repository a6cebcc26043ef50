"""``vigil project create|list``: projects (ingest keys, allowed origins)."""

from __future__ import annotations

import argparse
import json
import sys

from pipeline import settings as settings_module

HELP = "manage projects (ingest keys, allowed origins)"


def arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="project_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a project and print its id and ingest key")
    create.add_argument("name")
    create.add_argument("--origin", action="append", default=[], metavar="URL",
                        help="allowed browser origin, e.g. https://shop.example.com (repeatable; none = any)")
    create.add_argument("--json", action="store_true", help="print the project as JSON")
    listing = actions.add_parser("list", help="list projects")
    listing.add_argument("--json", action="store_true", help="print the projects as JSON")


def main(args: argparse.Namespace) -> int:
    from pipeline.warehouse.projects import ProjectIdUnavailable, create, list_projects
    from pipeline.warehouse.client import connect

    client = connect(settings_module.load())
    if args.project_command == "create":
        try:
            project = create(client, args.name, args.origin)
        except ValueError as error:
            print(f"vigil project create: {error}", file=sys.stderr)
            return 2
        except ProjectIdUnavailable as error:
            print(f"vigil project create: {error}", file=sys.stderr)
            return 1
        if args.json:
            print(json.dumps(project.as_dict()))
        else:
            print(f"created project {project.id} {project.name!r}\n  ingest key: {project.key}\n"
                  f"  origins:    {', '.join(project.origins) or 'any'}")
        return 0
    projects = list_projects(client)
    if args.json:
        print(json.dumps([p.as_dict() for p in projects]))
    else:
        for p in projects:
            print(f"{p.id:>6}  {p.name:<24} {p.key}  {', '.join(p.origins) or 'any origin'}")
    return 0
