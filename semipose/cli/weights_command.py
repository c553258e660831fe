"""`semipose weights list|fetch NAME`: the public weight files the configs name."""
from __future__ import annotations

from semipose.cli.command import Command


def _add_arguments(parser):
    parser.add_argument("action", choices=["list", "fetch"], help="list the table, or fetch files")
    parser.add_argument("names", nargs="*", help="fetch: the files to get (names from `semipose weights list`)")
    parser.add_argument("--dir", default=None, help="where to put them (default pretrained/, where the configs look)")


def _run(args):
    from semipose.evaluation.report import format_table
    from semipose.models import weight_zoo
    directory = args.dir or weight_zoo.DEFAULT_DIR
    if args.action == "list":
        rows = [{"name": entry.name, "file": f"{directory}/{entry.file_name}", "size": entry.size,
                 "sha256": entry.sha256, "url": entry.url, "what": entry.what} for entry in weight_zoo.WEIGHTS.values()]
        print(format_table(rows, title="public weight files (semipose weights fetch NAME; docs/weights.md)"))
        return 0
    if not args.names:
        raise ValueError("semipose weights fetch needs the NAMEs to fetch (see semipose weights list)")
    entries = [weight_zoo.lookup(name) for name in args.names]  # every name checked before any download
    for entry in entries:
        print(f"{entry.name}: {weight_zoo.fetch(entry, directory, progress=True)} (sha256 checked)")
    return 0


WEIGHTS = Command(
    "weights", "list or fetch the public weight files the configs need (hash-checked)",
    "examples:\n  semipose weights list\n  semipose weights fetch resnet18\n"
    "  semipose weights fetch resnet50 hrnet_w48 --dir pretrained",
    _add_arguments, _run)
