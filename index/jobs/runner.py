"""Running jobs: one runner at a time holds the rebuild lease, applies every pending job, rebuilds once.

Whichever process can start a rebuild (the server's worker, `concord add`,
`concord build`) goes through `JobRunner.run_pending`, which first takes the
lease in the database; the others leave their jobs queued for the holder. Jobs
that arrive during a rebuild wait and are coalesced into the next one. A job
found `running` when the lease is taken was left by a process that died: it
is marked `interrupted` and run again. The holder also settles corpus changes
a crash left half done (`Corpus.recover`) and purges trash entries whose time
is up, before it runs anything else.

An `add` job first extracts every file it holds (the `extract` stage, its
progress counted in pages: a PDF's text layer, OCR of scans), then stores them:
a file that turns out unreadable fails the job before anything is stored.

A job that fails before it changed the corpus (a full disk while storing)
keeps its staged files and can be retried (`POST /v1/jobs/{id}/retry`); a
refusal of the input itself (not text, unknown variant) drops them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from index.build import BuildConfig, BuildReport, build_index
from index.embedding import Embedder
from index.errors import NotFound, Refusal, Unavailable
from index.extract import Extraction, ExtractOptions, extract
from index.storage.corpus import Corpus
from index.storage.database import Actor, Job, now

log = logging.getLogger("concord")

LEASE_SECONDS = 60.0
PROGRESS_EVERY_SECONDS = 0.5
RETENTION = Actor(caller="retention", origin="retention")


@dataclass
class RunReport:
    """What one call of `run_pending` did."""

    jobs: list[str] = field(default_factory=list)
    interrupted: list[str] = field(default_factory=list)
    settled: int = 0  # half-done corpus changes found and settled
    purged: list[str] = field(default_factory=list)  # trash entries whose time was up
    builds: list[BuildReport] = field(default_factory=list)


class _Heartbeat:
    """Renews the lease while a long rebuild runs, so other processes do not take it over."""

    def __init__(self, corpus: Corpus) -> None:
        self._corpus = corpus
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="concord-lease", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(LEASE_SECONDS / 3):
            self._corpus.db.acquire_lease(seconds=LEASE_SECONDS)


def _pages(files: list[dict[str, Any]]) -> int:
    """An `add` job's unit of progress while it extracts: the pages of its files (a text file is one)."""
    return sum(item.get("pages", 1) for item in files) or 1


