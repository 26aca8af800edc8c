"""Streaming multipart parsing for uploads: a file over the limit is refused while it streams, not after.

Starlette's form parser spools every file whole before the route runs; here
the body is fed to python-multipart chunk by chunk, and the first part that
passes the size limit (or the file count that passes its limit) stops the
read with a 413 that names the file. A body that ends before its closing
boundary was cut short (a dropped connection, a client that gave up): it is
refused whole, never stored as the part that arrived.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field

from fastapi import HTTPException, Request, status
from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header

from index.corpus.variants import size_text
from index.jobs.submit import Upload

FILE_FIELD = "files"
DOCUMENT_FIELD = "document"
OCR_FIELD = "ocr"  # "auto" or "both": read a PDF with a text layer by OCR too, as a second variant
# A `files` part sent without a file name carries the text itself (a form's text box, curl -F 'files=<a.txt').
PASTED_TEXT_NAME = "text.txt"
MAX_FIELD_BYTES = 1024
# Multipart headers and boundaries around each part, generously.
PART_OVERHEAD_BYTES = 16 * 1024
_FILENAME_STAR = re.compile(r"filename\*\s*=\s*([^']*)'[^']*'([^;]+)", re.IGNORECASE)


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    header_name: bytearray = field(default_factory=bytearray)  # the header being read
    header_value: bytearray = field(default_factory=bytearray)
    name: str = ""
    filename: str | None = None
    data: bytearray = field(default_factory=bytearray)


@dataclass
class UploadForm:
    files: list[Upload]
    document: str | None
    ocr: str | None = None


class _Stop(Exception):
    def __init__(self, code: int, message: str) -> None:
        self.code = code
        self.message = message


async def read_upload_form(request: Request, max_bytes: int, max_files: int) -> UploadForm:
    """The files and the optional `document` field of a multipart upload, within the limits."""
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    if kind != b"multipart/form-data" or b"boundary" not in options:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail="send multipart/form-data with one or more `files` parts (.txt, .pdf, .png, .jpg, .tif, "
            ".docx, .html, .ofd) and an optional `document` field, e.g. curl -F files=@variant.txt",
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_files * (max_bytes + PART_OVERHEAD_BYTES):
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            detail=f"the request is {size_text(int(declared))}, more than {max_files} files of at most "
            f"{size_text(max_bytes)} each can be; send smaller files or fewer at a time",
        )

    parts: list[_Part] = []  # the part being read is the last one
    ended = False

    def on_end() -> None:
        nonlocal ended
        ended = True

    def on_part_begin() -> None:
        parts.append(_Part())

    def on_header_field(data: bytes, start: int, end: int) -> None:
        parts[-1].header_name += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        parts[-1].header_value += data[start:end]

    def on_header_end() -> None:
        part = parts[-1]
        part.headers[bytes(part.header_name).lower()] = bytes(part.header_value)
        part.header_name.clear()
        part.header_value.clear()

    def on_headers_finished() -> None:
        part = parts[-1]
        disposition = part.headers.get(b"content-disposition", b"")
        _, params = parse_options_header(disposition)
        part.name = params.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in params:
            part.filename = params[b"filename"].decode("utf-8", "replace")
        star = _FILENAME_STAR.search(disposition.decode("latin-1"))
        if star:
            part.filename = urllib.parse.unquote(
                star.group(2).strip().strip('"'), encoding=star.group(1) or "utf-8"
            )
        if part.filename is None and part.name == FILE_FIELD:
            part.filename = PASTED_TEXT_NAME
        if part.filename is not None and sum(p.filename is not None for p in parts) > max_files:
            raise _Stop(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                f"more than {max_files} files in one request; send at most {max_files} at a time "
                "(or raise CONCORD_MAX_FILES_PER_UPLOAD)",
            )

    def on_part_data(data: bytes, start: int, end: int) -> None:
        part = parts[-1]
        part.data += data[start:end]
        limit = max_bytes if part.filename is not None else MAX_FIELD_BYTES
        if len(part.data) > limit:
            what = f"file {part.filename!r}" if part.filename is not None else f"field {part.name!r}"
            raise _Stop(
                status.HTTP_413_CONTENT_TOO_LARGE,
                f"{what} is over the {size_text(limit)} limit for one file; nothing was stored. "
                "Split the document or raise CONCORD_MAX_FILE_BYTES",
            )

    parser = MultipartParser(
        options[b"boundary"],
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_end": on_end,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except _Stop as stop:
        raise HTTPException(stop.code, detail=stop.message) from None
    except HTTPException:
        raise
    except Exception as exc:  # python-multipart raises its own errors for a malformed body
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, detail=f"the multipart body could not be parsed ({exc}); resend it"
        ) from None

    if not ended:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            detail="the multipart body ended before its closing boundary, so it was cut short; "
            "nothing was stored: send the whole body again",
        )
    files = [Upload(p.filename or "", bytes(p.data)) for p in parts if p.filename is not None]
    unknown = sorted(
        {p.name for p in parts if p.filename is None and p.name not in (DOCUMENT_FIELD, OCR_FIELD)}
    )
    if unknown:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            detail=f"unknown form field(s) {', '.join(unknown)}; send `files` (one or more) and optionally "
            "`document` and `ocr`",
        )
    strays = sorted({p.name for p in parts if p.filename is not None and p.name != FILE_FIELD})
    if strays:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            detail=f"files must be sent as `files` parts, not {', '.join(strays)}",
        )
    # Present means named: an empty or padded id is refused (by the submission), not read as absent.
    document = next(
        (bytes(p.data).decode("utf-8", "replace") for p in parts if p.name == DOCUMENT_FIELD), None
    )
    ocr = next((bytes(p.data).decode("utf-8", "replace") for p in parts if p.name == OCR_FIELD), None)
    return UploadForm(files, document, ocr)
