"""The one place the loaded index lives; a reload builds the new searcher aside and swaps it in whole."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from index.build import IndexUnavailable, LoadedIndex
from index.retrieval.embedder import Embedder
from index.search import Searcher
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

    def __post_init__(self) -> None:
        self._reload_lock = threading.Lock()
        self._failed: Path | None = None  # a build that failed to load is not retried until the link moves

    def published_changed(self) -> bool:
        """Whether the published link now points at a complete build other than the one loaded."""
        target = self.index_dir.resolve()
        current = self.searcher.index.path if self.searcher else None
        return target != current and (target / "manifest.json").exists() and target != self._failed

    def reload(self) -> Searcher | None:
        """Load the published index; when it is refused, keep what was loaded, or else the newest good build."""
        with self._reload_lock:
            target = self.index_dir.resolve()  # once: the link may flip again while this loads
            try:
                searcher = Searcher(LoadedIndex.load(target, self.model, self.vectors), self.embedder)
            except (IndexUnavailable, OSError, ValueError, KeyError) as exc:
                self._failed = target
                self.error = str(exc)
                log.error("index refused: %s", exc)
                if self.searcher is not None:
                    log.error("still serving the index loaded before, %s", self.searcher.index.path)
                    return self.searcher
                searcher = self._previous_good(exclude=target)
                if searcher is None:
                    return None
                log.warning("serving the previous good index %s instead", searcher.index.path)
            # One reference assignment: requests in flight keep the searcher they started with.
            self.searcher = searcher
            if searcher.index.path == target:
                self.error = None
            log.info("index generation %s loaded from %s", searcher.index.generation, searcher.index.path)
            return searcher

    def _previous_good(self, exclude: Path) -> Searcher | None:
        builds = self.index_dir.parent / ".builds"
        if not builds.is_dir():
            return None
        for path in sorted((p for p in builds.iterdir() if p.is_dir() and p != exclude), reverse=True):
            try:
                return Searcher(LoadedIndex.load(path, self.model, self.vectors), self.embedder)
            except (IndexUnavailable, OSError, ValueError, KeyError) as exc:
                log.error("older build refused too: %s", exc)
        return None
