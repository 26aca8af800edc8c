"""Building, saving, publishing and loading the search index.

A saved index is a directory, one file a part, with `manifest.json` written
last (format version, model id, dimension, corpus hashes, counts, checksums,
build time). Builds go to a fresh directory under `.builds/` beside the
published path; publishing flips a symlink with one atomic rename, so a
reader sees the old index or the new one, never half of either.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz

from index.corpus.collate import collate_variants
from index.corpus.model import ClauseGroup, Collation, DocumentSource, Problem
from index.corpus.segment import Segmenter
from index.retrieval.embedder import CachedEmbedder, Embedder
from index.retrieval.expansion import build_lexicon, dictionary, domain_words, load_glossary
from index.retrieval.glosses import EnglishAnalyzer, GlossIndex, gloss_terms, title_words
from index.retrieval.lexical import ChineseTokenizer, LexicalIndex
from index.storage.files import fsync_dir
from index.vectors import (
    EMBEDDED,
    VectorBackend,
    VectorBatch,
    VectorConfig,
    VectorStore,
    VectorStoreUnavailable,
    open_backend,
)

log = logging.getLogger("concord")

FORMAT_VERSION = 7
# Bump when segmentation or collation changes what a cached collation holds.
COLLATION_CACHE_VERSION = 4
MANIFEST = "manifest.json"
COLLATION = "collation.json"
VECTOR_IDS = "vector_ids.npy"  # every vector's id, sorted
VECTOR_GROUPS = "vector_groups.npy"  # the clause group (its place in the collation) of each id above
LEXICON = "lexicon.json"
TOKENIZER_WORDS = "tokenizer_words.json"
TITLES = "titles.json"
BUILDS = ".builds"  # beside the published link: one folder per build
KEEP_BUILDS = 2
# A reading this different from the canonical wording gets a vector of its own,
# so a question worded like one variant still finds the group.
DISTINCT_READING_SIMILARITY = 90.0
# A store that can be updated in place (Milvus) is, when the documents that changed hold at most
# this share of its vectors; otherwise a new collection is filled and switched to.
IN_PLACE_SHARE = 0.2


class IndexUnavailable(RuntimeError):
    """The saved index is missing, damaged or was built for other settings; the message says what to run."""


@dataclass(frozen=True)
class BuildConfig:
    index_dir: Path
    cache_dir: Path
    model: str
    vectors: VectorConfig = EMBEDDED
    max_clause_chars: int = 300


@dataclass
class BuildReport:
    path: Path
    manifest: dict
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


def vector_id(group_id: str, text: str) -> int:
    """A vector's id: stable while its clause group and text are, so builds can update a store in place."""
    digest = hashlib.blake2b(f"{group_id}\x00{text}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & 0x7FFF_FFFF_FFFF_FFFF


def lexical_text(group: ClauseGroup) -> str:
    return f"{section_context(group)} {group.canonical}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
    for number, group in enumerate(groups):
        for text in dense_texts(group):
            texts.append(text)
            owners.append(number)
    cached = CachedEmbedder(embedder, config.cache_dir)
    vectors = cached.embed_batch(
        texts, "document", progress=lambda done, total: progress("embed", done, total)
    )
    cached.save()

    progress("index", 0, 1)
    ids = np.array([vector_id(groups[o].id, t) for o, t in zip(owners, texts, strict=True)], np.int64)
    batch = VectorBatch(
        ids=ids,
        vectors=vectors,
        documents=[groups[o].document for o in owners],
        groups=[groups[o].id for o in owners],
        texts=texts,
    )
    corpus_hashes = {c.document: c.corpus_hashes for c in collations}
    backend = open_backend(config.vectors)
    store, update = _fill_store(config, backend, batch, corpus_hashes, cached.dimension)
    try:
        target, manifest = _index_and_publish(
            config, collations, groups, owners, ids, store, update, cached, generation, progress
        )
    except BaseException:
        backend.discard(store)
        raise
    backend.prune(store)
    problems = [p for c in collations for p in c.problems]
    return BuildReport(target, manifest, problems, cached.computed, time.perf_counter() - started, collated)


def _fill_store(
    config: BuildConfig,
    backend: VectorBackend,
    batch: VectorBatch,
    corpus_hashes: dict[str, dict],
    dimension: int,
) -> tuple[VectorStore, dict]:
    """The build's vectors in a store: the live one updated document by document when the backend
    allows it and few documents changed, else a new one (returned with what was done)."""
    live = backend.live(dimension, len(batch.ids))
    changed = _changed_documents(config, corpus_hashes, live) if live is not None else None
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
    config: BuildConfig, corpus_hashes: dict[str, dict], live: VectorStore
) -> set[str] | None:
    """Documents whose variants differ from the published build's (added and removed ones too), or
    None when that build is not the base of the live store (none, another model, other settings,
    another collection)."""
    try:
        previous = read_manifest(config.index_dir, config.model, config.vectors.backend)
    except (IndexUnavailable, OSError, ValueError):
        return None
    if previous.get("settings") != {"max_clause_chars": config.max_clause_chars}:
        return None
    if previous.get("store") != live.describe():
        return None
    before = previous.get("corpus", {})
    return {d for d in set(before) | set(corpus_hashes) if before.get(d) != corpus_hashes.get(d)}


