"""Web pages: the article's paragraphs without the site around them (menus, breadcrumb, sidebar, footer,
scripts), each Block naming the element of the page as it arrived; GBK pages decoded; pages with no
text refused."""

from __future__ import annotations

import re

import lxml.html
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import index.extract
from index.extract import html
from index.extract.base import ExtractOptions, FileRefused
from index.extract.model import Extraction
from tests.files.flowing import BREADCRUMB, FOOTER_LINES, NAV_ITEMS, SIDEBAR_LINKS, html_page
from tests.index.extract.damage import inspected_pages

OPTIONS = ExtractOptions()
ARTICLE = [
    "各市州人民政府，省政府各厅委、各直属机构：",
    "为深入实施技能中国行动，加快培养高技能人才，现就推进楚怡优秀技工院校建设提出如下意见。",
    "一、总体要求。到2025年，遴选建设10所左右楚怡优秀技工院校，带动全省技工教育高质量发展。",
    "二、主要任务。各地要加大投入，改善办学条件，深化校企合作，推进工学一体化技能人才培养模式改革。",
    "三、保障措施。各级人力资源社会保障部门要会同有关部门加强组织领导，确保各项任务落到实处。",
]
SITE_TEXT = [
    *NAV_ITEMS[1:],
    "当前位置",
    *SIDEBAR_LINKS,
    *FOOTER_LINES,
    "版权所有",
    "ICP",
    "网站地图",
    "打印本页",
    "分享到",
    "统计",
    "党政机关",
    "_hmt",
]


def read(data: bytes, name: str = "意见.html") -> Extraction:
    done: list[int] = []
    [reading] = html.extract(name, data, OPTIONS, done.append)
    assert done == [1]
    return reading


def lines(reading: Extraction) -> list[str]:
    return reading.text.split("\n")


def assert_in_order(needles: list[str], haystack: list[str]) -> None:
    positions = [haystack.index(needle) for needle in needles]
    assert positions == sorted(positions), positions


def assert_blocks_point_at_their_elements(reading: Extraction, page: bytes, encoding: str = "utf-8") -> None:
    """Every Block's where is an XPath into the page as it arrived, to the element holding its text."""
    tree = lxml.html.document_fromstring(page.decode(encoding))
    for block in reading.blocks:
        assert block.where.startswith("/html/body/")
        [element] = tree.xpath(block.where)
        text = reading.text[block.start : block.end]
        held = re.sub(r"\s+", "", element.text_content())
        assert re.sub(r"\s+", "", text) in held, (block.where, text)


def test_the_article_without_the_site_around_it() -> None:
    page = html_page(ARTICLE)
    reading = read(page)

    assert reading.format == "html" and reading.method == "html" and reading.encoding == "utf-8"
    assert_in_order(ARTICLE, lines(reading))
    assert lines(reading)[0] == "湖南省人力资源和社会保障厅关于推进楚怡优秀技工院校建设的意见"  # the heading
    assert lines(reading)[-2:] == ["湖南省人力资源和社会保障厅", "2023年5月10日"]  # who issued it, and when
    for boilerplate in SITE_TEXT:
        assert boilerplate not in reading.text, boilerplate
    assert "首页" not in reading.text and BREADCRUMB not in reading.text
    assert_blocks_point_at_their_elements(reading, page)


def test_each_paragraph_is_one_block_at_its_own_element() -> None:
    reading = read(html_page(ARTICLE))

    for paragraph in ARTICLE:
        start = reading.text.index(paragraph)
        [where] = reading.where(start, start + len(paragraph))
        number = ARTICLE.index(paragraph) + 1
        assert where.endswith(f"/div[@class]/div/p[{number}]") or where.endswith(f"/div/p[{number}]")
    wheres = [b.where for b in reading.blocks]
    assert len(set(wheres)) == len(wheres)
    for block in reading.blocks:
        assert "\n" not in reading.text[block.start : block.end]


def test_a_short_notice_is_an_article_too() -> None:
    reading = read(html_page(ARTICLE[:1]))

    assert ARTICLE[0] in lines(reading)
    for boilerplate in SITE_TEXT:
        assert boilerplate not in reading.text, boilerplate


@pytest.mark.parametrize("declared", [True, False])
def test_a_gbk_page_is_decoded(declared: bool) -> None:
    page = html_page(ARTICLE, encoding="gbk")
    if not declared:
        page = page.replace(b"; charset=gb2312", b"")
    reading = read(page)

    assert reading.encoding == "gb18030"
    assert_in_order(ARTICLE, lines(reading))
    assert "版权所有" not in reading.text
    assert_blocks_point_at_their_elements(reading, page, "gbk")


def test_br_lists_tables_and_a_bare_div_keep_their_place() -> None:
    page = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>通知</title></head><body>
