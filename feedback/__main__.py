"""``python -m feedback``: the taught drawings at the terminal.

    python -m feedback stats                 drawings per label, one line each
    python -m feedback list [--limit N]      the newest drawings, one line each
    python -m feedback delete ID             forget one drawing
    python -m feedback export --out DIR      <label>.ndjson and <label>.npy per label: a
                                             QuickDraw source folder for the trainer

``--db URL`` names the database (else $SKETCHBOOK_DB, else the app's SQLite file). Errors are
one line, ``error: <sentence>``, on stderr, and exit status 1 (2 for a wrong command line).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from quickdraw.arguments import bounded

from .errors import ConfigError, Rejected, Unavailable
from .store import Store


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m feedback",
                                description="The drawings people taught the app.")
    p.add_argument("--db", metavar="URL",
                   help="sqlite:///path, postgresql://user@host/name or a SQLite file path "
                        "(default: $SKETCHBOOK_DB, else instance/feedback.sqlite3)")
    commands = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("stats", help="drawings per label")
    listing = commands.add_parser("list", help="the newest drawings, newest first")
    listing.add_argument("--limit", type=bounded("limit", 1), default=50, metavar="N",
                         help="how many (default 50)")
    deleting = commands.add_parser("delete", help="forget one drawing")
    deleting.add_argument("id", metavar="ID", help="its id, as `list` shows it")
    exporting = commands.add_parser("export", help="write a QuickDraw source folder")
    exporting.add_argument("--out", type=Path, required=True, metavar="DIR",
                           help="the folder to write <label>.ndjson and <label>.npy to")
    return p


def run(args: argparse.Namespace, out) -> int:
    with Store.open(args.db) as store:
        if args.command == "stats":
            for label, count in store.stats().items():
                print(f"{label}: {count}", file=out)
        elif args.command == "list":
            for row in store.list(args.limit):
                sure = "" if row.confidence is None else f", {row.confidence:.0%} sure"
                mark = "right" if row.recognized else "wrong"
                print(f"{row.id}  {row.created:%Y-%m-%d %H:%M:%S} UTC  {row.label}  "
                      f"(model {row.model} said {row.guess}{sure}: {mark})", file=out)
        elif args.command == "delete":
            if not store.delete(args.id):
                raise LookupError(f"There is no taught drawing with the id {args.id!r}.")
            print(f"deleted {args.id}", file=out)
        elif args.command == "export":
            for label, count in store.export(args.out).items():
                print(f"{label}: {count} drawings in {args.out / label}.ndjson and .npy",
                      file=out)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return run(args, sys.stdout)
    except Unavailable as error:
        detail = f" ({error.detail})" if error.detail else ""
        print(f"error: {error}{detail}", file=sys.stderr)
    except (ConfigError, Rejected, LookupError) as error:
        print(f"error: {error}", file=sys.stderr)
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        print(f"error: cannot write {where}{error.strerror or error}.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
