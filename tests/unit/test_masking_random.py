"""Secrets never print, for names and shapes the masker was not written for: generated at random.

Names are built from random words, the way people name things (`DB_PASS`, `TWILIO_AUTH`, `SMTP_CREDENTIALS`
are three of the infinitely many); values are random credentials of realistic grammars: bare passwords, DSNs
with user and password (postgres, mysql, redis, amqp, mongodb+srv...), Sentry-style DSNs whose key is the URL's
user, PEM private keys. Each value carries a random marker; no output of plan, drift or provision, in text,
JSON or Markdown, nor the deploy hook's line, may contain it.
"""

from __future__ import annotations

import io
import shlex
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner.cli import render
from provisioner.cli.progress import Progress
from provisioner.core.model import Outcome as Done
from provisioner.core.model import Plan, Status
from provisioner.engine.diff import diff
from provisioner.engine.reconciler import Policy, decide
from provisioner.operate.deploy import run_hook
from tests.support import session, step

DEV = session("dev")
APP_SETTINGS = step(DEV, "app_settings")
CONNECTION_STRINGS = step(DEV, "connection_strings")
STORAGE = step(DEV, "storage_account")
KNOWN = {"key_vault": {"id": "/subscriptions/x/resourceGroups/g/providers/Microsoft.KeyVault/vaults/v",
                       "properties": {"vaultUri": "https://v.vault.azure.net/"}},
         "app_insights": {"properties": {"ConnectionString": "InstrumentationKey=00000000-0000-0000-0000-000000000000"}}}

# A marker that no output produces by chance: what the test looks for.
marker = st.text(alphabet=string.ascii_letters + string.digits, min_size=12, max_size=24).map(lambda s: f"Zq{s}")
word = st.from_regex(r"[A-Z][A-Z0-9]{1,9}", fullmatch=True)
# How people name a secret setting: a few words, often with a word that says what it is (any language of it).
kind = st.sampled_from(["PASS", "PASSWD", "PWD", "AUTH", "CREDENTIALS", "CREDS", "SECRET", "TOKEN", "KEY", "DSN",
                        "PRIVATE_KEY", "API", "LOGIN", "ACCESS", "CERT", "SIGNING", "HMAC", "WEBHOOK", "URL", ""])
setting_name = st.tuples(st.lists(word, min_size=1, max_size=3), kind).map(
    lambda t: "_".join([*t[0], t[1]] if t[1] else t[0]))
host = st.from_regex(r"[a-z][a-z0-9-]{1,12}\.(example|internal|test)\.(com|net|org)", fullmatch=True)
user = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
hexkey = st.text(alphabet="0123456789abcdef", min_size=32, max_size=32)


@st.composite
def password(draw: st.DrawFn, mark: str) -> str:
    noise = draw(st.text(alphabet=string.ascii_letters + string.digits + "!#%*+-._~", min_size=0, max_size=10))
    return draw(st.sampled_from([f"{noise}{mark}", f"{mark}{noise}", f"{noise[:4]}{mark}{noise[4:]}"]))


@st.composite
def dsn(draw: st.DrawFn, mark: str) -> str:
    scheme = draw(st.sampled_from(["postgres", "postgresql", "mysql", "redis", "rediss", "amqp", "amqps",
                                   "mongodb+srv", "mssql", "smtp", "ftp", "https"]))
    pw = draw(password(mark))
    port = draw(st.integers(min_value=1, max_value=65535))
    path = draw(st.from_regex(r"[a-z0-9_]{0,10}", fullmatch=True))
    query = draw(st.sampled_from(["", "?sslmode=require", "?ssl=true&retryWrites=false", "?timeout=5"]))
    return f"{scheme}://{draw(user)}:{pw}@{draw(host)}:{port}/{path}{query}"


