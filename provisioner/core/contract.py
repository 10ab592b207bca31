"""Names the deployed API and the tool agree on (docs/operations.md "The app's health contract"), and the
tags that record what a deploy replaced. Shared by the steps (never drift) and by deploy/rollback."""

from __future__ import annotations

# The app setting `deploy backend` sets on the slot (or the site, without a slot) together with the image; the
# API's health endpoint echoes it as "deploy_marker" in its JSON, so a deploy can tell the new container
# from the old one still answering while the new one starts.
DEPLOY_MARKER = "DEPLOY_MARKER"
HEALTH_MARKER_KEY = "deploy_marker"

# App Service's swap warm-up (MicrosoftDocs/azure-docs articles/app-service/deploy-staging-slots.md, "Specify
# custom warm-up"): the swap requests this path on every instance of the source slot and stops unless the
# answer is one of the statuses. Declared on the app and the slot where the plan has slots.
WARMUP_PATH = "WEBSITE_SWAP_WARMUP_PING_PATH"
WARMUP_STATUSES = "WEBSITE_SWAP_WARMUP_PING_STATUSES"

# Tags on the site recording the rollback target (set through the Tags API with operation Merge, so nothing
# else on the site changes). The env files never declare them; provision keeps them.
TAG_PREFIX = "deploy-"
TAG_CURRENT = "deploy-current"  # the image production runs since the last deploy or rollback
TAG_PREVIOUS = "deploy-previous"  # the image `rollback` restores; absent once a rollback has used it
TAG_AT = "deploy-at"  # when the current image went in (UTC, ISO 8601)

OWNED_BY_DEPLOYMENTS = "owned by deployments (provisioner deploy backend / rollback set it)"
