"""The `concord` command line (the package's entry point): thin sub-commands over the index and service packages."""

from __future__ import annotations

import argparse
import getpass
import json
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from pydantic import ValidationError

from index.corpus.collate import collate_folder
from index.corpus.report import collation_report
from index.corpus.segment import Segmenter
from index.errors import ConcordError, Unavailable
from index.published import IndexUnavailable
from service.settings import Settings


def _progress(description: str):
    from tqdm import tqdm

    return lambda items: tqdm(items, desc=description, unit="variant", leave=False, file=sys.stderr)


def cmd_collate(settings: Settings, args: argparse.Namespace) -> int:
    folder = Path(args.folder or settings.seeds_dir)
    collation = collate_folder(
        folder, settings.max_variant_bytes, Segmenter(settings.max_clause_chars), _progress("segmenting")
    )
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


class _StageBar:
    """A terminal progress bar per job stage (segment, collate, embed, index, publish)."""

    def __init__(self) -> None:
        self._bar = None
        self._stage = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        from tqdm import tqdm

        if stage != self._stage:
            self.close()
            self._stage = stage
            self._bar = tqdm(total=total, desc=stage, leave=False, file=sys.stderr)
        if self._bar is not None:
            self._bar.total = total
            self._bar.n = done
            self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _embedder(settings: Settings):
    from index.embedding import load_embedder

    return load_embedder(
        settings.embedding_backend, settings.model, settings.resolved_models_dir, settings.embedding_threads
    )


def cmd_model(settings: Settings, args: argparse.Namespace) -> int:
    from index.embedding.bundled import BUNDLED_MODEL_NAME, ensure_bundled_model

    if settings.embedding_backend != "torch":
        from index.embedding import ONNX_PRECISION
        from index.embedding.onnx_backend import ensure_onnx_model

        precision = ONNX_PRECISION[settings.embedding_backend]
        print(ensure_onnx_model(settings.model, settings.resolved_models_dir, precision))
        return 0
    if settings.model != BUNDLED_MODEL_NAME:
        print(f"CONCORD_MODEL is {settings.model!r}: sentence-transformers loads it by name or path")
        return 0
    print(ensure_bundled_model(settings.resolved_models_dir))
    return 0


def _sender() -> str:
    return f"cli:{getpass.getuser()}@{socket.gethostname()}"


def run_jobs(settings: Settings, corpus, job_id: str, wait: bool = True, embedder=None) -> int:
    """Run pending jobs here if no other process is running them; else wait for `job_id` (or not)."""
    from service.runtime import job_runner

    model = []

    def load():
        if not model:
            model.append(embedder or _embedder(settings))
        return model[0]

    bar = _StageBar()
    runner = job_runner(settings, corpus, load, on_progress=bar)
    try:
        report = runner.run_pending()
    finally:
        bar.close()
    if report is None:
        holder = corpus.db.lease_holder() or {}
        where = f"process {holder.get('pid')} on {holder.get('host')}" if holder else "another process"
        if not wait:
            print(f"job {job_id} queued; {where} is running jobs and will take it (concord jobs shows it)")
            return 0
        print(f"job {job_id} queued; {where} is running jobs, waiting for it", file=sys.stderr)
        try:
            while (job := corpus.db.job(job_id)) is not None and job.status not in ("succeeded", "failed"):
                if job.stage:
                    bar(job.stage, job.done, job.total)
                time.sleep(0.5)
                # A holder that stops (a server shut down) leaves the lease free: take the work
                # over rather than wait for nobody.
                if corpus.db.lease_holder() is None:
                    runner.run_pending()
        finally:
            bar.close()
    return _print_job(corpus.db.job(job_id))


