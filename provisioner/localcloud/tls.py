"""Loopback TLS for the Key Vault data plane: the SDK's challenge policy refuses plain http outright."""

from __future__ import annotations

import ssl
import tempfile
from pathlib import Path

# A self-signed certificate for 127.0.0.1/localhost, valid until 2126. It protects nothing: it only
# exists because azure-keyvault-secrets refuses non-https URLs. Clients trust it with
# `connection_verify=cloud.ca_file`. Generated with:
#   openssl req -x509 -newkey rsa:2048 -nodes -days 36500 -subj "/CN=localcloud.localhost" \
#     -addext "subjectAltName=IP:127.0.0.1,DNS:localhost"
CERT_PEM = """-----BEGIN CERTIFICATE-----
MIIDPTCCAiWgAwIBAgIUXrxxwBF+lJW4DPaoLCZkK+6LYL8wDQYJKoZIhvcNAQEL
BQAwHzEdMBsGA1UEAwwUbG9jYWxjbG91ZC5sb2NhbGhvc3QwIBcNMjYxMTI1MTc0
MDA5WhgPMjEyNjExMDExNzQwMDlaMB8xHTAbBgNVBAMMFGxvY2FsY2xvdWQubG9j
YWxob3N0MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAqjmGEyL2QTjK
3gHcty9CCUNoznbiCtPUvk7Ni8v/bGWmz2Z8LojUD86xc9wcXB7a19K6Lup8OL74
DkIgTGQ74Lshc4pBcSqN9R5BMNwedzPjfzeOwwt8AHjILEWZQz9NwueTsus8HSbE
zEsfkjCC3ZWbLxw6Y5DmCuw9VKeLBGzBJtSyxQfkCXSDIwoXxAut/gGdN0PK4BmY
deXM4poGy9gu33ufAepdjNGT7DLPdy9WPMBex8js5eLtCahWqZDvBYPiKi/BYT3t
0dc7DXHyscUIix6puZklUv5EGu/wdFJirF8CBkHjW1DTWt0gBauN/pikYdz3Vlia
HGN0tqDTZQIDAQABo28wbTAdBgNVHQ4EFgQUwgcwIRZusgOBpVZal6Ok4q/I1Lsw
HwYDVR0jBBgwFoAUwgcwIRZusgOBpVZal6Ok4q/I1LswDwYDVR0TAQH/BAUwAwEB
/zAaBgNVHREEEzARhwR/AAABgglsb2NhbGhvc3QwDQYJKoZIhvcNAQELBQADggEB
AKmKocjdT+zhfBYFfUOel4MJyFr99DSPELitut5w90OkooPuVojRHnDmz4TGCSIL
CEKB4QiVk9xSP182AEYbofgzr7Nf0+rKmsR/1nzWQYllj7cWYxsUVYN9/Wh64Gt8
7N/tk0LKmEipX91QvpE9gSKHSVZKfMciiSvpIiTyMT1e/OWMlCZhJew0oRdFXF5j
sgBn3huXEQhsgqYcYNwkRGaCtrBO2aRiWK69S0ig6b+nw374QoNpRTzcbZqhL3Io
EN0BfbpueCKNWmsaK3pZfl01GlAvOxA/T7ZiwDvfNDQJ/fcA4mHCPOjpaxsdMAXe
pwp/uRc6dc3Q3PI4BL/16uE=
-----END CERTIFICATE-----
"""

