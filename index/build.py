"""Building the search index: collate each document (cached), choose what is embedded, embed what is
new, fill the vector store and the lexical side, then hand it to `index.published` to write and publish.

Only documents whose variants changed are collated again and only text never
embedded before is embedded; a store that can be updated in place (Milvus) is,
document by document, when few documents changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz

from index.corpus.collate import collate_variants
from index.corpus.model import ClauseGroup, Collation, DocumentSource, Problem
from index.corpus.segment import Segmenter
from index.embedding import CachedEmbedder, Embedder, load_second_embedder
from index.published import (
    BuildContents,
    Counts,
    IndexUnavailable,
    Manifest,
    StoreInBuild,
    read_manifest,
    second_vector_config,
    write_and_publish,
)
from index.retrieval.expansion import build_lexicon, dictionary, domain_words, load_glossary
from index.retrieval.glosses import EnglishAnalyzer, GlossIndex, gloss_terms, title_words
from index.retrieval.lexical import ChineseTokenizer, LexicalIndex
from index.vectors import EMBEDDED, VectorBackend, VectorBatch, VectorConfig, VectorStore, open_backend

# Bump when segmentation or collation changes what a cached collation holds.
COLLATION_CACHE_VERSION = 6
# A reading this different from the canonical wording gets a vector of its own,
# so a question worded like one variant still finds the group.
DISTINCT_READING_SIMILARITY = 90.0
# A store that can be updated in place (Milvus) is, when the documents that changed hold at most
# this share of its vectors; otherwise a new collection is filled and switched to.
IN_PLACE_SHARE = 0.2
# A clause's sentences end at these marks; a piece shorter than this many characters (a list
# number, a stray mark) is not a sentence of its own.
_SENTENCE_END = re.compile(r"(?<=[。；;！？!?])")
MIN_SENTENCE_CHARS = 4


@dataclass(frozen=True)
class BuildConfig:
    index_dir: Path
    cache_dir: Path
    model: str
    second_model: str | None = None  # the second encoder's name (index.embedding.load_second_embedder)
    vectors: VectorConfig = EMBEDDED
    max_clause_chars: int = 300


@dataclass
class BuildReport:
    path: Path
    manifest: Manifest
    problems: list[Problem]
    embedded: int
    seconds: float
    collated: int = 0  # documents segmented and collated anew (the others came from the cache)


# progress(stage, done, total): how far a build is, for a job's status or a terminal bar.
Progress = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def section_context(group: ClauseGroup) -> str:
    """The headings above a clause (not its own title), to situate it."""
    path = list(group.section_path)
    if path and group.canonical.startswith(path[-1][: max(2, len(path[-1]) // 2)]):
        path = path[:-1]
    return " › ".join(path[-2:])


def dense_texts(group: ClauseGroup) -> list[str]:
    """What is embedded for a group: its canonical reading in context, then each distinct reading."""
    wordings = [group.canonical]
    for reading in group.readings:
        if all(fuzz.ratio(reading.text, w) < DISTINCT_READING_SIMILARITY for w in wordings):
            wordings.append(reading.text)
    context = section_context(group)
    return [f"{context}\n{w}" if context else w for w in wordings]


def sentence_texts(group: ClauseGroup) -> list[str]:
    """What is embedded for a group sentence by sentence: each sentence of its canonical reading, bare.

    A long clause's one relevant sentence is diluted in the clause's vector; the best of its
    sentences' cosines is a feature of its own (`dense_sentence`, `cross_sentence`). A clause of one
    sentence gets that sentence's vector too, so the feature means the same for every group."""
    pieces = [p for p in _SENTENCE_END.split(group.canonical) if len(p.strip()) >= MIN_SENTENCE_CHARS]
    return list(dict.fromkeys(pieces)) or [group.canonical]


def vector_id(group_id: str, text: str, sentence: bool = False) -> int:
    """A vector's id: stable while its clause group and text are, so builds can update a store in place."""
    # A sentence's vector never shares an id with a reading's of the same text.
    key = f"{group_id}\x00sentence\x00{text}" if sentence else f"{group_id}\x00{text}"
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & 0x7FFF_FFFF_FFFF_FFFF


def lexical_text(group: ClauseGroup) -> str:
    return f"{section_context(group)} {group.canonical}"


