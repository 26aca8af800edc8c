"""Builders of flowing and OFD test files, made at test time (no binary fixtures in the repository).

docx_file(paragraphs, table=..., header=...)   a Word file, by python-docx
encrypted_docx()                               what Word writes for a .docx with a password (an OLE file)
html_page(article_paragraphs, encoding=...)    a government site's article page around the paragraphs
ofd_file(pages)                                an OFD (GB/T 33190) package, its XML parts written by hand
"""

from __future__ import annotations

import html
import io
import struct
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field

import docx
from docx.shared import Pt

# --------------------------------------------------------------------------- Word


def docx_file(
    paragraphs: Sequence[str],
    table: Sequence[Sequence[str]] | None = None,
    header: str | None = None,
    *,
    footer: str | None = None,
    table_after: int | None = None,
    line_breaks: bool = False,
) -> bytes:
    """A .docx of the paragraphs; `table` (rows of cells) placed after paragraph `table_after` (1-based;
    the middle by default); a section header and footer; `line_breaks`: "\\n" in a paragraph becomes a
    soft line break (Shift+Enter) instead of staying literal."""
    document = docx.Document()
    document.styles["Normal"].font.size = Pt(16)  # 三号, as 公文 are set
    added = []
    for text in paragraphs:
        paragraph = document.add_paragraph()
        lines = text.split("\n") if line_breaks else [text]
        run = paragraph.add_run(lines[0])
        for line in lines[1:]:
            run.add_break()
            run = paragraph.add_run(line)
        added.append(paragraph)
    if table is not None:
        columns = max(len(row) for row in table)
        word_table = document.add_table(rows=len(table), cols=columns)
        for r, row in enumerate(table):
            for c, cell in enumerate(row):
                word_table.cell(r, c).text = cell
        after = table_after if table_after is not None else len(added) // 2
        if 0 < after <= len(added):  # move it from the end to where it belongs
            added[after - 1]._p.addnext(word_table._tbl)
    section = document.sections[0]
    if header is not None:
        section.header.paragraphs[0].text = header
    if footer is not None:
        section.footer.paragraphs[0].text = footer
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def zip_of(parts: dict[str, bytes | str]) -> bytes:
    """A ZIP archive of the given parts (a .docx or .ofd is one)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


def parts_of(archive: bytes) -> dict[str, bytes]:
    """Every part of a ZIP archive by name: what zip_of was given."""
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        return {name: opened.read(name) for name in opened.namelist()}


def corrupt_entry(archive: bytes, name: str) -> bytes:
    """The archive with bytes in the middle of one entry's (compressed) data overwritten, as a damaged
    download or disk leaves it: the entry then fails its CRC or does not inflate."""
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        info = z.getinfo(name)
    local = archive[info.header_offset : info.header_offset + 30]
    name_length, extra_length = struct.unpack("<HH", local[26:30])
    start = info.header_offset + 30 + name_length + extra_length
    middle = start + info.compress_size // 2
    damaged = bytearray(archive)
    for i in range(middle, min(middle + 8, start + info.compress_size)):
        damaged[i] ^= 0x5A
    return bytes(damaged)


def encrypted_docx() -> bytes:
    """The shape of a .docx saved with a password: an OLE compound file (MS-CFB, version 3) holding the
    EncryptionInfo and EncryptedPackage streams of MS-OFFCRYPTO (their contents here are filler).

    Laid out by hand: sector 0 the FAT, sector 1 the directory, then the two streams; both are 4096
    bytes or more, so they live in regular sectors and no mini stream is needed."""
    sector = 512
    end_of_chain, free, fat_sector = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    info = b"\x04\x00\x04\x00\x40\x00\x00\x00" + b"\x00" * (4096 - 8)  # version 4.4, agile encryption
    package = struct.pack("<Q", 12_000) + bytes(range(256)) * 32  # size of the plain package, then "cipher"
    package += b"\x00" * (-len(package) % sector)

    info_start, info_sectors = 2, len(info) // sector
    package_start, package_sectors = info_start + info_sectors, len(package) // sector
    fat = [fat_sector, end_of_chain]
    for start, count in ((info_start, info_sectors), (package_start, package_sectors)):
        fat += [start + i + 1 for i in range(count - 1)] + [end_of_chain]
    fat += [free] * (sector // 4 - len(fat))

    def entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
        encoded = (name + "\x00").encode("utf-16-le")
        return (
            encoded.ljust(64, b"\x00")
            + struct.pack("<HBBIII", len(encoded), kind, 1, free, right, child)
            + b"\x00" * 16  # CLSID
            + struct.pack("<IQQIQ", 0, 0, 0, start, size)
        )

    directory = (
        entry("Root Entry", 5, 1, free, end_of_chain, 0)
        + entry("EncryptionInfo", 2, free, 2, info_start, len(info))
        + entry("EncryptedPackage", 2, free, free, package_start, len(package))
    ).ljust(sector, b"\x00")
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\x00" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\x00" * 6
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, end_of_chain, 0, end_of_chain, 0)
        + struct.pack("<I", 0)  # DIFAT[0]: the FAT is sector 0
        + struct.pack("<I", free) * 108
    )
    assert len(header) == sector
    return header + struct.pack(f"<{len(fat)}I", *fat) + directory + info + package


# --------------------------------------------------------------------------- a government web page

NAV_ITEMS = ("首页", "政务公开", "政务服务", "互动交流", "走进湖南")
SIDEBAR_LINKS = (
    "关于做好2023年高校毕业生就业创业工作的通知",
    "湖南省职业技能提升行动实施方案（2023—2025年）",
    "省人力资源社会保障厅2022年法治政府建设年度报告",
)
FOOTER_LINES = (
    "主办：湖南省人民政府办公厅　承办：湖南省电子政务服务中心",
    "版权所有：湖南省人民政府办公厅　湘ICP备05001230号　湘公网安备 43010502000123号",
    "网站标识码：4300000011　网站地图　联系我们",
)
BREADCRUMB = "当前位置：首页 > 政务公开 > 政策文件"


def html_page(
    article_paragraphs: Sequence[str],
    *,
    title: str = "湖南省人力资源和社会保障厅关于推进楚怡优秀技工院校建设的意见",
    encoding: str = "utf-8",
    signature: Sequence[str] = ("湖南省人力资源和社会保障厅", "2023年5月10日"),
    extra_article_html: str = "",
) -> bytes:
    """An article page as a provincial government portal serves it: a header with the site's name and
    navigation menu, a breadcrumb, the title with its date line, the article (paragraphs in a TRS
    editor div, then the issuing body and date right-aligned), share and print links, a sidebar of
    related links, a footer with 版权所有 and the ICP record, and scripts (statistics, document.write).

    `encoding` also names the charset in the page's meta tag (GB2312 pages declare "gb2312" and are
    written as GBK, which is what browsers do); `extra_article_html` is put at the article's end."""
    declared = "gb2312" if encoding.lower() in ("gbk", "gb2312", "gb18030") else encoding
    body = "\n".join(f'<p style="text-indent: 2em;">{html.escape(p)}</p>' for p in article_paragraphs)
    signed = "\n".join(f'<p style="text-align: right;">{html.escape(s)}</p>' for s in signature)
    nav = "".join(f'<li><a href="/{i}/" target="_blank">{item}</a></li>' for i, item in enumerate(NAV_ITEMS))
    sidebar = "".join(f'<li><a href="/zwgk/{i}.html">{link}</a></li>' for i, link in enumerate(SIDEBAR_LINKS))
    footer = "".join(f"<p>{line}</p>" for line in FOOTER_LINES)
    page = f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset={declared}" />
