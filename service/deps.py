"""Request dependencies as Annotated aliases: the index holder, the ready searcher, the corpus, key checks."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from index.jobs.runner import JobWorker
from index.search import Searcher
from index.storage.corpus import Corpus
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


def get_corpus(request: Request) -> Corpus:
    return request.app.state.corpus


CorpusDep = Annotated[Corpus, Depends(get_corpus)]


def get_worker(request: Request) -> JobWorker:
    return request.app.state.worker


WorkerDep = Annotated[JobWorker, Depends(get_worker)]


def _matches(given: str, keys: list[str]) -> bool:
    # Every key is compared, in constant time, so timing says nothing about which one nearly matched.
    found = False
    for key in keys:
        found |= hmac.compare_digest(given.encode(), key.encode())
    return found


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def require_api_key(request: Request, credentials: Credentials) -> str:
    """Reads and queries: any query or admin key, when keys are configured. Returns who is asking."""
    query_keys: list[str] = request.app.state.api_keys
    admin_keys: list[str] = request.app.state.admin_keys
    if not query_keys and not admin_keys:
        return "anonymous"
    given = credentials.credentials if credentials else ""
    if _matches(given, admin_keys):
        return "admin-key"
    if _matches(given, query_keys):
        return "query-key"
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail="missing or wrong API key; send 'Authorization: Bearer <key>'",
        headers={"WWW-Authenticate": "Bearer"},
    )


def require_admin_key(request: Request, credentials: Credentials) -> str:
    """Writes (uploads, removals, moves, reindex): an admin key whenever any key is configured."""
    who = require_api_key(request, credentials)
    if who in ("anonymous", "admin-key"):
        return who
    raise HTTPException(
        status.HTTP_403_FORBIDDEN,
        detail="this key may query but not change the corpus; writes need an admin key (CONCORD_ADMIN_API_KEYS)",
    )


Reader = Annotated[str, Depends(require_api_key)]
Admin = Annotated[str, Depends(require_admin_key)]