def _index_and_publish(
    config: BuildConfig,
    collations: list[Collation],
    groups: list[ClauseGroup],
    owners: list[int],
    ids: np.ndarray,
    store: VectorStore,
    update: dict,
    cached: CachedEmbedder,
    generation: int,
    progress: Progress,
) -> tuple[Path, dict]:
    """The lexical side beside the filled vector store, saved to a new build folder and published."""
    # The words jieba keeps whole are saved with the index, so questions are cut as the text was.
    tokenizer_words = sorted(domain_words(load_glossary()))
    tokenizer = ChineseTokenizer(tokenizer_words)
    token_lists = [tokenizer.tokens(lexical_text(g)) for g in groups]
    lexical = LexicalIndex.build(token_lists)
    senses_of = dictionary()  # CC-CEDICT, once per build
    lexicon = build_lexicon(lexical.vocabulary, senses_of)
    analyzer = EnglishAnalyzer()
    glosses = GlossIndex.build([gloss_terms(tokens, analyzer, senses_of) for tokens in token_lists])
    titles = {c.document: title_words(tokenizer.words(c.title), analyzer, senses_of) for c in collations}
    del senses_of
    progress("index", 1, 1)

    progress("publish", 0, 1)
    builds = config.index_dir.parent / BUILDS
    builds.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC)
    target = builds / f"{stamp:%Y%m%dT%H%M%S%f}-{os.getpid()}"
    target.mkdir()
    try:
        corpus = {"documents": [c.to_dict() for c in collations]}
        (target / COLLATION).write_text(json.dumps(corpus, ensure_ascii=False), encoding="utf-8")
        store.save(target)
        order = np.argsort(ids, kind="stable")
        np.save(target / VECTOR_IDS, ids[order])
        np.save(target / VECTOR_GROUPS, np.asarray(owners, dtype=np.int32)[order])
        lexical.save(target)
        glosses.save(target)
        (target / LEXICON).write_text(json.dumps(lexicon, ensure_ascii=False), encoding="utf-8")
        (target / TITLES).write_text(json.dumps(titles, ensure_ascii=False), encoding="utf-8")
        (target / TOKENIZER_WORDS).write_text(
            json.dumps(tokenizer_words, ensure_ascii=False), encoding="utf-8"
        )
        files = sorted(p for p in target.rglob("*") if p.is_file())
        manifest = {
            "format_version": FORMAT_VERSION,
            "generation": generation,
            "model": cached.model_id,
            "dimension": cached.dimension,
            "backend": config.vectors.backend,
            "store": store.describe(),
            "vector_update": update,
            "built_at": stamp.isoformat(),
            "corpus": {c.document: c.corpus_hashes for c in collations},
            "counts": {
                "documents": len(collations),
                "variants": sum(c.total for c in collations),
                "clause_groups": len(groups),
                "vectors": store.count(),
                "lexicon_entries": len(lexicon),
            },
            "settings": {"max_clause_chars": config.max_clause_chars},
            "checksums": {str(p.relative_to(target)): _sha256(p) for p in files},
        }
        for path in files:
            _fsync_file(path)
        manifest_path = target / MANIFEST
        manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        _fsync_file(manifest_path)
        for folder in {p.parent for p in files} | {target}:
            fsync_dir(folder)
        open_backend(config.vectors).publish(store)
        publish(target, config.index_dir)
    except BaseException:
        # Once the link points here the build is the published one, even if making the rename
        # durable failed after it: never remove what readers are told to load.
        if config.index_dir.resolve() != target.resolve():
            shutil.rmtree(target, ignore_errors=True)
        raise
    progress("publish", 1, 1)
    _prune(builds, keep=target)
    return target, manifest


def _fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def publish(build: Path, link: Path) -> None:
    """Point `link` at `build` with one atomic rename."""
    if link.exists() and not link.is_symlink():
        raise IndexUnavailable(
            f"{link} is a real directory, not a published index link; move it away and rebuild"
        )
    staging = link.with_name(f".{link.name}.{os.getpid()}.link")
    staging.unlink(missing_ok=True)
    staging.symlink_to(os.path.relpath(build, link.parent))
    os.replace(staging, link)
    fsync_dir(link.parent)


