"""Word (.docx): the body's paragraphs and table rows in document order, each a Block naming where it sits.

The body's XML children are walked in order, so a table's rows sit between the
paragraphs around it, as they do on the page. Every non-empty paragraph is one
line of the text, and so is every table row (its cells joined by a tab); each
line is a `Block` whose `where` reads "paragraph 12" (the 12th paragraph of the
body, empty ones counted, table cells not), "paragraph 12, text box 1" or
"table 2, row 3" (all 1-based), and `text[block.start:block.end]` is exactly
that line.

Headers and footers of the Word sections are not body text: they are left out
of the text and kept as `Furniture` with page 0 (a flowing file has no pages)
and an empty rectangle, one per distinct text, so the summary still counts them.
Footnotes, endnotes and comments are not read; a warning says so when the file
has any.

The file is checked before python-docx opens it: an encrypted Office file (an
OLE container holding an `EncryptedPackage`) is refused as password-protected,
and a ZIP whose parts would unpack to more than `MAX_UNPACKED_BYTES` as too
large (a ZIP bomb is refused before anything is inflated).
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import docx
from docx.document import Document
from docx.opc.exceptions import OpcError
from docx.oxml.exceptions import InvalidXmlError
from lxml import etree

from index.extract.base import ExtractOptions, FileRefused, Progress
from index.extract.model import Extraction, Furniture, blocks_text

log = logging.getLogger(__name__)

# Sum of the uncompressed sizes of a .docx's parts above which it is refused unread. A long report
# with pictures is tens of megabytes; 256 MB is far past any real document and well short of what
# would exhaust the service's memory (python-docx loads every part).
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
# A Word file has a few dozen parts (a few hundred with many pictures); ten thousand is not a document.
MAX_PARTS = 10_000

CELL_SEPARATOR = "\t"  # between a table row's cells on its line

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# An Office file encrypted with a password is an OLE compound file holding these streams
# (MS-OFFCRYPTO); the directory stores stream names in UTF-16LE.
_ENCRYPTED_STREAMS = ("EncryptedPackage".encode("utf-16-le"), "EncryptionInfo".encode("utf-16-le"))

# What python-docx raises on an untrusted ZIP of XML parts that is damaged or foreign: KeyError (a part
# or relationship missing), ValueError (not a Word content type), zlib.error and EOFError (a damaged
# entry), XMLSyntaxError (a broken part), InvalidXmlError (a required attribute missing), OpcError (no
# package).
_READ_ERRORS = (
    OpcError,
    InvalidXmlError,
    zipfile.BadZipFile,
    zlib.error,
    KeyError,
    ValueError,
    EOFError,
    OSError,
    RuntimeError,
    NotImplementedError,
    etree.LxmlError,
)

_SAVE_AGAIN = "open it in Word or WPS and save it as .docx again, or send the PDF"

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"


def _w(tag: str) -> str:
    return f"{{{_W}}}{tag}"


_P, _TBL, _TR, _TC, _SDT, _SDT_CONTENT, _CUSTOM_XML = (
    _w(tag) for tag in ("p", "tbl", "tr", "tc", "sdt", "sdtContent", "customXml")
)
_T, _TAB, _PTAB, _BR, _CR, _NO_BREAK_HYPHEN = (
    _w(tag) for tag in ("t", "tab", "ptab", "br", "cr", "noBreakHyphen")
)
_TXBX_CONTENT = _w("txbxContent")
_V_MERGE, _TC_PR = _w("vMerge"), _w("tcPr")
# Not read as the paragraph's text: deleted or moved-away revisions (tracked changes are read as if
# accepted), the fallback copy of a drawing (its text is also in the drawing itself), and text boxes,
# which are lines of their own after their paragraph.
_SKIPPED = frozenset({_w("del"), _w("moveFrom"), f"{{{_MC}}}Fallback", _TXBX_CONTENT})
_LINE_BREAK = "\n"  # inside _paragraph_text only: a soft line break, joined away before a line is made


@dataclass(frozen=True)
class _Piece:
    text: str
    where: str


def inspect(name: str, data: bytes, options: ExtractOptions) -> int:
    """Open the file and read it whole (cheap next to any OCR); refuse it unless its body holds text."""
    if not _read(name, data).text.strip():
        raise FileRefused(
            name,
            "holds no text in its body (it may be pictures of a scan pasted into Word); "
            "send the scan as PDF or images so it is read by OCR, or send the text",
        )
    return 1


def extract(name: str, data: bytes, options: ExtractOptions, progress: Progress) -> list[Extraction]:
    reading = _read(name, data)
    progress(1)
    return [reading]


def _read(name: str, data: bytes) -> Extraction:
    document = _open(name, data)
    try:
        text, blocks = blocks_text([(piece.text, piece.where) for piece in _body_pieces(document)])
        warnings = _unread_notes(document)
        furniture = _headers_and_footers(document, warnings)
    except _READ_ERRORS as exc:  # a part the body or a section points at is missing or broken
        raise FileRefused(
            name, f"cannot be read as a Word document ({_reason(exc)}); {_SAVE_AGAIN}"
        ) from None
    if furniture:
        warnings.append(f"{len(furniture)} header and footer texts left out of the text (kept as furniture)")
    return Extraction(
        text=text, format="docx", method="docx", blocks=blocks, furniture=furniture, warnings=warnings
    )


def is_encrypted_office(data: bytes) -> bool:
    """Whether the bytes are a password-protected Office file (.docx, .xlsx, …): an OLE compound file
    with an EncryptedPackage stream. Sniffing alone calls such a file an old .doc; this tells them apart."""
    return data.startswith(_OLE_MAGIC) and any(stream in data for stream in _ENCRYPTED_STREAMS)


def _open(name: str, data: bytes) -> Document:
    """python-docx's Document for the bytes, or FileRefused saying what is wrong and what to do."""
    if is_encrypted_office(data):
        raise FileRefused(
            name,
            "is protected with a password (Word encrypts such files, so they cannot be read); open it in "
            "Word, remove the password (File > Info > Protect Document > Encrypt with Password, clear it) "
            "and send it again, or send the PDF",
        )
    if data.startswith(_OLE_MAGIC):
        raise FileRefused(
            name,
            "is an old binary Word file (.doc), not a .docx; open it in Word or WPS and save it as .docx, "
            "or send the PDF",
            kind="unsupported_type",
        )
    _check_archive(name, data)
    try:
        return docx.Document(io.BytesIO(data))
    except _READ_ERRORS as exc:
        raise FileRefused(
            name, f"cannot be read as a Word document ({_reason(exc)}); {_SAVE_AGAIN}"
        ) from None
    # python-docx's loader trusts the package's structure and fails in other ways on damaged parts (an
    # AttributeError on a [Content_Types].xml of another shape); still a file it cannot read, refused
    # (and logged, in case it is a reader bug) rather than failing the request.
    except Exception as exc:
        log.warning("python-docx failed to open %s", name, exc_info=True)
        raise FileRefused(
            name, f"cannot be read as a Word document ({_reason(exc)}); {_SAVE_AGAIN}"
        ) from None


