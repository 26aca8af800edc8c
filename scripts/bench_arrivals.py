"""Benchmark: time to publish after one new variant arrives, against a full rebuild, on a synthetic corpus.

The corpus is made of real clause text (the seed notice and the statutes in
shared/corpora) cut into documents, each with a few variants made by seeded
perturbations (dropped and swapped characters, spaced text, broken lines, a
repeated block). Everything runs through the real job runner and model; the
figures are ratios measured in one run.

    .venv/bin/python scripts/bench_arrivals.py --documents 100
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from index.jobs.submit import Upload, submit_files, submit_reindex
from index.retrieval.embedder import SentenceTransformerEmbedder
from service.runtime import job_runner, open_corpus
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
LAWS = ROOT.parent / "shared" / "corpora" / "laws"


def source_paragraphs() -> list[str]:
    paragraphs = []
    for path in sorted(LAWS.glob("*/lawrefbook.txt")) + sorted((ROOT / "seeds").glob("*.txt"))[:1]:
        paragraphs += [
            p.strip() for p in path.read_text(encoding="utf-8").split("\n\n") if len(p.strip()) > 20
        ]
    return paragraphs


def perturb(text: str, rng: random.Random) -> str:
    """A noisy transcription: dropped and swapped characters, a spaced-out line, a broken line, a loop."""
    chars = list(text)
    for _ in range(max(1, len(chars) // 200)):
        i = rng.randrange(len(chars))
        if rng.random() < 0.5:
            del chars[i]
        elif i + 1 < len(chars):
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
    lines = "".join(chars).split("\n")
    if lines:
        k = rng.randrange(len(lines))
        lines[k] = (
            " ".join(lines[k])
            if rng.random() < 0.5
            else lines[k][: len(lines[k]) // 2] + "\n" + lines[k][len(lines[k]) // 2 :]
        )
        j = rng.randrange(len(lines))
        lines[j:j] = [lines[j]] * rng.randint(0, 3)
    return "\n".join(lines)


def synthetic_documents(
    count: int, paragraphs_per_document: int, variants: int, seed: int = 7
) -> list[list[str]]:
    rng = random.Random(seed)
    pool = source_paragraphs()
    documents = []
    for number in range(count):
        body = rng.sample(pool, paragraphs_per_document)
        header = f"关于第{number + 1}号合成文件的通知"
        text = header + "\n\n" + "\n\n".join(f"第{i + 1}条 {p}" for i, p in enumerate(body))
        documents.append([perturb(text, rng) for _ in range(variants)])
    return documents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--paragraphs", type=int, default=12)
    parser.add_argument("--variants", type=int, default=3)
    args = parser.parse_args()
    documents = synthetic_documents(args.documents, args.paragraphs, args.variants + 1)
    embedder = SentenceTransformerEmbedder("bundled:e5-small", ROOT / "var" / "models")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(var_dir=Path(tmp), seeds_dir=None, models_dir=ROOT / "var" / "models")
        corpus = open_corpus(settings)
        runner = job_runner(settings, corpus, lambda: embedder)
        for number, variants in enumerate(documents):
            uploads = [Upload(f"v{k}.txt", text.encode()) for k, text in enumerate(variants[:-1])]
            submit_files(corpus, uploads, f"doc{number:03d}", "bench", "bench", 10**8, 1000)
        started = time.perf_counter()
        report = runner.run_pending()
        full_cold = time.perf_counter() - started
        build = report.builds[0]
        counts = build.manifest["counts"]

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