def collate_document(
    document: DocumentSource, segmenter: Segmenter, cache_dir: Path
) -> tuple[Collation, bool]:
    """One document's collation, from the cache when its variants and the settings are unchanged.

    Returns the collation and whether it was computed now. Clause group ids are
    prefixed with the document id, so they are unique across the corpus.
    """
    hashes = {v.id: hashlib.sha256(v.raw_text.encode()).hexdigest() for v in document.variants}
    key_source = json.dumps(
        [COLLATION_CACHE_VERSION, document.id, segmenter.max_clause_chars, sorted(hashes.items())],
        ensure_ascii=False,
    )
    cached = cache_dir / "collations" / f"{hashlib.sha256(key_source.encode()).hexdigest()[:32]}.json"
    if cached.exists():
        try:
            collation = Collation.from_dict(json.loads(cached.read_text(encoding="utf-8")))
            collation.title = document.title
            return collation, False
        except (ValueError, KeyError, TypeError):
            cached.unlink(missing_ok=True)
    collation = collate_variants(document.variants, segmenter)
    collation.document = document.id
    collation.title = document.title
    for group in collation.groups:
        group.id = f"{document.id}:{group.id}"
        group.document = document.id
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(collation.to_dict(), ensure_ascii=False), encoding="utf-8")
    tmp.replace(cached)
    return collation, True


def build_index(
    config: BuildConfig,
    documents: list[DocumentSource],
    embedder: Embedder,
    progress: Progress = _no_progress,
    generation: int = 0,
) -> BuildReport:
    """Collate each document, embed and index every clause group, save and publish atomically.

    Only documents whose variants changed are collated again and only text never
    embedded before is embedded; the vector and lexical indexes are rebuilt from
    the cached vectors, which takes a fraction of the embedding time.
    """
    started = time.perf_counter()
    segmenter = Segmenter(config.max_clause_chars)
    collations: list[Collation] = []
    collated = 0
    progress("segment", 0, len(documents))
    for done, document in enumerate(documents, 1):
        collation, fresh = collate_document(document, segmenter, config.cache_dir)
        collations.append(collation)
        collated += fresh
        progress("collate", done, len(documents))
    groups = [g for c in collations for g in c.groups]

    texts: list[str] = []
    owners: list[int] = []
    sentences: list[bool] = []  # whether each text is one sentence of its group (else a whole reading)
    for number, group in enumerate(groups):
        for sentence, group_texts in ((False, dense_texts(group)), (True, sentence_texts(group))):
            texts += group_texts
            owners += [number] * len(group_texts)
            sentences += [sentence] * len(group_texts)
    cached = CachedEmbedder(embedder, config.cache_dir)
    second = (
        CachedEmbedder(load_second_embedder(config.second_model), config.cache_dir)
        if config.second_model
        else None
    )
    # One progress count over both encoders: the texts each has not embedded before.
    first_missing = cached.missing(texts, "document")
    to_embed = first_missing + (second.missing(texts, "document") if second else 0)
    vectors = cached.embed_batch(
        texts, "document", progress=lambda done, _total: progress("embed", done, to_embed)
    )
    cached.save()
    second_vectors = None
    if second is not None:
        second_vectors = second.embed_batch(
            texts, "document", progress=lambda done, _total: progress("embed", first_missing + done, to_embed)
        )
        second.save()

    progress("index", 0, 1)
    ids = np.array(
        [vector_id(groups[o].id, t, s) for o, t, s in zip(owners, texts, sentences, strict=True)], np.int64
    )
    batch = VectorBatch(
        ids=ids,
        vectors=vectors,
        documents=[groups[o].document for o in owners],
        groups=[groups[o].id for o in owners],
        texts=texts,
    )
    corpus_hashes = {c.document: c.corpus_hashes for c in collations}
    backend = open_backend(config.vectors)
    store, update = _fill_store(config, backend, batch, corpus_hashes, cached.dimension, "store")
    filled: StoreInBuild | None = None
    second_record: dict = {}
    try:
        if second is not None and second_vectors is not None:
            second_backend = open_backend(second_vector_config(config.vectors))
            second_batch = replace(batch, vectors=second_vectors)
            second_store, second_update = _fill_store(
                config, second_backend, second_batch, corpus_hashes, second.dimension, "second"
            )
            filled = StoreInBuild(second_store, second_backend)
            second_record = {
                "name": config.second_model,
                "model": second.model_id,
                "dimension": second.dimension,
                "store": second_store.describe(),
                "vector_update": second_update,
            }
        contents = lexical_side(collations, groups, owners, ids, sentences)
        contents.layouts = {
            d.id: {v.id: v.layout for v in d.variants if v.layout is not None}
            for d in documents
            if any(v.layout is not None for v in d.variants)
        }
        progress("index", 1, 1)
        progress("publish", 0, 1)
        manifest = Manifest(
            generation=generation,
            model=cached.model_id,
            dimension=cached.dimension,
            backend=config.vectors.backend,
            store=store.describe(),
            vector_update=update,
            built_at=datetime.now(UTC).isoformat(),
            corpus=corpus_hashes,
            counts=Counts(
                documents=len(collations),
                variants=sum(c.total for c in collations),
                clause_groups=len(groups),
                vectors=store.count(),
                lexicon_entries=len(contents.lexicon),
            ),
            settings={"max_clause_chars": config.max_clause_chars},
            second=second_record,
        )
        target, manifest = write_and_publish(config.index_dir, contents, store, backend, manifest, filled)
        progress("publish", 1, 1)
    except BaseException:
        backend.discard(store)
        if filled is not None:
            filled.backend.discard(filled.store)
        raise
    if filled is not None:
        filled.backend.prune(filled.store)
    backend.prune(store)
    problems = [p for c in collations for p in c.problems]
    return BuildReport(target, manifest, problems, cached.computed, time.perf_counter() - started, collated)


