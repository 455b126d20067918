"""Log redaction: user IDs that travel in URLs never reach a log line.

The client API names an end user in two places a request line shows: the path of
PUT /api/v1/users/<user id>/error-reporting and the `user` query parameter of GET /api/v1/policy.
runserver's access log (`django.server`) and Django's request log (`django.request`, "Not Found: <path>")
print both. The filter formats each message, replaces those user IDs with `<user>`, and keeps the rest
of the line, so that the request stays visible in the log while the person does not.
"""

import logging
import re
from urllib.parse import unquote, unquote_plus

REDACTED = "<user>"

# The route ends in /error-reporting, and a user ID may itself hold "/" (the route's `path:` converter)
# or, in Django's decoded "Not Found: <path>" lines, spaces: everything up to the last /error-reporting
# of the line is the user ID. A path without that ending is redacted up to the end of the path.
_USER_PATH = re.compile(
    r"(?P<prefix>/api/v1/users/)(?:[^\r\n]*(?=/error-reporting)|[^\s?#\"']*)",
    re.IGNORECASE,
)
_QUERY = re.compile(r"\?[^\s#\"']*")


def _redact_query(match: re.Match) -> str:
    pairs = match.group(0)[1:].split("&")
    for position, pair in enumerate(pairs):
        key, separator, _value = pair.partition("=")
        # Django decodes the key as well: ?%75ser=... is the `user` parameter too.
        if separator and unquote_plus(key) == "user":
            pairs[position] = f"{key}={REDACTED}"
    return "?" + "&".join(pairs)


def _redact(message: str) -> str:
    message = _USER_PATH.sub(lambda match: match.group("prefix") + REDACTED, message)
    return _QUERY.sub(_redact_query, message)


def redact_user_ids(message: str) -> str:
    """`message` with the user IDs of client API URLs replaced by `<user>`."""
    redacted = _redact(message)
    # Django decodes the path before routing, so /api/v1/%75sers/<id>/... reaches the same view: a
    # line whose decoded form names a user is redacted in that decoded form.
    decoded = unquote(redacted)
    if decoded != redacted and _redact(decoded) != decoded:
        return _redact(decoded)
    return redacted


class RedactUserIds(logging.Filter):
    """Replaces user IDs in a record's message (formatted first, so they cannot hide in `args`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_user_ids(message)
        if redacted != message:
            record.msg = redacted
            record.args = ()
        return True
