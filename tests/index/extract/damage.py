"""What the extractors' property tests share: what `inspect` makes of some bytes, and ways to damage a
sound file (bytes overwritten and cut short; its XML spliced inside a sound ZIP)."""

from __future__ import annotations

from hypothesis import strategies as st

from index.extract.base import ExtractOptions, Extractor, FileRefused

OPTIONS = ExtractOptions()
REFUSAL_KINDS = ("invalid", "unsupported_type", "too_large")

# Splices into an XML part: (where, how many characters cut, what is put in).
XML_EDITS = st.lists(
    st.tuples(
        st.integers(0, 10_000),
        st.integers(0, 40),
        st.text(alphabet='<>/="&; 0123456789.-gX中\x00', max_size=6),
    ),
    min_size=1,
    max_size=6,
)


def inspected_pages(extractor: Extractor, name: str, data: bytes) -> int | None:
    """The pages `inspect` counts in the bytes, or None when it refuses them, naming the file and
    saying why (anything else it raises fails the test)."""
    try:
        return extractor.inspect(name, data, OPTIONS)
    except FileRefused as refused:
        assert refused.source == name and refused.message and refused.kind in REFUSAL_KINDS, refused
        return None


def read_or_refused(extractor: Extractor, name: str, data: bytes) -> None:
    """Inspect and extract the bytes; a refusal is a fine outcome, anything else it raises is not."""
    try:
        extractor.inspect(name, data, OPTIONS)
        extractor.extract(name, data, OPTIONS, lambda _done: None)
    except FileRefused:
        pass


def damaged(valid: bytes, min_keep: int) -> st.SearchStrategy[bytes]:
    """The sound file with up to eight bytes overwritten, and perhaps cut short (to `min_keep` bytes
    at the least)."""
    cuts = st.lists(st.tuples(st.integers(0, len(valid) - 1), st.integers(0, 255)), min_size=1, max_size=8)
    keep = st.one_of(st.just(len(valid)), st.integers(min_keep, len(valid)))

    def damage(args: tuple[list[tuple[int, int]], int]) -> bytes:
        overwritten, kept = args
        data = bytearray(valid[:kept])
        for at, value in overwritten:
            if at < len(data):
                data[at] = value
        return bytes(data)

    return st.tuples(cuts, keep).map(damage)


def spliced(xml: str, edits: list[tuple[int, int, str]]) -> str:
    """The XML text with each edit applied in turn (its place taken modulo the text's length)."""
    for at, cut, inserted in edits:
        at %= len(xml) + 1
        xml = xml[:at] + inserted + xml[at + cut :]
    return xml
