"""The quantities a clause states, which count answers are picked from (pure logic, no index)."""

from __future__ import annotations

import pytest

from index.query.answer import quantities


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("遴选建设 5 所“楚怡”优秀技工院校", ["5所"]),
        ("支持14个市州各改扩建1所", ["14个", "1所"]),
        ("为期3年，增长12%", ["3年", "12%"]),
        ("三年内建成两个基地", ["三年", "两个"]),
        # a calendar year is a date, never a count of years, however it is written
        ("到二〇二六年底，用水量比二〇二四年下降百分之十五以上", ["百分之十五"]),
        ("2022年4月1日起施行，有效期5年", ["5年"]),
        # an ordinal numbers a thing; it counts nothing
        ("第十二条 第3条", []),
        ("百分之零点五", ["百分之零点五"]),
    ],
)
def test_quantities_are_numbers_with_their_measure_not_dates_or_ordinals(
    text: str, expected: list[str]
) -> None:
    assert [q.text for q in quantities(text)] == expected


def test_a_quantity_locates_its_span() -> None:
    text = "全省遴选建设 10 所学校"
    (found,) = quantities(text)
    assert text[found.start : found.end].replace(" ", "") == found.text == "10所"