def _print_job(job) -> int:
    if job is None:
        print("error: the job disappeared", file=sys.stderr)
        return 1
    if job.status == "failed":
        print(f"job {job.id} failed: {job.error}", file=sys.stderr)
        return 1
    result = job.result or {}
    for item in result.get("files", []):
        where = f"{item['document']}/{item['variant']}"
        if "duplicate_of" in item:
            print(f"{item['file']}: {item['note']}")
            continue
        decision = item.get("assignment", {})
        why = (
            f" ({decision.get('decision')}, similarity {decision.get('score')})"
            if decision.get("score") is not None
            else f" ({decision.get('decision')})"
        )
        converted = f", converted from {item['converted_from']}" if "converted_from" in item else ""
        print(f"{item['file']}: stored as {where}{why}{converted}")
    for key in ("removed", "moved"):
        if key in result:
            print(f"{key} {result[key]}" + (f" to {result['to']}" if key == "moved" else ""))
    if "trash" in result and "removed" in result:
        print(
            f"kept in the trash as {result['trash']} until {result['restorable_until']} "
            f"(concord restore {result['trash']} puts it back)"
        )
    if "restored" in result:
        renamed = "".join(f", {old} as {new}" for old, new in result.get("renamed", {}).items())
        print(f"restored {result['document']}: {', '.join(result['variants'])}{renamed}")
    if "purged" in result:
        print(f"purged trash entry {result['purged']} for good")
    if "generation" in result:
        print(
            f"job {job.id} {job.status}: index generation {result['generation']} published with "
            f"{result['documents']} documents, {result['variants']} variants, {result['clause_groups']} clause groups "
            f"({result['embedded']} texts newly embedded)"
        )
    else:
        print(f"job {job.id} {job.status}")
    return 0


def _wait_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--wait",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="when a server is running the jobs, wait until it has run this one (the default), or "
        "--no-wait to return once the job is queued",
    )


def _open(settings: Settings):
    from service.runtime import open_corpus

    return open_corpus(settings)


def cmd_build(settings: Settings, args: argparse.Namespace) -> int:
    from index.jobs.submit import submit_reindex

    corpus = _open(settings)
    job = submit_reindex(corpus, "cli", _sender())
    return run_jobs(settings, corpus, job.id)


def cmd_add(settings: Settings, args: argparse.Namespace) -> int:
    from index.jobs.submit import Upload, submit_files

    uploads = []
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            print(f"error: {name}: no such file", file=sys.stderr)
            return 2
        uploads.append(Upload(path.name, path.read_bytes()))
    corpus = _open(settings)
    job = submit_files(
        corpus,
        uploads,
        args.document,
        "cli",
        _sender(),
        settings.max_variant_bytes,
        settings.max_files_per_upload,
        options=replace(settings.extract_options, ocr=args.ocr) if args.ocr else settings.extract_options,
        max_file_bytes=settings.max_file_bytes,
    )
    print(f"accepted {len(uploads)} file(s) as job {job.id}", file=sys.stderr)
    return run_jobs(settings, corpus, job.id, wait=args.wait)


def cmd_remove(settings: Settings, args: argparse.Namespace) -> int:
    from index.jobs.submit import submit_removal

    corpus = _open(settings)
    job = submit_removal(corpus, args.document, args.variant, "cli", _sender())
    return run_jobs(settings, corpus, job.id, wait=args.wait)


def cmd_move(settings: Settings, args: argparse.Namespace) -> int:
    from index.jobs.submit import submit_move

    corpus = _open(settings)
    job = submit_move(corpus, args.document, args.variant, args.to, "cli", _sender())
    return run_jobs(settings, corpus, job.id, wait=args.wait)


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    from index.jobs.submit import submit_restore

    corpus = _open(settings)
    job = submit_restore(corpus, args.entry, "cli", _sender())
    return run_jobs(settings, corpus, job.id, wait=args.wait)


def cmd_purge(settings: Settings, args: argparse.Namespace) -> int:
    from index.jobs.submit import submit_purge

    corpus = _open(settings)
    job = submit_purge(corpus, args.entry, "cli", _sender())
    return run_jobs(settings, corpus, job.id, wait=args.wait)


def cmd_retry(settings: Settings, args: argparse.Namespace) -> int:
    from index.jobs.submit import submit_retry

    corpus = _open(settings)
    job = submit_retry(corpus, args.job)
    return run_jobs(settings, corpus, job.id, wait=args.wait)


