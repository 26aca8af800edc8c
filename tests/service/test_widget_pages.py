"""The widget's page view in a real browser: a reading from a PDF opens on the page image, its lines boxed.

One real server for this module, over a tiny corpus: a seed folder holding one plain-text notice, and a
two-page PDF with a text layer, drawn here with fpdf2 (so where each line lies is known) and uploaded
through POST /v1/documents. The highlights are checked from the API's rectangles, from where the boxes
sit over the image in the page, and by eye in the screenshots (test-output/screenshots, and
/tmp/widget_pages_{1280,375}.png).
"""

from __future__ import annotations

import io
import json
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import MODELS
from tests.servers import Server, _send, multipart_body, request, running_server
from tests.service.conftest import SCREENSHOTS

FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
PAGE_HEIGHT_MM = 297.0  # A4
LINE_HEIGHT_MM = 8.0  # each line is drawn as a cell this tall, the text centred in it

TITLE = "关于开展智慧灌溉试点工作的通知"
# (top of the line's cell in mm, text): one line each, as an official notice is set.
PAGE_1 = [
    (50, "各县（市、区）水利局，省直有关单位："),
    (64, "为加快推进农业节水，省水利厅决定在东部平原开展智慧灌溉试点。"),
    (78, "试点范围包括青河、柳湾、石桥三个灌区，试点期限为两年。"),
    (92, "各灌区应当建立土壤墒情监测站点，实时采集墒情和气象数据。"),
    (106, "监测站点的布设密度为每五千亩不少于一处。"),
    (120, "县级水利部门负责组织技术培训，每季度至少开展一次。"),
    # This sentence crosses the page break.
    (260, "灌区管理单位应当于每年三月底前将上一年度用水台账"),
]
PAGE_2 = [
    (30, "报送省水利厅水资源处备案。"),
    (50, "试点所需资金由省级财政专项资金和县级配套资金共同承担。"),
    (64, "专项资金实行专账核算，任何单位不得挤占挪用。"),
    # The answer: one sentence over two lines, half-way down page 2.
    (150, "到二〇二六年底，试点灌区亩均灌溉用水量应当比二〇二四"),
    (160, "年下降百分之十五以上，灌溉水利用系数达到零点六五。"),
    (200, "本通知自印发之日起施行。"),
]
ANSWER_TOPS_MM = (150, 160)
QUESTION = "到二〇二六年底试点灌区亩均灌溉用水量要下降多少？"
CROSSING_QUESTION = "灌区管理单位每年要把用水台账报送到哪里备案？"
FOREST = (
    "关于做好冬季森林防火工作的通知\n各乡镇人民政府：\n"
    "进入冬季以来，林区气温下降，风干物燥，森林火险等级持续升高。"
    "各乡镇应当在十二月一日前完成护林员培训，每名护林员每天巡山不少于两次。\n"
)
FOREST_QUESTION = "护林员每天巡山不少于几次？"


WASTE = [
    "关于推行生活垃圾分类的通知",
    "各街道办事处：",
    "居民小区每栋楼设置四类垃圾桶。",
    "厨余垃圾每日定时收运两次。",
]
WASTE_QUESTION = "厨余垃圾每天收运几次？"


def waste_ofd() -> bytes:
    """A one-page OFD notice (the national e-document format): its lines are located, not drawn."""
    from tests.files.flowing import ofd_file, ofd_lines

    return ofd_file([ofd_lines(WASTE)], title=WASTE[0])