<meta name="ArticleTitle" content="{html.escape(title)}" />
<title>{html.escape(title)}_政策文件_湖南省人民政府门户网站</title>
<link rel="stylesheet" href="/css/common.css" />
<script type="text/javascript">var _hmt = _hmt || []; (function() {{ var hm = document.createElement("script"); hm.src = "https://hm.example.cn/hm.js?0123"; }})();</script>
<style type="text/css">.nav li {{ float: left; }} .TRS_Editor p {{ line-height: 2; }}</style>
</head>
<body>
<div class="top"><div class="wrap"><span class="date">2023年5月12日 星期五</span> <a href="/wza/">无障碍</a> <a href="/en/">English</a></div></div>
<div class="header"><div class="logo"><img src="/images/logo.png" alt="湖南省人民政府门户网站" />湖南省人民政府门户网站</div>
<div class="search"><form action="/search"><input type="text" name="q" value="请输入关键字" /><button>搜索</button></form></div></div>
<div class="nav"><ul>{nav}</ul></div>
<div class="crumb"><span>当前位置：</span><a href="/">首页</a> &gt; <a href="/zwgk/">政务公开</a> &gt; <span>政策文件</span></div>
<div class="main clearfix">
<div class="main-left">
<div class="article">
<h1 class="article-title">{html.escape(title)}</h1>
<div class="article-info"><span>发布时间：2023-05-12 10:30</span>　<span>来源：省人力资源社会保障厅</span>　<span>【字体：<a href="javascript:;">大</a> <a href="javascript:;">中</a> <a href="javascript:;">小</a>】</span></div>
<div class="article-content"><div class="TRS_Editor">
{body}
{signed}
{extra_article_html}
</div></div>
<div class="article-share">分享到：<a href="#">微信</a> <a href="#">微博</a> <a href="#">QQ空间</a>　【<a href="javascript:window.print()">打印本页</a>】【<a href="javascript:window.close()">关闭窗口</a>】</div>
</div>
</div>
<div class="main-right"><div class="related"><h3>相关文件</h3><ul>{sidebar}</ul></div></div>
</div>
<div class="footer"><div class="wrap">{footer}<p><a href="/sitemap/">网站地图</a> | <a href="/contact/">联系我们</a></p></div></div>
<script type="text/javascript" src="/js/jquery.min.js"></script>
<script type="text/javascript">document.write('<span id="_ideConac">党政机关</span>');</script>
</body>
</html>
"""
    return page.encode("gbk" if declared == "gb2312" else encoding)


# --------------------------------------------------------------------------- OFD

OFD_NAMESPACE = "http://www.ofdspec.org/2016"
A4 = (210.0, 297.0)  # millimetres, OFD's unit


@dataclass
class OfdLine:
    """One line of text on an OFD page: its baseline's left end (mm from the page's top left) and size.

    `per_character`: written as one TextObject per character (what converters from PDF often do) instead
    of one TextObject with a DeltaX list."""

    text: str
    x: float
    y: float
    size: float = 5.6  # 三号 (16 pt) in millimetres
    per_character: bool = False
    extra: dict[str, str] = field(default_factory=dict)


def ofd_lines(
    paragraphs: Sequence[str], *, top: float = 37.0, left: float = 28.0, size: float = 5.6
) -> list[OfdLine]:
    """Paragraphs wrapped as a 公文 is set (GB/T 9704): 28 characters a line, each paragraph's first line
    indented two characters, baselines 1.6 font sizes apart."""
    per_line = 28
    lines: list[OfdLine] = []
    y = top
    for paragraph in paragraphs:
        text = paragraph
        first = True
        while text:
            room = per_line - (2 if first else 0)
            piece, text = text[:room], text[room:]
            lines.append(OfdLine(piece, left + (2 * size if first else 0), y, size))
            first = False
            y += size * 1.6
    return lines


def ofd_file(
    pages: Sequence[Sequence[OfdLine]],
    *,
    page_numbers: bool = True,
    template_header: str | None = None,
    title: str = "关于推进楚怡优秀技工院校建设的意见",
) -> bytes:
    """An OFD package with one Content.xml per page: OFD.xml, Doc_0/Document.xml (page area, public
    resources, a template page when `template_header` is given), Doc_0/PublicRes.xml (the fonts),
    Doc_0/Pages/Page_N/Content.xml (TextObjects with Boundary, Font, Size; TextCode with X, Y and
    DeltaX in the "g" shorthand). `page_numbers` adds the 公文 page number, "— N —", at each page's foot."""
    unit = [100]

    def next_id() -> int:
        unit[0] += 1
        return unit[0]

    def text_object(line: OfdLine) -> str:
        if line.per_character:
            return "".join(
                text_object(OfdLine(char, line.x + i * line.size, line.y, line.size))
                for i, char in enumerate(line.text)
            )
        width = max(1, len(line.text)) * line.size
        # The Boundary's top sits one font size above the baseline; X/Y are relative to the Boundary.
        box = f"{line.x:g} {line.y - line.size:g} {width:g} {line.size * 1.25:g}"
        deltas = f' DeltaX="g {len(line.text) - 1} {line.size:g}"' if len(line.text) > 1 else ""
        extra = "".join(f' {k}="{v}"' for k, v in line.extra.items())
        return (
            f'<ofd:TextObject ID="{next_id()}" Boundary="{box}" Font="3" Size="{line.size:g}"{extra}>'
            '<ofd:FillColor Value="0 0 0"/>'
            f'<ofd:TextCode X="0" Y="{line.size:g}"{deltas}>{html.escape(line.text)}</ofd:TextCode>'
            "</ofd:TextObject>"
        )

    def xml(root: str, inner: str) -> str:
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:{root} xmlns:ofd="{OFD_NAMESPACE}">{inner}</ofd:{root}>'

    parts: dict[str, bytes | str] = {}
    page_refs = []
    for index, lines in enumerate(pages):
        objects = "".join(text_object(line) for line in lines)
        if page_numbers:
            objects += text_object(OfdLine(f"— {index + 1} —", 150.0, 280.0, 4.94))
        template = '<ofd:Template TemplateID="2" ZOrder="Background"/>' if template_header else ""
        parts[f"Doc_0/Pages/Page_{index}/Content.xml"] = xml(
            "Page",
            f'{template}<ofd:Content><ofd:Layer ID="{next_id()}" Type="Body">{objects}</ofd:Layer></ofd:Content>',
        )
        page_refs.append(f'<ofd:Page ID="{next_id()}" BaseLoc="Pages/Page_{index}/Content.xml"/>')
    template_ref = ""
    if template_header:
        template_ref = '<ofd:TemplatePage ID="2" BaseLoc="Tpls/Tpl_0/Content.xml"/>'
        parts["Doc_0/Tpls/Tpl_0/Content.xml"] = xml(
            "Page",
            f'<ofd:Content><ofd:Layer ID="{next_id()}" Type="Background">'
            f"{text_object(OfdLine(template_header, 28.0, 20.0, 4.2))}</ofd:Layer></ofd:Content>",
        )
    parts["Doc_0/PublicRes.xml"] = xml(
        "Res",
        '<ofd:Fonts><ofd:Font ID="3" FontName="仿宋_GB2312" FamilyName="仿宋_GB2312"/>'
        '<ofd:Font ID="4" FontName="方正小标宋简体" FamilyName="方正小标宋简体"/></ofd:Fonts>',
    ).replace("<ofd:Res ", '<ofd:Res BaseLoc="Res" ', 1)
    parts["Doc_0/Document.xml"] = xml(
        "Document",
        f"<ofd:CommonData><ofd:MaxUnitID>{unit[0] + 1}</ofd:MaxUnitID>"
        f"<ofd:PageArea><ofd:PhysicalBox>0 0 {A4[0]:g} {A4[1]:g}</ofd:PhysicalBox></ofd:PageArea>"
        f"<ofd:PublicRes>PublicRes.xml</ofd:PublicRes>{template_ref}</ofd:CommonData>"
        f"<ofd:Pages>{''.join(page_refs)}</ofd:Pages>",
    )
    parts["OFD.xml"] = xml(
        "OFD",
        "<ofd:DocBody><ofd:DocInfo><ofd:DocID>3f2e5c1a9b8d4e7f8a6b5c4d3e2f1a0b</ofd:DocID>"
        f"<ofd:Title>{html.escape(title)}</ofd:Title><ofd:Author>湖南省人力资源和社会保障厅</ofd:Author>"
        "<ofd:CreationDate>2023-05-10</ofd:CreationDate><ofd:Creator>SuwellWriter</ofd:Creator></ofd:DocInfo>"
        "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody>",
    ).replace("<ofd:OFD ", '<ofd:OFD Version="1.0" DocType="OFD" ', 1)
    ordered = {"OFD.xml": parts.pop("OFD.xml"), **parts}
    return zip_of(ordered)
