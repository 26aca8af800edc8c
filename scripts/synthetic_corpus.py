"""Synthetic corpora for the scale benchmarks: many documents, each with several noisy variants.

Clauses are real sentences (the seed notice and the statutes in ../shared/corpora), recombined per
document with their numbers changed, so documents differ from each other the way real ones do.
Each variant then gets seeded transcription noise: dropped and swapped characters, repetition loops,
spaced-out text, lines broken mid-sentence, and now and then a clause only that variant carries.

    python scripts/synthetic_corpus.py OUT --documents 100 --clauses 100 --variants 4 [--seed 7]

writes OUT/doc-00001/v1.txt …, one sub-folder per document as CONCORD_SEEDS_DIR takes them.
Everything is a pure function of the seed.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "seeds", ROOT.parent / "shared" / "corpora"]
_SENTENCE_END = re.compile(r"(?<=[。；！？])")
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class Noise:
    """Per-character and per-clause rates of each kind of transcription slip."""

    drop: float = 0.004
    swap: float = 0.003
    loop: float = 0.02
    spaced: float = 0.03
    broken_line: float = 0.05
    invented: float = 0.01


def source_sentences(sources: list[Path] = SOURCES) -> list[str]:
    """Distinct real Chinese sentences of 12 to 160 characters from the source folders' .txt and .md files."""
    seen: dict[str, None] = {}
    for folder in sources:
        for path in sorted(folder.rglob("*")):
            if path.suffix not in {".txt", ".md"} or not path.is_file():
                continue
            for line in path.read_text(encoding="utf-8", errors="ignore").splitlines():
                for sentence in _SENTENCE_END.split(re.sub(r"\s+", "", line)):
                    chinese = sum("\u4e00" <= ch <= "\u9fff" for ch in sentence)
                    if 12 <= len(sentence) <= 160 and chinese >= 0.6 * len(sentence):
                        seen.setdefault(sentence)
    if not seen:
        raise SystemExit(f"no sentences found under {', '.join(map(str, sources))}")
    return list(seen)


def document_clauses(sentences: list[str], clauses: int, rng: random.Random) -> list[str]:
    """One document's clauses: a title, then sampled sentences with fresh numbers under numbered headings."""
    picked = [
        _DIGITS.sub(lambda _m: str(rng.randint(1, 999)), _clause(sentences, rng)) for _ in range(clauses)
    ]
    for heading, at in enumerate(range(0, clauses, max(clauses // 5, 1)), 1):
        picked[at] = f"{'一二三四五六七八九十'[(heading - 1) % 10]}、{picked[at][:12]}"
    return [f"关于第{rng.randint(1, 99999)}号合成事项的通知", *picked]


def _clause(sentences: list[str], rng: random.Random) -> str:
    """A real sentence, or (half the time) pieces of two or three spliced at their commas: a pool of
    a thousand sentences then gives millions of distinct clauses, with a vocabulary that keeps growing."""
    if rng.random() < 0.5:
        return rng.choice(sentences)
    pieces = [
        rng.choice(rng.choice(sentences).rstrip("。；！？").split("，")) for _ in range(rng.randint(2, 3))
    ]
    return "，".join(pieces) + "。"


def noisy_variant(clauses: list[str], noise: Noise, rng: random.Random) -> str:
    """One transcription of a document's clauses, with seeded slips."""
    lines: list[str] = []
    for clause in clauses:
        chars = [ch for ch in clause if rng.random() >= noise.drop]
        for i in range(len(chars) - 1):
            if rng.random() < noise.swap:
                chars[i], chars[i + 1] = chars[i + 1], chars[i]
        text = "".join(chars)
        if rng.random() < noise.spaced:
            text = " ".join(text)
        if rng.random() < noise.broken_line and len(text) > 20:
            cut = rng.randint(8, len(text) - 8)
            text = f"{text[:cut]}\n{text[cut:]}"
        lines.append(text)
        if rng.random() < noise.loop:
            lines.extend([text] * rng.randint(2, 6))
        if rng.random() < noise.invented:
            lines.append(f"本文件由第{rng.randint(1, 99)}号系统自动转录，仅供参考。")
    return "\n".join(lines) + "\n"


def generate(
    documents: int, clauses: int, variants: int, seed: int = 7, noise: Noise = Noise()
) -> Iterator[tuple[str, list[str], list[str]]]:
    """(document id, its clean clauses, its variants' texts) for each document, from the seed alone."""
    sentences = source_sentences()
    for number in range(1, documents + 1):
        rng = random.Random(seed * 1_000_003 + number)
        clean = document_clauses(sentences, clauses, rng)
        yield f"doc-{number:05d}", clean, [noisy_variant(clean, noise, rng) for _ in range(variants)]


def write(out: Path, documents: int, clauses: int, variants: int, seed: int = 7) -> Path:
    for document, _clean, texts in generate(documents, clauses, variants, seed):
        folder = out / document
        folder.mkdir(parents=True, exist_ok=True)
        for number, text in enumerate(texts, 1):
            (folder / f"v{number}.txt").write_text(text, encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--clauses", type=int, default=100, help="clauses per document")
    parser.add_argument("--variants", type=int, default=4, help="variants per document")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    write(args.out, args.documents, args.clauses, args.variants, args.seed)
    print(f"{args.documents} documents × {args.clauses} clauses × {args.variants} variants in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
