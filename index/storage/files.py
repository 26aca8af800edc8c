"""Durable files: write to a temporary name, fsync, rename, fsync the folder; the corpus folder layout.

The corpus directory holds one folder per document with its variant files
(`<corpus>/<document>/<variant>.txt`) and `.incoming/`, where an upload is
staged durably before its job is acknowledged.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

INCOMING = ".incoming"


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


class CorpusFiles:
    """Where variant files live on disk."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def variant_path(self, document_id: str, file_name: str) -> Path:
        return self.root / document_id / file_name

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
