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
import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz

from index.collate import collate_folder
from index.embedder import CachedEmbedder, Embedder
from index.expansion import build_lexicon, domain_words, load_glossary
from index.lexical import ChineseTokenizer, LexicalIndex
from index.model import ClauseGroup, Collation, Problem
from index.segment import Segmenter
from index.variants import NoUsableVariants
from index.vector_store import VectorStore, create_store, load_store

FORMAT_VERSION = 2
MANIFEST = "manifest.json"
COLLATION = "collation.json"
VECTOR_GROUPS = "vector_groups.npy"
LEXICON = "lexicon.json"
TOKENIZER_WORDS = "tokenizer_words.json"
KEEP_BUILDS = 2
# A reading this different from the canonical wording gets a vector of its own,
# so a question worded like one variant still finds the group.
DISTINCT_READING_SIMILARITY = 90.0


class IndexUnavailable(RuntimeError):
    """The saved index is missing, damaged or was built for other settings; the message says what to run."""


@dataclass(frozen=True)
class BuildConfig:
    seeds_dir: Path
    index_dir: Path
    cache_dir: Path
    model: str
    backend: str = "faiss"
    max_variant_bytes: int = 5 * 1024 * 1024
    max_clause_chars: int = 300


@dataclass
class BuildReport:
    path: Path
    manifest: dict
    problems: list[Problem]
    embedded: int
    seconds: float


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


def lexical_text(group: ClauseGroup) -> str:
    return f"{section_context(group)} {group.canonical}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_index(
    config: BuildConfig,
    embedder: Embedder,
    progress: Callable[[Iterable], Iterable] = lambda it: it,
) -> BuildReport:
    """Collate the variants, embed and index the clause groups, save and publish atomically."""
    started = time.perf_counter()
    try:
        collation = collate_folder(
            config.seeds_dir, config.max_variant_bytes, Segmenter(config.max_clause_chars), progress
        )
    except NoUsableVariants as exc:
        raise IndexUnavailable(f"{exc}; the published index is unchanged") from None

    texts: list[str] = []
    owners: list[int] = []
    for number, group in enumerate(collation.groups):
        for text in dense_texts(group):
            texts.append(text)
            owners.append(number)
    cached = CachedEmbedder(embedder, config.cache_dir)
    vectors = cached.embed_batch(texts, "document")
    cached.save()

    store = create_store(config.backend, cached.dimension, len(texts))
    store.add(np.arange(len(texts), dtype=np.int64), vectors)

    # The words jieba keeps whole are saved with the index, so questions are cut as the text was.
    tokenizer_words = sorted(domain_words(load_glossary()))
    tokenizer = ChineseTokenizer(tokenizer_words)
    lexical = LexicalIndex.build([tokenizer.tokens(lexical_text(g)) for g in collation.groups])
    lexicon = build_lexicon(lexical.vocabulary)

    builds = config.index_dir.parent / ".builds"
    builds.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC)
    target = builds / f"{stamp:%Y%m%dT%H%M%S%f}-{os.getpid()}"
    target.mkdir()
    try:
        (target / COLLATION).write_text(json.dumps(collation.to_dict(), ensure_ascii=False), encoding="utf-8")
        store.save(target)
        np.save(target / VECTOR_GROUPS, np.asarray(owners, dtype=np.int32))
        lexical.save(target)
        (target / LEXICON).write_text(json.dumps(lexicon, ensure_ascii=False), encoding="utf-8")
        (target / TOKENIZER_WORDS).write_text(
            json.dumps(tokenizer_words, ensure_ascii=False), encoding="utf-8"
        )
        files = sorted(p for p in target.rglob("*") if p.is_file())
        manifest = {
            "format_version": FORMAT_VERSION,
            "model": cached.model_id,
            "dimension": cached.dimension,
            "backend": config.backend,
            "store": getattr(store, "kind", config.backend),
            "built_at": stamp.isoformat(),
            "corpus": collation.corpus_hashes,
            "refused": [str(p) for p in collation.problems],
            "counts": {
                "variants": collation.total,
                "clause_groups": len(collation.groups),
                "vectors": store.count(),
                "lexicon_entries": len(lexicon),
            },
            "settings": {"max_clause_chars": config.max_clause_chars},
            "checksums": {str(p.relative_to(target)): _sha256(p) for p in files},
        }
        (target / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        publish(target, config.index_dir)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    _prune(builds, keep=target)
    return BuildReport(target, manifest, collation.problems, cached.computed, time.perf_counter() - started)


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


def _prune(builds: Path, keep: Path) -> None:
    """Remove old builds, keeping the newest few: a reader that loaded one a moment ago is not disturbed."""
    old = sorted((p for p in builds.iterdir() if p.is_dir() and p != keep), key=lambda p: p.name)
    for path in old[: max(0, len(old) - (KEEP_BUILDS - 1))]:
        shutil.rmtree(path, ignore_errors=True)


def read_manifest(link: Path, expected_model: str | None = None) -> dict:
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
    return manifest


@dataclass
class LoadedIndex:
    """Everything a query needs, loaded once and swapped whole."""

    path: Path
    manifest: dict
    collation: Collation
    store: VectorStore
    vector_groups: np.ndarray
    lexical: LexicalIndex
    lexicon: dict[str, list[str]]
    tokenizer_words: list[str]

    @classmethod
    def load(cls, link: Path, expected_model: str | None = None) -> LoadedIndex:
        path = link.resolve()  # once: a build published meanwhile must not mix with this one
        manifest = read_manifest(path, expected_model)
        for name, checksum in manifest.get("checksums", {}).items():
            if not (path / name).exists() or _sha256(path / name) != checksum:
                raise IndexUnavailable(f"{link}: {name} is missing or damaged; run `concord build`")
        return cls(
            path=path,
            manifest=manifest,
            collation=Collation.from_dict(json.loads((path / COLLATION).read_text(encoding="utf-8"))),
            store=load_store(manifest["backend"], path),
            vector_groups=np.load(path / VECTOR_GROUPS),
            lexical=LexicalIndex.load(path),
            lexicon=json.loads((path / LEXICON).read_text(encoding="utf-8")),
            tokenizer_words=json.loads((path / TOKENIZER_WORDS).read_text(encoding="utf-8")),
        )
