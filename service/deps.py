"""Request dependencies as Annotated aliases: the index holder, the ready searcher, the API key check."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from index.search import Searcher
from service.holder import IndexHolder

_bearer = HTTPBearer(auto_error=False)


def get_holder(request: Request) -> IndexHolder:
    return request.app.state.holder


HolderDep = Annotated[IndexHolder, Depends(get_holder)]


def get_searcher(holder: HolderDep) -> Searcher:
    searcher = holder.searcher
    if searcher is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"no index is loaded yet: {holder.error or 'still loading'}",
        )
    return searcher


SearcherDep = Annotated[Searcher, Depends(get_searcher)]


def require_api_key(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    keys: list[str] = request.app.state.api_keys
    if not keys:
        return
    given = credentials.credentials if credentials else ""
    if not any(hmac.compare_digest(given.encode(), key.encode()) for key in keys):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing or wrong API key; send 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
