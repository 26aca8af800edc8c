"""A web page (.html, .htm): the article's paragraphs, each with the DOM path of the element it came from.

The page is decoded (BOM, then the charset its <meta> declares, then UTF-8, then
GB18030, since Chinese government sites still serve GB2312/GBK; bytes that are
valid UTF-8 are read as UTF-8 whatever the meta says) and parsed with lxml
(which keeps 255 levels of nesting; text deeper than that is lost). Its text is cut into *segments* in document order: the text of a
block element (p, div, li, h1, …) up to the next nested block or <br>, or a
table row whose cells hold only inline content (its cells joined by a tab).
Each segment keeps its element and `tree.getroottree().getpath(element)`.

trafilatura decides which segments are the article: its output paragraphs are
matched back to the segments by their text with whitespace removed (equal,
contained, or several consecutive segments making one paragraph). The text
is then the chosen segments' own text, so nothing trafilatura rewrites leaks
in, and every line's `Block.where` is the XPath of its element in the page as
it arrived. Segments trafilatura skipped *between* its first and last chosen
ones, inside the same container, are put back unless they are navigation or
mostly links: trafilatura sometimes drops a paragraph set as a bare <div>,
and a clause silently missing is worse than a stray date line.

When trafilatura finds nothing, or what it finds is mostly navigation (its
last-resort dump of the whole page), the text is instead every segment of
<article>, else <main>, else <body>, outside nav/header/footer/aside (and
elements whose class or id names a menu, breadcrumb, footer, sidebar…), and
not mostly links. A warning says which way the text was found.
"""

from __future__ import annotations

import codecs
import copy
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass

import lxml.html
import trafilatura
from lxml import etree
from trafilatura.settings import use_config

from index.extract.base import ExtractOptions, FileRefused, Progress
from index.extract.model import Extraction, blocks_text

log = logging.getLogger(__name__)

CELL_SEPARATOR = "\t"

# Never text: scripts, styles, form controls and embedded objects.
_SKIPPED_TAGS = frozenset({
    "script", "style", "noscript", "template", "head", "title", "meta", "link", "iframe", "object",
    "embed", "svg", "math", "canvas", "select", "option", "button", "input", "textarea", "map", "area",
})  # fmt: skip
# Elements that begin a new segment (everything else is inline and flows into its block's segment).
_BLOCK_TAGS = frozenset({
    "html", "body", "address", "article", "aside", "blockquote", "center", "dd", "details", "dialog",
    "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3",
    "h4", "h5", "h6", "header", "hgroup", "hr", "li", "main", "menu", "nav", "ol", "p", "pre", "section",
    "summary", "table", "caption", "thead", "tbody", "tfoot", "tr", "td", "th", "ul", "legend",
    "frameset", "frame", "noframes",
})  # fmt: skip
# Boilerplate by tag (header only outside an article: an article's own header holds its title) ...
_BOILERPLATE_TAGS = frozenset({"nav", "aside", "footer", "menu"})
_BOILERPLATE_ROLES = frozenset(
    {"navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar"}
)
# ... by a whole class or id token (Chinese government templates: "header", "foot", "crumb", "dqwz" =
# 当前位置 "you are here", "bqxx" = 版权信息 copyright) ...
_BOILERPLATE_TOKENS = frozenset({
    "header", "head", "top", "topbar", "footer", "foot", "bottom", "nav", "navbar", "menu", "crumb",
    "crumbs", "breadcrumb", "breadcrumbs", "sidebar", "side", "share", "copyright", "dqwz", "bqxx",
    "location", "position", "links", "related", "toolbar", "search",
})  # fmt: skip
# ... or by a word inside a token ("main-nav", "site_footer", "bread-crumb").
_BOILERPLATE_WORDS = frozenset(
    {"nav", "navbar", "menu", "footer", "breadcrumb", "crumb", "sidebar", "copyright", "share"}
)
_TOKEN_SPLIT = re.compile(r"[\s]+")
_WORD_SPLIT = re.compile(r"[-_]+")

