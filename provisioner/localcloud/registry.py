"""Azure Container Registry's data plane, as much as a deploy asks of it: which tags a registry holds, behind ACR's
token exchange (learn.microsoft.com/azure/container-registry/container-registry-authentication, and the flow
azure-containerregistry's ContainerRegistryChallengePolicy follows: 401 with a Bearer challenge, POST
/oauth2/exchange of an Entra access token for a refresh token, POST /oauth2/token for a repository-scoped access
token, then the registry API, GET/HEAD /v2/{repository}/manifests/{reference}).

Served on the https listener under /acr/{loginServer}/ (the SDK refuses plain http). Images arrive through ARM's
Registries_ImportImage (POST .../registries/{name}/importImage), what a pipeline without Docker uses. A token must
grant `Microsoft.ContainerRegistry/registries/pull/read` on the registry (AcrPull; Reader and Contributor match it
too), as ARM RBAC decides (rbac.py); the registry's content is kept in memory (it does not survive a restart).
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from . import rbac
from .errors import ArmError
from .jwtclaims import claims, encode

PREFIX = re.compile(r"^/acr/([^/]+)(/.*)?$", re.IGNORECASE)
# The registry API (/v2/{repo}/manifests/{ref}) and ACR's own (/acr/v1/{repo}/_tags/{tag}, /_manifests/{digest}),
# which azure-containerregistry's get_tag_properties / get_manifest_properties call.
_API = re.compile(r"^(?:/v2/(?P<repo1>.+)/(?P<kind1>manifests)/(?P<ref1>[^/]+)|"
                  r"/acr/v1/(?P<repo2>.+)/(?P<kind2>_tags|_manifests)/(?P<ref2>[^/]+))$")
PULL = "Microsoft.ContainerRegistry/registries/pull/read"
REGISTRIES = "Microsoft.ContainerRegistry/registries"


class Registries:
    """Tags per registry login server ('fundrbolt.azurecr.io' -> {'api:1.4.2', ...})."""

    def __init__(self) -> None:
        self._tags: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def add(self, login_server: str, repository_tag: str) -> None:
        with self._lock:
            self._tags.setdefault(login_server.lower(), set()).add(repository_tag.lower())

    def has(self, login_server: str, repository: str, reference: str) -> bool:
        with self._lock:
            return f"{repository}:{reference}".lower() in self._tags.get(login_server.lower(), set())

    def handle(self, engine: Any, method: str, path: str, raw: bytes, authorization: str | None,
               base_url: str) -> tuple[int, Any, dict[str, str]]:
        """(status, JSON body, headers) for one data-plane request under /acr/{loginServer}/."""
        found = PREFIX.match(path)
        login, rest = (found.group(1).lower(), found.group(2) or "/") if found else ("", "/")
        with engine.lock:
            registry = next((r for r in engine.find(REGISTRIES)
                             if str((r.get("properties") or {}).get("loginServer") or "").lower() == login), None)
        if registry is None:
            return 404, {"errors": [{"code": "NAME_UNKNOWN", "message": f"registry {login} not found"}]}, {}
        form = dict(parse_qsl(raw.decode("utf-8", "replace")))
        if rest == "/oauth2/exchange" and method == "POST":
            return self._exchange(engine, registry, login, form)
        if rest == "/oauth2/token" and method == "POST":
            grant = claims(form.get("refresh_token"))
            if grant.get("acr") != login or float(grant.get("exp") or 0) < time.time():
                return 401, {"errors": [{"code": "UNAUTHORIZED", "message": "invalid refresh token"}]}, {}
            token = encode({"acr": login, "sub": grant.get("sub"), "scope": form.get("scope"), "kind": "access",
                            "exp": int(time.time()) + 3600})
            return 200, {"access_token": token}, {}
        found_path = _API.match(rest)
        if found_path and method in ("GET", "HEAD"):
            kind = found_path.group("kind1") or found_path.group("kind2")
            repository = found_path.group("repo1") or found_path.group("repo2")
            reference = found_path.group("ref1") or found_path.group("ref2")
            bearer = claims((authorization or "").removeprefix("Bearer ").strip())
            if bearer.get("acr") != login or bearer.get("kind") != "access":
                action = "pull" if kind == "manifests" else "metadata_read"
                challenge = (f'Bearer realm="{base_url}/acr/{login}/oauth2/token",service="{login}",'
                             f'scope="repository:{repository}:{action}"')
                return 401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}, {
                    "WWW-Authenticate": challenge}
            return self._artifact(login, kind, repository, reference)
        return 404, {"errors": [{"code": "UNSUPPORTED", "message": f"the local cloud does not serve {method} {rest}"}]}, {}

    def _artifact(self, login: str, kind: str, repository: str, reference: str) -> tuple[int, Any, dict[str, str]]:
        """A tag's or a manifest's attributes (ACR REST: Get Tag Attributes, Get Manifest Attributes), or 404."""
        with self._lock:
            tags = sorted(t.split(":", 1)[1] for t in self._tags.get(login, set()) if t.split(":", 1)[0] == repository.lower())
        by_digest = {_digest(login, repository, t): t for t in tags}
        tag = reference.lower() if reference.lower() in tags else by_digest.get(reference.lower())
        if tag is None or (kind == "_tags" and reference.startswith("sha256:")):
            code = "TAG_UNKNOWN" if kind == "_tags" else "MANIFEST_UNKNOWN"
            return 404, {"errors": [{"code": code, "message": f"the requested {'tag' if kind == '_tags' else 'manifest'}"
                                     f" '{reference}' is not found", "detail": {"Name": repository}}]}, {}
        digest, now = _digest(login, repository, tag), "2026-12-01T00:00:00.0000000Z"
        changeable = {"deleteEnabled": True, "writeEnabled": True, "readEnabled": True, "listEnabled": True}
        if kind == "_tags":
            return 200, {"registry": login, "imageName": repository, "tag": {
                "name": tag, "digest": digest, "createdTime": now, "lastUpdateTime": now, "signed": False,
                "changeableAttributes": changeable}}, {}
        manifest = {"digest": digest, "imageSize": 0, "createdTime": now, "lastUpdateTime": now,
                    "architecture": "amd64", "os": "linux",
                    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "configMediaType": "application/vnd.docker.container.image.v1+json", "tags": [tag],
                    "changeableAttributes": changeable}
        if kind == "_manifests":
            return 200, {"registry": login, "imageName": repository, "manifest": manifest}, {}
        return 200, {"schemaVersion": 2, "mediaType": manifest["mediaType"], "layers": [],
                     "config": {"mediaType": manifest["configMediaType"], "size": 0, "digest": digest}}, {
            "Docker-Content-Digest": digest, "Content-Type": str(manifest["mediaType"])}

    def _exchange(self, engine: Any, registry: dict[str, Any], login: str, form: dict[str, str]
                  ) -> tuple[int, Any, dict[str, str]]:
        token = form.get("access_token")
        found = claims(token)
        exp = found.get("exp")
        if form.get("grant_type") != "access_token" or (isinstance(exp, int | float) and exp < time.time()):
            return 401, {"errors": [{"code": "UNAUTHORIZED", "message": "invalid or expired Entra token"}]}, {}
        principal = rbac.principal_of(token)
        with engine.lock:
            may = principal.object_id is None or rbac.allowed(engine, principal.object_id, PULL, registry["id"],
                                                              datetime.now(UTC))
        if not may:
            return 401, {"errors": [{"code": "UNAUTHORIZED", "message": f"{principal.name} may not pull from {login} "
                                     f"({PULL})"}]}, {}
        refresh = encode({"acr": login, "sub": principal.object_id or principal.name, "kind": "refresh",
                          "exp": int(time.time()) + 3 * 3600})
        return 200, {"refresh_token": refresh}, {}


def _digest(login: str, repository: str, tag: str) -> str:
    return "sha256:" + hashlib.sha256(f"{login}/{repository}:{tag}".lower().encode()).hexdigest()


def import_image(registries: Registries, registry: dict[str, Any], request: Any) -> None:
    """Registries_ImportImage: `targetTags` (REPO:TAG) land in the registry; the source is taken as given."""
    body = request if isinstance(request, dict) else {}
    tags = body.get("targetTags") or []
    source = (body.get("source") or {}).get("sourceImage")
    if not source or not isinstance(tags, list) or not tags:
        raise ArmError(400, "InvalidParameter", "source.sourceImage and targetTags are required.")
    login = str((registry.get("properties") or {}).get("loginServer") or "")
    for tag in tags:
        registries.add(login, str(tag))
