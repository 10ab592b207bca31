"""Microsoft Entra sign-in to the local cloud's real PostgreSQL: an access token as the password, checked as Azure does.

How Azure does it (learn.microsoft.com/azure/postgresql/flexible-server/how-to-configure-sign-in-azure-ad-authentication
and how-to-manage-azure-ad-users): a Microsoft Entra principal signs in with its role name as the user and an access
token for `https://ossrdbms-aad.database.windows.net` as the password (`az account get-access-token --resource-type
oss-rdbms`). The server maps each Entra role to the principal's object id (`SECURITY LABEL for "pgaadauth" on role
"<roleName>" is 'aadauth,oid=<objectId>,type=<user|group|service>[,admin]'`); an Entra administrator added through
ARM (flexibleServers/administrators, named by the object id, with its principalName) gets such a role with `admin`.
The server checks the token (signature, audience, lifetime) and that its `oid` is the role's, and only while
Microsoft Entra authentication is enabled on the server (authConfig.activeDirectoryAuth).

How the local cloud does it: PostgreSQL has no hook for that without a C extension, but it can hand a password
to an LDAP server (pg_hba `ldap` method, simple-bind mode: it binds as `<ldapprefix><user><ldapsuffix>` with the
password the client sent). Each Entra role gets a pg_hba line sending its password to this module's LDAP
responder, which answers success only when `check(server key, role, token)` holds (pg_arm.entra_check: a token this
cloud's Entra issued, the PostgreSQL audience, within its lifetime, the role's object id, Entra sign-in on).
Anything else is `invalidCredentials`. The bind protocol is RFC 4511 §4.2 (BindRequest / BindResponse), BER
encoded (X.690); only the simple authentication choice is answered.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Callable

SUCCESS, INVALID_CREDENTIALS, PROTOCOL_ERROR, AUTH_METHOD_NOT_SUPPORTED = 0, 49, 2, 7
BIND_REQUEST, BIND_RESPONSE, UNBIND_REQUEST = 0x60, 0x61, 0x42  # [APPLICATION 0] (constructed), 1, [APPLICATION 2]
SIMPLE = 0x80  # AuthenticationChoice simple [0] OCTET STRING (primitive)
PREFIX, SUFFIX_HEAD = "cn=", ",ou="  # the DN pg_hba builds: cn=<role>,ou=<server key>

Check = Callable[[str, str, str], bool]  # (server key, role, token) -> accepted


def _length(data: bytes, at: int) -> tuple[int, int]:
    first = data[at]
    if first < 0x80:
        return first, at + 1
    count = first & 0x7F
    if count == 0 or count > 4 or at + 1 + count > len(data):
        raise ValueError("unsupported BER length")
    return int.from_bytes(data[at + 1:at + 1 + count], "big"), at + 1 + count


def tlv(data: bytes, at: int = 0) -> tuple[int, bytes, int]:
    """(tag, value, next offset) of the BER element at `at`."""
    if at + 2 > len(data):
        raise ValueError("truncated BER element")
    tag = data[at]
    size, start = _length(data, at + 1)
    if start + size > len(data):
        raise ValueError("truncated BER element")
    return tag, data[start:start + size], start + size


def encode(tag: int, value: bytes) -> bytes:
    size = len(value)
    if size < 0x80:
        return bytes([tag, size]) + value
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw + value


def bind_response(message_id: bytes, code: int, text: str = "") -> bytes:
    op = encode(0x0A, bytes([code])) + encode(0x04, b"") + encode(0x04, text.encode())
    return encode(0x30, encode(0x02, message_id) + encode(BIND_RESPONSE, op))


def parse_dn(dn: str) -> tuple[str, str] | None:
    """(role, server key) from `cn=<role>,ou=<key>`, or None."""
    if not dn.startswith(PREFIX) or SUFFIX_HEAD not in dn:
        return None
    role, _, key = dn[len(PREFIX):].rpartition(SUFFIX_HEAD)
    return (role, key) if role and key else None


def answer(message: bytes, check: Check) -> bytes | None:
    """The reply to one LDAPMessage (None: an unbind, or nothing to say)."""
    _, body, _ = tlv(message)
    id_tag, message_id, at = tlv(body)
    op_tag, op, _ = tlv(body, at)
    if id_tag != 0x02 or op_tag != BIND_REQUEST:
        return None
    _, _version, at = tlv(op)
    _, name, at = tlv(op, at)
    auth_tag, password, _ = tlv(op, at)
    if auth_tag != SIMPLE:
        return bind_response(message_id, AUTH_METHOD_NOT_SUPPORTED, "only simple binds")
    where = parse_dn(name.decode("utf-8", "replace"))
    token = password.decode("utf-8", "replace")
    accepted = where is not None and bool(token) and check(where[1], where[0], token)
    return bind_response(message_id, SUCCESS if accepted else INVALID_CREDENTIALS)


def _read_message(conn: socket.socket) -> bytes | None:
    head = b""
    while len(head) < 2:
        chunk = conn.recv(2 - len(head))
        if not chunk:
            return None
        head += chunk
    extra = head[1] & 0x7F if head[1] & 0x80 else 0
    while len(head) < 2 + extra:
        chunk = conn.recv(2 + extra - len(head))
        if not chunk:
            return None
        head += chunk
    size, start = _length(head, 1)
    if size > 1 << 20:  # an access token is a few kilobytes
        return None
    data = head
    while len(data) < start + size:
        chunk = conn.recv(start + size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


class TokenCheckServer:
    """The LDAP responder on 127.0.0.1 (a free port), one thread per connection (PostgreSQL opens one per login)."""

    def __init__(self, check: Check) -> None:
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                conn = self.request
                conn.settimeout(10)
                try:
                    while True:
                        message = _read_message(conn)
                        if message is None or message[0] != 0x30:
                            return
                        try:
                            reply = answer(message, outer.check)
                        except (ValueError, IndexError):
                            return  # not LDAP: drop the connection, as a server does on a protocol error
                        if reply is None:
                            return
                        conn.sendall(reply)
                except OSError:
                    return

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.check = check
        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="pg-entra-ldap", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def hba_line(role: str, port: int, key: str, ssl_only: bool, local: bool = False) -> str:
    """The pg_hba line sending the role's password (its token) to the responder (simple-bind mode); `local`: the
    same over the cluster's private socket (the stand-in app's path, pg_cluster.write_hba)."""
    kind = "local" if local else "hostssl" if ssl_only else "host"
    where = "" if local else " 127.0.0.1/32"
    quoted = '"' + role.replace('"', '""') + '"'
    return (f'{kind} all {quoted}{where} ldap ldapserver=127.0.0.1 ldapport={port} '
            f'ldapprefix="{PREFIX}" ldapsuffix="{SUFFIX_HEAD}{key}"')
