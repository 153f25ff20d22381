"""Command line: ``python -m quickdraw fetch|list|info``.

    python -m quickdraw fetch cat dog "sea turtle" --limit 5000 [--source S ...] [--cache DIR]
    python -m quickdraw fetch ant --strokes --limit 25 [--source S]
    python -m quickdraw list
    python -m quickdraw info [--cache DIR]

Errors are printed as one ``error: <message>`` line on stderr with exit status
1 (2 for a wrong command line, 130 when interrupted), never as a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys

from . import config
from .arguments import bounded
from .cache import Cache, StrokeCache
from .categories import categories, validate
from .errors import MissingFile, QuickDrawError
from .fetch import fetch_file
from .strokes import fetch_strokes


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError  # pragma: no cover


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m quickdraw",
        description="Fetch Google Quick, Draw! drawings into a local cache: 28x28 bitmaps "
                    "(numpy_bitmap .npy files) or simplified strokes (.ndjson files).",
        epilog="Environment: QUICKDRAW_SOURCE and QUICKDRAW_STROKES_SOURCE (base URL or "
               "folder of bitmaps and of strokes), QUICKDRAW_CACHE (cache folder), "
               "QUICKDRAW_TIMEOUT (seconds).")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    f = sub.add_parser("fetch", help="download the first N drawings of categories",
                       description="Download the first N drawings of each category "
                                   "into the cache (only what is missing).")
    f.add_argument("names", nargs="+", metavar="NAME", help='category names, e.g. cat "sea turtle"')
    f.add_argument("--limit", "-n", type=bounded("limit", 1), default=None,
                   help="drawings per category (default: the whole file)")
    f.add_argument("--strokes", action="store_true",
                   help="simplified stroke drawings (.ndjson) instead of bitmaps")
    f.add_argument("--source", action="append",
                   help=f"base URL or folder; repeat it to read a category from several, in "
                        f"order (default: $QUICKDRAW_SOURCE or "
                                    f"{config.DEFAULT_SOURCE}; with --strokes, "
                                    f"$QUICKDRAW_STROKES_SOURCE or "
                                    f"{config.DEFAULT_STROKES_SOURCE})")
    f.add_argument("--cache", help="cache folder (default: $QUICKDRAW_CACHE or ~/.cache/quickdraw)")
    f.add_argument("--timeout", type=bounded("timeout", 0.001, kind=float), default=None,
                   help=f"seconds to wait for the server (default {config.DEFAULT_TIMEOUT:g})")
    f.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    sub.add_parser("list", help="print the 345 category names",
                   description="Print the 345 QuickDraw category names, one a line.")

    i = sub.add_parser("info", help="show the cached files",
                       description="Show the cache folder and the files in it.")
    i.add_argument("--cache", help="cache folder (default: $QUICKDRAW_CACHE or ~/.cache/quickdraw)")
    return p


def _fetch(args) -> int:
    names = [validate(name) for name in args.names]  # all typos before any download
    fetch = fetch_strokes if args.strokes else fetch_file
    failed = 0
    for name in dict.fromkeys(names):
        try:
            result = fetch(name, args.limit, source=args.source, cache=args.cache,
                           progress=False if args.quiet else None, timeout=args.timeout)
        except MissingFile as e:  # the others may still be there: go on
            print(f"error: {e}", file=sys.stderr)
            failed += 1
            continue
        how = "already cached" if result.from_cache else f"downloaded {_size(result.downloaded)}"
        print(f"{name}: {result.rows} drawings in {result.path} ({how})", flush=True)
    return 1 if failed else 0


def _list(args) -> int:
    for name in categories():
        print(name)
    return 0


def _info(args) -> int:
    folder = config.cache_dir(args.cache)
    print(f"cache folder: {folder}" + ("" if folder.is_dir() else " (not created yet)"))
    total = count = 0
    for kind, store in (("bitmaps", Cache(folder)), ("strokes", StrokeCache(folder))):
        good, bad = store.scan()
        width = max((len(e.name) for e in good), default=0)
        for e in good:
            note = _origin(e)
            print(f"{e.name:<{width}}  {kind}  {e.rows:>7} drawings  {_size(e.bytes):>9}  "
                  f"{e.path}  ({note})")
        for path, problem in bad:
            print(f"damaged: {path} ({problem}); it will be fetched again when needed")
        total += sum(e.bytes for e in good)
        count += len(good)
    print(f"{count} cached {'file' if count == 1 else 'files'}, {_size(total)}")
    return 0


def _origin(entry) -> str:
    """Which source gave what, e.g. "all drawings of A (5000) + B (975)"."""
    if entry.source is None:
        return "source unknown"
    how = "all" if entry.complete else "first"
    if len(entry.parts) == 1:
        return f"{how} drawings of {entry.source}"
    return f"{how} drawings of " + " + ".join(
        f"{source} ({rows if rows else 'none'})" for source, rows in entry.parts)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return {"fetch": _fetch, "list": _list, "info": _info}[args.command](args)
    except QuickDrawError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `python -m quickdraw list | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