def _check_archive(name: str, data: bytes) -> None:
    """Refuse what is not a Word ZIP before python-docx inflates anything: not a ZIP, no document part,
    encrypted entries, or parts that would unpack to more than MAX_UNPACKED_BYTES."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, NotImplementedError) as exc:
        raise FileRefused(
            name, f"is damaged or not a Word file (not a readable ZIP archive: {_reason(exc)}); {_SAVE_AGAIN}"
        ) from None
    if len(entries) > MAX_PARTS:
        raise FileRefused(
            name,
            f"has {len(entries)} parts, more than a Word document has ({MAX_PARTS} at most); {_SAVE_AGAIN}",
            kind="too_large",
        )
    if not any(entry.filename == "word/document.xml" for entry in entries):
        raise FileRefused(
            name,
            "is a ZIP archive but not a Word document (it has no word/document.xml); "
            "open it in Word and save it as .docx, or send the PDF",
        )
    if any(entry.flag_bits & 0x1 for entry in entries):
        raise FileRefused(name, f"has encrypted parts and cannot be read; {_SAVE_AGAIN}")
    # The declared sizes bound what zipfile will inflate (it stops at an entry's file_size), so their
    # sum bounds the memory a bomb could take.
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > MAX_UNPACKED_BYTES:
        raise FileRefused(
            name,
            f"would unpack to {unpacked / 2**20:.0f} MB, more than the {MAX_UNPACKED_BYTES // 2**20} MB a "
            "Word file may hold; compress its pictures or remove embedded files and send it again, "
            "or send the PDF",
            kind="too_large",
        )


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().strip('"') or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


# --------------------------------------------------------------------------- the body, in order


def _body_pieces(document: Document) -> Iterator[_Piece]:
    root = document.element
    if root.tag != _w("document"):  # python-docx takes any root; a damaged part may have another
        raise ValueError(f"the main part's root is <{etree.QName(root).localname}>, not <w:document>")
    body = root.find(_w("body"))
    if body is not None:
        yield from _block_pieces(body, {"paragraph": 0, "table": 0})


def _block_pieces(container: etree._Element, counters: dict[str, int]) -> Iterator[_Piece]:
    """The lines of a body-level container's children, in order (paragraphs, tables, content controls)."""
    for child in container:
        if child.tag == _P:
            counters["paragraph"] += 1
            where = f"paragraph {counters['paragraph']}"
            text = _paragraph_text(child)
            if text:
                yield _Piece(text, where)
            for box, lines in enumerate(_text_boxes(child), 1):
                for line in lines:
                    yield _Piece(line, f"{where}, text box {box}")
        elif child.tag == _TBL:
            counters["table"] += 1
            table = counters["table"]
            for row, line in enumerate(_table_rows(child), 1):
                if line:
                    yield _Piece(line, f"table {table}, row {row}")
        elif child.tag == _SDT:  # a content control around body content (templates, tables of contents)
            for content in child.iterchildren(_SDT_CONTENT):
                yield from _block_pieces(content, counters)
        elif child.tag == _CUSTOM_XML:
            yield from _block_pieces(child, counters)