<header><nav><a href="/">首页</a> <a href="/jg/">机构设置</a> <a href="/zc/">政策文件</a></nav></header>
<main><article><h1>某某市人民政府关于做好防汛工作的通知</h1>
<p>各区县人民政府：<br>现将有关事项通知如下：</p>
<div>一、高度重视。各地要充分认识防汛工作的重要性，<span>切实</span>加强组织领导。</div>
<ul><li>（一）加强监测预警。</li><li>（二）做好物资储备。</li></ul>
<table><tr><th>地区</th><th>责任人</th><th>电话</th></tr><tr><td>东区</td><td>张三</td><td>12345678</td></tr></table>
<p>二、严格值班。汛期实行24小时值班制度，重要情况及时报告，不得迟报、漏报、瞒报。</p>
<p>某某市人民政府办公室<br>2024年6月1日</p>
</article></main>
<aside><h3>热点</h3><a href="/y">其他新闻标题一则</a></aside>
<footer><p>版权所有 某某市人民政府 京ICP备12345678号</p></footer></body></html>""".encode()
    reading = read(page)

    assert lines(reading) == [
        "某某市人民政府关于做好防汛工作的通知",
        "各区县人民政府：",
        "现将有关事项通知如下：",
        "一、高度重视。各地要充分认识防汛工作的重要性，切实加强组织领导。",  # trafilatura drops this div
        "（一）加强监测预警。",
        "（二）做好物资储备。",
        "地区\t责任人\t电话",
        "东区\t张三\t12345678",
        "二、严格值班。汛期实行24小时值班制度，重要情况及时报告，不得迟报、漏报、瞒报。",
        "某某市人民政府办公室",
        "2024年6月1日",
    ]
    assert [b.where for b in reading.blocks] == [
        "/html/body/main/article/h1",
        "/html/body/main/article/p[1]",
        "/html/body/main/article/p[1]",
        "/html/body/main/article/div",
        "/html/body/main/article/ul/li[1]",
        "/html/body/main/article/ul/li[2]",
        "/html/body/main/article/table/tr[1]",
        "/html/body/main/article/table/tr[2]",
        "/html/body/main/article/p[2]",
        "/html/body/main/article/p[3]",
        "/html/body/main/article/p[3]",
    ]
    assert_blocks_point_at_their_elements(reading, page)


def test_when_trafilatura_finds_nothing_the_page_structure_decides() -> None:
    page = (
        "<html><body><div class='nav'><a href='/'>首页</a> <a href='/zw/'>政务</a></div>"
        "<div id='content'><p>第一条 为了规范管理，制定本办法。</p></div>"
        "<div class='footer'>版权所有 京ICP备1号</div></body></html>"
    ).encode()
    reading = read(page)

    assert reading.text == "第一条 为了规范管理，制定本办法。"
    assert reading.blocks[0].where == "/html/body/div[2]/p"


def test_the_dispatch_reads_a_web_page() -> None:
    page = html_page(ARTICLE)

    assert index.extract.format_of("意见.htm", page) == "html"
    assert index.extract.inspect("意见.htm", page, OPTIONS) == 1
    [reading] = index.extract.extract("意见.htm", page, OPTIONS)
    assert ARTICLE[2] in reading.text


@pytest.mark.parametrize(
    "page",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"   \n\t ", id="blank"),
        pytest.param(b"<html><head><title>x</title></head><body>  </body></html>", id="empty body"),
        pytest.param(
            b"<html><body><script>document.write('<p>hello</p>')</script><div id='app'></div></body></html>",
            id="built by script",
        ),
        pytest.param(b"<html><body><img src='scan.png'></body></html>", id="a picture"),
    ],
)
def test_a_page_without_text_is_refused(page: bytes) -> None:
    with pytest.raises(FileRefused) as refused:
        html.inspect("空.html", page, OPTIONS)

    assert refused.value.source == "空.html"
    assert ".txt" in refused.value.message


def test_a_binary_file_named_html_is_refused() -> None:
    with pytest.raises(FileRefused) as refused:
        html.inspect("x.html", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), OPTIONS)
    assert "not a web page" in refused.value.message


def test_decoding_order() -> None:
    chinese = "中文页面"
    assert html.decode(b"\xef\xbb\xbf" + chinese.encode())[:2] == (chinese, "utf-8")
    assert html.decode(b"\xff\xfe" + chinese.encode("utf-16-le"))[:2] == (chinese, "utf-16")
    meta, traditional = b'<meta charset="big5">', "中文頁面"
    assert html.decode(meta + traditional.encode("big5"))[:2] == (meta.decode() + traditional, "big5")
    assert html.decode(chinese.encode("gbk"))[:2] == (chinese, "gb18030")
    # A page declaring GB2312 that is really UTF-8 (a template copied between sites) is still read.
    lying = b'<meta charset="gb2312">' + "公开".encode()
    assert html.decode(lying)[:2] == ('<meta charset="gb2312">公开', "utf-8")
    assert html.decode(b"\x80\x81 not text \xff" * 3)[2] > 0  # unreadable bytes are counted


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(st.binary(max_size=2048), st.text(max_size=512).map(str.encode)))
def test_arbitrary_bytes_are_read_or_refused(data: bytes) -> None:
    assert inspected_pages(html, "x.html", data) in (None, 1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fragments=st.lists(
        st.sampled_from(
            [
                "<p>",
                "</p>",
                "<div class='nav'>",
                "</div>",
                "<br>",
                "<table><tr><td>",
                "</td></tr></table>",
                "<script>",
                "</script>",
                "<a href='/'>",
                "</a>",
                "<!--",
                "-->",
                "第一条 规定。",
                "text",
                "\x0c",
                "&nbsp;",
            ]
        ),
        max_size=40,
    )
)
def test_odd_markup_is_read_or_refused(fragments: list[str]) -> None:
    page = "".join(fragments).encode()
    try:
        html.inspect("x.html", page, OPTIONS)
        [reading] = html.extract("x.html", page, OPTIONS, lambda _done: None)
    except FileRefused:
        return
    for block in reading.blocks:
        assert reading.text[block.start : block.end].strip()
