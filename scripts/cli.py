"""The `concord` command line: thin sub-commands over the index and service packages."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from index.build import BuildConfig, IndexUnavailable
from index.collate import collate_folder
from index.report import collation_report
from index.segment import Segmenter
from index.variants import NoUsableVariants
from service.settings import Settings


def _progress(description: str):
    from tqdm import tqdm

    return lambda items: tqdm(items, desc=description, unit="variant", leave=False, file=sys.stderr)


def cmd_collate(settings: Settings, args: argparse.Namespace) -> int:
    folder = Path(args.folder or settings.seeds_dir)
    try:
        collation = collate_folder(
            folder, settings.max_variant_bytes, Segmenter(settings.max_clause_chars), _progress("segmenting")
        )
    except NoUsableVariants as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for problem in collation.problems:
        print(f"skipped {problem}", file=sys.stderr)
    out = Path(args.out or settings.collation_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps(collation.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(out)
    if not args.quiet:
        print(collation_report(collation))
    print(f"wrote {out}", file=sys.stderr)
    return 0


def build_config(settings: Settings) -> BuildConfig:
    return BuildConfig(
        seeds_dir=settings.seeds_dir,
        index_dir=settings.resolved_index_dir,
        cache_dir=settings.var_dir / "cache",
        model=settings.model,
        max_variant_bytes=settings.max_variant_bytes,
        max_clause_chars=settings.max_clause_chars,
    )


def _embedder(settings: Settings, show_progress: bool = False):
    from index.embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(
        settings.model, settings.resolved_models_dir, show_progress=show_progress
    )


def cmd_model(settings: Settings, args: argparse.Namespace) -> int:
    from index.bundled_model import BUNDLED_MODEL_NAME, ensure_bundled_model

    if settings.model != BUNDLED_MODEL_NAME:
        print(f"CONCORD_MODEL is {settings.model!r}: sentence-transformers loads it by name or path")
        return 0
    print(ensure_bundled_model(settings.resolved_models_dir))
    return 0


def run_build(settings: Settings) -> int:
    from index.build import build_index

    embedder = _embedder(settings, show_progress=True)
    report = build_index(build_config(settings), embedder, progress=_progress("segmenting"))
    for problem in report.problems:
        print(f"skipped {problem}", file=sys.stderr)
    counts = report.manifest["counts"]
    print(
        f"built {report.path} in {report.seconds:.1f}s: {counts['variants']} variants, "
        f"{counts['clause_groups']} clause groups, {counts['vectors']} vectors "
        f"({report.embedded} newly embedded); published at {settings.resolved_index_dir}"
    )
    return 0


def cmd_build(settings: Settings, args: argparse.Namespace) -> int:
    return run_build(settings)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from service.app import create_app

    overrides = {"host": args.host, "port": args.port}
    settings = settings.model_copy(update={k: v for k, v in overrides.items() if v})
    from index.build import read_manifest

    try:
        read_manifest(settings.resolved_index_dir, settings.model)
    except IndexUnavailable as reason:
        print(f"{reason}: building it first", file=sys.stderr)
        run_build(settings)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
    return 0


def cmd_query(settings: Settings, args: argparse.Namespace) -> int:
    from index.build import LoadedIndex
    from index.search import Searcher

    searcher = Searcher(LoadedIndex.load(settings.resolved_index_dir, settings.model), _embedder(settings))
    result = searcher.search(args.question, args.top_k)
    if result.answer:
        print(f"answer: {result.answer.summary}\n")
    for rank, hit in enumerate(result.hits, 1):
        group = hit.group
        flags = f" [{', '.join(group.flags)}]" if group.flags else ""
        print(f"{rank}. {group.canonical}")
        print(f"   score {hit.score:.3f} · support {group.support.count}/{group.support.total}{flags}")
        if group.section_path:
            print(f"   section: {' › '.join(group.section_path)}")
        for reading in group.readings:
            lines = f"{reading.line_start}" + (
                f"-{reading.line_end}" if reading.line_end != reading.line_start else ""
            )
            copies = f" ×{reading.copies}" if reading.copies > 1 else ""
            print(
                f"   - {reading.variant} line {lines} [{reading.char_start}:{reading.char_end}]{copies}: {reading.text}"
            )
        for d in group.divergences:
            print(f"   ≠ {d.variant}: “{d.canonical_text}” → “{d.reading_text}”")
        print()
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

    model = commands.add_parser("model", help="convert the bundled embedding model (once) and print its path")
    model.set_defaults(handler=cmd_model)

    build = commands.add_parser("build", help="build the index from the variants and publish it atomically")
    build.set_defaults(handler=cmd_build)

    serve = commands.add_parser("serve", help="serve the HTTP API (builds the index first if there is none)")
    serve.add_argument("--host", help="address to bind (default: CONCORD_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: CONCORD_PORT, 8000)")
    serve.set_defaults(handler=cmd_serve)

    query = commands.add_parser("query", help="ask a question and print the answer with its provenance")
    query.add_argument("question")
    query.add_argument("--top-k", type=int, default=5)
    query.set_defaults(handler=cmd_query)
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
    except (FileNotFoundError, IndexUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
