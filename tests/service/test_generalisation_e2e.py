"""Our own frozen question sets through a real server over five real documents: statutes nobody tuned for, and
questions nothing answers. The floors sit just under the figures measured when the sets were frozen and first
tuned (see README); a change that loses ground fails here."""

from __future__ import annotations

from pathlib import Path

from scripts.quality import five_documents, load_evaluator, read_set
from tests.helpers import MODELS, ROOT
from tests.servers import post_json, running_server

DATA = ROOT / "tests" / "data"
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"


def test_frozen_sets_through_the_real_service(tmp_path: Path, shared_cache: Path, built_index) -> None:
    settings = {
        "CONCORD_SEEDS_DIR": str(five_documents(tmp_path / "corpus")),
        "CONCORD_VAR_DIR": str(tmp_path / "var"),
        "CONCORD_MODELS_DIR": str(MODELS),
        "CONCORD_CACHE_DIR": str(shared_cache),
    }
    evaluator = load_evaluator()
    with running_server(settings, tmp_path / "server.log", ready_timeout=600) as server:

        def ask(item: dict) -> dict:
            status, body = post_json(server.base + "/v1/query", {"question": item["question"], "top_k": 5})
            assert status == 200, body
            return body

        statutes = read_set(DATA / "statutes.jsonl")
        answers = {item["id"]: ask(item) for item in statutes + read_set(DEV)}
        summary = evaluator.summarize([evaluator.judge(i, answers[i["id"]]["results"]) for i in statutes])
        assert summary["all"]["hit@1"] >= 0.6, summary
        assert summary["all"]["hit@3"] >= 0.7, summary
        assert summary["provenance"] == 1.0, summary

        unanswerable = read_set(DATA / "unanswerable.jsonl")
        caught = [not ask(item)["answerable"] for item in unanswerable]
        flagged = [not body["answerable"] for body in answers.values()]
    assert sum(caught) / len(caught) >= 0.8, caught
    assert sum(flagged) / len(flagged) <= 0.05, flagged
    for body in answers.values():
        assert 0.0 <= body["confidence"] <= 1.0
