"""A watched inbox folder: files dropped there are submitted like uploads, then moved to done/ or failed/.

The folder is polled, not watched with inotify, which does not fire on network
shares. A file is taken only once its size and modification time have stayed
the same for one poll; hidden and temporary files are ignored. A refused file
goes to failed/ at once with a `.reason.txt` beside it; an accepted one stays
until its job ends, then goes to done/ or failed/.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

from index.corpus.documents import DocumentIdError
from index.corpus.variants import VariantError
from index.jobs.submit import Upload
from index.storage.database import FINAL_STATUSES, CorpusDatabase, Job

log = logging.getLogger("concord")

DONE = "done"
FAILED = "failed"
_TEMPORARY_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".swp", ".download", ".filepart")


def is_candidate(path: Path) -> bool:
    """Whether a path in the inbox is a finished-looking file to take (not hidden, not temporary)."""
    name = path.name
    return (
        path.is_file()
        and not path.is_symlink()
        and not name.startswith((".", "~"))
        and not name.endswith("~")
        and not name.lower().endswith(_TEMPORARY_SUFFIXES)
    )


class InboxWatcher:
    """Polls `folder`; `submit(upload, origin)` is the one ingest path and returns the queued job."""

    def __init__(
        self,
        folder: Path,
        database: CorpusDatabase,
        submit: Callable[[Upload, str], Job],
        interval: float = 1.0,
    ) -> None:
        self.folder = folder
        self.db = database
        self.submit = submit
        self.interval = interval
        self._seen: dict[Path, tuple[int, int]] = {}
        self._pending: dict[str, Path] = {}  # job id -> file waiting for its job to end
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="concord-inbox", daemon=True)
        for sub in (DONE, FAILED):
            (folder / sub).mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception:
                log.exception("inbox %s: poll failed; trying again", self.folder)

    def poll(self) -> None:
        """One pass: settle finished jobs, then submit files that have stopped changing."""
        for job_id, path in list(self._pending.items()):
            job = self.db.job(job_id)
            if job is None or job.status in FINAL_STATUSES:
                del self._pending[job_id]
                if job is not None and job.status == "succeeded":
                    self._move(path, DONE)
                else:
                    self._move(path, FAILED, job.error if job else "its job disappeared")
        waiting = set(self._pending.values())
        current: dict[Path, tuple[int, int]] = {}
        for path in sorted(self.folder.iterdir()):
            if path in waiting or not is_candidate(path):
                continue
            stat = path.stat()
            current[path] = (stat.st_size, stat.st_mtime_ns)
            if self._seen.get(path) != current[path]:
                continue  # new or still changing: look again next time
            origin = f"inbox:{path}"
            open_jobs = self.db.open_jobs_from(origin)
            if open_jobs:  # submitted before a restart and not finished yet
                self._pending[open_jobs[0].id] = path
                continue
            try:
                job = self.submit(Upload(path.name, path.read_bytes()), origin)
            except (VariantError, DocumentIdError, ValueError) as exc:
                self._move(path, FAILED, str(exc))
                continue
            log.info("inbox: %s accepted as job %s", path.name, job.id)
            self._pending[job.id] = path
        self._seen = current

    def _move(self, path: Path, where: str, reason: str | None = None) -> None:
        if not path.exists():
            return
        target = self.folder / where / path.name
        n = 2
        while target.exists():
            target = self.folder / where / f"{path.stem}-{n}{path.suffix}"
            n += 1
        shutil.move(path, target)
        if reason is not None:
            target.with_name(target.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
        log.info("inbox: %s moved to %s/", path.name, where)