def _paragraph_text(paragraph: etree._Element) -> str:
    """A paragraph's text on one line: its runs (in hyperlinks, fields, insertions too), soft line
    breaks joined, surrounding indentation (often typed as full-width spaces) stripped."""
    parts: list[str] = []

    def walk(element: etree._Element) -> None:
        for child in element:
            tag = child.tag
            if not isinstance(tag, str) or tag in _SKIPPED:
                continue
            if tag == _T:
                parts.append(child.text or "")
            elif tag in (_TAB, _PTAB):
                parts.append("\t")
            elif tag == _BR:
                # A page or column break is layout; a plain break is a line break inside the paragraph.
                if child.get(_w("type"), "textWrapping") == "textWrapping":
                    parts.append(_LINE_BREAK)
            elif tag == _CR:
                parts.append(_LINE_BREAK)
            elif tag == _NO_BREAK_HYPHEN:
                parts.append("-")
            elif tag != _P:  # a paragraph nested in a drawing is a text box's, read on its own
                walk(child)

    walk(paragraph)
    return _one_line("".join(parts))


def _one_line(text: str) -> str:
    """Soft line breaks joined: with nothing between two CJK characters (a Chinese line has no spaces),
    with a space otherwise; then stripped."""
    lines = [line.strip() for line in text.split(_LINE_BREAK)]
    joined = ""
    for line in lines:
        if not line:
            continue
        if joined and not (_wide(joined[-1]) and _wide(line[0])):
            joined += " "
        joined += line
    return joined


def _wide(char: str) -> bool:
    return "\u2e80" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff" or "\uff00" <= char <= "\uffef"


def _text_boxes(paragraph: etree._Element) -> Iterator[list[str]]:
    """The lines of each text box anchored in a paragraph (the drawing's own copy, not its fallback)."""
    for content in paragraph.iter(_TXBX_CONTENT):
        if any(
            a.tag == f"{{{_MC}}}Fallback" or a.tag == _TXBX_CONTENT for a in _ancestors(content, paragraph)
        ):
            continue
        lines = [text for text in (_paragraph_text(p) for p in content.iter(_P)) if text]
        if lines:
            yield lines


def _ancestors(element: etree._Element, stop: etree._Element) -> Iterator[etree._Element]:
    for ancestor in element.iterancestors():
        if ancestor is stop:
            return
        yield ancestor


