"""Every change to the corpus is all or nothing, whichever file-system call or commit fails.

Each operation runs once per step it takes, with that step failing (an
injected EIO, ENOSPC or failed commit, see tests/faults.py); after each run
the database and the corpus folder must agree and hold either the state from
before or the state from after, never a mix. With `dead` the disk stays
broken from that step on, so the change cannot even be undone at once; then
`recover()`, as the runner does at its next start, must settle it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from index.extract.model import Extraction, Line, Page, lines_text
from index.storage.corpus import Corpus
from index.storage.database import Actor, CorpusDatabase
from index.storage.files import INCOMING, JOURNAL, TRASH, companions
from tests.faults import Faults, each_step
from tests.helpers import SEEDS

ACTOR = Actor("test", "test")
SEED_FILES = sorted(SEEDS.glob("*.txt"))


def state(corpus: Corpus) -> tuple[frozenset, frozenset]:
    """What the corpus holds: live variants and trash entries, each with their bytes' hashes."""
    live = frozenset((v.document_id, v.id, v.sha256) for v in corpus.db.variants())
    trash = frozenset(
        (e.document_id, e.variant_id, tuple(sorted(v["sha256"] for v in e.variants)))
        for e in corpus.db.trash()
    )
    return live, trash


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_consistent(corpus: Corpus, settled: bool = True) -> None:
    """Every row's file is whole where the row says; when settled, no file or folder the rows do not explain."""
    root = corpus.files.root
    expected: set[Path] = set()
    for record in corpus.db.variants():
        path = corpus.files.variant_path(record.document_id, record.file_name)
        assert path.is_file() and sha(path) == record.sha256, f"{record.document_id}/{record.id} lost"
        expected.add(path)
        expected |= companions_whole(
            vars(record), lambda name, r=record: corpus.files.variant_path(r.document_id, name)
        )
    for entry in corpus.db.trash():
        for row in entry.variants:
            path = corpus.files.trash_path(entry.id, row["file_name"])
            assert path.is_file() and sha(path) == row["sha256"], f"trash {entry.id} lost {row['id']}"
            expected.add(path)
            expected |= companions_whole(row, lambda name, e=entry: corpus.files.trash_path(e.id, name))
    documents = {d.id for d in corpus.db.documents()}
    assert documents == {v.document_id for v in corpus.db.variants()}, "a document with no variant"
    if not settled:
        return
    assert not corpus.unsettled() and not any((root / JOURNAL).glob("*")), "a journal entry was left"
    on_disk = {
        p for p in root.rglob("*") if p.is_file() and p.relative_to(root).parts[0] not in (INCOMING, JOURNAL)
    }
    assert on_disk == expected, f"files the database does not explain: {sorted(on_disk - expected)}"
    folders = [
        p for p in root.rglob("*") if p.is_dir() and p.relative_to(root).parts[0] not in (INCOMING, JOURNAL)
    ]
    assert all(any(f.iterdir()) for f in folders if f.name != TRASH), "an empty folder was left"


def companions_whole(row: dict[str, Any], where: Callable[[str], Path]) -> set[Path]:
    """An extracted variant's original (matching its checksum) and layout, which must travel with it."""
    if row.get("format", "text") == "text":
        return set()
    original, layout = (where(name) for name in companions(row["file_name"]))
    assert original.is_file() and sha(original) == row["original_sha256"], f"{row['id']}: original lost"
    assert layout.is_file() and json.loads(layout.read_text(encoding="utf-8"))["format"] == row["format"]
    return {original, layout}


