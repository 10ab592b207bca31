"""Microsoft Entra ID as the local cloud plays it: app registrations with federated credentials, the token
endpoint a workload identity federation exchange calls, and the expiry ARM checks on every access token.

A GitHub Actions job signs in by sending its OIDC token as a client assertion (learn.microsoft.com/entra/
workload-id/workload-identity-federation): Entra accepts it when the app has a federated credential whose issuer,
subject and audience equal the token's, and the token is within its validity window; it then issues an access
token of its own lifetime. The local cloud answers the same three refusals Azure does (AADSTS700016 unknown
client, AADSTS70021 no matching federated identity record, AADSTS700024 assertion not within its valid time
range: Azure/login#180, azure-cli#28708 are the last one hit by long jobs).
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from .errors import ArmError
from .jwtclaims import claims, encode
from .store import read_json, write_json_atomic

TOKEN_PATH = re.compile(r"^/([^/]+)/oauth2/v2\.0/token$", re.IGNORECASE)
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEFAULT_LIFETIME = 3600.0  # seconds; Entra's access tokens live 60-90 minutes


def _utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _arm_time(ts: float) -> str:
    """ARM's wording of a time in ExpiredAuthenticationToken: '11/24/2025 11:31:00 PM'."""
    dt = datetime.fromtimestamp(ts, UTC)
    hour = dt.hour % 12 or 12
    return f"{dt.month}/{dt.day}/{dt.year} {hour}:{dt.minute:02}:{dt.second:02} {'AM' if dt.hour < 12 else 'PM'}"


def check_expiry(token: str | None, now: float | None = None) -> None:
    """ARM refuses an access token past its `exp` with 401 ExpiredAuthenticationToken: "The access token expiry UTC
    time '11/24/2025 11:31:00 PM' is earlier than current UTC time '11/28/2025 5:28:45 AM'." (the body quoted in
    many reports, e.g. terraform runs that outlived their token). Tokens without `exp` (a test's plain token) pass."""
    exp = claims(token).get("exp")
    now = time.time() if now is None else now
    if isinstance(exp, int | float) and exp < now:
        message = (f"The access token expiry UTC time '{_arm_time(exp)}' is earlier than current UTC time "
                   f"'{_arm_time(now)}'.")
        raise ArmError(401, "ExpiredAuthenticationToken", message,
                       {"WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/common", '
                                            f'error="invalid_token", error_description="{message}"'})


