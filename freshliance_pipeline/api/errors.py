"""The client's error family.

::

    FreshlianceError                 every failure the client raises
    ├── GatewayError                 the gateway answered with a non-zero ``code``
    │   ├── ServiceUnavailableError  10000, retried
    │   ├── AuthenticationError      20000
    │   ├── PermissionDeniedError    30000
    │   ├── InvalidRequestError      40000 (signature, appId, timestamp, parameters)
    │   ├── BusinessError            50000
    │   ├── RateLimitedError         60000, retried
    │   └── UnknownGatewayError      99999 and codes the docs do not list, retried
    ├── HTTPStatusError              a non-200 HTTP status (5xx retried)
    ├── MalformedResponseError       a body that is not the documented envelope, retried
    ├── ResponseSignatureError       a response sign that does not verify (enforce mode)
    └── TransportError               connection refused or reset, timeouts, retried

Every error carries the API method, the gateway's code, subCode and subMsg, and the HTTP status,
and its message says what to do where the cause is known. No message ever contains a key, a
signature or a signed string.
"""

from __future__ import annotations

from typing import ClassVar


class FreshlianceError(Exception):
    """Base class: a call to the gateway did not return data."""

    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        method: str,
        code: str | None = None,
        sub_code: str | None = None,
        sub_msg: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.code = code
        self.sub_code = sub_code
        self.sub_msg = sub_msg
        self.http_status = http_status
        # Set on invalid-timestamp rejections when the server's clock could be read.
        self.clock_offset_s: float | None = None

    def __str__(self) -> str:
        return self.message

    def add_detail(self, text: str) -> None:
        self.message = f"{self.message}; {text}"
        self.args = (self.message,)


class GatewayError(FreshlianceError):
    """The gateway answered with an error envelope."""


class ServiceUnavailableError(GatewayError):
    retryable = True


class AuthenticationError(GatewayError):
    pass


class PermissionDeniedError(GatewayError):
    pass


class InvalidRequestError(GatewayError):
    pass


class BusinessError(GatewayError):
    pass


class RateLimitedError(GatewayError):
    retryable = True


class UnknownGatewayError(GatewayError):
    retryable = True


class HTTPStatusError(FreshlianceError):
    """A status other than 200; server errors (5xx) are worth retrying."""

    @property
    def is_server_error(self) -> bool:
        return self.http_status is not None and self.http_status >= 500


class MalformedResponseError(FreshlianceError):
    """A body that is not JSON or not the documented envelope (for example a cut-off body)."""

    retryable = True


class ResponseSignatureError(FreshlianceError):
    """A response whose signature did not verify with the platform public key (enforce mode).
    Not retried: a response altered on the way is not a passing fault to wait out."""


class TransportError(FreshlianceError):
    """No answer at all: connection refused or reset, connect or read timeout."""

    retryable = True


_CLASS_BY_CODE: dict[str, type[GatewayError]] = {
    "10000": ServiceUnavailableError,
    "20000": AuthenticationError,
    "30000": PermissionDeniedError,
    "40000": InvalidRequestError,
    "50000": BusinessError,
    "60000": RateLimitedError,
    "99999": UnknownGatewayError,
}

# What a user can do about each failure whose cause the code and subCode pin down.
_HINTS: dict[tuple[str, str | None], str] = {
    ("40000", "invalid-signature"): (
        "the gateway could not verify the request signature: the private key in "
        "FRESHLIANCE_PRIVATE_KEY(_FILE) does not match the public key uploaded for this appId"
    ),
    ("40000", "invalid-appId"): "check FRESHLIANCE_APP_ID: the gateway does not know this appId",
    ("40000", "invalid-timestamp"): (
        "the gateway rejected the request time: check that this machine's clock is correct (UTC)"
    ),
    ("40000", "missing-signature-config"): (
        "no RSA2 public key is configured for this appId on the platform: upload the public key"
    ),
    ("30000", "ip-forbidden"): "add this machine's public IP address to the app's IP allow list",
    ("30000", "no-permissions"): "the app lacks permission for this API method",
    ("20000", None): "the gateway rejected the app's credentials; check the appId and key pair",
    ("60000", None): "the account's request limit was reached: lower FRESHLIANCE_MAX_RPS",
}


def hint_for(code: str, sub_code: str | None) -> str | None:
    return _HINTS.get((code, sub_code)) or _HINTS.get((code, None))


def gateway_error(
    *,
    method: str,
    code: str,
    msg: str | None,
    sub_code: str | None,
    sub_msg: str | None,
    http_status: int | None,
) -> GatewayError:
    """The one place gateway codes become exception classes."""
    cls = _CLASS_BY_CODE.get(code, UnknownGatewayError)
    reason = sub_msg or msg
    detail = f"{sub_code or ''} ({reason})".strip() if reason else (sub_code or "")
    message = f"{method} failed with gateway code {code}" + (f": {detail}" if detail else "")
    hint = hint_for(code, sub_code)
    if hint:
        message += f"; {hint}"
    return cls(
        message,
        method=method,
        code=code,
        sub_code=sub_code,
        sub_msg=sub_msg,
        http_status=http_status,
    )