# A segment whose characters are mostly link text is navigation, not prose.
_LINK_DENSE = 0.5
# trafilatura's choice is taken unless this share of its characters lies in boilerplate.
_BOILERPLATE_SHARE = 0.5
# The article's heading is looked for this many segments before its first paragraph.
_TITLE_REACH = 4

_WHITESPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w")
_KEY_DROP = re.compile(r"[\s|]+")  # trafilatura writes table rows as "| a | b |" and list items as "- a"
# Characters lxml refuses in text (XML 1.0 forbids them); dropped before parsing.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
# GB2312 and GBK pages are read as GB18030, their superset (a GBK page declared as GB2312 is common).
_CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "gb_2312-80": "gb18030",
    "csgb2312": "gb18030",
    "iso-ir-58": "gb18030",
}
# A page with more unreadable bytes than this share is not a web page (a binary file named .html); a
# few (a stray byte in a GBK page) are replaced and the page read.
_MAX_UNREADABLE = 0.01
_SNIFF_BYTES = 4096  # the <meta charset> must sit this early (HTML says 1024; some sites are late)


@dataclass
class _Segment:
    text: str  # whitespace collapsed, stripped
    element: etree._Element
    link_chars: int = 0

    @property
    def key(self) -> str:
        return _key(self.text)


def inspect(name: str, data: bytes, options: ExtractOptions) -> int:
    """Decode and parse the page; refuse it unless it holds some text."""
    _, tree = _parse(name, data)
    if not any(_WORD.search(s.text) for s in _segments(_body(tree))):
        raise FileRefused(
            name,
            "is a web page with no text in it (it may build its text with scripts, or show it as "
            "pictures); save the page's text as .txt, or send the document as PDF",
        )
    return 1


def extract(name: str, data: bytes, options: ExtractOptions, progress: Progress) -> list[Extraction]:
    encoding, tree = _parse(name, data)
    segments = list(_segments(_body(tree)))
    chosen, warnings = _article(tree, segments)
    root = tree.getroottree()
    text, blocks = blocks_text([(s.text, root.getpath(s.element)) for s in chosen])
    progress(1)
    return [
        Extraction(
            text=text, format="html", method="html", blocks=blocks, encoding=encoding, warnings=warnings
        )
    ]


# --------------------------------------------------------------------------- decoding and parsing


