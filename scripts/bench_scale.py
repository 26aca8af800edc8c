"""Scale benchmark: how each stage grows with the corpus, on synthetic documents (scripts/synthetic_corpus.py).

Phases (all by default; `--phases` picks some):
- collate: one document of N clauses in 4 variants, segmented and collated, for N from 100 to 100k;
  windowed alignment against comparing every pair where that still fits;
- embed: embedding throughput (clauses/s) and the process's memory on 10k synthetic clauses,
  the default onnx backend beside torch on a slice of them;
- vectors: FAISS flat, IVF and HNSW at 10k, 100k and 1M vectors derived from those real clause
  embeddings (each a real vector plus seeded noise): build time, index bytes, single-question
  latency and recall@10 against exact search; and the index `create_store` picks for each size;
- milvus: the product's vector backends through their one interface, FAISS beside Milvus
  (milvus-lite), at 10k and 100k vectors: insert throughput, query latency, recall@10;
- lexical: the BM25 index at up to 1M clauses: tokenising, building, memory, query latency.

    .venv/bin/python -m scripts.bench_scale [--phases collate,embed,vectors,milvus,lexical] [--max-vectors 1000000]
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from index.vectors import VectorStore
from scripts.synthetic_corpus import Noise, document_clauses, generate, noisy_variant, source_sentences

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "var" / "models"
QUERIES = 200


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def clauses(count: int, seed: int = 7) -> list[str]:
    """`count` clean synthetic clauses (documents of 100)."""
    found: list[str] = []
    for _id, clean, _texts in generate(-(-count // 100), 100, 0, seed):
        found.extend(clean[1:])
    return found[:count]


def bench_collate(sizes: list[int], exact_up_to: int) -> list[dict]:
    import random

    import index.corpus.collate as collate
    from index.corpus.variants import load_variants

    sentences = source_sentences()
    rows = []
    for size in sizes:
        rng = random.Random(size)
        clean = document_clauses(sentences, size, rng)
        with tempfile.TemporaryDirectory() as tmp:
            for number in range(1, 5):
                Path(tmp, f"v{number}.txt").write_text(noisy_variant(clean, Noise(), rng), encoding="utf-8")
            variants = load_variants(Path(tmp), max_bytes=10**9).variants
            started = time.perf_counter()
            windowed = collate.collate_variants(variants)
            row = {"clauses": size, "groups": len(windowed.groups), "seconds": time.perf_counter() - started}
            if size <= exact_up_to:
                limit = collate.EXACT_ALIGN_UNITS
                collate.EXACT_ALIGN_UNITS = 10**9
                try:
                    started = time.perf_counter()
                    exact = collate.collate_variants(variants)
                    row["exact_seconds"] = time.perf_counter() - started
                finally:
                    collate.EXACT_ALIGN_UNITS = limit
                same = {frozenset(r.text for r in g.readings) for g in windowed.groups}
                row["same_groups_as_exact"] = len(
                    same & {frozenset(r.text for r in g.readings) for g in exact.groups}
                ) / len(exact.groups)
        print(json.dumps(row), file=sys.stderr)
        rows.append(row)
    return rows


def bench_embed(count: int, torch_slice: int) -> tuple[dict, np.ndarray]:
    from index.embedding import load_embedder

    texts = clauses(count)
    before = _rss_mb()
    embedder = load_embedder("onnx", "bundled:e5-small", MODELS)
    loaded = _rss_mb()
    started = time.perf_counter()
    vectors = embedder.embed_batch(texts, "document")
    seconds = time.perf_counter() - started
    row = {
        "clauses": len(texts),
        "onnx_clauses_per_s": len(texts) / seconds,
        "model_mb": loaded - before,
        "rss_after_mb": _rss_mb(),
        "peak_mb": _peak_mb(),
    }
    del embedder
    gc.collect()
    torch_model = load_embedder("torch", "bundled:e5-small", MODELS)
    started = time.perf_counter()
    torch_model.embed_batch(texts[:torch_slice], "document")
    row["torch_clauses_per_s"] = torch_slice / (time.perf_counter() - started)
    print(json.dumps(row), file=sys.stderr)
    return row, vectors


def derived_vectors(real: np.ndarray, size: int, seed: int, noise: float = 0.35) -> np.ndarray:
    """`size` unit vectors, each a real clause embedding plus seeded Gaussian noise: the real vectors'
    geometry (clusters, the hubs of a small model) at any size."""
    rng = np.random.default_rng(seed)
    out = np.empty((size, real.shape[1]), np.float32)
    for start in range(0, size, 100_000):
        stop = min(start + 100_000, size)
        base = real[rng.integers(0, len(real), stop - start)]
        block = base + rng.normal(0, noise / np.sqrt(real.shape[1]), base.shape).astype(np.float32)
        out[start:stop] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def _vectors_and_truth(real: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`size` derived vectors, the benchmark's questions, and each question's exact top 10."""
    import faiss

    data = derived_vectors(real, size, seed=size)
    queries = derived_vectors(real, QUERIES, seed=size + 1)
    exact = faiss.IndexFlatIP(data.shape[1])
    exact.add(data)
    return data, queries, exact.search(queries, 10)[1]


