"""Request dependencies as Annotated aliases: the index holder, the ready searcher, the corpus, who is calling."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from index.jobs.runner import JobWorker
from index.query import Searcher
from index.storage.corpus import Corpus
from service.auth import Access, Caller, KeyRing
from service.errors import ApiError
from service.holder import IndexHolder

_bearer = HTTPBearer(auto_error=False)


def get_holder(request: Request) -> IndexHolder:
    return request.app.state.holder


HolderDep = Annotated[IndexHolder, Depends(get_holder)]


def get_searcher(holder: HolderDep) -> Searcher:
    searcher = holder.searcher
    if searcher is None:
        raise ApiError(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"no index is loaded yet: {holder.error or 'still loading'}",
            "not_ready",
        )
    return searcher


SearcherDep = Annotated[Searcher, Depends(get_searcher)]


def _not_connected(request: Request) -> ApiError:
    holder: IndexHolder = request.app.state.holder
    return ApiError(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        f"not ready: {holder.error or 'still connecting to the corpus database'}",
        "not_ready",
    )


def get_corpus(request: Request) -> Corpus:
    corpus = request.app.state.corpus
    if corpus is None:
        raise _not_connected(request)
    return corpus


CorpusDep = Annotated[Corpus, Depends(get_corpus)]


def get_worker(request: Request) -> JobWorker:
    worker = request.app.state.worker
    if worker is None:
        raise _not_connected(request)
    return worker


WorkerDep = Annotated[JobWorker, Depends(get_worker)]


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _authorise(request: Request, credentials: Credentials, needed: Access) -> Caller:
    keys: KeyRing = request.app.state.keys
    caller = keys.authorise(
        credentials.credentials if credentials else None,
        request.headers.get("origin"),
        request.client.host if request.client else "",
        needed,
    )
    request.state.caller = caller.fingerprint
    if caller.role != "open":  # limits are per key; a keyless service serves this machine only
        request.app.state.rate_limiter.check(caller.fingerprint)
    return caller


def require_ask(request: Request, credentials: Credentials) -> Caller:
    """Questions and cited text: any key, a widget key from one of its origins included."""
    return _authorise(request, credentials, Access.ASK)


def require_read(request: Request, credentials: Credentials) -> Caller:
    """Listings of documents and jobs: a query or admin key."""
    return _authorise(request, credentials, Access.READ)


def require_admin(request: Request, credentials: Credentials) -> Caller:
    """Writes (uploads, removals, moves, reindex): an admin key."""
    return _authorise(request, credentials, Access.WRITE)


Asker = Annotated[Caller, Depends(require_ask)]
Reader = Annotated[Caller, Depends(require_read)]
Admin = Annotated[Caller, Depends(require_admin)]
