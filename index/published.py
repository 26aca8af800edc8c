"""Published builds: the on-disk format of a search index, writing and publishing one, reading one back.

A build is a folder under `.builds/` beside the published path, one file a
part, with `manifest.json` written last (format version, model id, dimension,
corpus hashes, counts, checksums, build time). Publishing flips a symlink with
one atomic rename, so a reader sees the old index or the new one, never half
of either. Old builds are pruned, keeping the newest few that verify against
their checksums: the fallback a server turns to when the published one is
refused. Building (what goes into a build) is `index.build`'s; this module is
all a reader needs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from index.corpus.model import ClauseGroup, Collation
from index.errors import Unavailable
from index.extract.model import Extraction
from index.retrieval.glosses import GlossIndex
from index.retrieval.lexical import LexicalIndex
from index.storage.files import fsync_dir
from index.vectors import (
    EMBEDDED,
    VectorBackend,
    VectorConfig,
    VectorStore,
    VectorStoreUnavailable,
    open_backend,
)

log = logging.getLogger("concord")

FORMAT_VERSION = 10
MANIFEST = "manifest.json"
COLLATION = "collation.json"
VECTOR_IDS = "vector_ids.npy"  # every vector's id, sorted
VECTOR_GROUPS = "vector_groups.npy"  # the clause group (its place in the collation) of each id above
VECTOR_SENTENCES = "vector_sentences.npy"  # whether each id above is one sentence of its group's
LEXICON = "lexicon.json"
TOKENIZER_WORDS = "tokenizer_words.json"
TITLES = "titles.json"
LAYOUTS = "layouts.json"  # document -> variant -> where its text lies in the file it was extracted from
SECOND = "second"  # the second encoder's vector store, in a folder of its own inside the build
BUILDS = ".builds"  # beside the published link: one folder per build
KEEP_BUILDS = 2


class IndexUnavailable(Unavailable, RuntimeError):
    """The saved index is missing, damaged or was built for other settings; the message says what to run."""


@dataclass(frozen=True)
class Counts:
    documents: int
    variants: int
    clause_groups: int
    vectors: int
    lexicon_entries: int


@dataclass(frozen=True)
class Manifest:
    """What a build holds and how it was made; `manifest.json` is this, as JSON."""

    generation: int
    model: str
    dimension: int
    backend: str
    store: dict[str, Any]  # the vector store's own description (kind, collection, count)
    vector_update: dict[str, Any]  # how the store was filled: new, or updated in place by document
    built_at: str
    corpus: dict[str, dict[str, str]]  # document -> variant -> sha256 of its text
    counts: Counts
    settings: dict[str, Any]  # the build settings a later build must share to update in place
    checksums: dict[str, str] = field(default_factory=dict)  # file -> sha256
    # The second encoder, when the build has one: its name, model id, dimension, store, vector_update.
    second: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        defaults = {"store": {}, "vector_update": {}, "settings": {}, "corpus": {}, "second": {}}
        return cls(**{**defaults, **known, "counts": Counts(**data["counts"])})


@dataclass
class BuildContents:
    """Everything a build folder holds besides the vector store (which saves itself)."""

    collations: list[Collation]
    vector_ids: np.ndarray  # sorted
    vector_groups: np.ndarray  # the group of each id above
    vector_sentences: np.ndarray  # whether each id above is a sentence's vector (else a reading's)
    lexical: LexicalIndex
    glosses: GlossIndex
    lexicon: dict[str, list[str]]
    tokenizer_words: list[str]
    title_words: dict[str, list[list[str]]]
    layouts: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)


def second_vector_config(vectors: VectorConfig) -> VectorConfig:
    """Where the second encoder's vectors live: beside the first's, under an alias of their own."""
    return replace(vectors, collection=f"{vectors.collection}_second")


@dataclass(frozen=True)
class StoreInBuild:
    """A filled vector store and the backend that publishes it."""

    store: VectorStore
    backend: VectorBackend


def write_and_publish(
    index_dir: Path,
    contents: BuildContents,
    store: VectorStore,
    backend: VectorBackend,
    manifest: Manifest,
    second: StoreInBuild | None = None,
) -> tuple[Path, Manifest]:
    """Write a new build folder (every file durable, the manifest last with the files' checksums),
    publish it and prune old builds; returns the folder and its manifest. The second encoder's store,
    when there is one, is saved in its own folder and published first."""
    builds = index_dir.parent / BUILDS
    builds.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromisoformat(manifest.built_at)
    target = builds / f"{stamp:%Y%m%dT%H%M%S%f}-{os.getpid()}"
    target.mkdir()
    try:
        corpus = {"documents": [c.to_dict() for c in contents.collations]}
        (target / COLLATION).write_text(json.dumps(corpus, ensure_ascii=False), encoding="utf-8")
        store.save(target)
        if second is not None:
            (target / SECOND).mkdir()
            second.store.save(target / SECOND)
        np.save(target / VECTOR_IDS, contents.vector_ids)
        np.save(target / VECTOR_GROUPS, contents.vector_groups)
        np.save(target / VECTOR_SENTENCES, contents.vector_sentences)
        contents.lexical.save(target)
        contents.glosses.save(target)
        for name, value in (
            (LEXICON, contents.lexicon),
            (TITLES, contents.title_words),
            (TOKENIZER_WORDS, contents.tokenizer_words),
            (LAYOUTS, contents.layouts),
        ):
            (target / name).write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
        files = sorted(p for p in target.rglob("*") if p.is_file())
        checksums = {str(p.relative_to(target)): sha256_file(p) for p in files}
        manifest = Manifest.from_dict({**manifest.to_dict(), "checksums": checksums})
        for path in files:
            _fsync_file(path)
        manifest_path = target / MANIFEST
        manifest_path.write_text(
            json.dumps(manifest.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8"
        )
        _fsync_file(manifest_path)
        for folder in {p.parent for p in files} | {target}:
            fsync_dir(folder)
        if second is not None:
            second.backend.publish(second.store)
        backend.publish(store)
        publish(target, index_dir)
    except BaseException:
        # Once the link points here the build is the published one, even if making the rename
        # durable failed after it: never remove what readers are told to load.
        if index_dir.resolve() != target.resolve():
            shutil.rmtree(target, ignore_errors=True)
        raise
    prune(builds, keep=target)
    return target, manifest


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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


def prune(builds: Path, keep: Path) -> None:
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
            if sha256_file(path / name) != checksum:
                return f"{name} is damaged (its checksum differs)"
        except OSError:
            return f"{name} is missing"
    return None


def read_manifest(
    link: Path, expected_model: str | None = None, expected_backend: str | None = None
) -> Manifest:
    """The published index's manifest, refused when this version or these settings cannot use it."""
    manifest_path = link.resolve() / MANIFEST
    if not manifest_path.exists():
        raise IndexUnavailable(f"no index at {link}; run `concord build` (or `make serve`, which builds it)")
    try:
        data = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexUnavailable(f"{manifest_path} cannot be read ({exc}); run `concord build`") from None
    if data.get("format_version") != FORMAT_VERSION:
        raise IndexUnavailable(
            f"{link} has index format {data.get('format_version')}, this version reads "
            f"{FORMAT_VERSION}; run `concord build`"
        )
    manifest = Manifest.from_dict(data)
    if expected_model is not None and manifest.model != expected_model:
        raise IndexUnavailable(
            f"{link} was built with model {manifest.model!r} but the settings ask for "
            f"{expected_model!r}; run `concord build`"
        )
    if expected_backend is not None and manifest.backend != expected_backend:
        raise IndexUnavailable(
            f"{link} keeps its vectors in {manifest.backend}, the settings ask for "
            f"{expected_backend} (CONCORD_VECTOR_BACKEND); run `concord build`"
        )
    return manifest


@dataclass
class LoadedIndex:
    """Everything a query needs, loaded once and swapped whole."""

    path: Path
    manifest: Manifest
    documents: list[Collation]
    store: VectorStore
    vector_ids: np.ndarray  # sorted
    vector_groups: np.ndarray  # the group of each id above
    vector_sentences: np.ndarray  # whether each id above is a sentence's vector (else a reading's)
    lexical: LexicalIndex
    glosses: GlossIndex
    lexicon: dict[str, list[str]]
    tokenizer_words: list[str]
    title_words: dict[str, list[list[str]]]  # document -> its title's words, each with its English stems
    second_store: VectorStore | None = None  # the second encoder's vectors (same ids), when built
    layouts: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def load(
        cls, link: Path, expected_model: str | None = None, vectors: VectorConfig = EMBEDDED
    ) -> LoadedIndex:
        path = link.resolve()  # once: a build published meanwhile must not mix with this one
        try:
            return cls._read(path, expected_model, vectors)
        except (OSError, ValueError, KeyError, TypeError) as exc:  # damage the checksums did not catch
            raise IndexUnavailable(
                f"{path}: cannot be read ({type(exc).__name__}: {exc}); run `concord build`"
            ) from exc

    @classmethod
    def _read(cls, path: Path, expected_model: str | None, vectors: VectorConfig) -> LoadedIndex:
        manifest = read_manifest(path, expected_model, vectors.backend)
        problem = damage(path)
        if problem is not None:
            raise IndexUnavailable(f"{path}: {problem}; run `concord build`")
        try:
            store = open_backend(vectors).open(path)
            second_store = (
                open_backend(second_vector_config(vectors)).open(path / SECOND) if manifest.second else None
            )
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
            vector_sentences=np.load(path / VECTOR_SENTENCES),
            lexical=LexicalIndex.load(path),
            glosses=GlossIndex.load(path),
            lexicon=json.loads((path / LEXICON).read_text(encoding="utf-8")),
            tokenizer_words=json.loads((path / TOKENIZER_WORDS).read_text(encoding="utf-8")),
            title_words=json.loads((path / TITLES).read_text(encoding="utf-8")),
            second_store=second_store,
            layouts=json.loads((path / LAYOUTS).read_text(encoding="utf-8")),
        )

    @cached_property
    def groups(self) -> list[ClauseGroup]:
        return [g for d in self.documents for g in d.groups]

    def groups_of(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For vector ids from a search: which are this build's (a store updated in place since may
        return newer ones), the group number of each of those, and whether it is a sentence's."""
        places = np.searchsorted(self.vector_ids, ids).clip(0, max(len(self.vector_ids) - 1, 0))
        known = (ids >= 0) & (self.vector_ids[places] == ids) if len(self.vector_ids) else ids < -1
        return known, self.vector_groups[places[known]], self.vector_sentences[places[known]]

    @property
    def generation(self) -> int:
        return self.manifest.generation

    @cached_property
    def titles(self) -> dict[str, str]:
        return {d.document: d.title for d in self.documents}

    @cached_property
    def extractions(self) -> dict[tuple[str, str], Extraction]:
        """(document, variant) -> how its text was extracted, for the variants read from another format."""
        return {
            (document, variant): Extraction.from_dict(layout, text="")
            for document, variants in self.layouts.items()
            for variant, layout in variants.items()
        }

    @cached_property
    def sources(self) -> dict[tuple[str, str], dict[str, Any]]:
        """(document, variant) -> how it was read (`Extraction.source`), once per index, not per answer."""
        return {key: extraction.source() for key, extraction in self.extractions.items()}

    @cached_property
    def files(self) -> dict[tuple[str, str], str]:
        """(document, variant) -> the file name the variant was read from."""
        return {(d.document, v): name for d in self.documents for v, name in d.files.items()}
