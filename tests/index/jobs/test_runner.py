"""The job runner over a real corpus and the real model: coalesced rebuilds, failures that keep the index."""

from __future__ import annotations

from pathlib import Path

from index.build import BuildConfig
from index.jobs.runner import JobRunner
from index.jobs.submit import Upload, submit_files, submit_reindex
from index.storage.corpus import Corpus
from index.storage.database import CorpusDatabase
from tests.conftest import LAWS, SEEDS


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
    assert report.builds[0].manifest["counts"]["documents"] == 2
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