def notice_pdf() -> bytes:
    """A two-page A4 notice with a text layer (no scan): lines at the heights of PAGE_1 and PAGE_2."""
    from fpdf import FPDF

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(False)
    pdf.add_font("wqy", fname=FONT, collection_font_number=0)
    for number, lines in ((1, PAGE_1), (2, PAGE_2)):
        pdf.add_page()
        if number == 1:
            pdf.set_font("wqy", size=18)
            pdf.set_xy(20, 28)
            pdf.cell(w=170, h=10, text=TITLE, align="C")
        pdf.set_font("wqy", size=14)
        for top, text in lines:
            pdf.set_xy(25, top)
            pdf.cell(h=LINE_HEIGHT_MM, text=text)
        pdf.set_font("wqy", size=11)
        pdf.set_xy(20, 280)
        pdf.cell(w=170, h=6, text=f"- {number} -", align="C")  # the printed page number
    return bytes(pdf.output())


@dataclass(frozen=True)
class PagesServer:
    server: Server
    query_key: str
    admin_key: str
    pdf: bytes

    @property
    def base(self) -> str:
        return self.server.base

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.query_key}"}

    def ask(self, question: str) -> dict:
        status, body = request(
            self.base + "/v1/query",
            json.dumps({"question": question, "top_k": 5}).encode(),
            {"Content-Type": "application/json"} | self.auth(),
        )
        assert status == 200, body
        return body


