"""Our own frozen question sets through a real server over seven real documents (the seed notice and six laws):
questions about each, in everyday English and Chinese, and questions nothing answers. The floors sit just
under the figures the fitted fusion scores (see README "Quality and speed"); a change that loses ground fails
here."""

from __future__ import annotations

from pathlib import Path

from scripts.fit_fusion import UNANSWERABLE_SETS
from scripts.quality import five_documents, load_evaluator, read_set
from tests.helpers import MODELS, ROOT
from tests.servers import post_json, running_server

DATA = ROOT / "tests" / "data"
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"


def test_frozen_sets_through_the_real_service_over_seven_documents(
    tmp_path: Path, shared_cache: Path, built_index
) -> None:
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

        sets = {
            name: read_set(DATA / f"{name}.jsonl")
            for name in (
                "multidoc",
                "statutes",
                "helpdesk",
                "enquiries",
                "chat",
                "portal",
                "frontdesk",
                "hotline",
            )
        } | {"dev": read_set(DEV)}
        answers = {item["id"]: ask(item) for items in sets.values() for item in items}
        summaries = {
            name: evaluator.summarize([evaluator.judge(i, answers[i["id"]]["results"]) for i in items])
            for name, items in sets.items()
        }
        # The unanswerable sets the fit reads, one list for both.
        unanswerable = [item for path in UNANSWERABLE_SETS.values() for item in read_set(path)]
        caught = [not ask(item)["answerable"] for item in unanswerable]
        # The fifth and sixth sets are kept out of the fit (scripts/fit_fusion.py), to judge the next
        # change unseen.
        unseen_caught = {
            name: [not ask(item)["answerable"] for item in read_set(DATA / f"{name}_unanswerable.jsonl")]
            for name in ("frontdesk", "hotline")
        }
    floors = {
        "multidoc": (0.92, 0.97),
        "statutes": (0.84, 0.92),
        "helpdesk": (0.76, 0.9),
        "enquiries": (0.83, 0.88),
        "chat": (0.72, 0.8),
        "portal": (0.93, 0.96),
        "frontdesk": (0.77, 0.86),  # unseen by the fit: 0.800 / 0.889 at its first run
        "hotline": (0.75, 0.93),  # unseen by the fit: 0.778 / 0.956 at its first run
        "dev": (0.9, 0.95),
    }
    # Two of the portal set's seed questions name, in their gold support, a variant that has the gold
    # wording inside another clause (004 spliced the tail of one item onto another; 001 rewrote an
    # item around the same phrase): no passage of one clause shows both, so 56 of 58 is its ceiling.
    provenance_floors = {"portal": 0.96}
    for name, (hit1, hit3) in floors.items():
        summary = summaries[name]
        assert summary["all"]["hit@1"] >= hit1, (name, summary)
        assert summary["all"]["hit@3"] >= hit3, (name, summary)
        assert summary["provenance"] >= provenance_floors.get(name, 1.0), (name, summary)
    flagged = [not body["answerable"] for body in answers.values()]
    assert sum(caught) / len(caught) >= 0.62, caught  # 96 of 142 (0.68) fitted, over HTTP
    # frontdesk: 6 of 15 at its first run; 11 of 15 once the kind asked is read in the first result
    # (still unseen). hotline: 7 of 20 at its first run, by this model and the one before it alike.
    assert sum(unseen_caught["frontdesk"]) >= 10, unseen_caught
    assert sum(unseen_caught["hotline"]) >= 6, unseen_caught
    assert sum(flagged) / len(flagged) <= 0.05, flagged
    for body in answers.values():
        assert 0.0 <= body["confidence"] <= 1.0
