"""Retrieval quality in-process: question sets against a corpus, scored by the shared evaluator's own judge.

    .venv/bin/python -m scripts.quality --corpus DIR [--set FILE ...] [--unanswerable FILE]

DIR holds one sub-folder per document (its variants inside), as CONCORD_SEEDS_DIR
takes it. The index is built the product's way (corpus database, one rebuild
job) under --var. Each set is scored with `judge` and `summarize` from
../shared/eval/evaluate.py, so figures match the HTTP evaluation. Fitting the
fusion is scripts/fit_fusion.py's; README figures come from the HTTP evaluator
against a running service.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
EVALUATOR = ROOT.parent / "shared" / "eval" / "evaluate.py"
LAWS = ROOT.parent / "shared" / "corpora" / "laws"


def load_evaluator(path: Path = EVALUATOR) -> ModuleType:
    spec = importlib.util.spec_from_file_location("shared_evaluate", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load the evaluator at {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_set(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def five_documents(folder: Path) -> Path:
    """The seed notice and the four statutes of ../shared/corpora/laws, one sub-folder each, as
    CONCORD_SEEDS_DIR takes them: the corpus our statute and unanswerable sets are scored over."""
    shutil.copytree(ROOT / "seeds", folder / "seeds")
    for law in sorted(LAWS.iterdir()):
        shutil.copytree(law, folder / law.name)
    return folder


def build_searcher(corpus: Path, var: Path, backend: str = "onnx", fusion=None):
    """Build the index over `corpus` the product's way and return a Searcher on it (with `fusion`, or
    the fitted one)."""
    from index.embedding import load_embedder
    from index.jobs.submit import submit_reindex
    from index.published import LoadedIndex
    from index.query import Searcher
    from service.runtime import job_runner, open_corpus
    from service.settings import Settings

    settings = Settings(
        seeds_dir=corpus, var_dir=var, models_dir=ROOT / "var" / "models", embedding_backend=backend
    )
    embedder = load_embedder(settings.embedding_backend, settings.model, settings.resolved_models_dir)
    store = open_corpus(settings)
    if not settings.resolved_index_dir.exists():
        submit_reindex(store, "quality", "quality")
        job_runner(settings, store, lambda: embedder).run_pending()
    return Searcher(LoadedIndex.load(settings.resolved_index_dir, settings.embedding_id), embedder, fusion)


def as_result(group) -> dict:
    """A clause group in the HTTP contract's shape, as much of it as the judge reads."""
    return {
        "text": group.canonical,
        "support": {"variants": list(group.support.variants)},
        "readings": [{"variant": r.variant, "text": r.text} for r in group.readings],
    }


def as_results(hits: list) -> list[dict]:
    return [as_result(hit.group) for hit in hits]


def score(searcher, evaluator: ModuleType, items: list[dict], top_k: int = 5) -> dict:
    rows = [
        evaluator.judge(item, as_results(searcher.search(item["question"], top_k).hits)) for item in items
    ]
    return evaluator.summarize(rows)


def answerability(searcher, answerable: list[dict], unanswerable: list[dict]) -> dict:
    """Precision and recall of 'not answered' over both kinds of question."""
    judged_answerable = [searcher.search(i["question"], 5).answerable for i in answerable]
    judged_unanswerable = [not searcher.search(i["question"], 5).answerable for i in unanswerable]
    caught = sum(judged_unanswerable)
    false_alarms = judged_answerable.count(False)
    flagged = caught + false_alarms
    return {
        "unanswerable_recall": caught / len(unanswerable) if unanswerable else float("nan"),
        "unanswerable_precision": caught / flagged if flagged else float("nan"),
        "answerable_flagged": false_alarms / len(answerable) if answerable else float("nan"),
    }


def _line(name: str, summary: dict) -> str:
    en = summary.get("en", {})
    return (
        f"{name:28} n={summary['n']:3} hit@1={summary['all']['hit@1']:.3f} "
        f"en={en.get('hit@1', float('nan')):.3f} hit@3={summary['all']['hit@3']:.3f} "
        f"mrr={summary['all']['mrr']:.3f} provenance={summary['provenance']:.3f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--var", type=Path, default=Path("/tmp/concord-quality"))
    parser.add_argument("--set", type=Path, action="append", default=[])
    parser.add_argument("--unanswerable", type=Path)
    parser.add_argument("--backend", default="onnx", choices=["onnx", "onnx-int8", "torch"])
    args = parser.parse_args(argv)

    evaluator = load_evaluator()
    searcher = build_searcher(args.corpus, args.var, args.backend)
    sets = {path.stem: read_set(path) for path in args.set}
    for name, items in sets.items():
        print(_line(name, score(searcher, evaluator, items)), flush=True)
    if args.unanswerable:
        answerable = [item for items in sets.values() for item in items]
        print(json.dumps(answerability(searcher, answerable, read_set(args.unanswerable))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