def _table_rows(table: etree._Element) -> Iterator[str]:
    """Each row of a table as one line: its cells' texts joined by CELL_SEPARATOR, empty cells and the
    continuation of a vertically merged cell (whose text is the cell above's) left out."""
    for row in table.iter(_TR):
        if _nearest(row, _TBL) is not table:  # a nested table's rows are read inside their cell
            continue
        cells = []
        for cell in row.iter(_TC):
            if _nearest(cell, _TR) is not row:
                continue
            if _merged_continuation(cell):
                continue
            text = _cell_text(cell)
            if text:
                cells.append(text)
        yield CELL_SEPARATOR.join(cells)


def _nearest(element: etree._Element, tag: str) -> etree._Element | None:
    return next(element.iterancestors(tag), None)


def _merged_continuation(cell: etree._Element) -> bool:
    properties = cell.find(_TC_PR)
    merge = properties.find(_V_MERGE) if properties is not None else None
    return merge is not None and merge.get(_w("val"), "continue") == "continue"


def _cell_text(cell: etree._Element) -> str:
    """A cell's paragraphs (and any nested table's cells) on one line, separated by spaces."""
    texts = []
    for paragraph in cell.iter(_P):
        if any(a.tag == _TXBX_CONTENT for a in _ancestors(paragraph, cell)):
            continue
        text = _paragraph_text(paragraph)
        if text:
            texts.append(text)
    return " ".join(texts).replace(CELL_SEPARATOR, " ")


# --------------------------------------------------------------------------- what is left out

_PAGE_NUMBER = re.compile(r"^[\s\-—–－~·]*(第\s*)?\d+(\s*页)?([\s/／]*(共\s*)?\d+\s*页?)?[\s\-—–－~·]*$")


def _headers_and_footers(document: Document, warnings: list[str]) -> list[Furniture]:
    """The distinct texts of every section's headers and footers (default, first page, even pages). One
    that cannot be read (a reference to a missing part) is only warned about: it is not body text."""
    found: list[Furniture] = []
    seen: set[tuple[str, str]] = set()
    for number, section in enumerate(document.sections, 1):
        for attribute, kind in (
            ("header", "header"),
            ("first_page_header", "header"),
            ("even_page_header", "header"),
            ("footer", "footer"),
            ("first_page_footer", "footer"),
            ("even_page_footer", "footer"),
        ):
            part = getattr(section, attribute)
            try:
                if (
                    part.is_linked_to_previous
                ):  # no definition of its own: reading it would repeat (or add) one
                    continue
                element = part.part.element
            # AttributeError: the reference leads to a part of another type (no XML element)
            except (*_READ_ERRORS, AttributeError) as exc:
                warnings.append(
                    f"section {number}: its {attribute.replace('_', ' ')} cannot be read ({_reason(exc)})"
                )
                continue
            lines = [piece.text for piece in _block_pieces(element, {"paragraph": 0, "table": 0})]
            text = "\n".join(line for line in lines if line)
            if not text:
                continue
            if _PAGE_NUMBER.match(text):
                kind = "page-number"
            if (kind, text) not in seen:
                seen.add((kind, text))
                found.append(Furniture(page=0, text=text, rect=(0.0, 0.0, 0.0, 0.0), kind=kind))
    return found


def _unread_notes(document: Document) -> list[str]:
    """Warnings for text the reading leaves out: footnotes, endnotes and comments."""
    warnings = []
    for part in document.part.package.iter_parts():
        partname = str(part.partname)
        what = {
            "/word/footnotes.xml": ("footnote", _w("footnote")),
            "/word/endnotes.xml": ("endnote", _w("endnote")),
            "/word/comments.xml": ("comment", _w("comment")),
        }.get(partname)
        if what is None:
            continue
        noun, tag = what
        try:
            root = etree.fromstring(part.blob, etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.LxmlError:
            continue
        # The separator "notes" Word always writes carry a w:type; real notes have none.
        count = sum(1 for note in root.iter(tag) if note.get(_w("type")) is None)
        if count:
            warnings.append(f"{count} {noun}{'s' if count > 1 else ''} not read (only the body text is)")
    return warnings
