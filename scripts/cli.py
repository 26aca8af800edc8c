"""The `concord` command line: thin sub-commands over the index and service packages."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from index.collate import collate_variants
from index.report import collation_report
from index.segment import Segmenter
from index.variants import load_variants
from service.settings import Settings


def _progress(description: str):
    from tqdm import tqdm

    return lambda items: tqdm(items, desc=description, unit="variant", leave=False, file=sys.stderr)


def cmd_collate(settings: Settings, args: argparse.Namespace) -> int:
    folder = Path(args.folder or settings.seeds_dir)
    loaded = load_variants(folder, settings.max_variant_bytes)
    for problem in loaded.problems:
        print(f"skipped {problem}", file=sys.stderr)
    if not loaded.variants:
        print(f"error: {folder} holds no usable .txt variants", file=sys.stderr)
        return 2
    collation = collate_variants(
        loaded.variants,
        Segmenter(settings.max_clause_chars),
        loaded.problems,
        progress=_progress("segmenting"),
    )
    out = Path(args.out or settings.collation_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps(collation.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(out)
    if not args.quiet:
        print(collation_report(collation))
    print(f"wrote {out}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="concord", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    collate = commands.add_parser("collate", help="segment and collate a folder of variants; print a report")
    collate.add_argument(
        "folder", nargs="?", help="folder of .txt variants (default: CONCORD_SEEDS_DIR, seeds/)"
    )
    collate.add_argument("--out", help="where to write the collation JSON (default: var/collation.json)")
    collate.add_argument("--quiet", action="store_true", help="write the JSON without printing the report")
    collate.set_defaults(handler=cmd_collate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"error: bad CONCORD_* setting:\n{exc}", file=sys.stderr)
        return 2
    try:
        return args.handler(settings, args)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
