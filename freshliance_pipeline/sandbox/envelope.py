"""Response envelopes of the gateway: the documented codes, messages and sub-messages.

Documented (freshliance-api.md sections 2.2 and 5): every answer is
``{"code", "msg", "subCode", "subMsg"}`` plus ``data`` on success; ``code`` is a string, ``"0"``
with ``msg`` ``"success"`` (lower case, as the examples print it, not the table's ``Success``) and
empty ``subCode``/``subMsg``; failures carry the code, message and sub-code texts of the error
table verbatim.

Our assumptions: errors are answered with HTTP 200 like successes (the docs show no HTTP error
statuses); ``invalid-parameter`` and ``biz-error`` append ``": <detail>"`` to the documented
sub-message so the caller learns which parameter or record was wrong; error envelopes carry no
``data``. Responses carry ``sign`` only when the ``sign_responses`` quirk is on (section 3.3 leaves
the platform key and field list open; :mod:`.quirks` gives the recipe we chose).
"""

from __future__ import annotations

from typing import Any

SUCCESS_CODE = "0"
PARAMETER_ERROR = "40000"
BUSINESS_ERROR = "50000"

CODE_MESSAGES: dict[str, str] = {
    "0": "success",
    "10000": "Service error",
    "20000": "Authentication error",
    "30000": "Permission error",
    "40000": "Parameter error",
    "50000": "Business error",
    "60000": "Flow limit",
    "99999": "Unknown error",
}

SUB_MESSAGES: dict[str, str] = {
    "service-unknown-error": "Unknown errors occurred in the service",
    "service-not-available": "The service is temporarily unavailable",
    "invalid-auth-token": "Invalid access token",
    "auth-token-timeout": "The access token has expired",
    "no-permissions": "No api permissions",
    "access-forbidden": "Access forbidden",
    "ip-forbidden": "IP access forbidden",
    "missing-method": "Missing method name parameter",
    "missing-signature": "Missing signature parameter",
    "missing-signature-type": "Missing signature type parameter",
    "missing-appId": "Missing appId parameter",
    "missing-timestamp": "Missing timestamp parameter",
    "missing-version": "Missing version parameter",
    "invalid-parameter": "Invalid parameter",
    "error-parameter": "Incorrect parameter",
    "upload-fail": "File upload failed",
    "invalid-file-extension": "Invalid file extension",
    "invalid-file-size": "Invalid file size",
    "invalid-method": "Nonexistent method name",
    "invalid-format": "Invalid data format",
    "invalid-signature-type": "Invalid signature type",
    "invalid-signature": "Invalid signature",
    "invalid-appId": "Invalid appId parameter",
    "invalid-timestamp": "Invalid timestamp parameter",
    "invalid-charset": "Invalid character set",
    "missing-signature-config": "No key of the corresponding signature algorithm is configured",
    "biz-error": "Business error",
    "request-call-limited": "Request call limit reached",
    "unknown-error": "Unknown error",
}


class GatewayError(Exception):
    """A request the gateway answers with an error envelope instead of data."""

    def __init__(self, code: str, sub_code: str, detail: str | None = None) -> None:
        sub_msg = SUB_MESSAGES[sub_code]
        self.code = code
        self.sub_code = sub_code
        self.sub_msg = sub_msg if detail is None else f"{sub_msg}: {detail}"
        super().__init__(f"{code} {sub_code}: {self.sub_msg}")

    def envelope(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "msg": CODE_MESSAGES[self.code],
            "subCode": self.sub_code,
            "subMsg": self.sub_msg,
        }


def parameter_error(sub_code: str, detail: str | None = None) -> GatewayError:
    return GatewayError(PARAMETER_ERROR, sub_code, detail)


def invalid_parameter(detail: str) -> GatewayError:
    return GatewayError(PARAMETER_ERROR, "invalid-parameter", detail)


def biz_error(detail: str) -> GatewayError:
    return GatewayError(BUSINESS_ERROR, "biz-error", detail)


def success(data: Any) -> dict[str, Any]:
    return {"code": SUCCESS_CODE, "msg": "success", "subCode": "", "subMsg": "", "data": data}
