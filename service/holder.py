"""The one place the loaded index lives; a reload builds the new searcher aside and swaps it in whole.

When the published build is refused (damaged, of another model), the holder
keeps serving what it had, or the newest good build, and says so: `fallback`
holds the reason `/readyz` reports, and `on_refused` is told once per run of
refusals so the service can queue the rebuild that mends it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from index.embedding import Embedder
from index.published import BUILDS, MANIFEST, IndexUnavailable, LoadedIndex
from index.query import Searcher
from index.vectors import EMBEDDED, VectorConfig

log = logging.getLogger("concord")


@dataclass
class IndexHolder:
    index_dir: Path
    model: str
    embedder: Embedder
    vectors: VectorConfig = EMBEDDED
    searcher: Searcher | None = None
    error: str | None = None
    fallback: str | None = None  # why the searcher serves a build other than the published one
    on_refused: Callable[[str], None] | None = None

    def __post_init__(self) -> None:
        self._reload_lock = threading.Lock()
        self._failed: Path | None = None  # a build that failed to load is not retried until the link moves
        # One rebuild per run of refusals: if the rebuilt index is refused too, a second rebuild
        # would likely fail the same way, so the operator is left the reason instead of a loop.
        self._rebuild_asked = False

    def published_changed(self) -> bool:
        """Whether the published link now points at a complete build other than the one loaded."""
        target = self.index_dir.resolve()
        current = self.searcher.index.path if self.searcher else None
        return target != current and (target / MANIFEST).exists() and target != self._failed

    def reload(self) -> Searcher | None:
        """Load the published index; when it is refused, keep what was loaded, or else the newest good build."""
        with self._reload_lock:
            target = self.index_dir.resolve()  # once: the link may flip again while this loads
            try:
                searcher = Searcher(LoadedIndex.load(target, self.model, self.vectors), self.embedder)
            except IndexUnavailable as exc:
                self._failed = target
                self.error = str(exc)
                log.error("index refused: %s", exc)
                if self.searcher is None:
                    self.searcher = self._previous_good(exclude=target)
                if self.searcher is not None:
                    index = self.searcher.index
                    self.fallback = (
                        f"serving generation {index.generation} ({index.path.name}) because the published "
                        f"index was refused: {exc}"
                    )
                    log.warning("%s", self.fallback)
                self._ask_rebuild(str(exc))
                return self.searcher
            # One reference assignment: requests in flight keep the searcher they started with.
            self.searcher = searcher
            self.error = self.fallback = None
            self._rebuild_asked = False
            log.info("index generation %s loaded from %s", searcher.index.generation, searcher.index.path)
            return searcher

    def _ask_rebuild(self, reason: str) -> None:
        if self.on_refused is None or self._rebuild_asked:
            return
        self._rebuild_asked = True
        try:
            self.on_refused(reason)
        except Exception:  # the refusal is reported either way; the operator can still reindex
            log.exception("could not queue a rebuild for the refused index")

    def _previous_good(self, exclude: Path) -> Searcher | None:
        builds = self.index_dir.parent / BUILDS
        if not builds.is_dir():
            return None
        for path in sorted((p for p in builds.iterdir() if p.is_dir() and p != exclude), reverse=True):
            try:
                return Searcher(LoadedIndex.load(path, self.model, self.vectors), self.embedder)
            except IndexUnavailable as exc:
                log.error("older build refused too: %s", exc)
        return None
