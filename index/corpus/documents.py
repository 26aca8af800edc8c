"""Documents: ids that are safe as folder names, and a title taken from the text when none is given."""

from __future__ import annotations

import hashlib
import re
from collections import Counter

from index.corpus.normalize import normalize_text
from index.errors import Refusal

DOCUMENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_DOCUMENT_ID = re.compile(DOCUMENT_ID_PATTERN)
_FRONT_MATTER_TITLE = re.compile(r"^title:\s*[\"']?(.+?)[\"']?\s*$")
# The words that end the title of a Chinese official document: its genre
# (notice, decision, opinion, measures, regulations, law, plan, ...).
_GENRES = (
    "通知", "决定", "意见", "办法", "规定", "条例", "法", "方案", "公告", "通告", "通报", "报告", "批复",
    "规划", "细则", "纲要", "计划", "函", "章程", "准则", "标准", "指南", "决议", "命令", "公报", "规则",
)  # fmt: skip
_TRAILING = "》>」』\"'”’)）。.：: "
TITLE_MAX_CHARS = 80
TITLE_SCAN_LINES = 30


class DocumentIdError(Refusal, ValueError):
    """A document id a user gave that cannot name a folder."""


def check_document_id(document_id: str) -> str:
    # The pattern alone keeps an id a single folder name: no separator, never "." or ".." itself.
    if not _DOCUMENT_ID.fullmatch(document_id):
        raise DocumentIdError(
            f"document id {document_id[:80]!r} is not allowed: use 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return document_id


def new_document_id(first_variant_sha256: str, taken: set[str]) -> str:
    """A short stable id for a document started by a text nobody named a document for."""
    base = f"doc-{first_variant_sha256[:8]}"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def folder_document_id(name: str) -> str:
    """A document id from a folder name (the seed folder is a document named after it)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:64]
    return (
        cleaned
        if cleaned and _DOCUMENT_ID.fullmatch(cleaned)
        else "document-" + hashlib.sha256(name.encode()).hexdigest()[:8]
    )


def title_from_text(text: str) -> str:
    """The line that reads as the document's title: front-matter `title:`, else one ending in a genre word."""
    lines = text.splitlines()
    if lines and lines[0].strip() == "---":
        for line in lines[1:]:
            if line.strip() == "---":
                break
            match = _FRONT_MATTER_TITLE.match(line.strip())
            if match:
                return match.group(1).strip()[:TITLE_MAX_CHARS]
    seen: list[str] = []
    for raw in lines:
        line = normalize_text(raw).strip()
        if line in ("---",) or not any(ch.isalnum() for ch in line):
            continue
        seen.append(line)
        core = line.rstrip(_TRAILING)
        if len(core) <= TITLE_MAX_CHARS and core.endswith(_GENRES) and len(core) >= 4:
            return core.lstrip("《<")
        if len(seen) >= TITLE_SCAN_LINES:
            break
    return seen[0][:TITLE_MAX_CHARS] if seen else "untitled"


def title_for_variants(texts: list[str]) -> str:
    """The title more than half the variants agree on; none ("") when they do not agree.

    Transcriptions often carry invented headers, each its own: a title one
    variant made up would be shown as the document's, and would steer questions
    that name it, so without a majority the document goes untitled (shown by id).
    """
    titles = [title_from_text(t) for t in texts]
    if not titles:
        return ""
    title, count = Counter(titles).most_common(1)[0]
    return title if count * 2 > len(titles) else ""
