"""Normalised view and its offset map back to the raw text."""

from index.corpus.normalize import NormalizedText, normalize_text


def test_spaced_out_cjk_is_joined_and_markdown_stripped() -> None:
    raw = "## 二 、 主 要 任 务\n支 持 建 设 3 所 “ 楚 怡 ” 学 校 。\n"
    view = NormalizedText.of(raw)
    assert view.text == "二、主要任务\n支持建设3所“楚怡”学校。\n"


def test_latin_words_keep_their_spaces() -> None:
    assert normalize_text("use the  AI model 技术") == "use the AI model技术"


def test_fullwidth_forms_fold_with_nfkc() -> None:
    assert normalize_text("（一）１０所，") == "(一)10所,"


def test_every_normalised_span_maps_to_the_raw_characters_it_came_from() -> None:
    raw = "# 标题\n\n培 育 建 设 30 个 由 政 府 、\n\n行 业 、 企 业 。"
    view = NormalizedText.of(raw)
    start = view.text.index("30个")
    raw_start, raw_end = view.raw_span(start, start + 3)
    assert raw[raw_start:raw_end] == "30 个"
    location = view.location(view.text.index("行业"), len(view.text))
    assert location.line_start == location.line_end == 5
    assert raw[location.char_start : location.char_end] == "行 业 、 企 业 。"