def cmd_trash(settings: Settings, args: argparse.Namespace) -> int:
    corpus = _open(settings)
    for entry in corpus.db.trash(args.document):
        what = f"{entry.document_id}/{entry.variant_id}" if entry.variant_id else entry.document_id
        print(
            f"{entry.id}  {what}  removed {entry.removed_at} by {entry.removed_by}, until {entry.expires_at}"
        )
        for v in entry.variants:
            print(f"  {v['id']}  {v['size']} bytes  sha256 {v['sha256'][:16]}…  from {v['original_name']}")
    return 0


def cmd_audit(settings: Settings, args: argparse.Namespace) -> int:
    corpus = _open(settings)
    for event in corpus.db.audit(args.limit, None, args.document):
        where = "/".join(p for p in (event.document_id, event.variant_id) if p) or "-"
        client = f" from {event.client}" if event.client else ""
        job = f" job {event.job_id}" if event.job_id else ""
        detail = json.dumps(event.detail, ensure_ascii=False)
        print(f"{event.at}  {event.action:8s} {where}  by {event.caller}{client}{job}  {detail}")
    return 0


def cmd_documents(settings: Settings, args: argparse.Namespace) -> int:
    corpus = _open(settings)
    variants = corpus.db.variants()
    for document in corpus.db.documents():
        own = [v for v in variants if v.document_id == document.id]
        print(f"{document.id}  {document.title}  ({len(own)} variants)")
        for v in own:
            print(
                f"  {v.id}  {v.size} bytes  {v.encoding}  from {v.original_name} by {v.sender} at {v.arrived_at}"
            )
    return 0


def cmd_jobs(settings: Settings, args: argparse.Namespace) -> int:
    corpus = _open(settings)
    for job in corpus.db.jobs(args.status, args.limit):
        stage = f" {job.stage} {job.done}/{job.total}" if job.stage else ""
        files = (
            f" {', '.join(f['name'] for f in job.payload.get('files', []))}"
            if job.payload.get("files")
            else ""
        )
        error = f": {job.error}" if job.error else ""
        print(f"{job.id}  {job.kind:8s} {job.status:11s}{stage}{files}  {job.created_at}{error}")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from index.jobs.submit import submit_reindex
    from index.published import read_manifest
    from index.vectors import open_backend
    from service.app import create_app
    from service.auth import is_loopback
    from service.context import log_config

    overrides = {"host": args.host, "port": args.port, "watch_dir": args.watch}
    settings = settings.model_copy(update={k: v for k, v in overrides.items() if v})
    keyless = not (settings.api_key_values() or settings.admin_key_values() or settings.widget_key_values())
    if keyless and not is_loopback(settings.host):
        print(
            f"error: no API keys are configured, so the API would be open to anyone who reaches "
            f"{settings.host}; set CONCORD_API_KEYS and CONCORD_ADMIN_API_KEYS (or their _FILE forms), "
            "or serve on 127.0.0.1",
            file=sys.stderr,
        )
        return 2
    embedder = _embedder(settings)
    try:
        open_backend(settings.vector_config).check(embedder.dimension)
        corpus = _open(settings)
    except Unavailable as exc:
        # Served anyway, not ready: /readyz says why, and the service connects once the store answers.
        print(f"error: {exc}; serving, not ready, until it is fixed", file=sys.stderr)
        corpus = None
    if corpus is not None:
        try:
            read_manifest(settings.resolved_index_dir, settings.embedding_id, settings.vector_backend)
        except IndexUnavailable as reason:
            print(f"{reason}: building it first", file=sys.stderr)
            job = submit_reindex(corpus, "serve", _sender())
            if run_jobs(settings, corpus, job.id, embedder=embedder) != 0:
                return 1
    uvicorn.run(
        create_app(settings, embedder=embedder),
        host=settings.host,
        port=settings.port,
        log_config=log_config(settings.log_format),
        access_log=False,  # the service writes its own access lines, with request ids and no keys
    )
    return 0