def _prune(builds: Path, keep: Path) -> None:
    """Remove old builds, keeping the newest few that are whole: the fallback a server turns to when
    the published build is refused, and what a reader that loaded one a moment ago still uses.

    A damaged or unfinished build (a file missing or not matching its checksum) is removed, never
    kept in place of a good one."""
    old = sorted(
        (p for p in builds.iterdir() if p.is_dir() and p != keep), key=lambda p: p.name, reverse=True
    )
    kept = 0
    for path in old:
        problem = None if kept >= KEEP_BUILDS - 1 else damage(path)
        if kept < KEEP_BUILDS - 1 and problem is None:
            kept += 1
            continue
        if problem is not None:
            log.warning("removing build %s: %s", path.name, problem)
        shutil.rmtree(path, ignore_errors=True)


def damage(path: Path) -> str | None:
    """What is wrong with a build folder's files (missing manifest, a file missing or damaged), or None."""
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"its manifest cannot be read ({exc})"
    for name, checksum in manifest.get("checksums", {}).items():
        try:
            if _sha256(path / name) != checksum:
                return f"{name} is damaged (its checksum differs)"
        except OSError:
            return f"{name} is missing"
    return None


def read_manifest(link: Path, expected_model: str | None = None, expected_backend: str | None = None) -> dict:
    """The published index's manifest, refused when this version or these settings cannot use it."""
    manifest_path = link.resolve() / MANIFEST
    if not manifest_path.exists():
        raise IndexUnavailable(f"no index at {link}; run `concord build` (or `make serve`, which builds it)")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexUnavailable(
            f"{link} has index format {manifest.get('format_version')}, this version reads "
            f"{FORMAT_VERSION}; run `concord build`"
        )
    if expected_model is not None and manifest.get("model") != expected_model:
        raise IndexUnavailable(
            f"{link} was built with model {manifest.get('model')!r} but the settings ask for "
            f"{expected_model!r}; run `concord build`"
        )
    if expected_backend is not None and manifest.get("backend") != expected_backend:
        raise IndexUnavailable(
            f"{link} keeps its vectors in {manifest.get('backend')}, the settings ask for "
            f"{expected_backend} (CONCORD_VECTOR_BACKEND); run `concord build`"
        )
    return manifest


@dataclass
class LoadedIndex:
    """Everything a query needs, loaded once and swapped whole."""

    path: Path
    manifest: dict
    documents: list[Collation]
    store: VectorStore
    vector_ids: np.ndarray  # sorted
    vector_groups: np.ndarray  # the group of each id above
    lexical: LexicalIndex
    glosses: GlossIndex
    lexicon: dict[str, list[str]]
    tokenizer_words: list[str]
    title_words: dict[str, list[list[str]]]  # document -> its title's words, each with its English stems

    @classmethod
    def load(
        cls, link: Path, expected_model: str | None = None, vectors: VectorConfig = EMBEDDED
    ) -> LoadedIndex:
        path = link.resolve()  # once: a build published meanwhile must not mix with this one
        manifest = read_manifest(path, expected_model, vectors.backend)
        problem = damage(path)
        if problem is not None:
            raise IndexUnavailable(f"{path}: {problem}; run `concord build`")
        try:
            store = open_backend(vectors).open(path)
        except VectorStoreUnavailable as exc:
            raise IndexUnavailable(str(exc)) from None
        return cls(
            path=path,
            manifest=manifest,
            documents=[
                Collation.from_dict(d)
                for d in json.loads((path / COLLATION).read_text(encoding="utf-8"))["documents"]
            ],
            store=store,
            vector_ids=np.load(path / VECTOR_IDS),
            vector_groups=np.load(path / VECTOR_GROUPS),
            lexical=LexicalIndex.load(path),
            glosses=GlossIndex.load(path),
            lexicon=json.loads((path / LEXICON).read_text(encoding="utf-8")),
            tokenizer_words=json.loads((path / TOKENIZER_WORDS).read_text(encoding="utf-8")),
            title_words=json.loads((path / TITLES).read_text(encoding="utf-8")),
        )

    @cached_property
    def groups(self) -> list[ClauseGroup]:
        return [g for d in self.documents for g in d.groups]

    def groups_of(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For vector ids from a search: which are this build's (a store updated in place since may
        return newer ones) and the group number of each of those."""
        places = np.searchsorted(self.vector_ids, ids).clip(0, max(len(self.vector_ids) - 1, 0))
        known = (ids >= 0) & (self.vector_ids[places] == ids) if len(self.vector_ids) else ids < -1
        return known, self.vector_groups[places[known]]

    @property
    def generation(self) -> int:
        return int(self.manifest.get("generation", 0))

    @cached_property
    def titles(self) -> dict[str, str]:
        return {d.document: d.title for d in self.documents}

    @cached_property
    def files(self) -> dict[tuple[str, str], str]:
        """(document, variant) -> the file name the variant was read from."""
        return {(d.document, v): name for d in self.documents for v, name in d.files.items()}
