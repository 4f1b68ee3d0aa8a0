"""The keyset cursor of every list endpoint (`next_cursor` → `?cursor=`), one codec for all.

A cursor is the sort key and id of the last item of a page, the name of the list it came
from and a digest of that list's filters, serialised and signed by itsdangerous
(HMAC-SHA256). The key is derived from the access-token signing key (`AUTH_SIGNING_KEY`, or
the one generated in DATA_DIR in embedded mode): every function already holds it, so a
cursor issued by one replica is read by any other, and no further secret has to be
deployed. Signed, not encrypted: a cursor shows the sort key and id of an item its holder
has already seen.

An altered, malformed or foreign cursor (another list, other filters) is one 422
`validation_failed` naming the field `cursor`, on every list, never a 500 and never a page
of something else.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime

from itsdangerous import BadData, URLSafeSerializer

from boardrun.accounts.tokens import keys
from boardrun.errors import Unprocessable

# Far above any cursor this module makes (the longest, an app name of 200 four-byte
# characters, is under 1,100); a longer one is refused before any signature is computed.
MAX_LENGTH = 2048
# Bump when the payload changes: cursors of the old format are then refused as foreign.
_SALT = "boardrun.list-cursor.v1"

Key = datetime | str


def _serializer() -> URLSafeSerializer:
    # key_derivation="hmac": the signer's key is HMAC(signing key, salt), a key for this
    # one purpose; the token signing key itself never signs a cursor.
    return URLSafeSerializer(
        keys()[0].private_bytes_raw(),
        salt=_SALT,
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256},
    )


def _scope_digest(scope: Mapping[str, str | None]) -> str:
    return hashlib.sha256(json.dumps(sorted(scope.items()), separators=(",", ":")).encode()).hexdigest()[:16]


_NOT_OURS = "not a cursor this server issued, or altered"


def _invalid(why: str) -> Unprocessable:
    return Unprocessable(f"cursor is not valid: {why}", details=[{"field": "cursor", "message": why}])


def encode(listing: str, scope: Mapping[str, str | None], position: Sequence[Key]) -> str:
    """The cursor after the item whose keyset position is `position` (datetimes at full
    precision, not as rendered: the keyset compares them) in the list `listing` filtered
    by `scope`."""
    values = [value.isoformat() if isinstance(value, datetime) else value for value in position]
    return _serializer().dumps([listing, _scope_digest(scope), values])


def decode(cursor: str, listing: str, scope: Mapping[str, str | None], shape: Sequence[type]) -> tuple[Key, ...]:
    """The keyset position a cursor of `encode(listing, scope, …)` holds, each value of the
    type `shape` names (datetime: timezone-aware); anything else raises the 422."""
    if len(cursor) > MAX_LENGTH:
        raise _invalid("not a cursor this server issued (too long)")
    try:
        data = _serializer().loads(cursor)
    except BadData:
        raise _invalid(_NOT_OURS) from None
    if not (isinstance(data, list) and len(data) == 3 and isinstance(data[2], list)):
        raise _invalid(_NOT_OURS)
    if data[0] != listing or data[1] != _scope_digest(scope):
        raise _invalid("it belongs to another list or to other filters: start again without a cursor")
    values = data[2]
    if len(values) != len(shape) or not all(isinstance(v, str) for v in values):
        raise _invalid(_NOT_OURS)
    position: list[Key] = []
    for kind, value in zip(shape, values):
        if kind is datetime:
            try:
                stamp = datetime.fromisoformat(value)
            except ValueError:
                raise _invalid(_NOT_OURS) from None
            if stamp.tzinfo is None:
                raise _invalid(_NOT_OURS)
            position.append(stamp)
        else:
            position.append(value)
    return tuple(position)


__all__ = ["MAX_LENGTH", "decode", "encode"]
