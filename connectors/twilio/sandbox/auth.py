"""Twilio authentication as the sandbox checks it: HTTP Basic with the Account SID and Auth
Token, or an API key SID (``SK...``) and its secret; the path's AccountSid must be the
account the credentials open.

https://www.twilio.com/docs/usage/requests-to-twilio ; error 20003:
https://www.twilio.com/docs/api/errors/20003
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.sandbox.oauth import basic_credentials, same_secret

MORE_INFO = "https://www.twilio.com/docs/errors/{code}"


def twilio_error(status: int, code: int, message: str, **headers: str) -> Response:
    """Twilio's error body ``{code, message, more_info, status}``."""
    body = {"code": code, "message": message, "more_info": MORE_INFO.format(code=code),
            "status": status}  # fmt: skip
    return JSONResponse(body, status_code=status, headers=headers)


def not_authenticated() -> Response:
    return twilio_error(
        401, 20003, "Authenticate", **{"WWW-Authenticate": 'Basic realm="Twilio API"'}
    )


class TwilioAuth:
    """Accepts the account's ``{AccountSid}:{AuthToken}`` and ``{ApiKeySid}:{ApiKeySecret}``."""

    def __init__(self, *, account_sid: str, auth_token: str, api_key_sid: str, api_key_secret: str):
        self.account_sid = account_sid
        self._secrets = {account_sid: auth_token, api_key_sid: api_key_secret}

    def check(self, request: Request) -> Response | None:
        """None when the request is authenticated for the account in its path, else the 401
        (or, for another account's path, the 404) Twilio would send."""
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return not_authenticated()
        user, password = basic_credentials(value)
        expected = self._secrets.get(user)
        if expected is None or not same_secret(password, expected):
            return not_authenticated()
        in_path = request.path_params.get("account_sid")
        if in_path is not None and in_path != self.account_sid:
            return twilio_error(
                404, 20404, f"The requested resource {request.url.path} was not found"
            )
        return None