def decode(data: bytes) -> tuple[str, str, int]:
    """The page's text, the encoding it was read as, and how many bytes could not be read: a BOM, else
    the charset its <meta> declares (if the bytes are valid in it, and are not plainly UTF-8), else
    UTF-8, else GB18030 (as a last resort with unreadable bytes replaced)."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode("utf-8-sig" if encoding == "utf-8" else encoding), encoding, 0
            except UnicodeDecodeError:
                break
    candidates = []
    declared = _declared_charset(data)
    # Bytes that are valid UTF-8 and not all ASCII are UTF-8 whatever the page declares: a GBK page of
    # any length never is, while a UTF-8 page under a template's stale "gb2312" meta would decode as
    # GB18030 without error, into nonsense.
    if declared and not (declared != "utf-8" and not data.isascii() and _valid_utf8(data)):
        candidates.append(declared)
    candidates += ["utf-8", "gb18030"]
    for encoding in dict.fromkeys(candidates):
        try:
            return data.decode(encoding), encoding, 0
        except UnicodeDecodeError:
            continue
    text = data.decode("gb18030", errors="replace")
    return text, "gb18030", text.count("\ufffd")


def _valid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _declared_charset(data: bytes) -> str | None:
    match = _META_CHARSET.search(data[:_SNIFF_BYTES])
    if match is None:
        return None
    name = match.group(1).decode("ascii", "replace").lower()
    name = _CHARSET_ALIASES.get(name, name)
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    # A page that declares UTF-16 but reached here has no BOM and is ASCII-compatible: the meta lies.
    return None if codec.startswith("utf-16") or codec.startswith("utf-32") else codec


def _parse(name: str, data: bytes) -> tuple[str, lxml.html.HtmlElement]:
    if b"\x00" in data[:8192] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileRefused(
            name,
            "is a binary file, not a web page (it contains NUL bytes); send the page as .html or its text as .txt",
            kind="unsupported_type",
        )
    text, encoding, unreadable = decode(data)
    if unreadable > _MAX_UNREADABLE * len(data):
        raise FileRefused(
            name,
            "is not text in UTF-8, GB18030 or the charset it declares (many bytes are unreadable); "
            "save the page again from the browser (as UTF-8), or send its text as .txt",
        )
    # lxml takes no encoding declaration in a str, nor characters XML forbids.
    text = _CONTROL.sub("", _XML_DECLARATION.sub("", text, count=1))
    if not text.strip():
        raise FileRefused(name, "is empty; send the page with its content, or its text as .txt")
    parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True)
    try:
        tree = lxml.html.document_fromstring(text, parser=parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as exc:
        raise FileRefused(
            name,
            f"cannot be parsed as a web page ({exc}); save the page again from the browser, or send its text",
        ) from None
    return encoding, tree


def _body(tree: lxml.html.HtmlElement) -> etree._Element:
    """The <body>, or the whole document for a page without one (a frameset)."""
    body = tree.find("body")
    return body if body is not None else tree


# --------------------------------------------------------------------------- segments


def _segments(root: etree._Element) -> Iterator[_Segment]:
    """The page's text cut at block boundaries and <br>, in document order, each with its block element."""
    out: list[_Segment] = []

    def flush(buffer: list[tuple[str, bool]], owner: etree._Element) -> None:
        raw = "".join(text for text, _ in buffer)
        text = _collapse(raw)
        if text:
            link = sum(len(_collapse(t)) for t, in_link in buffer if in_link)
            out.append(_Segment(text, owner, link))
        buffer.clear()

    def visit(
        element: etree._Element, owner: etree._Element, buffer: list[tuple[str, bool]], in_link: bool
    ) -> None:
        tag = _tag(element)
        if tag in _SKIPPED_TAGS or not tag:
            return
        if tag == "br":
            flush(buffer, owner)
            return
        if tag == "tr" and _simple_row(element):
            flush(buffer, owner)
            cells = [_collapse(_inline_text(cell)) for cell in element if _tag(cell) in ("td", "th")]
            row = CELL_SEPARATOR.join(cell for cell in cells if cell)
            if row:
                out.append(_Segment(row, element, _link_chars(element)))
            return
        link = in_link or tag == "a"
        if tag in _BLOCK_TAGS:
            flush(buffer, owner)
            inner: list[tuple[str, bool]] = []
            if element.text:
                inner.append((element.text, link))
            for child in element:
                visit(child, element, inner, link)
                if child.tail:
                    inner.append((child.tail, link))
            flush(inner, element)
        else:
            if element.text:
                buffer.append((element.text, link))
            for child in element:
                visit(child, owner, buffer, link)
                if child.tail:
                    buffer.append((child.tail, link))

    top: list[tuple[str, bool]] = []
    visit(root, root, top, False)
    flush(top, root)
    yield from out


def _tag(element: etree._Element) -> str:
    tag = element.tag
    return tag.lower() if isinstance(tag, str) else ""  # comments and PIs have a function as tag


def _simple_row(row: etree._Element) -> bool:
    """A table row read as one line: cells of inline content only (a layout table's cells hold blocks)."""
    cells = [cell for cell in row if _tag(cell) in ("td", "th")]
    return bool(cells) and not any(
        _tag(inner) in _BLOCK_TAGS for cell in cells for inner in cell.iterdescendants()
    )


