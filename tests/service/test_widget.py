"""The chat widget in a real browser (Debian's chromium through Playwright) against real servers on 127.0.0.1."""

from __future__ import annotations

import secrets
from pathlib import Path

from tests.helpers import MODELS, SEEDS
from tests.servers import running_server
from tests.service.conftest import SCREENSHOTS, Portal

ENGLISH_QUESTION = "How many 楚怡 technical schools will be built?"
UNDERGRADUATE_QUESTION = "支持建设多少所“楚怡”高水平职业本科学校？"
LONE_VARIANT_QUESTION = "健全党的领导机制"


def _page(browser, width: int = 1280, locale: str = "en-US", **options: object):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale=locale, **options)
    context.set_default_timeout(30_000)
    return context.new_page()


def _ask(page, question: str) -> None:
    box = page.locator("concord-chat textarea")
    box.fill(question)
    box.press("Enter")


def test_an_english_question_shows_the_answer_its_support_and_the_divergent_reading(
    portal: Portal, browser
) -> None:
    from playwright.sync_api import expect

    page = _page(browser, permissions=["clipboard-read", "clipboard-write"])
    page.goto(portal.embed_url(portal.page_origin))
    chat = page.locator("concord-chat")
    _ask(page, ENGLISH_QUESTION)
    turn = chat.locator(".turn").last
    expect(turn.locator(".answer-span")).to_have_text("5所")
    expect(turn.locator(".agreement")).to_have_text("5 of 5 variants agree")
    five = turn.locator(".passage", has_text="遴选建设5所“楚怡”优秀技工院校").first
    expect(five.locator(".badge.support")).to_have_text("5/5 variants")
    # 002 and 004 write "," for "。": shown as punctuation only, not as a disagreement.
    expect(five.locator(".badge.minor")).to_be_visible()
    expect(five.locator(".badge.divergent")).to_have_count(0)
    page.screenshot(path=SCREENSHOTS / "widget-1280.png")

    # A clause that only one transcription carries is marked, whatever ranks above it: asked for by its
    # own words ("健全党的领导机制" is in variant 002 alone).
    _ask(page, LONE_VARIANT_QUESTION)
    lone = chat.locator(".turn").last.locator(".passage", has_text="健全党的领导机制").first
    expect(lone.locator(".badge.warn.single")).to_be_visible()

    _ask(page, UNDERGRADUATE_QUESTION)
    turn = chat.locator(".turn").last
    three = turn.locator(".passage", has_text="职业本科学校").first
    expect(three.locator(".badge.divergent")).to_be_visible()
    three.locator("summary").click()
    reading = three.locator('.reading[data-variant^="000"]')
    expect(reading.locator(".reading-text")).to_contain_text("职业科学校")
    expect(reading.locator('.reading-text .gap[data-missing="本"]')).to_have_count(1)
    divergence = three.locator('.divergence[data-variant^="000"]')
    expect(divergence.locator(".from")).to_contain_text("职业本科学校")
    expect(divergence.locator(".from mark")).to_have_text("本")
    expect(divergence.locator(".to")).to_contain_text("职业科学校")

    # "Open" shows the raw file around the span: here the spaced "3 所" only the file has.
    reading.locator("button.open").click()
    expect(reading.locator(".source mark")).to_contain_text("支持建设 3 所“楚怡”高水平职业科学校")
    expect(reading.locator(".source-head")).to_have_text("000_970efa45bf395699.txt, line 32")
    line = (SEEDS / "000_970efa45bf395699.txt").read_text(encoding="utf-8").splitlines()[31]
    assert reading.locator(".source mark").inner_text() in line
    reading.locator("button.copy").click()
    expect(chat.locator(".status .note")).to_have_text("Citation copied")
    citation = page.evaluate("navigator.clipboard.readText()")
    assert "variant 000_970efa45bf395699 (000_970efa45bf395699.txt), line 32" in citation
    assert "[seeds]" in citation
    three.scroll_into_view_if_needed()
    page.screenshot(path=SCREENSHOTS / "widget-readings-1280.png")

    # A question nothing answers: the closest passages, under a warning instead of an answer.
    _ask(page, "What is the budget for the 2030 Asian Games?")
    turn = chat.locator(".turn").last
    expect(turn.locator(".unanswered")).to_contain_text("do not seem to answer this")
    expect(turn.locator(".answer-span")).to_have_count(0)
    expect(turn.locator(".passage").first).to_be_visible()


