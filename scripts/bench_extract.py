"""Benchmark: reading PDFs and scans, in pages per minute, and from upload to searchable for a scanned notice.

One notice of about twenty A4 pages is made from real sentences (scripts/synthetic_corpus.py) and
printed three ways with the test fixtures' builders (tests/files/paged.py, the CJK font the tests
install): as UTF-8 text, as a PDF with a text layer, and scanned (every page an image at 150 dpi,
no text layer, read by OCR). Then, on this machine's cores:

- the extraction stage alone (`index.extract.extract`), pages per minute, text layer and OCR;
- upload to searchable: each file is submitted as an upload is and run through the real job runner
  (extract, store, collate, embed, publish), on its own corpus of the seed notice whose embedding
  cache holds the seeds' vectors only, so each file's clauses are embedded cold. The text file is
  the baseline; the PDFs are reported as ratios to it, measured in the same run.

    .venv/bin/python -m scripts.bench_extract [--pages 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from index.embedding import load_embedder
from index.extract import ExtractOptions, extract
from index.jobs.runner import JobRunner
from index.jobs.submit import Upload, submit_files, submit_reindex
from index.storage.corpus import Corpus
from scripts.synthetic_corpus import generate
from service.runtime import job_runner, open_corpus
from service.settings import Settings
from tests.files import paged

ROOT = Path(__file__).resolve().parents[1]
TEXT_PDF_LINES = 18  # what tests.files.paged.text_pdf fits on its A5 page at 12 pt
TEXT_PDF_CHARS = 26


def notice_text(pages: int) -> str:
    """A notice that fills `pages` scanned A4 pages: real sentences, one clause a paragraph."""
    room = pages * paged.A4_LINES_PER_PAGE
    _id, clauses, _variants = next(generate(1, clauses=room, variants=1, seed=23))
    paragraphs, lines = [], 0
    for clause in clauses:
        needed = -(-len(clause) // paged.A4_CHARS_PER_LINE)
        if lines + needed > room:
            break
        paragraphs.append(clause)
        lines += needed
    return "\n".join(paragraphs)


def text_layer_pdf(text: str) -> bytes:
    lines = [
        paragraph[i : i + TEXT_PDF_CHARS]
        for paragraph in text.splitlines()
        for i in range(0, len(paragraph), TEXT_PDF_CHARS)
    ]
    return paged.text_pdf([lines[i : i + TEXT_PDF_LINES] for i in range(0, len(lines), TEXT_PDF_LINES)])


def pages_per_minute(name: str, data: bytes, repeats: int) -> tuple[float, int]:
    """The median pages per minute of the extraction stage over `repeats` runs, and the page count."""
    speeds, count = [], 0
    for _ in range(repeats):
        started = time.perf_counter()
        (reading,) = extract(name, data, ExtractOptions())
        speeds.append(len(reading.pages) * 60 / (time.perf_counter() - started))
        count = len(reading.pages)
    return statistics.median(speeds), count


def seed_corpus(var: Path, cache: Path) -> tuple[Corpus, JobRunner]:
    """A corpus of the seed notice, built and published; its job runner."""
    settings = Settings(
        var_dir=var, seeds_dir=ROOT / "seeds", models_dir=ROOT / "var" / "models", cache_dir=cache
    )
    embedder = load_embedder(settings.embedding_backend, settings.model, settings.resolved_models_dir)
    corpus = open_corpus(settings)
    submit_reindex(corpus, "bench", "bench")
    runner = job_runner(settings, corpus, lambda: embedder)
    runner.run_pending()
    return corpus, runner


def upload_to_searchable(warm_cache: Path, name: str, data: bytes, workdir: Path) -> float:
    """Seconds from submitting the file to the published index holding it, on a corpus of the seed
    notice whose cache holds the seeds' vectors and nothing of this file."""
    cache = workdir / f"cache-{name}"
    shutil.copytree(warm_cache, cache)
    corpus, runner = seed_corpus(workdir / f"var-{name}", cache)
    started = time.perf_counter()
    submit_files(corpus, [Upload(name, data)], None, "bench", "bench", 10**8)
    report = runner.run_pending()
    elapsed = time.perf_counter() - started
    assert report is not None and report.builds, f"{name}: nothing was published"
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20, help="scanned A4 pages of the notice")
    parser.add_argument("--repeats", type=int, default=3, help="runs of the text-layer extraction")
    args = parser.parse_args()
    text = notice_text(args.pages)
    files = {
        "notice.txt": text.encode("utf-8"),
        "notice.pdf": text_layer_pdf(text),
        "notice-scan.pdf": paged.scanned_text(text),
    }
    print(f"{os.cpu_count()} cores; a notice of {len(text)} characters")

    text_speed, text_pages = pages_per_minute("notice.pdf", files["notice.pdf"], args.repeats)
    ocr_speed, ocr_pages = pages_per_minute("notice-scan.pdf", files["notice-scan.pdf"], 1)
    print(f"text layer: {text_pages} A5 pages, {text_speed:9.0f} pages/min (median of {args.repeats})")
    print(f"OCR:        {ocr_pages} A4 pages, {ocr_speed:9.1f} pages/min ({60 / ocr_speed:.1f} s a page)")

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        cache = workdir / "cache"
        seed_corpus(workdir / "warm", cache)  # the seeds' vectors, embedded once
        seconds = {name: upload_to_searchable(cache, name, data, workdir) for name, data in files.items()}
    baseline = seconds["notice.txt"]
    print(f"upload to searchable, the same notice as UTF-8 text (baseline): {baseline:7.1f} s")
    print(
        f"                      as a text-layer PDF:                      {seconds['notice.pdf']:7.1f} s "
        f"(ratio {seconds['notice.pdf'] / baseline:.2f})"
    )
    print(
        f"                      scanned, {ocr_pages} pages read by OCR:            {seconds['notice-scan.pdf']:7.1f} s "
        f"(ratio {seconds['notice-scan.pdf'] / baseline:.2f})"
    )


if __name__ == "__main__":
    main()