def scanned(path: Path) -> tuple[bytes, Extraction]:
    """A stand-in for a scanned PDF of a seed variant: fake file bytes and an extraction of its text
    (storage only keeps them; the extractors have tests of their own)."""
    text = path.read_text(encoding="utf-8")
    lines = [Line(1 + n // 40, (0.1, 0.1, 0.9, 0.12), 0, 0, 0.9) for n in range(text.count("\n") + 1)]
    joined, placed = lines_text(list(zip(text.split("\n"), lines, strict=True)))
    pages = [Page(n, 595.0, 842.0, "ocr", confidence=0.9) for n in range(1, placed[-1].page + 1)]
    extraction = Extraction(text=joined, format="pdf", method="ocr", pages=pages, lines=placed)
    return b"%PDF-1.7 scanned " + path.name.encode(), extraction


def fresh(tmp_path: Path) -> Callable[[], Corpus]:
    counter = iter(range(10**6))

    def prepare() -> Corpus:
        root = tmp_path / f"run{next(counter)}"
        corpus = Corpus(CorpusDatabase(f"sqlite:///{root / 'c.db'}"), root / "corpus")
        for path in SEED_FILES[:2]:
            corpus.store(path.name, path.read_bytes(), "notice", ACTOR)
        for name, seed, document in (
            ("scan.pdf", SEED_FILES[4], "notice"),
            ("photo.pdf", SEED_FILES[2], "other"),
        ):
            data, extraction = scanned(seed)
            corpus.store(name, data, document, ACTOR, extraction)
        corpus.store(SEED_FILES[2].name, SEED_FILES[2].read_bytes(), "other", ACTOR)
        # The trash entry holds an extracted variant (its original and layout travel with it).
        removed = corpus.remove_variant("notice", "scan", ACTOR)
        corpus.kept_entry = removed["trash"]  # type: ignore[attr-defined]
        return corpus

    return prepare


def first_variant(corpus: Corpus, document: str = "notice") -> str:
    return corpus.db.variants(document)[0].id


OPERATIONS: dict[str, Callable[[Corpus], Any]] = {
    "store an extracted file": lambda c: c.store(
        "again.pdf", scanned(SEED_FILES[3])[0], "notice", ACTOR, scanned(SEED_FILES[3])[1]
    ),
    "store a new document": lambda c: c.store(SEED_FILES[3].name, SEED_FILES[3].read_bytes(), "fresh", ACTOR),
    "store into a document": lambda c: c.store(
        SEED_FILES[3].name, SEED_FILES[3].read_bytes(), "notice", ACTOR
    ),
    "remove a variant": lambda c: c.remove_variant("notice", first_variant(c), ACTOR),
    "remove a document": lambda c: c.remove_document("notice", ACTOR),
    "restore": lambda c: c.restore(c.kept_entry, ACTOR),
    "purge": lambda c: c.purge(c.kept_entry, ACTOR),
    "move to a new document": lambda c: c.move_variant("other", first_variant(c, "other"), "moved", ACTOR),
    "move into a document": lambda c: c.move_variant("notice", first_variant(c), "other", ACTOR),
}


@pytest.mark.parametrize("dead", [False, True], ids=["one-step-fails", "disk-dies"])
@pytest.mark.parametrize("name", list(OPERATIONS))
def test_a_change_is_all_or_nothing_whichever_step_fails(
    name: str, dead: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    operation = OPERATIONS[name]
    reference = fresh(tmp_path / "reference")()
    before = state(reference)
    operation(reference)
    after = state(reference)
    assert after != before
    outcomes = {"before": 0, "after": 0}

    def check(corpus: Corpus, faults: Faults, error: BaseException | None) -> None:
        where = f"{name}, failing {faults.failed or 'nothing'} at call {faults.fail_at}"
        if not dead:
            # Settled at once: the rows' files are whole (leftovers of a committed change may wait).
            assert_consistent(corpus, settled=False)
        corpus.recover()
        assert_consistent(corpus)
        now = state(corpus)
        assert now in (before, after), where
        if error is None:
            assert now == after, where
        outcomes["before" if now == before else "after"] += 1

    steps = each_step(monkeypatch, fresh(tmp_path / "runs"), operation, check, dead=dead)
    assert steps >= 4  # the journal entry, a rename, its fsyncs, the commit: each was failed in turn
    assert outcomes["before"] > 0  # failing early undoes the change


def test_a_re_sign_that_fails_changes_no_signature(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def prepare() -> Corpus:
        corpus = fresh(tmp_path)()
        corpus.db.set_meta("signature_version", "0")
        return corpus

    def check(corpus: Corpus, faults: Faults, error: BaseException | None) -> None:
        signed = corpus.db.get_meta("signature_version") != "0"
        assert signed == (error is None or faults.failed == ["after commit"])  # idempotent: run again
        assert_consistent(corpus)

    assert each_step(monkeypatch, prepare, Corpus.ensure_signatures, check) >= 1
