"""Durable files: write to a temporary name, fsync, rename, fsync the folder; the corpus folder layout.

The corpus directory holds one folder per document with its variant files
(`<corpus>/<document>/<variant>.txt`, and for a variant extracted from another
format its companions: `<variant>.original`, the file as it arrived, and
`<variant>.layout.json`, where each part of the text lies in it); `.incoming/`, where an upload is
staged durably before its job is acknowledged; `.trash/<entry>/`, the files
of removed variants until they are restored or purged; and `.journal/`, one
entry per change to the files under way (see `index.storage.corpus`).
"""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from pathlib import Path

INCOMING = ".incoming"
ORIGINAL_SUFFIX = ".original"
LAYOUT_SUFFIX = ".layout.json"
TRASH = ".trash"
JOURNAL = ".journal"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, data: bytes) -> None:
    """After this returns, `path` holds `data` whole, even if the machine loses power next."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with tmp.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def remove_durably(path: Path) -> None:
    if path.exists():
        path.unlink()
        fsync_dir(path.parent)


def move_durably(source: Path, target: Path) -> None:
    """Rename `source` to `target` (one folder tree, so atomic) and make both folders' entries durable."""
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    fsync_dir(target.parent)
    if source.parent != target.parent:
        fsync_dir(source.parent)


def remove_if_empty(folder: Path) -> None:
    """Drop a folder a change left empty (a document's, a trash entry's); never one that holds a file.

    A folder that is not empty or already gone is fine; any other failure (the disk) is raised, so
    the change's journal entry stays and the folder is removed when it is settled."""
    try:
        folder.rmdir()
    except OSError as exc:
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT):
            raise


def companions(file_name: str) -> tuple[str, str]:
    """The names of a variant file's original and layout companions (present only for extracted ones)."""
    stem = file_name.removesuffix(".txt")
    return f"{stem}{ORIGINAL_SUFFIX}", f"{stem}{LAYOUT_SUFFIX}"


def variant_file_names(file_name: str) -> list[str]:
    """A variant's text file and its companions' names: what moves with it to the trash and back."""
    return [file_name, *companions(file_name)]


class CorpusFiles:
    """Where variant files live on disk."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def variant_path(self, document_id: str, file_name: str) -> Path:
        return self.root / document_id / file_name

    def trash_path(self, entry_id: str, file_name: str) -> Path:
        return self.root / TRASH / entry_id / file_name

    @property
    def journal_dir(self) -> Path:
        return self.root / JOURNAL

    def staging_dir(self, job_id: str) -> Path:
        return self.root / INCOMING / job_id

    def stage(self, job_id: str, position: int, data: bytes) -> Path:
        path = self.staging_dir(job_id) / f"{position:04d}.bin"
        write_durably(path, data)
        return path

    def drop_staging(self, job_id: str) -> None:
        shutil.rmtree(self.staging_dir(job_id), ignore_errors=True)

    def check_writable(self) -> None:
        """Raise OSError now, not halfway through a job, when the corpus folder cannot be written."""
        self.root.mkdir(parents=True, exist_ok=True)
        probe = self.root / f".probe-{uuid.uuid4().hex[:8]}"
        probe.write_bytes(b"")
        probe.unlink()