def _fill_store(
    config: BuildConfig,
    backend: VectorBackend,
    batch: VectorBatch,
    corpus_hashes: dict[str, dict],
    dimension: int,
    which: str,
) -> tuple[VectorStore, dict]:
    """The build's vectors in a store: the live one updated document by document when the backend
    allows it and few documents changed, else a new one (returned with what was done). `which` says
    whose store it is in the manifest: the first encoder's ("store") or the second's ("second")."""
    live = backend.live(dimension, len(batch.ids))
    changed = _changed_documents(config, corpus_hashes, live, which) if live is not None else None
    if live is not None and changed is not None:
        rows = [i for i, document in enumerate(batch.documents) if document in changed]
        if len(rows) <= IN_PLACE_SHARE * max(len(batch.ids), 1):
            started = time.perf_counter()
            deleted = live.delete_documents(changed)
            live.upsert(batch.take(rows))
            seconds = time.perf_counter() - started
            update = {
                "mode": "in place",
                "documents": len(changed),
                "deleted": deleted,
                "upserted": len(rows),
            }
            return live, update | {"seconds": round(seconds, 3)}
    started = time.perf_counter()
    store = backend.create(dimension, len(batch.ids))
    try:
        store.upsert(batch)
    except BaseException:
        backend.discard(store)
        raise
    return store, {
        "mode": "new",
        "upserted": len(batch.ids),
        "seconds": round(time.perf_counter() - started, 3),
    }


def _changed_documents(
    config: BuildConfig, corpus_hashes: dict[str, dict], live: VectorStore, which: str
) -> set[str] | None:
    """Documents whose variants differ from the published build's (added and removed ones too), or
    None when that build is not the base of the live store (none, another model, other settings,
    another collection)."""
    try:
        previous = read_manifest(config.index_dir, config.model, config.vectors.backend)
    except (IndexUnavailable, OSError, ValueError):
        return None
    if previous.settings != {"max_clause_chars": config.max_clause_chars}:
        return None
    recorded = previous.store if which == "store" else previous.second.get("store")
    if recorded != live.describe():
        return None
    before = previous.corpus
    return {d for d in set(before) | set(corpus_hashes) if before.get(d) != corpus_hashes.get(d)}


def lexical_side(
    collations: list[Collation],
    groups: list[ClauseGroup],
    owners: list[int],
    ids: np.ndarray,
    sentences: list[bool],
) -> BuildContents:
    """The lexical indexes (BM25 over words, dictionary glosses, the lexicon, title words) and the
    vector ids in order, with each one's group and kind: everything a build holds besides the vectors."""
    # The words jieba keeps whole are saved with the index, so questions are cut as the text was.
    tokenizer_words = sorted(domain_words(load_glossary()))
    tokenizer = ChineseTokenizer(tokenizer_words)
    token_lists = [tokenizer.tokens(lexical_text(g)) for g in groups]
    lexical = LexicalIndex.build(token_lists)
    senses_of = dictionary()  # CC-CEDICT, once per build
    analyzer = EnglishAnalyzer()
    order = np.argsort(ids, kind="stable")
    return BuildContents(
        collations=collations,
        vector_ids=ids[order],
        vector_groups=np.asarray(owners, dtype=np.int32)[order],
        vector_sentences=np.asarray(sentences, dtype=bool)[order],
        lexical=lexical,
        glosses=GlossIndex.build([gloss_terms(tokens, analyzer, senses_of) for tokens in token_lists]),
        lexicon=build_lexicon(lexical.vocabulary, senses_of, tokenizer.is_common_word),
        tokenizer_words=tokenizer_words,
        title_words={
            c.document: title_words(tokenizer.words(c.title), analyzer, senses_of) for c in collations
        },
    )
