"""The project's exceptions, from one root: refusals of bad input carry their HTTP status, and
everything that makes a store unusable (the index, the vector store, the database) is one family.

The service maps both with one handler each; the command line prints the message and exits 2.
"""

from __future__ import annotations


class ConcordError(Exception):
    """Any error this project raises on purpose; its message says what went wrong and what to do."""

    status = 500
    code = "internal_error"


class Refusal(ConcordError):
    """Input that cannot be taken as it is; nothing was changed. `status` is its HTTP answer."""

    status = 400
    code = "invalid_request"


class NotFound(Refusal, LookupError):
    """No such document, variant, job or trash entry."""

    status = 404
    code = "not_found"


class Clash(Refusal):
    """Already so, or at odds with what is stored now (a move to where it is, a restore of bytes stored again)."""

    status = 409
    code = "conflict"


class Unwritable(ConcordError):
    """The corpus folder cannot be written (a full disk, a read-only mount); nothing was stored."""

    status = 507
    code = "insufficient_storage"


class Unavailable(ConcordError):
    """A store the service needs cannot be used now (the index, the vector store, the database)."""

    status = 503
    code = "not_ready"
