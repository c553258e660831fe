"""`semipose`: one command, a sub-command per job. Each sub-command lives in its own module."""
from __future__ import annotations

import argparse
import logging
import sys

from semipose.cli import data_commands, demo_command, experiment_commands, models_command, predict_command, train_commands

SUBCOMMANDS = [data_commands.SYNTH, data_commands.CONVERT, data_commands.SPLIT, train_commands.TRAIN,
               train_commands.EVAL, predict_command.PREDICT, models_command.MODELS,
               experiment_commands.COMPARE, experiment_commands.LADDER, demo_command.DEMO]


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


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
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