@st.composite
def sentry_dsn(draw: st.DrawFn, mark: str) -> str:
    key = draw(hexkey)[: -len(mark) // 2] + mark
    return f"https://{key}@o{draw(st.integers(1, 10**7))}.ingest.{draw(host)}/{draw(st.integers(1, 10**7))}"


@st.composite
def pem(draw: st.DrawFn, mark: str) -> str:
    label = draw(st.sampled_from(["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY",
                                  "ENCRYPTED PRIVATE KEY"]))
    body = draw(st.lists(st.text(alphabet=string.ascii_letters + string.digits + "+/", min_size=64, max_size=64),
                         min_size=1, max_size=4))
    body.insert(draw(st.integers(0, len(body))), mark)
    nl = draw(st.sampled_from(["\n", "\r\n"]))
    return f"-----BEGIN {label}-----{nl}{nl.join(body)}{nl}-----END {label}-----"


@st.composite
def shaped(draw: st.DrawFn) -> tuple[str, str]:
    """(value, marker) of a credential with a shape: masked wherever it appears, whatever the field."""
    mark = draw(marker)
    return draw(st.one_of(dsn(mark), sentry_dsn(mark), pem(mark))), mark


@st.composite
def any_secret(draw: st.DrawFn) -> tuple[str, str]:
    """(value, marker) of any secret a person pastes into an app setting or connection string."""
    mark = draw(marker)
    return draw(st.one_of(password(mark), dsn(mark), sentry_dsn(mark), pem(mark))), mark


def _outputs(plan: Plan, error: str | None = None) -> list[str]:
    outs = [render.plan_text(plan, True), render.plan_json(plan, show_ignored=True), render.plan_markdown(plan),
            render.drift_text(plan, True), render.drift_json(plan, True), render.drift_markdown(plan, True)]
    outcomes = [Done(c, Status.FAILED if error else Status.APPLIED, error) for c in plan.changes]
    stream = io.StringIO()
    with Progress(len(outcomes), stream, live=False) as progress:
        for o in outcomes:
            progress("start", o.change, None)
            progress("done", o.change, o)
    return [*outs, render.outcomes_text(outcomes, 1.0), str(render.outcomes_json(outcomes)), stream.getvalue()]


def _assert_hidden(texts: list[str], marks: list[str]) -> None:
    for text in texts:
        for mark in marks:
            assert mark not in text


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.lists(st.tuples(setting_name, any_secret()), min_size=1, max_size=4, unique_by=lambda t: t[0]))
def test_app_settings_added_by_hand_are_masked_whatever_their_name_or_value(pasted):
    desired = APP_SETTINGS.desired(KNOWN)
    declared = set(desired["properties"])
    extra = {name: value for name, (value, _mark) in pasted if name not in declared}
    observed = {"properties": {**desired["properties"], **extra}}
    change = decide(APP_SETTINGS, desired, observed, Policy(), False)
    assert {c.path for c in change.properties} == {f"properties.{n}" for n in extra}
    _assert_hidden(_outputs(Plan("dev", (change,))), [mark for _n, (_v, mark) in pasted])


@SETTINGS
@given(setting_name, any_secret(), st.sampled_from(["Custom", "SQLAzure", "PostgreSQL", "MySql", "RedisCache"]))
def test_connection_strings_added_by_hand_are_masked(name, secret, kind):
    value, mark = secret
    desired = CONNECTION_STRINGS.desired({})
    observed = {"properties": {name: {"value": value, "type": kind}}}
    change = decide(CONNECTION_STRINGS, desired, observed, Policy(), False)
    assert [c.path for c in change.properties] == [f"properties.{name}"]
    _assert_hidden(_outputs(Plan("dev", (change,))), [mark])


@SETTINGS
@given(st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,12}", fullmatch=True), shaped())
def test_credential_shapes_are_masked_in_any_field_and_in_error_messages(tag, secret):
    """A DSN or a PEM key anywhere (a tag here, where names say nothing) and in an error quoting it."""
    value, mark = secret
    desired = STORAGE.desired({})
    observed = {**desired, "tags": {**desired["tags"], tag: value}}
    change = decide(STORAGE, desired, observed, Policy(), False)
    assert [c.path for c in change.properties if c.path.startswith("tags")]
    _assert_hidden(_outputs(Plan("dev", (change,)), error=f"400 BadRequest: the value '{value}' is not allowed"),
                   [mark])


@settings(max_examples=25, deadline=None)
@given(shaped())
def test_the_deploy_hook_line_goes_through_the_masker(secret):
    value, mark = secret
    lines: list[str] = []
    run_hook(f"true {shlex.quote(value)}", "staging", "repo/api:1", "https://slot.example", lines.append)
    _assert_hidden(lines, [mark])
    assert lines and lines[0].startswith("running the pre-swap hook: true")


def test_declared_plain_settings_still_show_and_references_show_as_references():
    """Masking by default is not masking everything: what an env file declares in clear stays readable."""
    desired = APP_SETTINGS.desired(KNOWN)
    plain = next(k for k, v in desired["properties"].items() if isinstance(v, str) and not v.startswith("@"))
    ref = next(k for k, v in desired["properties"].items() if isinstance(v, str) and v.startswith("@Microsoft.KeyVault("))
    observed = {"properties": {**desired["properties"], plain: "changed-by-hand", ref: "@Microsoft.KeyVault(SecretUri=x)"}}
    shown = {c.path: (c.before, c.after) for c in diff(desired, observed, APP_SETTINGS.rules).changes}
    assert shown[f"properties.{plain}"] == ("changed-by-hand", desired["properties"][plain])
    assert shown[f"properties.{ref}"] == ("@Microsoft.KeyVault(SecretUri=x)", desired["properties"][ref])