class Entra:
    """The directory of one tenant: applications (client id, service principal object id, federated
    credentials), kept in a side file next to the state."""

    def __init__(self, path: Path | None, tenant_id: str, token_lifetime: float = DEFAULT_LIFETIME) -> None:
        self.path, self.tenant_id, self.token_lifetime = path, tenant_id.lower(), float(token_lifetime)
        self._lock = threading.Lock()
        self._apps: dict[str, dict[str, Any]] = read_json(path, {}) if path else {}
        # Fingerprints of the access tokens this directory issued: the local cloud's tokens are unsigned, so a
        # resource that checks a token's signature (PostgreSQL's Entra sign-in, pg_entra.py) asks here instead.
        self._issued: dict[str, dict[str, Any]] = {}

    def register(self, app: Any) -> dict[str, Any]:
        """Create or replace an app registration with its service principal and federated credentials, as `az ad app
        create`, `az ad sp create` and `az ad app federated-credential create` leave them."""
        if not isinstance(app, dict) or not app.get("appId"):
            raise ValueError("an application needs appId (and objectId, the service principal's object id)")
        entry: dict[str, Any] = {"appId": str(app["appId"]).lower(), "objectId": str(app.get("objectId") or uuid.uuid4()).lower(),
                 "displayName": str(app.get("displayName") or app["appId"]),
                 "federatedCredentials": [dict(c) for c in app.get("federatedCredentials") or []]}
        for cred in entry["federatedCredentials"]:
            if not (cred.get("issuer") and cred.get("subject") and cred.get("audiences")):
                raise ValueError("a federated credential needs issuer, subject and audiences")
        with self._lock:
            self._apps[entry["appId"]] = entry
            if self.path:
                write_json_atomic(self.path, self._apps)
        return entry

    def applications(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(a) for a in self._apps.values()]

    def issued(self, token: str) -> dict[str, Any] | None:
        """The claims of an access token this directory issued (its signature, as a resource checks it), else None."""
        with self._lock:
            found = self._issued.get(hashlib.sha256(token.encode()).hexdigest())
        return dict(found) if found else None

    def issue(self, payload: dict[str, Any]) -> str:
        token = encode(payload)
        with self._lock:
            self._issued[hashlib.sha256(token.encode()).hexdigest()] = dict(payload)
        return token

    def managed_identity_token(self, object_id: str, resource: str, now: float | None = None) -> str:
        """What a managed identity's endpoint (IMDS / App Service's IDENTITY_ENDPOINT) hands the app: an access token
        for `resource`, the identity's object id as `oid`."""
        now = time.time() if now is None else now
        return self.issue({"aud": resource.rstrip("/") + "/", "iss": f"https://sts.windows.net/{self.tenant_id}/",
                           "iat": int(now), "nbf": int(now), "exp": int(now + self.token_lifetime),
                           "oid": object_id.lower(), "sub": object_id.lower(), "tid": self.tenant_id,
                           "idtyp": "app", "ver": "1.0"})

    def token(self, path: str, raw: bytes, now: float | None = None) -> tuple[int, dict[str, Any]]:
        """POST /{tenant}/oauth2/v2.0/token with a client assertion (client_credentials grant)."""
        now = time.time() if now is None else now
        found = TOKEN_PATH.match(path)
        tenant = found.group(1).lower() if found else ""
        form = dict(parse_qsl(raw.decode("utf-8", "replace")))
        if tenant != self.tenant_id:
            return self._error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found. Check to make sure you "
                               "have the correct tenant ID and are signing into the correct cloud.", now)
        client = str(form.get("client_id") or "").lower()
        app = self._apps.get(client)
        if app is None:
            return self._error(400, "unauthorized_client", 700016, f"Application with identifier '{client}' was not "
                               f"found in the directory '{tenant}'.", now)
        if form.get("grant_type") != "client_credentials" or form.get("client_assertion_type") != ASSERTION_TYPE:
            return self._error(400, "invalid_request", 900144, "The request body must contain the following "
                               "parameter: 'client_assertion' or 'client_secret'.", now)
        assertion = claims(form.get("client_assertion"))
        aud = assertion.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        match = any(c["issuer"] == assertion.get("iss") and c["subject"] == assertion.get("sub")
                    and any(a in c["audiences"] for a in audiences) for c in app["federatedCredentials"])
        if not match:
            return self._error(400, "invalid_request", 70021, "No matching federated identity record found for "
                               f"presented assertion. Assertion Issuer: '{assertion.get('iss')}'. Assertion Subject: "
                               f"'{assertion.get('sub')}'. Assertion Audience: '{','.join(map(str, audiences))}'.", now)
        nbf, exp = float(assertion.get("nbf") or assertion.get("iat") or 0), float(assertion.get("exp") or 0)
        if not nbf <= now < exp:
            return self._error(401, "invalid_client", 700024, "Client assertion is not within its valid time range. "
                               f"Current time: {_utc(now)}, assertion valid from {_utc(nbf)}, expiry time of "
                               f"assertion {_utc(exp)}.", now)
        resource = str(form.get("scope") or "").split()[0].removesuffix(".default").rstrip("/") + "/"
        lifetime = int(self.token_lifetime)
        access = self.issue({"aud": resource, "iss": f"https://sts.windows.net/{tenant}/", "iat": int(now),
                         "nbf": int(now), "exp": int(now) + lifetime, "appid": app["appId"], "oid": app["objectId"],
                         "sub": app["objectId"], "tid": tenant, "idtyp": "app", "ver": "1.0"})
        return 200, {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                     "access_token": access}

    @staticmethod
    def _error(status: int, error: str, code: int, text: str, now: float) -> tuple[int, dict[str, Any]]:
        """Entra's OAuth error body: the AADSTS code leads error_description (what azure-identity shows)."""
        trace = str(uuid.uuid4())
        return status, {"error": error, "error_description": f"AADSTS{code}: {text} Trace ID: {trace} "
                                                              f"Correlation ID: {uuid.uuid4()} Timestamp: {_utc(now)}",
                        "error_codes": [code], "timestamp": _utc(now), "trace_id": trace,
                        "error_uri": f"https://login.microsoftonline.com/error?code={code}"}
