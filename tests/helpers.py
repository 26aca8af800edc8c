"""Helpers the tests import: where the repository, the seeds, the statutes and the converted model are,
the default settings, and the seed notice as one document. Fixtures live in conftest.py."""

from __future__ import annotations

from pathlib import Path

from index.corpus.model import DocumentSource, Variant
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
LAWS = ROOT.parent / "shared" / "corpora" / "laws"
MODELS = ROOT / "var" / "models"  # shared with `make serve`: the model is converted once per checkout
DEFAULT_SETTINGS = Settings(seeds_dir=None)


def seed_document(seed_variants: list[Variant]) -> DocumentSource:
    return DocumentSource("seeds", "seed notice", list(seed_variants))