@pytest.fixture(scope="module")
def pages_server(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> Iterator[PagesServer]:
    root = tmp_path_factory.mktemp("widget-pages")
    seeds = root / "forest"  # a flat seed folder is one document, named after the folder
    seeds.mkdir()
    (seeds / "forest.txt").write_text(FOREST, encoding="utf-8")
    keys = {name: secrets.token_urlsafe(18) for name in ("query", "admin")}
    settings = {
        "CONCORD_VAR_DIR": str(root / "var"),
        "CONCORD_MODELS_DIR": str(MODELS),
        "CONCORD_CACHE_DIR": str(shared_cache),
        "CONCORD_SEEDS_DIR": str(seeds),
        "CONCORD_API_KEYS": keys["query"],
        "CONCORD_ADMIN_API_KEYS": keys["admin"],
    }
    with running_server(settings, root / "server.log") as server:
        pdf = notice_pdf()
        body, content_type = multipart_body([("notice.pdf", pdf)], document="irrigation")
        headers = {"Content-Type": content_type, "Authorization": f"Bearer {keys['admin']}"}
        status, job = request(server.base + "/v1/documents", body, headers)
        assert status == 202, job
        job = _wait_for_job(server.base, job["id"], keys["query"])
        assert job["status"] == "succeeded", (job, server.output()[-3000:])
        body, content_type = multipart_body([("waste.ofd", waste_ofd())], document="waste")
        headers = {"Content-Type": content_type, "Authorization": f"Bearer {keys['admin']}"}
        status, job = request(server.base + "/v1/documents", body, headers)
        assert status == 202, job
        assert _wait_for_job(server.base, job["id"], keys["query"])["status"] == "succeeded"
        yield PagesServer(server, keys["query"], keys["admin"], pdf)


def _wait_for_job(base: str, job_id: str, key: str, timeout: float = 300) -> dict:
    """tests.servers.wait_for_job, with a key: this server is not open."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, job = request(f"{base}/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {key}"})
        if status == 200 and job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def _pdf_reading(body: dict, needle: str) -> tuple[dict, dict]:
    """The clause group holding `needle` among the results, and its reading from the PDF."""
    for group in body["results"]:
        for reading in group["readings"]:
            if needle in reading["text"] and (reading.get("source") or {}).get("format") == "pdf":
                return group, reading
    raise AssertionError(f"no PDF reading holds {needle!r}: {[g['text'] for g in body['results']]}")


def _band(top_mm: float) -> tuple[float, float]:
    """Where a drawn line's cell lies, as fractions of the page's height."""
    return top_mm / PAGE_HEIGHT_MM, (top_mm + LINE_HEIGHT_MM) / PAGE_HEIGHT_MM


def _check_answer_rects(reading: dict) -> list[list[float]]:
    """The answer reading lies on page 2 only, each rectangle over one of the two lines drawn there."""
    assert [span["page"] for span in reading["pages"]] == [2], reading["pages"]
    span = reading["pages"][0]
    assert span["confidence"] is None  # a text layer, not OCR
    rects = span["rects"]
    assert 1 <= len(rects) <= 2, rects
    bands = [_band(top) for top in ANSWER_TOPS_MM]
    for x0, y0, x1, y1 in rects:
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1, rects
        assert abs(x0 - 25 / 210) < 0.02, rects  # the left margin the lines were drawn at
        centre = (y0 + y1) / 2
        assert any(top - 0.005 <= y0 and y1 <= bottom + 0.005 for top, bottom in bands), (rects, bands)
        assert any(top < centre < bottom for top, bottom in bands), (rects, bands)
    return rects


def test_the_api_locates_the_answer_on_page_2_and_serves_the_page_and_the_original(
    pages_server: PagesServer,
) -> None:
    from PIL import Image

    body = pages_server.ask(QUESTION)
    group, reading = _pdf_reading(body, "百分之十五")
    assert group["rank"] <= 3, [g["text"] for g in body["results"]]
    assert reading["source"]["format"] == "pdf" and reading["source"]["ocr"] is False
    assert reading["source"]["low_confidence"] is False
    _check_answer_rects(reading)

    base = f"{pages_server.base}/v1/documents/irrigation/variants/{reading['variant']}"
    status, headers, png = _send(f"{base}/pages/2.png?width=1600", None, pages_server.auth(), None)
    assert status == 200 and headers["content-type"] == "image/png", (status, headers, png[:300])
    image = Image.open(io.BytesIO(png))
    assert image.height == 1600 and abs(image.width / image.height - 210 / 297) < 0.01, image.size
    status, headers, original = _send(f"{base}/original", None, pages_server.auth(), None)
    assert status == 200 and headers["content-type"] == "application/pdf", (status, headers)
    assert original == pages_server.pdf
    status, _, _ = _send(f"{base}/pages/3.png", None, pages_server.auth(), None)
    assert status == 404  # the file has two pages
    status, _, _ = _send(f"{base}/pages/2.png", None, {}, None)
    assert status == 401  # the same keys as the text route


def _chat_page(browser, server: PagesServer, width: int, locale: str):
    """The service's own chat page in a fresh browser context, the widget holding the query key."""
    context = browser.new_context(
        viewport={"width": width, "height": 900},
        locale=locale,
        permissions=["clipboard-read", "clipboard-write"],
    )
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(server.base + "/")
    page.locator("concord-chat").evaluate(
        "(chat, key) => chat.setAttribute('api-key', key)", server.query_key
    )
    return context, page


def _host_page_chat(page, key: str, documents: str) -> None:
    """Replace the page with a host page whose chat element fixes the scope to `documents`."""
    page.evaluate(
        """([key, documents]) => {
            const chat = document.createElement("concord-chat");
            chat.setAttribute("api-key", key);
            chat.setAttribute("documents", documents);
            document.body.replaceChildren(chat);
        }""",
        [key, documents],
    )


def _open_reading(page, question: str, needle: str, variant: str):
    """Ask, open the passage holding `needle`'s readings, click "Open in file" on `variant`'s reading."""
    chat = page.locator("concord-chat")
    box = chat.locator("textarea")
    box.fill(question)
    box.press("Enter")
    turn = chat.locator(".turn").last
    passage = turn.locator(".passage", has_text=needle).first
    passage.locator("summary").click()
    reading = passage.locator(f'.reading[data-variant="{variant}"]')
    reading.locator("button.open").click()
    return reading


def _boxes_over_image(page, figure, rects: list[list[float]]) -> None:
    """Every highlight sits over the image where its rectangle says, within a few pixels."""
    image = figure.locator("img").bounding_box()
    assert image and image["width"] > 100, image
    highlights = figure.locator(".highlight")
    for index, (x0, y0, x1, y1) in enumerate(rects):
        box = highlights.nth(index).bounding_box()
        assert box, index
        # The box pads the line by 2 px each side (and a 2 px underline): compare centres and extents.
        centre_x = image["x"] + (x0 + x1) / 2 * image["width"]
        centre_y = image["y"] + (y0 + y1) / 2 * image["height"]
        assert abs(box["x"] + box["width"] / 2 - centre_x) <= 3, (box, image, rects[index])
        assert abs(box["y"] + box["height"] / 2 - centre_y) <= 4, (box, image, rects[index])
        assert abs(box["width"] - (x1 - x0) * image["width"]) <= 6, (box, image, rects[index])
        assert abs(box["height"] - (y1 - y0) * image["height"]) <= 8, (box, image, rects[index])
        assert image["x"] - 3 <= box["x"] and box["x"] + box["width"] <= image["x"] + image["width"] + 3


@pytest.mark.parametrize("width", [1280, 375])
def test_open_in_file_shows_the_page_with_the_answer_lines_highlighted(
    pages_server: PagesServer, browser, tmp_path: Path, width: int
) -> None:
    from playwright.sync_api import expect

    body = pages_server.ask(QUESTION)
    _group, expected = _pdf_reading(body, "百分之十五")
    rects = _check_answer_rects(expected)

    context, page = _chat_page(browser, pages_server, width, "en-US")
    reading = _open_reading(page, QUESTION, "百分之十五", expected["variant"])

    # The readings list says where the reading is, and that a text layer (not OCR) was read.
    expect(reading.locator("header .pages")).to_have_text("p. 2")
    expect(reading.locator("header .file")).to_have_text("notice.pdf")  # the file as it arrived
    expect(reading.locator(".badge.ocr")).to_have_count(0)
    expect(reading.locator("button.open")).to_have_text("Hide the page")
    expect(reading.locator("button.open")).to_have_attribute("aria-expanded", "true")

    figure = reading.locator("figure.page")
    expect(figure).to_have_count(1)
    expect(figure).to_have_attribute("data-page", "2")
    label = expected["pages"][0][
        "label"
    ]  # the printed "- 2 -" at the foot of the page, if the reader took it
    expect(figure.locator("figcaption")).to_have_text(f"Page 2 (printed {label})" if label else "Page 2")
    image = figure.locator("img")
    expect(figure.locator(".page-frame.loading")).to_have_count(0)  # the image has arrived
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalHeight") == 1600
    assert image.get_attribute("src").startswith("blob:")
    assert "highlighted" in image.get_attribute("alt")
    highlights = figure.locator(".highlight")
    expect(highlights).to_have_count(len(rects))
    for index in range(len(rects)):
        assert "down the page" in highlights.nth(index).get_attribute("aria-label")
    _boxes_over_image(page, figure, rects)

    # The widget scrolled its log to the lines. Screenshots, looked at by a person as well: the boxes
    # must sit on "到二〇二六年底…" and "年下降百分之十五…".
    shot = tmp_path / f"widget_pages_{width}.png"
    page.screenshot(path=shot)
    shutil.copy(shot, SCREENSHOTS / shot.name)
    shutil.copy(shot, Path("/tmp") / shot.name)
    assert highlights.first.is_visible() and _in_view(page, highlights.first)

    # The original, fetched with the key, opens at the page.
    original = figure.locator("a.original")
    expect(original).to_have_text("Open the original at page 2")
    href = original.get_attribute("href")
    assert href.startswith("blob:") and href.endswith("#page=2"), href
    assert original.get_attribute("target") == "_blank"
    fetched = page.evaluate(
        "async (href) => { const b = await (await fetch(href)).blob(); return [b.type, b.size]; }", href
    )
    assert fetched == ["application/pdf", len(pages_server.pdf)], fetched
    # The download keeps the name the file arrived with.
    expect(figure.locator("a.download")).to_have_attribute("download", "notice.pdf")

    # The stored text is still shown, under the page.
    expect(reading.locator(".excerpt mark.span")).to_contain_text("百分之十五")

    # Keyboard: the page and its link are reachable by Tab.
    reading.locator("button.open").focus()
    focused = []
    for _ in range(4):
        page.keyboard.press("Tab")
        focused.append(
            page.evaluate("document.querySelector('concord-chat').shadowRoot.activeElement?.className || ''")
        )
    assert "page-frame" in " ".join(focused) and "original" in focused, focused

    # Nothing is wider than the screen, at 375 px too.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    frame = figure.locator(".page-frame").bounding_box()
    chat = page.locator("concord-chat").bounding_box()
    assert frame["x"] >= chat["x"] and frame["x"] + frame["width"] <= chat["x"] + chat["width"] + 0.5

    # The citation names the page.
    reading.locator("button.copy").click()
    expect(page.locator("concord-chat .status p")).to_be_visible()  # copied (or not): lastCitation is set
    citation = page.evaluate("document.querySelector('concord-chat').lastCitation")
    assert "p. 2, line" in citation and "(notice.pdf)" in citation, citation

    # Hiding revokes the page's object URLs.
    src = image.get_attribute("src")
    reading.locator("button.open").click()
    expect(reading.locator("figure.page")).to_have_count(0)
    expect(reading.locator("button.open")).to_have_text("Open in file")
    revoked = page.evaluate(
        "async (src) => { try { await fetch(src); return false; } catch { return true; } }", src
    )
    assert revoked, src
    context.close()


def _in_view(page, locator) -> bool:
    """Whether the element is inside the viewport (the widget scrolled its log to it)."""
    box = locator.bounding_box()
    viewport = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"]


def test_a_sentence_across_the_page_break_shows_both_pages(pages_server: PagesServer, browser) -> None:
    from playwright.sync_api import expect

    body = pages_server.ask(CROSSING_QUESTION)
    _group, expected = _pdf_reading(body, "用水台账")
    assert [span["page"] for span in expected["pages"]] == [1, 2], expected["pages"]
    first, second = expected["pages"]
    # The last line of page 1 and the first of page 2.
    assert all(_band(260)[0] - 0.005 <= r[1] and r[3] <= _band(260)[1] + 0.005 for r in first["rects"])
    assert all(_band(30)[0] - 0.005 <= r[1] and r[3] <= _band(30)[1] + 0.005 for r in second["rects"])

    context, page = _chat_page(browser, pages_server, 1280, "zh-CN")
    reading = _open_reading(page, CROSSING_QUESTION, "用水台账", expected["variant"])
    expect(reading.locator("header .pages")).to_have_text("第 1–2 页")
    figures = reading.locator("figure.page")
    expect(figures).to_have_count(2)
    for index, span in enumerate(expected["pages"]):
        figure = figures.nth(index)
        caption = f"第 {span['page']} 页" + (f"（页码 {span['label']}）" if span["label"] else "")
        expect(figure.locator("figcaption")).to_have_text(caption)
        expect(figure.locator(".page-frame.loading")).to_have_count(0)
        expect(figure.locator("img")).to_be_visible()
        expect(figure.locator(".highlight")).to_have_count(len(span["rects"]))
        _boxes_over_image(page, figure, span["rects"])
        href = figure.locator("a.original").get_attribute("href")
        assert href.startswith("blob:") and href.endswith(f"#page={span['page']}"), href
    expect(figures.nth(0).locator("a.original")).to_have_text("在原文件中打开第 1 页")
    figures.nth(0).locator(".highlight").scroll_into_view_if_needed()
    page.screenshot(path=SCREENSHOTS / "widget_pages_break_1280.png")
    reading.locator("button.copy").click()
    expect(page.locator("concord-chat .status p")).to_be_visible()  # copied (or not): lastCitation is set
    citation = page.evaluate("document.querySelector('concord-chat').lastCitation")
    assert "pp. 1–2, line" in citation, citation
    context.close()


def test_a_plain_text_reading_keeps_the_text_view(pages_server: PagesServer, browser) -> None:
    from playwright.sync_api import expect

    body = pages_server.ask(FOREST_QUESTION)
    group = next(g for g in body["results"] if "巡山" in g["text"])
    reading_out = group["readings"][0]
    assert reading_out["source"] is None and reading_out["pages"] == []

    context, page = _chat_page(browser, pages_server, 1280, "en-US")
    reading = _open_reading(page, FOREST_QUESTION, "巡山", reading_out["variant"])
    expect(reading.locator(".source mark.span")).to_contain_text("巡山")
    expect(reading.locator(".source-head")).to_contain_text("forest.txt, line")
    expect(reading.locator("header .lines")).to_be_visible()
    expect(reading.locator("figure.page")).to_have_count(0)
    expect(reading.locator("button.open")).to_have_text("Hide file text")
    context.close()


def test_an_ofd_reading_cites_its_page_and_shows_its_text(pages_server: PagesServer, browser) -> None:
    from playwright.sync_api import expect

    body = pages_server.ask(WASTE_QUESTION)
    group = next(g for g in body["results"] if "两次" in g["text"])
    reading_out = group["readings"][0]
    assert reading_out["source"]["format"] == "ofd" and reading_out["source"]["page_images"] is False
    assert [span["page"] for span in reading_out["pages"]] == [1]

    context, page = _chat_page(browser, pages_server, 1280, "en-US")
    reading = _open_reading(page, WASTE_QUESTION, "两次", reading_out["variant"])
    expect(reading.locator("header .pages")).to_have_text("p. 1")
    expect(reading.locator("header .file")).to_have_text("waste.ofd")
    expect(reading.locator(".source mark.span")).to_contain_text("两次")  # the text view, not a page image
    expect(reading.locator("figure.page")).to_have_count(0)
    expect(reading.locator(".source .error")).to_have_count(0)
    context.close()


def test_a_conversation_narrowed_to_one_document_and_widened_again(
    pages_server: PagesServer, browser
) -> None:
    """A passage's "Ask only this document" sends the next questions with `documents`, says so above the
    box and under each question, survives a reload, and "Ask all documents" lifts it; a host page's
    `documents` attribute fixes the scope with nothing to lift."""
    from playwright.sync_api import expect

    sent: list[dict] = []
    context, page = _chat_page(browser, pages_server, 1280, "en-US")
    page.on("request", lambda r: sent.append(r.post_data_json) if r.url.endswith("/v1/query") else None)
    chat = page.locator("concord-chat")

    def ask(question: str):
        asked, turns = len(sent), chat.locator(".turn").count()
        chat.locator("textarea").fill(question)
        chat.locator("textarea").press("Enter")
        expect(chat.locator(".turn")).to_have_count(turns + 1)  # a refused question leaves no turn
        turn = chat.locator(".turn").last
        expect(turn.locator(".passage").first).to_be_visible()  # answered, not pending
        assert len(sent) == asked + 1
        return turn

    def documents_of(turn) -> set[str]:
        return set(turn.locator(".passage .doc-title").all_inner_texts())

    question = "每天要做几次？"  # asked of all three documents, several answer in part
    turn = ask(question)
    assert len(documents_of(turn)) >= 2, documents_of(turn)
    assert "documents" not in sent[-1]
    waste = turn.locator(".passage", has_text="收运").first
    title = waste.locator(".doc-title").inner_text()
    waste.locator("button.scope").click()
    expect(chat.locator(".scope-bar .scope-names")).to_have_text(title)
    expect(chat.locator("textarea")).to_be_focused()

    turn = ask(question)
    assert sent[-1]["documents"] == ["waste"]
    assert documents_of(turn) == {title}
    expect(turn.locator(".turn-scope")).to_have_text(f"only in {title}")
    expect(turn.locator("button.scope")).to_have_count(0)  # one document: nothing to narrow to
    page.screenshot(path=SCREENSHOTS / "widget-scoped-1280.png")

    page.reload()
    chat.evaluate(
        "(chat, key) => chat.setAttribute('api-key', key)", pages_server.query_key
    )  # the page's own
    expect(chat.locator(".scope-bar .scope-names")).to_have_text(title)  # kept for the session
    chat.locator(".scope-bar button.unscope").click()
    expect(chat.locator(".scope-bar")).to_be_hidden()
    turn = ask(question)
    assert "documents" not in sent[-1]
    assert len(documents_of(turn)) >= 2

    # The host page fixes the scope: questions go to that document only, and the reader cannot lift it.
    _host_page_chat(page, pages_server.query_key, "forest")
    expect(chat.locator(".scope-bar .scope-names")).to_have_text(
        "forest"
    )  # its title once an answer shows it
    expect(chat.locator(".scope-bar button.unscope")).to_have_count(0)
    turn = ask(question)
    assert sent[-1]["documents"] == ["forest"]
    forest = documents_of(turn)
    assert len(forest) == 1
    expect(chat.locator(".scope-bar .scope-names")).to_have_text(forest.pop())
    expect(turn.locator("button.scope")).to_have_count(0)
    context.close()


def test_a_conversation_narrowed_to_a_removed_document_says_so_and_offers_every_document(
    pages_server: PagesServer, browser
) -> None:
    """A session kept its scope on a document removed since: the question is refused (404
    unknown_document), the widget says the document is gone, and "Ask all documents" lifts the scope
    and asks the same question of every document."""
    from playwright.sync_api import expect

    sent: list[dict] = []
    context, page = _chat_page(browser, pages_server, 1280, "en-US")
    page.on("request", lambda r: sent.append(r.post_data_json) if r.url.endswith("/v1/query") else None)
    chat = page.locator("concord-chat")
    chat.evaluate(
        """(chat) => {
            sessionStorage.setItem(`${chat.storageKey}:scope`,
                JSON.stringify([{id: "removed-notice", title: "The old parking notice"}]));
        }"""
    )
    page.reload()
    chat.evaluate("(chat, key) => chat.setAttribute('api-key', key)", pages_server.query_key)
    expect(chat.locator(".scope-bar .scope-names")).to_have_text("The old parking notice")

    question = "每天要做几次？"
    chat.locator("textarea").fill(question)
    chat.locator("textarea").press("Enter")
    status = chat.locator(".status")
    expect(status.locator(".error")).to_have_text(
        "The old parking notice is no longer in the collection (it may have been removed)."
    )
    assert sent[-1]["documents"] == ["removed-notice"]
    expect(chat.locator(".turn")).to_have_count(0)  # a refused question leaves no turn
    expect(chat.locator("textarea")).to_have_value(question)  # nor loses what was typed
    page.screenshot(path=SCREENSHOTS / "widget-scope-gone-1280.png")

    status.locator("button.unscope").click()
    expect(chat.locator(".scope-bar")).to_be_hidden()
    turn = chat.locator(".turn").last
    expect(turn.locator(".passage").first).to_be_visible()
    assert "documents" not in sent[-1] and sent[-1]["question"] == question
    page.screenshot(path=SCREENSHOTS / "widget-scope-removed-1280.png")

    # A host page that fixed the scope on that document: the reader is told, and cannot widen it.
    _host_page_chat(page, pages_server.query_key, "removed-notice")
    chat.locator("textarea").fill(question)
    chat.locator("textarea").press("Enter")
    expect(status.locator(".error")).to_have_text(
        "removed-notice is no longer in the collection; this page asks only of it."
    )
    expect(chat.locator("button.unscope")).to_have_count(0)
    context.close()