def test_the_full_page_at_375px_asks_for_a_key_then_keeps_the_conversation_over_a_reload(
    portal: Portal, browser
) -> None:
    from playwright.sync_api import expect

    page = _page(browser, width=375)
    page.goto(portal.base + "/")
    chat = page.locator("concord-chat")
    expect(chat.locator(".empty")).to_be_visible()  # the empty state explains what to ask
    _ask(page, ENGLISH_QUESTION)
    expect(chat.locator(".status .error")).to_have_text("This service needs an access key.")
    chat.locator(".status input#key").fill(portal.query_key)
    chat.locator(".status form.key button").click()
    expect(chat.locator(".answer-span")).to_have_text("5所")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=SCREENSHOTS / "page-375.png", full_page=False)

    page.reload()
    expect(chat.locator(".turn .question")).to_have_text([ENGLISH_QUESTION])
    expect(chat.locator(".answer-span")).to_have_text("5所")


def test_validation_keys_and_language(portal: Portal, browser) -> None:
    from playwright.sync_api import expect

    page = _page(browser, locale="zh-CN")
    page.goto(portal.embed_url(portal.page_origin))
    chat = page.locator("concord-chat")
    expect(chat.locator("h2")).to_have_text("文件问答")  # follows the browser's language
    chat.locator("button.lang").click()
    expect(chat.locator("h2")).to_have_text("Ask the documents")
    page.reload()
    expect(chat.locator("h2")).to_have_text("Ask the documents")  # the choice holds for the session

    box = chat.locator("textarea")
    box.press("Enter")
    expect(chat.locator(".status .error")).to_have_text("Please type a question first.")
    box.type("first line")
    box.press("Shift+Enter")
    box.type("second line")
    assert box.input_value() == "first line\nsecond line"
    expect(chat.locator(".turn")).to_have_count(0)  # Shift+Enter sent nothing

    # A refusal from the service is shown in its own words.
    page.evaluate("document.querySelector('concord-chat').setAttribute('top-k', '99')")
    _ask(page, ENGLISH_QUESTION)
    expect(chat.locator(".status .error")).to_contain_text("top_k is 99; ask for 1 to 50 results")

    assert chat.locator(".log").get_attribute("aria-live") == "polite"
    page.locator("body").click(position={"x": 5, "y": 5})
    order = []
    for _ in range(4):
        page.keyboard.press("Tab")
        order.append(
            page.evaluate("document.querySelector('concord-chat').shadowRoot.activeElement?.className")
        )
    assert order == ["lang", "clear", "", "send"]  # the textarea has no class


def test_a_widget_key_copied_to_another_origin_is_refused(portal: Portal, browser) -> None:
    from playwright.sync_api import expect

    page = _page(browser)
    page.goto(portal.embed_url(portal.foreign_origin))
    chat = page.locator("concord-chat")
    _ask(page, ENGLISH_QUESTION)
    expect(chat.locator(".status .error")).to_contain_text(
        "Cannot reach the service (or this site may not call it)"
    )
    expect(chat.locator(".answer-span")).to_have_count(0)


def test_a_key_prompt_then_the_rate_limit_then_a_stopped_server_show_their_states(
    tmp_path: Path, shared_cache: Path, browser
) -> None:
    from playwright.sync_api import expect

    key = secrets.token_urlsafe(16)
    settings = {
        "CONCORD_VAR_DIR": str(tmp_path / "var"),
        "CONCORD_MODELS_DIR": str(MODELS),
        "CONCORD_CACHE_DIR": str(shared_cache),
        "CONCORD_API_KEYS": key,
        # A slow bucket, so that once drained it stays empty for the rest of the test.
        "CONCORD_RATE_LIMIT_PER_MINUTE": "2",
        "CONCORD_RATE_LIMIT_BURST": "6",
    }
    page = _page(browser)
    chat = page.locator("concord-chat")
    with running_server(settings, tmp_path / "server.log") as server:
        page.goto(server.base + "/")
        _ask(page, ENGLISH_QUESTION)
        chat.locator(".status input#key").fill(key)
        chat.locator(".status form.key button").click()
        expect(chat.locator(".answer-span")).to_have_text("5所")

        statuses = page.evaluate(
            """async ([key]) => Promise.all(Array.from({length: 8}, () =>
                fetch("/v1/documents", {headers: {Authorization: "Bearer " + key}}).then(r => r.status)))""",
            [key],
        )
        assert 429 in statuses, statuses
        _ask(page, "When was the notice issued?")
        expect(chat.locator(".status .error")).to_contain_text("Too many questions at once. Try again in")
        wait = chat.locator(".status .error").inner_text().split("Try again in ")[1].split(" s")[0]
        assert int(wait) >= 1

    _ask(page, "When was the notice issued?")
    expect(chat.locator(".status .error")).to_contain_text("Cannot reach the service")
    expect(chat.locator(".status button.retry")).to_be_visible()
    expect(chat.locator(".answer-span")).to_have_text("5所")  # what was answered stays
    expect(chat.locator("textarea")).to_have_value("When was the notice issued?")
