"""Secret masking for every output: values the run knows, values shaped like credentials, names like keys."""

from __future__ import annotations

import re
import threading
from dataclasses import replace
from typing import Any

from provisioner.core.model import SENSITIVE, UNKNOWN, Change, Plan, PropertyChange

_KNOWN: set[str] = set()
_GUARD = threading.Lock()
MIN_KNOWN = 8  # shorter values ('true', a port) are not secrets and would mask half the report

# Credential shapes (what a person pastes): each pattern's group 1 is kept, the rest becomes (sensitive).
SHAPES: tuple[re.Pattern[str], ...] = (
    # A PEM block (a private key, or anything armoured that way), whole, across lines (RFC 7468).
    re.compile(r"()-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(?:-----END [A-Z0-9 ]+-----|$)"),
    # The userinfo of a URL (RFC 3986 §3.2.1): `user:password@` of a DSN, and the key a Sentry-style DSN carries
    # as its user name (`https://<key>@o1.ingest.example/1`). Up to the last `@` before the host: people paste
    # passwords unencoded, `/`, `#` and `?` included, and libpq-style parsers accept them.
    re.compile(r"([a-z][a-z0-9+.-]*://)[^\s@'\"]+(?=@[^\s@'\"/]+)", re.IGNORECASE),
    re.compile(r"((?:AccountKey|SharedAccessKey|SharedAccessSignature|Password|Pwd|AccessKey|ClientSecret|"
               r"InstrumentationKey|ApiKey)\s*=\s*)[^;\s\"']+", re.IGNORECASE),  # connection-string fields
    re.compile(r"(\b)(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{6,}"),  # Stripe keys
    re.compile(r"(\bBearer\s+)[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE),  # bearer tokens
    re.compile(r"(\b)eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),  # JWTs
    re.compile(r"(\b)(?:AKIA|ghp_|gho_|xox[abp]-|SG\.)[A-Za-z0-9._-]{10,}"),  # AWS, GitHub, Slack, SendGrid keys
    re.compile(r"([?&](?:sig|password|pwd|token|key)=)[^&\s\"']+", re.IGNORECASE),  # SAS signatures, query secrets
)
# Names of settings and fields that hold a secret whatever their value looks like (`STRIPE_API_KEY`,
# `JWT_SECRET`, `DATABASE_CONNECTION_STRING`, `administratorLoginPassword`, `primaryKey`).
_NAME = re.compile(r"(?i:password|passwd|secret|token|connection_?string|apikey|api_key|(?:^|_)key$)|[a-z]Key$")
# Environment-variable style names (`DB_PASS`, `TWILIO_AUTH`, `SMTP_CREDENTIALS`, `SENTRY_DSN`): any of these
# words as one of the name's `_`-separated words. Only for such names: in a camelCase wire path `auth` is a
# setting's name (`activeDirectoryAuth`), not a credential.
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_ENV_WORDS = {"PASS", "PASSWD", "PASSWORD", "PASSPHRASE", "PWD", "SECRET", "SECRETS", "TOKEN", "TOKENS", "AUTH",
              "CRED", "CREDS", "CREDENTIAL", "CREDENTIALS", "KEY", "KEYS", "APIKEY", "DSN", "SIG", "SIGNATURE",
              "SALT", "PRIVATE", "PEM", "CERT", "SAS", "CONNSTR", "OTP", "PIN"}
# `NAME=value` in free text (a hook's command line, an error quoting an environment): the value is masked when
# the name is a secret's.
_ASSIGNMENT = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)(\s*=\s*)(\"[^\"]*\"|'[^']*'|[^\s;&|]+)")


def remember(*values: Any) -> None:
    """Record secrets the run learns (passwords, keys, connection strings): masked wherever they appear."""
    with _GUARD:
        for value in values:
            if isinstance(value, str) and len(value) >= MIN_KNOWN:
                _KNOWN.add(value)


def forget_all() -> None:
    """For tests: start from an empty set of known secrets."""
    with _GUARD:
        _KNOWN.clear()


def _known() -> list[str]:
    with _GUARD:
        return sorted(_KNOWN, key=len, reverse=True)  # longest first: a URL before the password inside it


def secret_name(path: str) -> bool:
    """Does the last segment of a wire path (or a setting name) name a secret?"""
    last = path.rsplit(".", 1)[-1].strip("[]")
    if _ENV_NAME.match(last) and _ENV_WORDS & set(last.split("_")):
        return True
    return bool(_NAME.search(last))


def reference(value: Any) -> bool:
    """A Key Vault reference (`@Microsoft.KeyVault(SecretUri=...)`): where a secret is, never the secret."""
    return isinstance(value, str) and value.startswith("@Microsoft.KeyVault(")


def secret_value(value: Any) -> bool:
    """Equal to or containing a secret the run knows, or shaped like a credential (nested values too)."""
    if isinstance(value, dict):
        return any(secret_value(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(secret_value(v) for v in value)
    if not isinstance(value, str) or value in (SENSITIVE, ""):
        return False
    return any(k in value for k in _known()) or any(p.search(value) for p in SHAPES) or bool(
        any(secret_name(m.group(1)) for m in _ASSIGNMENT.finditer(value)))


def sensitive(path: str, value: Any) -> bool:
    if value is None or value is UNKNOWN or value == SENSITIVE:
        return False
    return secret_name(path) or secret_value(value)


def scrub(text: str) -> str:
    """Free text (errors, progress and log lines): known secrets and credential shapes become (sensitive)."""
    if not text:
        return text
    for value in _known():
        text = text.replace(value, SENSITIVE)
    for pattern in SHAPES:
        text = pattern.sub(lambda m: m.group(1) + SENSITIVE, text)
    return _ASSIGNMENT.sub(lambda m: m.group(0) if not secret_name(m.group(1)) or m.group(3) == SENSITIVE
                           else m.group(1) + m.group(2) + SENSITIVE, text)


def _value(path: str, value: Any) -> Any:
    """A value with secrets masked; a dict is masked key by key, so one secret setting does not hide all."""
    if isinstance(value, dict):
        return {k: _value(f"{path}.{k}", v) for k, v in value.items()}
    return SENSITIVE if sensitive(path, value) else value


def change(c: Change) -> Change:
    """The change as every output shows it: each property's before/after masked by name, value and shape."""
    props = []
    for p in c.properties:
        before, after = _value(p.path, p.before), _value(p.path, p.after)
        hidden = p.sensitive or before != p.before or after != p.after
        props.append(PropertyChange(p.path, before, after, hidden, p.requires_replace))
    hold = replace(c.hold, why=scrub(c.hold.why)) if c.hold else None
    return replace(c, properties=tuple(props), reason=scrub(c.reason), hold=hold)


def plan(p: Plan) -> Plan:
    return replace(p, changes=tuple(change(c) for c in p.changes),
                   errors=tuple(replace(e, message=scrub(e.message)) for e in p.errors))
