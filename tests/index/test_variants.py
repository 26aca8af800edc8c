"""Bad variant inputs get a clear message naming the file; the good ones are still read."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.variants import VariantError, decode_variant, load_variants, variant_id_for


def test_variant_id_is_the_file_stem() -> None:
    assert variant_id_for("000_970efa45bf395699.txt") == "000_970efa45bf395699"


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("../etc/passwd.txt", "not a path"),
        ("..evil.txt", "not a path"),
        ("a b?.txt", "letters, digits"),
        ("名字.txt", "letters, digits"),
        ("bad\x00name.txt", "letters, digits"),
        ("notes.md", "only .txt"),
    ],
)
def test_odd_names_are_refused(name: str, fragment: str) -> None:
    with pytest.raises(VariantError) as err:
        decode_variant(name, "正文。".encode())
    assert fragment in str(err.value)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "empty"),
        (b" \n\t\n", "empty"),
        ("正文".encode("gb18030"), "not valid UTF-8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    ],
)
def test_bad_contents_are_refused_with_a_reason(data: bytes, fragment: str) -> None:
    with pytest.raises(VariantError) as err:
        decode_variant("x.txt", data)
    assert fragment in str(err.value)
    assert str(err.value).startswith("x.txt:")


def test_a_bad_folder_reports_each_file_and_keeps_the_good_ones(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("一、总体要求\n\n正文。\n", encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (tmp_path / "blob.txt").write_bytes(bytes(range(256)))
    (tmp_path / "odd name!.txt").write_text("正文。", encoding="utf-8")
    with (tmp_path / "huge.txt").open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    loaded = load_variants(tmp_path)
    assert [v.id for v in loaded.variants] == ["good"]
    messages = {p.source: p.message for p in loaded.problems}
    assert set(messages) == {"empty.txt", "latin1.txt", "blob.txt", "odd name!.txt", "huge.txt"}
    assert "50.0 MB is over the 5.0 MB limit" in messages["huge.txt"]
    assert "binary" in messages["blob.txt"]
    assert "not valid UTF-8" in messages["latin1.txt"]


def test_a_byte_order_mark_is_dropped() -> None:
    assert decode_variant("x.txt", "\ufeff正文。".encode()).raw_text == "正文。"
