"""Links to stored files that an annotator can open.

A task's attachment may be ``scaledata://<id>``: a file uploaded through ``/v1/files``.
Annotators hold worker keys, which read no organization data, so the task they lease shows a
link to ``/api/files/<id>`` signed for that file alone, expiring with the lease's horizon:
HMAC-SHA256 of ``<id>:<expires>`` under the file's organization's callback key (rotating
that key revokes every link, as rotating a secret should).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from labelmill.server.db.engine import Database
from labelmill.server.errors import NotFound
from labelmill.server.models import Organization, Project, StoredFile

SCHEME = "scaledata://"
LINK_SECONDS = 6 * 3600  # outlives any lease; short enough that a leaked link goes stale


def _signature(secret: str, public_id: str, expires: int) -> str:
    message = f"{public_id}:{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def mentions_files(data: Any) -> bool:
    """Whether a worker's view holds a ``scaledata://`` reference (cheap: the common case
    on the hot path is no)."""
    return any(s.startswith(SCHEME) for s in _strings(data))


def _replaced(value: Any, links: dict[str, str]) -> Any:
    if isinstance(value, str):
        return links.get(value, value)
    if isinstance(value, dict):
        return {k: _replaced(v, links) for k, v in value.items()}
    if isinstance(value, list):
        return [_replaced(v, links) for v in value]
    return value


def signed_view(db: Database, data: Any, *, project_id: int, now: datetime) -> Any:
    """``data`` (a task of ``project_id`` as its worker sees it) with each
    ``scaledata://<id>`` of the project's organization's files replaced by a signed link.
    References to unknown (or other organizations') files stay as they are."""
    wanted = {s[len(SCHEME) :] for s in _strings(data) if s.startswith(SCHEME)}
    expires = int(now.timestamp()) + LINK_SECONDS
    links: dict[str, str] = {}
    with db.read_session() as session:
        rows = session.execute(
            select(StoredFile.public_id, Organization.callback_secret)
            .join(Organization, Organization.id == StoredFile.org_id)
            .where(
                StoredFile.public_id.in_(wanted),
                StoredFile.org_id
                == select(Project.org_id).where(Project.id == project_id).scalar_subquery(),
            )
        )
        for public_id, secret in rows:
            signature = _signature(secret, public_id, expires)
            links[SCHEME + public_id] = (
                f"/api/files/{public_id}?expires={expires}&signature={signature}"
            )
    return _replaced(data, links)


def file_by_link(
    *, session: Session, public_id: str, expires: int, signature: str, now: datetime
) -> StoredFile:
    """The file a signed link names, if the link is genuine and has not expired; otherwise
    ``NotFound``, as for an unknown file (a bad link tells nothing)."""
    row = session.execute(
        select(StoredFile, Organization.callback_secret)
        .join(Organization, Organization.id == StoredFile.org_id)
        .where(StoredFile.public_id == public_id)
    ).first()
    if row is None or expires < now.timestamp():
        raise NotFound("File", public_id)
    stored, secret = row
    if not hmac.compare_digest(_signature(secret, public_id, expires), signature):
        raise NotFound("File", public_id)
    return stored
