"""The corpus: removals go to the trash and come back byte for byte; every change leaves an audit row."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from index.extract.model import Extraction, Line, Page, lines_text
from index.storage.corpus import Conflict, Corpus
from index.storage.database import Actor, CorpusDatabase, now
from tests.helpers import SEEDS

OPERATOR = Actor("api:3f1c2a9e", "api", "127.0.0.1")


def corpus_at(root: Path, trash_days: float = 30.0) -> Corpus:
    return Corpus(CorpusDatabase(f"sqlite:///{root / 'c.db'}"), root / "corpus", trash_days)


def sha_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def corpus(tmp_path: Path) -> Corpus:
    corpus = corpus_at(tmp_path)
    for path in sorted(SEEDS.glob("*.txt"))[:3]:
        corpus.store(path.name, path.read_bytes(), "notice", OPERATOR)
    return corpus


def test_a_removed_variant_is_in_the_trash_and_restored_with_the_same_bytes(corpus: Corpus) -> None:
    record = corpus.db.variants("notice")[0]
    path = corpus.files.variant_path("notice", record.file_name)
    before = sha_of(path)
    removed = corpus.remove_variant("notice", record.id, OPERATOR)
    assert not path.exists()
    assert record.id not in {v.id for v in corpus.db.variants("notice")}
    entry = corpus.trash_entry(str(removed["trash"]))
    assert sha_of(corpus.files.trash_path(entry.id, record.file_name)) == before
    assert entry.removed_by == OPERATOR.caller and entry.variants[0]["original_name"] == record.original_name

    restored = corpus.restore(entry.id, OPERATOR)
    assert restored["variants"] == [record.id]
    assert sha_of(path) == before == corpus.find_variant("notice", record.id).sha256
    assert corpus.db.trash() == []
    assert not (corpus.files.root / ".trash" / entry.id).exists()
    actions = [(e.action, e.variant_id, e.caller, e.client) for e in corpus.db.audit(limit=2)]
    assert actions == [
        ("restore", record.id, OPERATOR.caller, "127.0.0.1"),
        ("remove", record.id, OPERATOR.caller, "127.0.0.1"),
    ]


def test_a_removed_document_comes_back_whole_and_its_folder_is_gone_meanwhile(corpus: Corpus) -> None:
    shas = {v.id: v.sha256 for v in corpus.db.variants("notice")}
    removed = corpus.remove_document("notice", OPERATOR)
    assert removed["document_removed"] is True
    assert corpus.db.document("notice") is None and not (corpus.files.root / "notice").exists()
    corpus.restore(str(removed["trash"]), OPERATOR)
    assert corpus.db.document("notice") is not None
    assert {v.id: v.sha256 for v in corpus.db.variants("notice")} == shas
    for record in corpus.db.variants("notice"):
        text = corpus.files.variant_path("notice", record.file_name).read_bytes()
        assert hashlib.sha256(text).hexdigest() == record.sha256


def test_a_restore_over_a_taken_id_gets_a_suffix_and_over_the_same_bytes_is_refused(corpus: Corpus) -> None:
    record = corpus.db.variants("notice")[0]
    original = corpus.files.variant_path("notice", record.file_name).read_bytes()
    entry = str(corpus.remove_variant("notice", record.id, OPERATOR)["trash"])
    corpus.store(record.original_name, original, "notice", OPERATOR)  # the same bytes, stored again
    with pytest.raises(Conflict, match="stored again"):
        corpus.restore(entry, OPERATOR)
    assert corpus.trash_entry(entry)  # refused: nothing changed
    corpus.remove_variant("notice", record.id, OPERATOR)
    corpus.store(f"{record.id}.txt", "另一份完全不同的文本。".encode(), "notice", OPERATOR)
    restored = corpus.restore(entry, OPERATOR)
    assert restored["renamed"] == {record.id: f"{record.id}-2"}


def test_a_purge_deletes_the_files_for_good_and_expired_entries_are_purged(tmp_path: Path) -> None:
    corpus = corpus_at(tmp_path, trash_days=0)
    path = sorted(SEEDS.glob("*.txt"))[0]
    stored = corpus.store(path.name, path.read_bytes(), "notice", OPERATOR)
    sha = corpus.find_variant("notice", stored.variant).sha256
    entry = str(corpus.remove_variant("notice", stored.variant, OPERATOR)["trash"])
    assert corpus.db.has_work(now()) and not corpus.db.has_work()  # an expired entry is the runner's work
    assert corpus.purge_expired(OPERATOR) == [entry]
    assert corpus.db.trash() == [] and not (corpus.files.root / ".trash" / entry).exists()
    with pytest.raises(LookupError, match="no trash entry"):
        corpus.restore(entry, OPERATOR)
    purge = corpus.db.audit(limit=1)[0]
    assert purge.action == "purge" and purge.detail["sha256"] == [sha]


def test_a_move_renames_the_file_and_leaves_no_empty_folder(corpus: Corpus) -> None:
    record = corpus.db.variants("notice")[0]
    before = sha_of(corpus.files.variant_path("notice", record.file_name))
    moved = corpus.move_variant("notice", record.id, "other", OPERATOR)
    assert moved["to"] == f"other/{record.id}"
    assert sha_of(corpus.files.variant_path("other", record.file_name)) == before
    assert not corpus.files.variant_path("notice", record.file_name).exists()
    for other in corpus.db.variants("notice"):
        corpus.move_variant("notice", other.id, "other", OPERATOR)
    assert corpus.db.document("notice") is None and not (corpus.files.root / "notice").exists()


def test_an_extracted_file_keeps_its_original_and_layout_through_trash_restore_and_move(
    corpus: Corpus,
) -> None:
    text = "第一条 本通知自发布之日起施行。\n第二条 各地应当遵照执行。"
    line = Line(1, (0.1, 0.2, 0.9, 0.25), 0, 0, 0.91)
    joined, lines = lines_text([(part, line) for part in text.split("\n")])
    extraction = Extraction(
        text=joined,
        format="pdf",
        method="ocr",
        pages=[Page(1, 595.0, 842.0, "ocr", confidence=0.91)],
        lines=lines,
    )
    original = b"%PDF-1.7 the scan as it arrived"
    stored = corpus.store("scan.pdf", original, "notice", OPERATOR, extraction)
    assert stored.variant == "scan" and stored.extraction is not None and stored.extraction["ocr_pages"] == 1
    record, path = corpus.original("notice", "scan")
    assert record.format == "pdf" and path.read_bytes() == original
    assert record.original_sha256 == hashlib.sha256(original).hexdigest()
    sources, _ = corpus.sources()
    variant = next(v for d in sources for v in d.variants if v.id == "scan")
    assert variant.raw_text == joined
    assert Extraction.from_dict(variant.layout or {}, variant.raw_text).locate(0, 5)[0].rects == [line.rect]

    entry = corpus.remove_variant("notice", "scan", OPERATOR)["trash"]
    assert not path.exists() and not any(
        p.name.startswith("scan.") for p in (corpus.files.root / "notice").iterdir()
    )
    # The id is taken meanwhile: the restored variant's companions follow it to its new name.
    corpus.store("scan.txt", "另一份文本。".encode(), "notice", OPERATOR)
    assert corpus.restore(entry, OPERATOR)["renamed"] == {"scan": "scan-2"}
    _, path = corpus.original("notice", "scan-2")
    assert path.name == "scan-2.original" and path.read_bytes() == original
    corpus.move_variant("notice", "scan-2", "elsewhere", OPERATOR)
    record, path = corpus.original("elsewhere", "scan-2")
    assert path.read_bytes() == original and path.parent.name == "elsewhere"
    layout = corpus._layout("elsewhere", record)
    assert layout is not None and layout["original_name"] == "scan.pdf"  # from the database's record


def test_a_converted_text_file_keeps_its_original_bytes(corpus: Corpus) -> None:
    data = "第一条 以国标编码保存的文本。".encode("gb18030")
    corpus.store("gbk.txt", data, "notice", OPERATOR)
    record, path = corpus.original("notice", "gbk")
    assert record.encoding == "gb18030" and path.read_bytes() == data
    utf8 = sorted(SEEDS.glob("*.txt"))[0]
    record, path = corpus.original("notice", utf8.stem)
    assert record.original_sha256 is None and path.read_bytes() == utf8.read_bytes()
