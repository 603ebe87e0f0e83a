"""``stores paths`` and ``stores env``: the run's side of the env contract."""

from __future__ import annotations

import argparse
import os
import shlex
from typing import Any

from .output import add_output_flag, json_object_arg, print_data, print_table
from .values_input import add_run_flags, add_values_argument, add_values_flags, load_catalog, run_uuid

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "paths",
        help="print this run's data paths and outputs path",
        description="Read POLYAXON_RUN_DATA_PATHS and POLYAXON_RUN_OUTPUTS_PATH (the env contract) "
        "and print them. Honours POLYAXON_NO_OP and STORES_LOCAL_DEV as the in-run Python API does.",
    )
    add_output_flag(p)
    p.set_defaults(func=cmd_paths)

    p = sub.add_parser(
        "env",
        help="print the env contract a run with this selection would get",
        description="Select stores from a values file as a run would (no --data: all data stores; "
        "no --outputs: the first outputs store) and print the contract variables. The run flags "
        "and their defaults are those of `stores render`.",
    )
    add_values_argument(p, "file", "FILE")
    add_values_flags(p)
    add_run_flags(p)
    p.add_argument("--template", default=None, metavar="TEMPLATE",
                   help="outputs sub-path template over {owner} {project} {uuid} {name} "
                   "(default: {uuid}/outputs, the run layout)")
    add_output_flag(p, "env")
    p.set_defaults(func=cmd_env)


def cmd_paths(args: argparse.Namespace) -> int:
    from .. import run
    from ..contract.names import ENV_OUTPUTS_PATH
    from ..contract.read import mode

    data = run.get_data_paths()
    # a run without an outputs store is a valid run: show it as such, not as an error
    no_outputs = mode(os.environ) == "run" and os.environ.get(ENV_OUTPUTS_PATH) is None
    outputs = None if no_outputs else run.get_outputs_path()
    if args.output != "table":
        print_data({"data": data, "outputs": outputs}, args.output)
    else:
        rows = [["data", name, path] for name, path in data.items()]
        rows.append(["outputs", "", outputs or "-"])
        print_table(["role", "name", "path"], rows)
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    from ..contract.write import contract_env
    from ..errors import ContractError, SelectionError
    from ..contract.names import OUTPUTS_SUBPATH_TEMPLATE
    from ..contract.runinfo import RunInfo
    from ..selection import select

    inputs = json_object_arg(args.inputs, "--inputs")
    try:
        run_info = RunInfo(uuid=run_uuid(args), owner=args.owner, project=args.project, name=args.name)
    except ValueError as exc:
        raise SelectionError(str(exc)) from None
    catalog = load_catalog(args, [args.file] if args.file else [])
    selection = select(catalog, args.data, args.outputs)
    try:
        env = contract_env(selection, run_info, args.template or OUTPUTS_SUBPATH_TEMPLATE, inputs=inputs)
    except ValueError as exc:  # a bad --template
        if isinstance(exc, ContractError):
            raise
        raise ContractError(str(exc)) from None
    if args.output != "env":
        print_data(env, args.output)
    else:
        for key, value in env.items():
            print(f"{key}={shlex.quote(value)}")
    return 0