KEY_PEM = """-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCqOYYTIvZBOMre
Ady3L0IJQ2jOduIK09S+Ts2Ly/9sZabPZnwuiNQPzrFz3BxcHtrX0rou6nw4vvgO
QiBMZDvguyFzikFxKo31HkEw3B53M+N/N47DC3wAeMgsRZlDP03C55Oy6zwdJsTM
Sx+SMILdlZsvHDpjkOYK7D1Up4sEbMEm1LLFB+QJdIMjChfEC63+AZ03Q8rgGZh1
5czimgbL2C7fe58B6l2M0ZPsMs93L1Y8wF7HyOzl4u0JqFapkO8Fg+IqL8FhPe3R
1zsNcfKxxQiLHqm5mSVS/kQa7/B0UmKsXwIGQeNbUNNa3SAFq43+mKRh3PdWWJoc
Y3S2oNNlAgMBAAECggEAIvQhaxQKh22DQK+WtBnU4ESShJTGSS1iubpCPELFHevI
oz1a4g5QJzfM2erYevUOAHPBrekR3XAfTQQ4kB8j6XtbfNdmpTd1A2B1R/RnIBiM
Th7pJnVY/trOVcLr2/JnhA5b1ok1pJHFpuKFJtZlxNzXywZrme7SwertFBE8O0nI
b84lYcr84tS/YRgEfKc70/kPg/Y3wNFpBgLzhLS8GTgIw3s/G04sG8aAFLyi4Vm5
R6NQtEUEJEAOGlk4UgrSLKKfVGPJVtJPXDHKnfz5mbVroZuI7OxrIrCwr7/odIPc
hxKh0yDYKexBNtBFCvr7hOuGOAjWXT0kbluCpjF7aQKBgQDoIV6XZHc7mdUbuUVn
yXt2ifYUiuYwxGnwZfSDdlCNJW7ErRPErZc/doWTrDMQjfARUkOEw/jJOZhEsrvv
vh1P/dTinhKZHQflcz2Kryn7v+i+PsLPUNMnnwUcu0pDMkmR+DxATiqlPdgUbV9q
E18ekWhqL9SIK2UB5yH2osPb7QKBgQC7uoqppyTE6s4MswOtLKIKraKaJBQ3RIVn
euCPYfFuFbbJi6+mRXs0sApTe0Q0CYhErRHJiz/STkLNxP/0ZSK4jiOBqnG2COm0
EXB5V9XS349ObjeJiG0dDlKQsSVBuxKzpZ9ulmb5C9pcW5B612T/vQcnUYxu9QLZ
Eojrc88WWQKBgDgRx11eIQa+c6FMsR0Op8nMLSptGojxCH3Owq72ZyKQxh6vh7Tc
EUp9AGrZD0SSZEhqzHBHPdKtHMCLQ6X3D/GAaGmMsQVW489idJ0JDmUGx9scIcYd
ycMqP/veqWNtxCOECFmoB9j+BTF58bAXmcQybzwm7XkusikxgRyn2BNJAoGAJGVc
MNwo8sybOjcSxWZb3DohxkSsbrKoMpHOK75PcopfL+AXI+NgqaxftCO362bVtorf
YfXPX9Swevhwr09UVfeoxqDm/uXneXPQHJZ87C9Pt2MC/XUnwnReaZMOqBm+3HmF
2YjrWemEYleWQVq1SCe71VGoKnLyJGfFh/Ch+7ECgYBBSmdXbSJnCN6ZPoUV1cAI
3MB/3F5yAVJotGX5jy1GKrtVGAdlUFy+TtsCXfWa/0MXISgtw0bPZXqPx8qcPy2e
+X8uhFwULvRCCrmCUgKd5wS8tmL/tFuZ2fwYi2ZHJ6Tbrmu14Px4zu3pcAy5cYBX
hyI0OZ3sizJHNWbrXGwhNQ==
-----END PRIVATE KEY-----
"""  # noqa: S105 - a published test key for loopback only


def ca_file() -> Path:
    """The certificate as a file (what `connection_verify=` takes), written once per process."""
    path = Path(tempfile.gettempdir()) / "localcloud-loopback-ca.pem"
    if not path.exists() or path.read_text() != CERT_PEM:
        path.write_text(CERT_PEM)
    return path


def server_context() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as tmp:
        pem = Path(tmp) / "server.pem"
        pem.write_text(CERT_PEM + KEY_PEM)
        ctx.load_cert_chain(str(pem))
    return ctx
