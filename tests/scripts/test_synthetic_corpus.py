"""The synthetic corpus generator: a pure function of its seed, documents distinct, variants noisy."""

from __future__ import annotations

from pathlib import Path

from index.corpus.matching import ATTACH_SIMILARITY, signature, similarity
from scripts.synthetic_corpus import generate, write


def test_the_same_seed_gives_the_same_corpus_and_another_seed_another() -> None:
    first = list(generate(3, 40, 3, seed=1))
    assert first == list(generate(3, 40, 3, seed=1))
    assert first != list(generate(3, 40, 3, seed=2))


def test_variants_are_noisy_copies_of_their_document_and_documents_differ() -> None:
    documents = list(generate(4, 60, 3, seed=5))
    for _id, clean, texts in documents:
        assert len(clean) == 61  # a title, then the clauses
        assert len(set(texts)) == 3 and all(text != "\n".join(clean) + "\n" for text in texts)
    own = similarity(signature(documents[0][2][0]), signature(documents[0][2][1]))
    other = max(
        similarity(signature(documents[0][2][0]), signature(texts[0])) for _i, _c, texts in documents[1:]
    )
    assert own > 0.5 and other < ATTACH_SIMILARITY  # a variant attaches to its own document only


def test_write_lays_out_one_folder_per_document(tmp_path: Path) -> None:
    write(tmp_path, 2, 10, 3, seed=3)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.txt")) == [
        f"doc-0000{d}/v{v}.txt" for d in (1, 2) for v in (1, 2, 3)
    ]
