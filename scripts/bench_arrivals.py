"""Benchmark: time to publish after one new variant arrives, against a full rebuild, on a synthetic corpus.

The corpus comes from scripts/synthetic_corpus.py: real sentences recombined
into documents, each with a few variants made by seeded perturbations (dropped
and swapped characters, loops, spaced text, broken lines). Everything runs
through the real job runner and model; the figures are ratios measured in one run.

    .venv/bin/python -m scripts.bench_arrivals --documents 100
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from index.embedding import load_embedder
from index.jobs.submit import Upload, submit_files, submit_reindex
from scripts.synthetic_corpus import generate
from service.runtime import job_runner, open_corpus
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--paragraphs", type=int, default=12, help="clauses per document")
    parser.add_argument("--variants", type=int, default=3)
    args = parser.parse_args()
    documents = [texts for _id, _clean, texts in generate(args.documents, args.paragraphs, args.variants + 1)]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(var_dir=Path(tmp), seeds_dir=None, models_dir=ROOT / "var" / "models")
        embedder = load_embedder(settings.embedding_backend, settings.model, settings.resolved_models_dir)
        corpus = open_corpus(settings)
        runner = job_runner(settings, corpus, lambda: embedder)
        for number, variants in enumerate(documents):
            uploads = [Upload(f"v{k}.txt", text.encode()) for k, text in enumerate(variants[:-1])]
            submit_files(corpus, uploads, f"doc{number:03d}", "bench", "bench", 10**8, 1000)
        started = time.perf_counter()
        report = runner.run_pending()
        full_cold = time.perf_counter() - started
        build = report.builds[0]
        counts = vars(build.manifest.counts)

        submit_reindex(corpus, "bench", "bench")
        started = time.perf_counter()
        runner.run_pending()
        full_warm = time.perf_counter() - started

        submit_files(corpus, [Upload("new.txt", documents[0][-1].encode())], None, "bench", "bench", 10**8)
        started = time.perf_counter()
        one = runner.run_pending().builds[0]
        incremental = time.perf_counter() - started

    print(
        f"synthetic corpus: {counts['documents']} documents, {counts['variants']} variants, "
        f"{counts['clause_groups']} clause groups, {counts['vectors']} vectors"
    )
    print(f"full rebuild, cold caches (everything segmented, collated, embedded): {full_cold:7.1f} s")
    print(f"full rebuild, warm caches (reindex, nothing changed):                  {full_warm:7.1f} s")
    print(
        f"one new variant, store to publish:                                     {incremental:7.1f} s "
        f"({one.collated} document collated, {one.embedded} texts embedded)"
    )
    print(f"ratio one new variant / full cold rebuild: {incremental / full_cold:.3f}")


if __name__ == "__main__":
    main()
