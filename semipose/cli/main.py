"""`semipose`: one command, a sub-command per job. Each sub-command lives in its own module."""
from __future__ import annotations

import argparse
import logging
import sys

from semipose.cli import (data_commands, demo_command, experiment_commands, export_command, models_command,
                          predict_command, train_commands, weights_command)

SUBCOMMANDS = [data_commands.SYNTH, data_commands.CONVERT, data_commands.SPLIT, data_commands.CACHE,
               train_commands.TRAIN,
               train_commands.EVAL, predict_command.PREDICT, models_command.MODELS,
               experiment_commands.COMPARE, experiment_commands.LADDER, demo_command.DEMO,
               export_command.EXPORT, weights_command.WEIGHTS]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="semipose", description="Semi-supervised 2D human pose estimation.",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in SUBCOMMANDS:
        sub = commands.add_parser(command.name, help=command.help, description=command.description,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        command.add_arguments(sub)
        sub.set_defaults(handler=command.run)
    return parser


def parse_arguments(argv=None) -> argparse.Namespace:
    """Options before or after `key=value` overrides: argparse ends a sub-command's positional list
    at its first option, so overrides that follow an option arrive here as extras and join the rest."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and (not hasattr(args, "overrides") or any(t.startswith("-") or "=" not in t for t in extra)):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if extra:
        args.overrides = list(args.overrides) + extra
    return args


def main(argv=None) -> int:
    args = parse_arguments(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    try:
        return args.handler(args) or 0
    except KeyboardInterrupt as interrupt:  # Ctrl-C, or SIGTERM (engine.signals.Terminated): saved if training
        code = getattr(interrupt, "exit_code", 130)
        print("terminated (SIGTERM)" if code != 130 else "interrupted", file=sys.stderr)
        return code
    except (ValueError, OSError) as error:  # our errors name the file and field: no traceback needed
        if args.verbose:
            raise
        print(f"semipose {args.command}: error: {error}", file=sys.stderr)
        return 2
