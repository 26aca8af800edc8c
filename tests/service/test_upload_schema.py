"""The upload schema's text pattern says exactly what the service takes (pure logic, no app).

The contract check (schemathesis) generates text parts from the pattern, in whichever regex dialect
it reads `\\s` with; a part it thinks valid must be taken, one it thinks invalid refused. So in both
dialects, Python's and JSON Schema's (ECMA-262), the pattern must match a text exactly when the
service would store it: some character that is not blank, and no NUL.
"""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from index.corpus.variants import VariantError, decode_text
from service.routes.documents import upload_body

# ECMA-262's \s: white space and line terminators (U+FEFF included, U+001C-U+001F and U+0085 not).
ECMA_SPACE = "\\t\\n\\x0b\\x0c\\r \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
TRICKY = "\x00\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u200a\u200b\u2028\u2029\u202f\u205f\u3000\ufeff\x7fa字"


def _pattern() -> str:
    text = upload_body(max_files=3, max_bytes=10_000)["content"]["multipart/form-data"]["schema"]
    return text["properties"]["files"]["anyOf"][0]["pattern"]


PYTHON = re.compile(_pattern())
ECMA = re.compile(_pattern().replace("\\s", ECMA_SPACE))


def _taken(text: str) -> bool:
    try:
        decode_text("text.txt", text.encode("utf-8"))
    except VariantError:
        return False
    return True


@given(st.text(st.sampled_from(TRICKY) | st.characters(exclude_categories=("Cs",)), max_size=6))
def test_the_pattern_matches_a_text_exactly_when_the_service_takes_it(text: str) -> None:
    taken = _taken(text)
    assert (PYTHON.fullmatch(text) is not None) is taken, (text, taken)
    assert (ECMA.fullmatch(text) is not None) is taken, (text, taken)


def test_separators_and_byte_order_marks_alone_are_blank() -> None:
    for text in ("\x1d", "\x85", "\ufeff", "\ufeff\ufeff", " \u3000\ufeff\n"):
        assert not _taken(text) and PYTHON.fullmatch(text) is None and ECMA.fullmatch(text) is None
    for text in ("\x7f", "a\ufeff", "\ufeff字"):
        assert _taken(text) and PYTHON.fullmatch(text) and ECMA.fullmatch(text)
