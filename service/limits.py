"""A limit on JSON request bodies, enforced while they stream (uploads have their own, in `uploads`).

A body over the limit is refused with 413 as soon as its declared length or
the bytes read so far pass it: at most `max_bytes` are ever held, so an 18 MB
query costs nothing but the read.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import error_response


class BodyLimitMiddleware:
    """Refuses any non-multipart request body longer than `max_bytes` with 413 `too_large`."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if headers.get(b"content-type", b"").lower().startswith(b"multipart/form-data"):
            await self.app(scope, receive, send)  # streamed and limited per file by the upload reader
            return
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send, int(declared))
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._refuse(scope, receive, send, None)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, declared: int | None) -> None:
        what = f"{declared} bytes" if declared is not None else "longer"
        message = (
            f"the request body is {what}, over the {self.max_bytes}-byte limit (CONCORD_MAX_QUERY_BYTES); "
            "send a shorter question or fewer document ids"
        )
        response = error_response(Request(scope), 413, message, "too_large", {"Connection": "close"})
        await response(scope, receive, send)
