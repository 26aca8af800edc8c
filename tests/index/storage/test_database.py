"""The corpus database: schema version, jobs and the rebuild lease across processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from index.storage.database import Actor, CorpusDatabase, DatabaseError


def test_a_database_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    db = CorpusDatabase(url)
    db.set_meta("schema", "7")
    with pytest.raises(DatabaseError, match="schema version 7"):
        CorpusDatabase(url)


def test_a_database_from_before_extraction_is_upgraded_and_its_variants_read_as_text(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    db = CorpusDatabase(url)
    with db.transaction() as conn:
        db.add_document(conn, "notice", "通知", title_given=False)
        db.add_variant(
            conn,
            {"document_id": "notice", "id": "a", "file_name": "a.txt", "original_name": "a.txt", "sha256": "0" * 64,
             "size": 3, "encoding": "utf-8", "arrived_at": "2026-01-01", "sender": "t", "job_id": None},
            b"", ["k"],
        )  # fmt: skip
        for column in ("format", "original_sha256"):
            conn.exec_driver_sql(f"ALTER TABLE variants DROP COLUMN {column}")
    db.set_meta("schema", "2")
    upgraded = CorpusDatabase(url)
    assert upgraded.get_meta("schema") == "3"
    (record,) = upgraded.variants()
    assert (record.id, record.format, record.original_sha256) == ("a", "text", None)


def test_an_unopenable_database_says_which_setting_to_fix(tmp_path: Path) -> None:
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(DatabaseError, match="CONCORD_DATABASE_URL"):
        CorpusDatabase(f"sqlite:///{tmp_path / 'dir.db'}")


def test_one_lease_holder_at_a_time_and_a_dead_holder_is_replaced(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    first, second = CorpusDatabase(url), CorpusDatabase(url)
    assert first.acquire_lease()
    assert not second.acquire_lease()
    assert second.lease_holder()["owner"] == first.owner
    first.release_lease()
    assert second.acquire_lease()
    second.release_lease()
    # Another process takes the lease and dies (SIGKILL leaves no chance to release it).
    code = f"from index.storage.database import CorpusDatabase; assert CorpusDatabase({url!r}).acquire_lease(seconds=600)"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[3])
    assert first.acquire_lease()


def test_running_jobs_are_interrupted_and_pending_again(tmp_path: Path) -> None:
    db = CorpusDatabase(f"sqlite:///{tmp_path / 'c.db'}")
    job = db.create_job("reindex", "test", "tester", {})
    db.update_job(job.id, status="running")
    assert db.interrupt_running_jobs() == [job.id]
    assert db.job(job.id).status == "interrupted"
    assert [j.id for j in db.pending_jobs()] == [job.id]
    assert db.job_counts()["interrupted"] == 1


def test_variants_signed_under_an_older_version_are_re_signed_and_match_again(tmp_path: Path) -> None:
    from index.corpus.matching import SIGNATURE_VERSION
    from index.storage.corpus import Corpus
    from tests.helpers import SEEDS

    corpus = Corpus(CorpusDatabase(f"sqlite:///{tmp_path / 'c.db'}"), tmp_path / "corpus")
    assert corpus.ensure_signatures() == 0  # an empty database is simply marked current
    first, second = sorted(SEEDS.glob("*.txt"))[:2]
    stored = corpus.store(first.name, first.read_bytes(), "notice", Actor("test", "test"))
    [record] = corpus.db.variants()
    with corpus.db.transaction() as conn:  # as an old database holds it: another family, stale bands
        corpus.db.replace_signature(conn, record.pk, bytes(512), ["0:stale"])
        corpus.db.set_meta("signature_version", "1", conn)
    assert corpus.ensure_signatures() == 1
    assert corpus.db.get_meta("signature_version") == str(SIGNATURE_VERSION)
    assert corpus.ensure_signatures() == 0
    again = corpus.store(second.name, second.read_bytes(), None, Actor("test", "test"))
    assert again.document == stored.document == "notice"
    assert again.assignment is not None and again.assignment.decision == "matched"
