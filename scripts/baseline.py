"""The naive reference pipeline the benchmark measures concord against; not part of the product.

Recursive character chunks of each raw file (langchain-text-splitters), the
same embedding model, a flat FAISS index, no collation: each chunk answers
alone, with its one variant as support. It speaks the same `/v1/query`
contract, so `../shared/eval/evaluate.py` scores it the same way.

    python scripts/baseline.py build --out var/baseline
    python scripts/baseline.py serve --index var/baseline --port 8001
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

CHUNK_CHARS = 300
CHUNK_OVERLAP = 50


class Query(BaseModel):
    question: str = Field(min_length=1, max_length=2000)
    top_k: int = Field(5, ge=1, le=50)


def build(seeds: Path, out: Path, embedder) -> dict:
    import faiss
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from index.corpus.variants import load_variants

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=CHUNK_CHARS, chunk_overlap=CHUNK_OVERLAP, add_start_index=True
    )
    # A folder of sub-folders holds one document each; the naive pipeline just reads every file.
    folders = sorted(p for p in seeds.iterdir() if p.is_dir()) or [seeds]
    variants = [v for folder in folders for v in load_variants(folder).variants]
    chunks = []
    for variant in variants:
        for document in splitter.create_documents([variant.raw_text]):
            start = document.metadata["start_index"]
            end = start + len(document.page_content)
            chunks.append(
                {
                    "variant": variant.id,
                    "text": document.page_content,
                    "char_start": start,
                    "char_end": end,
                    "line_start": variant.raw_text.count("\n", 0, start) + 1,
                    "line_end": variant.raw_text.count("\n", 0, end - 1) + 1,
                }
            )
    vectors = embedder.embed_batch([c["text"] for c in chunks], "document")
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    out.mkdir(parents=True, exist_ok=True)
    faiss.write_index(index, str(out / "chunks.faiss"))
    meta = {"total": len(variants), "chunks": chunks}
    (out / "chunks.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return {"chunks": len(chunks)}


def create_app(index_dir: Path, embedder):
    import faiss
    from fastapi import FastAPI
    from starlette.concurrency import run_in_threadpool

    index = faiss.read_index(str(index_dir / "chunks.faiss"))
    meta = json.loads((index_dir / "chunks.json").read_text(encoding="utf-8"))
    app = FastAPI(title="naive baseline")

    def search(question: str, top_k: int) -> list[dict]:
        vector = embedder.embed_batch([question], "query")
        scores, ids = index.search(np.ascontiguousarray(vector), top_k)
        results = []
        for rank, (score, chunk_id) in enumerate(zip(scores[0], ids[0], strict=True), 1):
            chunk = meta["chunks"][int(chunk_id)]
            results.append(
                {
                    "rank": rank,
                    "text": chunk["text"],
                    "score": float(score),
                    "support": {"variants": [chunk["variant"]], "count": 1, "total": meta["total"]},
                    "readings": [chunk],
                }
            )
        return results

    @app.get("/readyz")
    def readyz() -> dict:
        return {"status": "ready"}

    @app.post("/v1/query")
    async def query(body: Query) -> dict:
        return {
            "question": body.question,
            "results": await run_in_threadpool(search, body.question, body.top_k),
        }

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("--seeds", default="seeds")
    b.add_argument("--out", default="var/baseline")
    s = sub.add_parser("serve")
    s.add_argument("--index", default="var/baseline")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8001)
    for p in (b, s):
        p.add_argument("--models-dir", default="var/models")
    args = parser.parse_args(argv)

    from index.embedding.torch_backend import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder("bundled:e5-small", Path(args.models_dir))
    if args.command == "build":
        print(json.dumps(build(Path(args.seeds), Path(args.out), embedder)))
        return 0
    import uvicorn

    uvicorn.run(create_app(Path(args.index), embedder), host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
