"""A readable plain-text report of a collation: groups by support, repetitions, divergences."""

from __future__ import annotations

from collections import defaultdict

from index.corpus.model import ClauseGroup, Collation

_PREVIEW = 60


def _preview(text: str, width: int = _PREVIEW) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _short(variant: str) -> str:
    return variant.split("_", 1)[0]


def collation_report(collation: Collation) -> str:
    lines = [
        f"{len(collation.variants)} variants, {len(collation.groups)} clause groups",
        "",
    ]
    by_support: dict[int, list[ClauseGroup]] = defaultdict(list)
    for group in collation.groups:
        by_support[group.support.count].append(group)
    for count in sorted(by_support, reverse=True):
        groups = by_support[count]
        lines.append(f"== support {count}/{collation.total}: {len(groups)} groups")
        for group in groups:
            variants = ",".join(_short(v) for v in group.support.variants)
            lines.append(f"  {group.id} [{variants}] {_preview(group.canonical)}")
        lines.append("")

    repeated = [g for g in collation.groups if g.repetition]
    lines.append(f"== repetition loops collapsed: {len(repeated)} groups")
    for group in repeated:
        copies = ", ".join(f"{_short(v)}×{n}" for v, n in group.repetition.items())
        lines.append(f"  {group.id} ({copies}) {_preview(group.canonical)}")
    lines.append("")

    divergent = [g for g in collation.groups if "divergent" in g.flags]
    minor = sum("punctuation_only" in g.flags for g in collation.groups)
    lines.append(
        f"== divergent readings: {len(divergent)} groups (and {minor} differing only in punctuation)"
    )
    for group in divergent:
        lines.append(f"  {group.id} {_preview(group.canonical)}")
        for d in group.divergences:
            if d.substantive:
                lines.append(
                    f"      {_short(d.variant)} {d.kind:7} “{_preview(d.canonical_text, 24)}” → “{_preview(d.reading_text, 24)}”"
                )
    if collation.problems:
        lines.append("")
        lines.append(f"== refused inputs: {len(collation.problems)}")
        lines.extend(f"  {p}" for p in collation.problems)
    return "\n".join(lines)
