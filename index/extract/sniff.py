"""Which format a file is: from its name's extension, checked against its first bytes.

A file is taken when its extension names a format we read and its bytes agree;
an old binary Word file, an RTF, a file whose extension and bytes disagree, or
an unknown extension is refused with a message saying what to send instead.
"""

from __future__ import annotations

import io
import zipfile

from index.extract.base import FileRefused

# Extension -> format. The plain-text suffixes are the corpus's own (`index.corpus.variants`).
FORMATS_BY_SUFFIX = {
    ".txt": "text",
    ".md": "text",
    ".text": "text",
    ".pdf": "pdf",
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".tif": "image",
    ".tiff": "image",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".ofd": "ofd",
}
SUFFIXES = tuple(FORMATS_BY_SUFFIX)
# The stream name an encrypted Office Open XML file carries inside its OLE container (UTF-16LE).
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
# What a refused extension should be sent as instead.
_SAVE_AS = {
    ".doc": "an old binary Word file (.doc) is not read: open it in Word or WPS and save it as .docx or PDF",
    ".wps": "a WPS file is not read: save it as .docx or PDF",
    ".rtf": "RTF is not read: save it as .docx, PDF or UTF-8 .txt",
    ".xls": "spreadsheets are not read: export the text as .txt or PDF",
    ".xlsx": "spreadsheets are not read: export the text as .txt or PDF",
    ".odt": "OpenDocument text is not read: save it as .docx or PDF",
    ".gif": "GIF images are not read: save the scan as PNG, JPEG or TIFF",
    ".bmp": "BMP images are not read: save the scan as PNG, JPEG or TIFF",
    ".webp": "WebP images are not read: save the scan as PNG, JPEG or TIFF",
}
_KIND_NAMES = {
    "pdf": "a PDF",
    "png": "a PNG image",
    "jpeg": "a JPEG image",
    "tiff": "a TIFF image",
    "docx": "a Word (.docx) file",
    "ofd": "an OFD file",
    "zip": "a ZIP archive",
    "ole": "an old Office file (.doc, .xls)",
    "rtf": "an RTF document",
    "gif": "a GIF image",
    "text": "text",
}


def suffix_of(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def format_of(name: str, data: bytes) -> str:
    """The format to read `data` as ("text", "pdf", "image", "docx", "html", "ofd"), or FileRefused."""
    suffix = suffix_of(name)
    if suffix in _SAVE_AS:
        raise FileRefused(name, _SAVE_AS[suffix], kind="unsupported_type")
    wanted = FORMATS_BY_SUFFIX.get(suffix)
    if wanted is None:
        shown = suffix or "a file without an extension"
        raise FileRefused(
            name,
            f"{shown} is not a format this service reads; send plain text (.txt, .md), PDF, a scan or photo "
            "(.png, .jpg, .tif), Word (.docx), a web page (.html) or OFD (.ofd)",
            kind="unsupported_type",
        )
    kind = content_kind(data)
    agrees = {
        "text": ("text",),  # a .txt is read as text whatever it holds; the decoder refuses binaries
        "html": ("text",),
        "pdf": ("pdf",),
        "image": ("png", "jpeg", "tiff"),
        "docx": ("docx",),
        "ofd": ("ofd",),
    }[wanted]
    if wanted == "text" and kind not in ("text", "zip"):
        return wanted  # the text decoder names the binary it finds (a PDF saved as .txt)
    if kind not in agrees:
        if kind == "ole" and wanted == "docx" and _ENCRYPTED_PACKAGE in data:
            raise FileRefused(
                name,
                "is protected with a password (Word keeps an encrypted .docx in an OLE container); "
                "remove the password in Word and save it again, or send the PDF",
            )
        if kind == "zip" and wanted == "docx":
            raise FileRefused(
                name,
                "is named .docx but is a ZIP archive of something else (it has no word/document.xml); "
                "open it in Word and save it as .docx, or send the PDF",
                kind="unsupported_type",
            )
        raise FileRefused(
            name,
            f"is named {suffix} but its contents are {_KIND_NAMES.get(kind, kind)}; rename it to match "
            "what it is, or send the right file",
            kind="unsupported_type",
        )
    return wanted


def content_kind(data: bytes) -> str:
    """What the first bytes say a file is: pdf, png, jpeg, tiff, docx, ofd, zip, ole, rtf, gif, or text."""
    head = data[:8]
    if data[:1024].lstrip(b"\xef\xbb\xbf\r\n\t ").startswith(b"%PDF-") or b"%PDF-" in data[:1024]:
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "ole"
    if head.startswith(b"{\\rtf"):
        return "rtf"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            return "zip"
        if "word/document.xml" in names:
            return "docx"
        if "OFD.xml" in names or any(n.lower() == "ofd.xml" for n in names):
            return "ofd"
        return "zip"
    return "text"
