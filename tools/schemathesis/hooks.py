"""Schemathesis hooks for Confab: constraints the OpenAPI document cannot state.

OpenAPI 3.0 has no way to say that two parameters exclude each other. `GET
/conversations/{id}/messages` takes `before` or `after`, never both (both is `400
SCHEMA_VALIDATION_ERROR`, as its description says), so a positive case that drew both keeps
`before` only. A cursor must also name a message of that conversation (else `400`, as for a
message of another conversation), so in the deep run (`MESSAGE_ID` set) a positive case's message
id cursor is that message. Negative cases are left alone.
"""

import os
import uuid

import schemathesis


def _is_uuid(value):
    try:
        uuid.UUID(str(value))
        return True
    except ValueError:
        return False


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    query = case.query
    if (
        case.operation.definition.raw.get("operationId") == "listMessages"
        and case.meta is not None
        and case.meta.generation.mode.is_positive
        and isinstance(query, dict)
        and "before" in query
        and "after" in query
    ):
        del query["after"]
    message_id = os.environ.get("MESSAGE_ID")
    if (
        message_id
        and case.operation.definition.raw.get("operationId") == "listMessages"
        and case.meta is not None
        and case.meta.generation.mode.is_positive
        and isinstance(query, dict)
    ):
        for name in ("before", "after"):
            if name in query and _is_uuid(query[name]):
                query[name] = message_id