def _searched(store: VectorStore, queries: np.ndarray, truth: np.ndarray) -> tuple[list[float], float]:
    """Each question searched alone: the latencies, and recall@10 against the exact top 10."""
    latencies, found = [], []
    for query in queries:
        began = time.perf_counter()
        _, ids = store.search(query[None, :], 10)
        latencies.append(time.perf_counter() - began)
        found.append(ids[0])
    recall = float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]))
    return latencies, recall


def bench_vectors(real: np.ndarray, sizes: list[int]) -> list[dict]:
    import faiss

    from index.vectors.faiss_store import FaissStore, index_spec

    faiss.omp_set_num_threads(2)
    rows = []
    for size in sizes:
        data, queries, truth = _vectors_and_truth(real, size)
        for kind in ("flat", "ivf", "hnsw"):
            if kind == "flat" and size > 1_000_000:
                continue
            # A single-question search sets this thread's OpenMP threads to 1 (FaissStore.search):
            # builds get both cores back.
            faiss.omp_set_num_threads(2)
            started = time.perf_counter()
            store = FaissStore(data.shape[1], size, kind=kind, training=data)
            store.add(np.arange(size), data)
            build = time.perf_counter() - started
            latencies, recall = _searched(store, queries, truth)
            row = {
                "vectors": size,
                "index": store.kind,
                "spec": index_spec(kind, size),
                "build_s": build,
                "bytes_per_vector": len(faiss.serialize_index(store._index)) / size,
                "p50_ms": 1000 * statistics.median(latencies),
                "p99_ms": 1000 * float(np.percentile(latencies, 99)),
                "recall@10": recall,
            }
            print(json.dumps(row), file=sys.stderr)
            rows.append(row)
            del store
            gc.collect()
    return rows


