"""``crossid matcher list|set``: which model serves X-ray and injured-face queries."""

from __future__ import annotations

import argparse

from crossid_desktop.matching.selection import ROLES, MatcherCache, check_serves_role, read_config, resolve_spec, write_config
from crossid_desktop.workspace import Workspace

ORDER = 45


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("matcher", help="show or choose the matcher of each query kind")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the matcher of each role, with its fingerprint")
    listing.set_defaults(run=run_list)
    choose = actions.add_parser("set", help="choose a matcher: 'dlib', 'bundled:NAME' or a checkpoint path")
    choose.add_argument("role", choices=("xray", "injured"))
    choose.add_argument("spec")
    choose.set_defaults(run=run_set)


def run_list(args: argparse.Namespace) -> int:
    workspace = Workspace.open(args.workspace)
    config = read_config(workspace.root)
    cache = MatcherCache()
    for role in ROLES:
        spec = config.get(role)
        if spec is None:
            print(f"{role:<8} none configured")
            continue
        matcher = cache.get(spec)
        print(f"{role:<8} {matcher.name}  fingerprint {matcher.fingerprint[:16]}  ({resolve_spec(spec)})")
    return 0


def run_set(args: argparse.Namespace) -> int:
    workspace = Workspace.open(args.workspace)
    matcher = MatcherCache().get(args.spec)  # refuses a missing or corrupt model before it is chosen
    check_serves_role(matcher, args.role)
    write_config(workspace.root, args.role, args.spec)
    print(f"{args.role} queries now use {matcher.name} ({matcher.fingerprint[:16]}); run 'crossid gallery rebuild-index' to embed the gallery with it")
    return 0
