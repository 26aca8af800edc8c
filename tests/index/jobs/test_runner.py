"""The job runner over a real corpus and the real model: coalesced rebuilds, failures that keep the index."""

from __future__ import annotations

from pathlib import Path

from index.build import BuildConfig
from index.jobs.runner import JobRunner
from index.jobs.submit import Upload, submit_files, submit_reindex
from index.storage.corpus import Corpus
from index.storage.database import CorpusDatabase
from tests.helpers import LAWS, SEEDS


def _runner(tmp_path: Path, embedder, cache: Path) -> JobRunner:
    corpus = Corpus(CorpusDatabase(f"sqlite:///{tmp_path / 'c.db'}"), tmp_path / "corpus")
    corpus.bootstrap(SEEDS, 10 * 1024 * 1024)
    config = BuildConfig(tmp_path / "index", cache, "bundled:e5-small")
    return JobRunner(corpus, config, lambda: embedder)


def test_jobs_queued_together_are_coalesced_into_one_rebuild(tmp_path: Path, embedder, shared_cache) -> None:
    runner = _runner(tmp_path, embedder, shared_cache)
    corpus = runner.corpus
    law = LAWS / "work-safety-law-2021"
    jobs = [
        submit_files(corpus, [Upload("a.txt", (law / "lawrefbook.txt").read_bytes())], None, "t", "t", 10**7),
        submit_files(corpus, [Upload("b.txt", (law / "china-laws.txt").read_bytes())], None, "t", "t", 10**7),
        submit_reindex(corpus, "t", "t"),
    ]
    report = runner.run_pending()
    assert report is not None and len(report.builds) == 1
    finished = [corpus.db.job(j.id) for j in jobs]
    assert {j.status for j in finished} == {"succeeded"}
    assert {r for j in finished for r in j.result["coalesced_with"]} == {j.id for j in jobs}
    assert finished[1].result["files"][0]["document"] == finished[0].result["files"][0]["document"]
    assert report.builds[0].manifest.counts.documents == 2
    assert not (corpus.files.root / ".incoming" / jobs[0].id).exists()  # staged copies dropped once done


def test_an_unwritable_index_folder_fails_the_job_and_keeps_the_published_index(
    tmp_path: Path, embedder, shared_cache
) -> None:
    runner = _runner(tmp_path, embedder, shared_cache)
    submit_reindex(runner.corpus, "t", "t")
    runner.run_pending()
    published = (tmp_path / "index").resolve()
    (tmp_path / ".builds").rename(tmp_path / "builds-moved")
    (tmp_path / ".builds").write_text("a file where the builds folder should be")
    job = submit_reindex(runner.corpus, "t", "t")
    runner.run_pending()
    failed = runner.corpus.db.job(job.id)
    assert failed.status == "failed"
    assert "could not write" in failed.error and "published index is unchanged" in failed.error
    assert (tmp_path / "index").resolve() == published


def test_a_store_that_fails_on_the_disk_keeps_the_upload_and_is_retried(
    tmp_path: Path, embedder, shared_cache, monkeypatch
) -> None:
    import errno

    import index.storage.corpus as corpus_module
    from index.jobs.submit import submit_retry

    runner = _runner(tmp_path, embedder, shared_cache)
    corpus = runner.corpus
    before = {(v.document_id, v.id) for v in corpus.db.variants()}
    job = submit_files(
        corpus, [Upload("note.txt", "湖南省关于职业技能培训的补充说明。".encode())], "note", "t", "t", 10**7
    )

    def full_disk(path: Path, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    with monkeypatch.context() as patch:
        patch.setattr(corpus_module, "write_durably", full_disk)
        runner.run_pending()
    failed = corpus.db.job(job.id)
    assert failed.status == "failed" and failed.stage == "store"
    assert "No space left" in failed.error and f"/v1/jobs/{job.id}/retry" in failed.error
    assert {(v.document_id, v.id) for v in corpus.db.variants()} == before
    assert not (corpus.files.root / "note").exists()  # no empty document folder
    assert (corpus.files.root / failed.payload["files"][0]["staged"]).exists()  # kept for the retry

    assert submit_retry(corpus, job.id).status == "queued"
    runner.run_pending()
    retried = corpus.db.job(job.id)
    assert retried.status == "succeeded" and retried.attempts == 2
    assert ("note", "note") in {(v.document_id, v.id) for v in corpus.db.variants()}


def test_a_job_a_stopped_process_left_running_shows_as_interrupted(
    tmp_path: Path, embedder, shared_cache
) -> None:
    runner = _runner(tmp_path, embedder, shared_cache)
    db = runner.corpus.db
    job = submit_reindex(runner.corpus, "t", "t")
    db.update_job(job.id, status="running", attempts=1)  # as a process killed mid-rebuild leaves it
    report = runner.run_pending()
    assert report is not None and report.interrupted == [job.id]
    ran = db.job(job.id)
    assert ran.status == "succeeded" and ran.attempts == 2 and ran.interrupted_at is not None
    assert [j.id for j in db.jobs("interrupted", 10)] == [job.id]


def test_a_job_that_hits_a_fault_of_ours_fails_alone_and_the_others_run(
    tmp_path: Path, embedder, shared_cache, monkeypatch
) -> None:
    """An unexpected exception (a bug, not the input) fails its job with a message; it never leaves the
    job running forever or stops the jobs queued beside it."""
    runner = _runner(tmp_path, embedder, shared_cache)
    corpus = runner.corpus
    store = Corpus.store

    def broken_for_one(self, name, data, document, actor, extraction=None):
        if name == "broken.txt":
            raise TypeError("an unexpected fault")
        return store(self, name, data, document, actor, extraction)

    broken = submit_files(corpus, [Upload("broken.txt", "第一条 破损。".encode())], "one", "t", "t", 10**7)
    fine = submit_files(corpus, [Upload("fine.txt", "第一条 完好的条文。".encode())], "two", "t", "t", 10**7)
    monkeypatch.setattr(Corpus, "store", broken_for_one)
    runner.run_pending()
    failed, succeeded = corpus.db.job(broken.id), corpus.db.job(fine.id)
    assert failed.status == "failed" and "TypeError: an unexpected fault" in failed.error
    assert (corpus.files.root / failed.payload["files"][0]["staged"]).exists()  # kept: it can be retried
    assert succeeded.status == "succeeded"
    assert "two" in {d.id for d in corpus.db.documents()} and "one" not in {
        d.id for d in corpus.db.documents()
    }