def _inline_text(element: etree._Element) -> str:
    parts: list[str] = []

    def walk(node: etree._Element) -> None:
        if _tag(node) in _SKIPPED_TAGS:
            return
        if _tag(node) == "br":
            parts.append(" ")
        elif node.text:
            parts.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(element)
    return "".join(parts)


def _link_chars(element: etree._Element) -> int:
    return sum(len(_collapse(_inline_text(a))) for a in element.iter("a"))


def _collapse(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def _key(text: str) -> str:
    """What two renderings of one paragraph share: its characters without whitespace or table and list
    markup (trafilatura writes "| a | b |" rows and "- " items)."""
    return _KEY_DROP.sub("", text).lstrip("-•·")


# --------------------------------------------------------------------------- the article


def _article(tree: lxml.html.HtmlElement, segments: list[_Segment]) -> tuple[list[_Segment], list[str]]:
    """The segments that make the article, in document order, and warnings saying how they were found."""
    paragraphs = _trafilatura_paragraphs(tree)
    chosen: set[int] = set()
    unmatched = 0
    if paragraphs:
        chosen, unmatched = _match(paragraphs, segments)
    taken = [segments[i] for i in sorted(chosen)]
    total = sum(len(s.text) for s in taken)
    boilerplate = sum(len(s.text) for s in taken if _in_boilerplate(s.element))
    if not taken or boilerplate > _BOILERPLATE_SHARE * total:
        found = _fallback(tree, segments)
        why = "found nothing" if not taken else "returned mostly navigation"
        return found, [f"main content by page structure (<article>/<main>/<body>): trafilatura {why}"]
    # trafilatura keeps a share bar or a breadcrumb now and then; the structure says what they are.
    chosen = {i for i in chosen if not _in_boilerplate(segments[i].element)} or chosen
    filled = _fill_gaps(sorted(chosen), segments) + _title_before(min(chosen), segments)
    warnings = []
    if filled:
        warnings.append(f"{_count(len(filled), 'paragraph')} of the article that trafilatura left out kept")
    if unmatched:
        warnings.append(
            f"{_count(unmatched, 'paragraph')} of trafilatura's output not found in the page, left out"
        )
    return [segments[i] for i in sorted(chosen | set(filled))], warnings


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _trafilatura_paragraphs(tree: lxml.html.HtmlElement) -> list[str]:
    """trafilatura's main-content paragraphs (one per output line), or [] when it finds none."""
    config = use_config()
    # Its default refuses an extraction under 250 characters and then dumps the whole page: a short
    # notice is still an article. No timeout: it would use a signal, and extraction runs in a worker.
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", "1")
    config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")
    try:
        document = trafilatura.bare_extraction(
            copy.deepcopy(tree), include_comments=False, include_tables=True, config=config
        )
    # trafilatura is a large heuristic library working on an untrusted page; whatever it raises, the
    # page is still read, by its structure.
    except Exception:
        log.warning("trafilatura failed on a page; reading it by its structure", exc_info=True)
        return []
    text = getattr(document, "text", None) if document is not None else None
    if not text:
        return []
    return [line for line in (_collapse(line) for line in text.split("\n")) if _key(line)]


def _match(paragraphs: list[str], segments: list[_Segment]) -> tuple[set[int], int]:
    """The segments trafilatura's paragraphs came from, matched by key in document order."""
    keys = [s.key for s in segments]
    chosen: set[int] = set()
    unmatched = 0
    cursor = 0
    for paragraph in paragraphs:
        key = _key(paragraph)
        found = _find(key, keys, cursor, len(keys)) or _find(key, keys, 0, cursor)
        if found is None:
            unmatched += 1
            continue
        chosen.update(found)
        cursor = max(found) + (1 if keys[max(found)] == key or len(found) > 1 else 0)
    return chosen, unmatched


def _find(key: str, keys: list[str], start: int, stop: int) -> list[int] | None:
    """The segment(s) in keys[start:stop] a paragraph with this key came from: the first equal one, else
    the first that contains it (trafilatura split a segment), else the first run of consecutive ones
    that make it up (trafilatura joined them)."""
    for i in range(start, stop):
        if keys[i] == key:
            return [i]
    if len(key) >= 2:
        for i in range(start, stop):
            if key in keys[i]:
                return [i]
    for i in range(start, stop):
        if keys[i] and key.startswith(keys[i]):
            run, joined = [i], keys[i]
            j = i + 1
            while joined != key and j < len(keys) and key.startswith(joined + keys[j]):
                if keys[j]:
                    run.append(j)
                joined += keys[j]
                j += 1
            if joined == key:
                return run
    return None


def _fill_gaps(chosen: list[int], segments: list[_Segment]) -> list[int]:
    """Segments between the first and last chosen ones, inside the chosen ones' common ancestor, that
    are neither navigation nor mostly links: paragraphs of the article trafilatura dropped."""
    if len(chosen) < 2:
        return []
    container = _common_ancestor([segments[i].element for i in chosen])
    picked = set(chosen)
    filled = []
    for i in range(chosen[0] + 1, chosen[-1]):
        if i in picked:
            continue
        segment = segments[i]
        if container is not None and not _within(segment.element, container):
            continue
        if _in_boilerplate(segment.element) or segment.link_chars > _LINK_DENSE * len(segment.text):
            continue
        filled.append(i)
    return filled


def _title_before(first: int, segments: list[_Segment]) -> list[int]:
    """The article's heading when trafilatura left it out (it often does, taking it for the page's
    title): the nearest h1-h3 a few segments before the first chosen one, with what lies between."""
    for i in range(first - 1, max(-1, first - 1 - _TITLE_REACH), -1):
        segment = segments[i]
        if _in_boilerplate(segment.element) or segment.link_chars > _LINK_DENSE * len(segment.text):
            return []
        if _tag(segment.element) in ("h1", "h2", "h3"):
            return list(range(i, first))
    return []


def _common_ancestor(elements: list[etree._Element]) -> etree._Element | None:
    path: list[etree._Element] | None = None
    for element in elements:
        chain = [element, *element.iterancestors()][::-1]
        if path is None:
            path = chain
            continue
        common = 0
        while common < min(len(path), len(chain)) and path[common] is chain[common]:
            common += 1
        path = path[:common]
    return path[-1] if path else None


def _within(element: etree._Element, container: etree._Element) -> bool:
    return element is container or any(a is container for a in element.iterancestors())


def _in_boilerplate(element: etree._Element) -> bool:
    """Whether an element is (inside) navigation, a header, footer, sidebar, breadcrumb or share bar."""
    in_article = any(_tag(a) in ("article", "main") for a in element.iterancestors())
    for node in (element, *element.iterancestors()):
        tag = _tag(node)
        if tag in _BOILERPLATE_TAGS or (tag == "header" and not in_article):
            return True
        if (node.get("role") or "").lower() in _BOILERPLATE_ROLES:
            return True
        for token in _TOKEN_SPLIT.split(f"{node.get('class') or ''} {node.get('id') or ''}".lower()):
            if token in _BOILERPLATE_TOKENS or any(w in _BOILERPLATE_WORDS for w in _WORD_SPLIT.split(token)):
                return True
    return False


def _fallback(tree: lxml.html.HtmlElement, segments: list[_Segment]) -> list[_Segment]:
    """The segments of <article>, else <main>, else <body>, that are not navigation nor mostly links; if
    that leaves nothing (a page wrapped whole in a div called "top"), those that are not mostly links."""
    container = None
    for tag in ("article", "main"):
        container = next(tree.iter(tag), None)
        if container is not None:
            break
    inside = [s for s in segments if container is None or _within(s.element, container)]
    prose = [s for s in inside if s.link_chars <= _LINK_DENSE * len(s.text)]
    return [s for s in prose if not _in_boilerplate(s.element)] or prose