def cmd_query(settings: Settings, args: argparse.Namespace) -> int:
    from index.published import LoadedIndex
    from index.query import Searcher

    searcher = Searcher(
        LoadedIndex.load(settings.resolved_index_dir, settings.embedding_id, settings.vector_config),
        _embedder(settings),
    )
    result = searcher.search(args.question, args.top_k, args.document or None)
    titles = searcher.index.titles
    if not result.answerable:
        print(f"no passage seems to answer this (confidence {result.confidence:.2f}); the closest:\n")
    if result.answer:
        print(f"answer: {result.answer.summary}\n")
    for rank, hit in enumerate(result.hits, 1):
        group = hit.group
        flags = f" [{', '.join(group.flags)}]" if group.flags else ""
        print(f"{rank}. {group.canonical}")
        print(f"   {group.document}: {titles.get(group.document, '')}")
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

    model = commands.add_parser(
        "model", help="convert the embedding model for its backend (once) and print its path"
    )
    model.set_defaults(handler=cmd_model)

    build = commands.add_parser("build", help="rebuild the index from the corpus and publish it atomically")
    build.set_defaults(handler=cmd_build)

    add = commands.add_parser("add", help="add variant files to the corpus and rebuild the index")
    add.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="variants: plain text (.txt, .md; UTF-8, UTF-16 or GB18030), PDF, scans and photos (.png, .jpg, "
        ".tif), Word (.docx), web pages (.html) or OFD (.ofd)",
    )
    add.add_argument(
        "--ocr",
        choices=["auto", "both"],
        help="'both': also read a PDF that has a text layer by OCR, as a second variant (default: CONCORD_OCR)",
    )
    add.add_argument(
        "--document", help="attach to this document id (created when new); default: decided by the text"
    )
    _wait_option(add)
    add.set_defaults(handler=cmd_add)

    remove = commands.add_parser("remove", help="remove a document, or one of its variants, and rebuild")
    remove.add_argument("document")
    remove.add_argument("variant", nargs="?")
    _wait_option(remove)
    remove.set_defaults(handler=cmd_remove)

    move = commands.add_parser("move", help="move a variant to another document and rebuild")
    move.add_argument("document")
    move.add_argument("variant")
    move.add_argument("--to", required=True, help="the document id to move it to (created when new)")
    _wait_option(move)
    move.set_defaults(handler=cmd_move)

    for name, handler, help_text in (
        ("restore", cmd_restore, "put a trash entry back (concord trash lists them) and rebuild"),
        ("purge", cmd_purge, "delete a trash entry for good, before it expires"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("entry", help="the trash entry id")
        _wait_option(command)
        command.set_defaults(handler=handler)

    retry = commands.add_parser("retry", help="run a failed upload again with the files it staged")
    retry.add_argument("job", help="the failed job's id (concord jobs --status failed lists them)")
    _wait_option(retry)
    retry.set_defaults(handler=cmd_retry)

    trash = commands.add_parser("trash", help="list removed documents and variants that can be restored")
    trash.add_argument("--document", help="only this document id")
    trash.set_defaults(handler=cmd_trash)

    audit = commands.add_parser(
        "audit", help="list the changes to the corpus, newest first, and who made them"
    )
    audit.add_argument("--document", help="only changes to this document id")
    audit.add_argument("--limit", type=int, default=50)
    audit.set_defaults(handler=cmd_audit)

    documents = commands.add_parser("documents", help="list the documents and their variants")
    documents.set_defaults(handler=cmd_documents)

    jobs = commands.add_parser("jobs", help="list recent jobs")
    jobs.add_argument("--status", choices=["queued", "running", "succeeded", "failed", "interrupted"])
    jobs.add_argument("--limit", type=int, default=20)
    jobs.set_defaults(handler=cmd_jobs)

    serve = commands.add_parser("serve", help="serve the HTTP API (builds the index first if there is none)")
    serve.add_argument("--host", help="address to bind (default: CONCORD_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: CONCORD_PORT, 8000)")
    serve.add_argument(
        "--watch", type=Path, metavar="DIR", help="poll DIR for new variant files (CONCORD_WATCH_DIR)"
    )
    serve.set_defaults(handler=cmd_serve)

    query = commands.add_parser("query", help="ask a question and print the answer with its provenance")
    query.add_argument("question")
    query.add_argument("--top-k", type=int, default=5)
    query.add_argument("--document", action="append", help="only answer from this document (repeatable)")
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
    except (ConcordError, FileNotFoundError) as exc:  # a refusal, raised before anything changed
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
