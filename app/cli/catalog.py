"""`reenact nodes`: the node catalog — types, ports, params and actions."""
from __future__ import annotations

import argparse
import json
from typing import Any

from app.cli.common import load_registry
from app.cli.console import EXIT_OK


def run(args: argparse.Namespace) -> int:
    registry = load_registry()
    catalog = [t.schema.describe() for t in registry.types()]
    if args.json:
        print(json.dumps(catalog, indent=2))
        return EXIT_OK
    for entry in catalog:
        print(f"{entry['type']}  —  {entry['title']} [{entry['category']}]{'  (volatile)' if entry['volatile'] else ''}")
        print(f"    {entry['help']}")
        for port in entry["inputs"]:
            print(f"    in   {port['name']}: {port['type']}{' (optional)' if port['optional'] else ''}")
        for port in entry["outputs"]:
            print(f"    out  {port['name']}: {port['type']}")
        for param in entry["params"]:
            print(f"    param {param['name']}: {param['kind']} = {json.dumps(param['default'])}{_bounds(param)}  "
                  f"{param['help']}")
        for action in entry["actions"]:
            print(f"    action {action['name']}: {action['help']}")
        print()
    return EXIT_OK


def _bounds(param: dict[str, Any]) -> str:
    if "choices" in param:
        return f" {{{', '.join(param['choices'])}}}"
    if "minimum" in param or "maximum" in param:
        return f" [{param.get('minimum', '')}..{param.get('maximum', '')}]"
    return ""


def add_parser(sub: Any) -> None:
    p = sub.add_parser("nodes", help="list the node catalog: types, ports, params")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)