def bench_milvus(real: np.ndarray, sizes: list[int]) -> list[dict]:
    """Each vector backend as the product runs it (index type chosen by size), on the same derived
    vectors: insert throughput through the store interface, single-question latency, recall@10, and
    one document of 1,000 vectors replaced in place (delete by document, upsert)."""
    import faiss

    from index.vectors import VectorBatch, VectorConfig, open_backend

    rows = []
    for size in sizes:
        data, queries, truth = _vectors_and_truth(real, size)
        batch = VectorBatch(
            ids=np.arange(size, dtype=np.int64),
            vectors=data,
            documents=[f"doc-{i // 1000}" for i in range(size)],
            groups=[f"doc-{i // 1000}:g{i}" for i in range(size)],
            texts=[""] * size,
        )
        for backend in ("faiss", "milvus"):
            with tempfile.TemporaryDirectory() as tmp:
                faiss.omp_set_num_threads(2)
                vectors = open_backend(VectorConfig(backend=backend, uri=f"{tmp}/milvus.db"))
                started = time.perf_counter()
                store = vectors.create(data.shape[1], size)
                store.upsert(batch)
                vectors.publish(store)
                insert = time.perf_counter() - started
                store.search(queries[:1], 10)  # a first search may finish building the index
                latencies, recall = _searched(store, queries, truth)
                # One document (1,000 vectors) arriving again: deleted and upserted in place.
                rows_of_one = [i for i, document in enumerate(batch.documents) if document == "doc-0"]
                began = time.perf_counter()
                store.delete_documents(["doc-0"])
                store.upsert(batch.take(rows_of_one))
                in_place = time.perf_counter() - began
                row = {
                    "vectors": size,
                    "backend": backend,
                    "one_document_in_place_s": in_place,
                    "index": store.describe()["index_type"],
                    "insert_s": insert,
                    "inserts_per_s": size / insert,
                    "p50_ms": 1000 * statistics.median(latencies),
                    "p99_ms": 1000 * float(np.percentile(latencies, 99)),
                    "recall@10": recall,
                }
                print(json.dumps(row), file=sys.stderr)
                rows.append(row)
                del store, vectors
                open_backend.cache_clear()
                gc.collect()
    return rows


def bench_lexical(sizes: list[int]) -> list[dict]:
    from index.retrieval.lexical import ChineseTokenizer, Concept, LexicalIndex

    tokenizer = ChineseTokenizer()
    questions = clauses(QUERIES, seed=99)
    rows = []
    for size in sizes:
        texts = clauses(size)
        before = _rss_mb()
        started = time.perf_counter()
        tokens = [tokenizer.tokens(text) for text in texts]
        tokenised = time.perf_counter() - started
        started = time.perf_counter()
        index = LexicalIndex.build(tokens)
        built = time.perf_counter() - started
        del tokens
        gc.collect()
        concepts = [[Concept([w]) for w in tokenizer.words(q)] for q in questions[:50]]
        latencies = []
        for question in concepts:
            began = time.perf_counter()
            index.scores(question)
            latencies.append(time.perf_counter() - began)
        row = {
            "clauses": size,
            "tokenise_s": tokenised,
            "build_s": built,
            "index_mb": _rss_mb() - before,
            "vocabulary": len(index.vocabulary),
            "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * float(np.percentile(latencies, 99)),
        }
        print(json.dumps(row), file=sys.stderr)
        rows.append(row)
        del index
        gc.collect()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", default="collate,embed,vectors,milvus,lexical")
    parser.add_argument("--max-vectors", type=int, default=1_000_000)
    parser.add_argument("--max-lexical", type=int, default=1_000_000)
    parser.add_argument("--max-collate", type=int, default=100_000)
    parser.add_argument("--embed", type=int, default=10_000, help="clauses embedded for throughput")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    phases = set(args.phases.split(","))
    figures: dict[str, object] = {}
    if "collate" in phases:
        sizes = [s for s in (100, 1_000, 10_000, 100_000) if s <= args.max_collate]
        figures["collate"] = bench_collate(sizes, exact_up_to=1_000)
    if phases & {"embed", "vectors", "milvus"}:
        figures["embed"], real = bench_embed(args.embed, torch_slice=min(args.embed, 2_000))
        if "milvus" in phases:
            sizes = [s for s in (10_000, 100_000) if s <= args.max_vectors]
            figures["milvus"] = bench_milvus(real, sizes)
        if "vectors" in phases:
            sizes = [s for s in (10_000, 100_000, 1_000_000) if s <= args.max_vectors]
            figures["vectors"] = bench_vectors(real, sizes)
    if "lexical" in phases:
        sizes = [s for s in (10_000, 100_000, 1_000_000) if s <= args.max_lexical]
        figures["lexical"] = bench_lexical(sizes)
    print(json.dumps(figures, indent=1))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
