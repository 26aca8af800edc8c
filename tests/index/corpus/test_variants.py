"""Bad variant inputs get a clear message naming the file; the good ones are still read."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.corpus.variants import (
    DecodedText,
    VariantError,
    decode_text,
    decode_variant,
    load_variants,
    variant_id_for,
)


def test_variant_id_is_the_file_stem() -> None:
    assert variant_id_for("000_970efa45bf395699.txt") == "000_970efa45bf395699"


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("../etc/passwd.txt", "not a path"),
        ("/etc/passwd.txt", "not a path"),
        ("..evil.txt", "not a path"),
        ("a\\b.txt", "not a path"),
        ("bad\x00name.txt", "control characters"),
        ("line\nbreak.txt", "control characters"),
        ("CON.txt", "reserved device name"),
        ("nul.txt", "reserved device name"),
        (".hidden.txt", "hidden"),
        ("scan.pdf", "only plain text"),
        ("report.docx", "only plain text"),
        ("README", "only plain text"),
    ],
)
def test_unsafe_names_and_unsupported_types_are_refused(name: str, fragment: str) -> None:
    with pytest.raises(VariantError) as err:
        decode_variant(name, "正文。".encode())
    assert fragment in str(err.value)


@pytest.mark.parametrize(
    ("name", "variant_id"),
    [
        ("个人信息保护法.txt", "个人信息保护法"),
        ("a b?.txt", "a_b"),
        ("law.md", "law"),
        ("v2.final.TXT", "v2.final"),
    ],
)
def test_ordinary_names_become_safe_variant_ids(name: str, variant_id: str) -> None:
    assert variant_id_for(name) == variant_id


@pytest.mark.parametrize(
    ("data", "fragment", "kind"),
    [
        (b"", "empty", "invalid"),
        (b" \n\t\n", "empty", "invalid"),
        ("caf\xe9 au lait".encode("latin-1"), "neither UTF-8 nor GB18030", "invalid"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG image", "unsupported_type"),
        (b"\x00\x01binary", "binary", "invalid"),
        (b"%PDF-1.7\n...", "is a PDF", "unsupported_type"),
        (b"PK\x03\x04....word/document.xml", "ZIP container (.docx", "unsupported_type"),
    ],
)
def test_bad_contents_are_refused_with_a_reason(data: bytes, fragment: str, kind: str) -> None:
    with pytest.raises(VariantError) as err:
        decode_variant("x.txt", data)
    assert fragment in str(err.value)
    assert str(err.value).startswith("x.txt:")
    assert err.value.kind == kind


def test_gb18030_and_utf16_are_converted_and_named() -> None:
    text = "第一条 为了保护个人信息权益，规范个人信息处理活动，制定本法。"
    assert decode_text("a.txt", text.encode("gb18030")) == DecodedText(text, "gb18030")
    assert decode_text("a.txt", text.encode("gbk")) == DecodedText(text, "gb18030")
    assert decode_text("a.txt", text.encode("utf-16")) == DecodedText(text, "utf-16")
    assert decode_text("a.txt", text.encode("utf-8")) == DecodedText(text, "utf-8")


def test_a_bad_folder_reports_each_file_and_keeps_the_good_ones(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("一、总体要求\n\n正文。\n", encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (tmp_path / "blob.txt").write_bytes(b"\x00" + bytes(range(256)))
    (tmp_path / "CON.txt").write_text("正文。", encoding="utf-8")
    with (tmp_path / "huge.txt").open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    loaded = load_variants(tmp_path)
    assert [v.id for v in loaded.variants] == ["good"]
    messages = {p.source: p.message for p in loaded.problems}
    assert set(messages) == {"empty.txt", "latin1.txt", "blob.txt", "CON.txt", "huge.txt"}
    assert "50.0 MB is over the 10.0 MB limit" in messages["huge.txt"]
    assert "binary" in messages["blob.txt"]
    assert "neither UTF-8 nor GB18030" in messages["latin1.txt"]


def test_a_byte_order_mark_is_dropped() -> None:
    assert decode_variant("x.txt", "\ufeff正文。".encode()).raw_text == "正文。"