class JobRunner:
    """Applies pending jobs to the corpus and publishes one new index for them."""

    def __init__(
        self,
        corpus: Corpus,
        build: BuildConfig,
        embedder: Callable[[], Embedder],
        on_publish: Callable[[BuildReport], None] | None = None,
        on_rebuild: Callable[[float, bool], None] | None = None,
        on_progress: Callable[[str, int, int], None] | None = None,
        extract_options: ExtractOptions | None = None,
        on_extract: Callable[[Extraction], None] | None = None,
    ) -> None:
        self.corpus = corpus
        self.extract_options = extract_options or ExtractOptions()
        self._on_extract = on_extract  # each reading extracted (pages, OCR seconds for /metrics)
        self.build = build
        self._embedder = embedder
        self._on_publish = on_publish
        self._on_rebuild = on_rebuild
        self._on_progress = on_progress

    def run_pending(self) -> RunReport | None:
        """Run every pending job if this process can take the lease; None when another process holds it.

        A job left `running` counts as work: only the lease holder runs jobs, so
        one found running once the lease is taken belongs to a process that died.
        """
        db = self.corpus.db
        # The worker polls every second: an idle poll only reads.
        if not db.has_work(now()) and not self.corpus.unsettled():
            return RunReport()
        if not db.acquire_lease(seconds=LEASE_SECONDS):
            return None
        report = RunReport()
        try:
            with _Heartbeat(self.corpus):
                report.settled = self.corpus.recover()
                report.purged = self.corpus.purge_expired(RETENTION)
                report.interrupted = db.interrupt_running_jobs()
                for job_id in report.interrupted:
                    log.warning("job %s was interrupted by a stopped process; running it again", job_id)
                while jobs := db.pending_jobs():
                    report.jobs += [j.id for j in jobs]
                    build = self._run_batch(jobs)
                    if build is not None:
                        report.builds.append(build)
        finally:
            db.release_lease()
        return report

    def _run_batch(self, jobs: list[Job]) -> BuildReport | None:
        db = self.corpus.db
        for job in jobs:
            files = job.payload.get("files", [])
            db.update_job(
                job.id,
                status="running",
                started_at=now(),
                attempts=job.attempts + 1,
                stage="extract" if files else "store",
                done=0,
                total=_pages(files),
                error=None,
            )
        results: dict[str, dict[str, Any]] = {}
        rebuild: list[Job] = []
        for job in jobs:
            try:
                result = self._apply(job)
            except Refusal as exc:
                self._fail(job, str(exc))
                continue
            except OSError as exc:  # nothing changed (the store is all or nothing): the job can run again
                self._fail(
                    job,
                    f"{_disk_message(exc)}: POST /v1/jobs/{job.id}/retry or `concord retry {job.id}`",
                    keep_files=True,
                )
                continue
            except Exception as exc:  # a fault of ours, not the input's: this job fails, the others run on
                log.exception("job %s failed", job.id)
                self._fail(
                    job,
                    f"the job failed ({type(exc).__name__}: {exc}); the log holds job {job.id}",
                    keep_files=True,
                )
                continue
            results[job.id] = result
            if result.pop("changed"):
                rebuild.append(job)
            else:
                self._succeed(job, result, stage="store")
        if not rebuild:
            return None
        started = time.perf_counter()
        try:
            report = self.rebuild(self._progress_writer(rebuild))
        except (OSError, Unavailable) as exc:
            reason = f"{_disk_message(exc)}, then" if isinstance(exc, OSError) else f"{exc};"
            message = (
                f"the corpus change was made but the index could not be rebuilt ({reason} rebuild it with "
                "POST /v1/reindex or `concord build`); the published index is unchanged"
            )
            for job in rebuild:
                self._fail(job, message)
            if self._on_rebuild:
                self._on_rebuild(time.perf_counter() - started, False)
            return None
        if self._on_rebuild:
            self._on_rebuild(time.perf_counter() - started, True)
        if self._on_publish:
            self._on_publish(report)
        counts = report.manifest.counts
        for job in rebuild:
            self._succeed(
                job,
                stage="publish",
                result={
                    **results[job.id],
                    "generation": report.manifest.generation,
                    "documents": counts.documents,
                    "variants": counts.variants,
                    "clause_groups": counts.clause_groups,
                    "embedded": report.embedded,
                    "collated_documents": report.collated,
                    "coalesced_with": [j.id for j in rebuild if j.id != job.id],
                },
            )
        return report

    def rebuild(self, progress: Callable[[str, int, int], None] = lambda *_: None) -> BuildReport:
        """Build and publish an index of the whole corpus as it is now (the lease must be held)."""
        sources, problems = self.corpus.sources()
        for problem in problems:
            log.error("variant skipped in the build: %s", problem)
        with self.corpus.db.transaction() as conn:
            generation = self.corpus.db.next_generation(conn)
        return build_index(self.build, sources, self._embedder(), progress, generation)

    def _apply(self, job: Job) -> dict[str, Any]:
        """The store stage of a job; `changed` says whether the corpus changed and needs a rebuild."""
        corpus = self.corpus
        actor = Actor.of(job)
        payload = job.payload
        if job.kind == "add":
            extracted = self._extract(job)
            corpus.db.update_job(job.id, stage="store", done=0, total=len(extracted))
            stored = []
            for done, (item, data, reading) in enumerate(extracted, 1):
                stored.append(corpus.store(item["name"], data, payload.get("document"), actor, reading))
                corpus.db.update_job(job.id, done=done)
            return {
                "files": [s.to_dict() for s in stored],
                "changed": any(s.duplicate_of is None for s in stored),
            }
        if job.kind == "remove":
            variant = payload.get("variant")
            if variant is None:
                return {**corpus.remove_document(payload["document"], actor), "changed": True}
            return {**corpus.remove_variant(payload["document"], variant, actor), "changed": True}
        if job.kind == "move":
            moved = corpus.move_variant(payload["document"], payload["variant"], payload["to"], actor)
            return {**moved, "changed": True}
        if job.kind == "restore":
            return {**corpus.restore(payload["trash"], actor), "changed": True}
        if job.kind == "purge":  # the entry was out of the index already
            return {**corpus.purge(payload["trash"], actor), "changed": False}
        if job.kind == "reindex":
            corpus.record(actor, "reindex")
            return {"changed": True}
        raise Refusal(f"unknown job kind {job.kind!r}")

    def _extract(self, job: Job) -> list[tuple[dict[str, Any], bytes, Extraction | None]]:
        """The extract stage: every file of an `add` job read (plain text passes as it is), before any is
        stored, so a file that turns out unreadable fails the job with nothing changed. Progress is in
        pages across the job's files."""
        options = replace(self.extract_options, ocr=job.payload.get("ocr", self.extract_options.ocr))
        readings: list[tuple[dict[str, Any], bytes, Extraction | None]] = []
        total = _pages(job.payload["files"])
        before = 0
        last = {"at": 0.0}

        def progress(done_in_file: int) -> None:
            if self._on_progress:  # the command line's progress bar
                self._on_progress("extract", before + done_in_file, total)
            moment = time.monotonic()
            if moment - last["at"] >= PROGRESS_EVERY_SECONDS:
                last["at"] = moment
                self.corpus.db.update_job(job.id, done=before + done_in_file)

        for item in job.payload["files"]:
            staged = self.corpus.files.root / item["staged"]
            try:
                data = staged.read_bytes()
            except FileNotFoundError:
                raise NotFound(
                    f"the staged copy of {item['name']!r} is gone ({staged}); upload the file again"
                ) from None
            if item.get("format", "text") == "text":
                readings.append((item, data, None))
            else:
                for reading in extract(item["name"], data, options, progress):
                    if self._on_extract:
                        self._on_extract(reading)
                    readings.append((item, data, reading))
            before += item.get("pages", 1)
            self.corpus.db.update_job(job.id, done=before)
        return readings

    def _succeed(self, job: Job, result: dict[str, Any], stage: str) -> None:
        self.corpus.db.update_job(job.id, status="succeeded", finished_at=now(), result=result, stage=stage)
        self.corpus.files.drop_staging(job.id)  # only now: a re-run after a crash still has the files

    def _fail(self, job: Job, message: str, keep_files: bool = False) -> None:
        log.error("job %s failed: %s", job.id, message)
        self.corpus.db.update_job(job.id, status="failed", finished_at=now(), error=message)
        if not keep_files:  # kept when the job can be retried as it is
            self.corpus.files.drop_staging(job.id)

    def _progress_writer(self, jobs: list[Job]) -> Callable[[str, int, int], None]:
        last = {"stage": "", "at": 0.0}

        def write(stage: str, done: int, total: int) -> None:
            if self._on_progress:
                self._on_progress(stage, done, total)
            moment = time.monotonic()
            if stage == last["stage"] and done < total and moment - last["at"] < PROGRESS_EVERY_SECONDS:
                return
            last.update(stage=stage, at=moment)
            for job in jobs:
                self.corpus.db.update_job(job.id, stage=stage, done=done, total=total)

        return write


def _disk_message(exc: OSError) -> str:
    where = f" {exc.filename}" if exc.filename else ""
    return f"could not write{where}: {exc.strerror or exc}; free disk space or fix the folder's permissions, then retry"


class JobWorker:
    """A background thread that runs pending jobs: woken at once by a submission, else every `interval` s."""

    def __init__(self, runner: JobRunner, interval: float = 1.0) -> None:
        self.runner = runner
        self.interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="concord-jobs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.runner.run_pending()
            except Exception:
                log.exception("the job runner failed; it will try again")
            self._wake.wait(self.interval)
            self._wake.clear()
