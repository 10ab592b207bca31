"""Resource providers checked and registered before any write: the namespaces an environment needs, and the calls
made on azure-mgmt-resource's ProvidersOperations (autospec'd) for each registration state Azure reports."""

from __future__ import annotations

import json

import pytest
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline.transport._requests_basic import RequestsTransportResponse
from azure.core.rest import HttpRequest
from azure.mgmt.resource.resources.models import Provider
from requests import Response

from provisioner.azure.providers import ensure_registered, namespaces
from provisioner.core.errors import TargetError
from tests.support import SUB, session


def _provider(namespace: str, state: str) -> Provider:
    return Provider({"id": f"/subscriptions/{SUB}/providers/{namespace}", "namespace": namespace,
                     "registrationState": state})


def _forbidden(namespace: str) -> HttpResponseError:
    """ARM's 403 for an identity without <namespace>/register/action (the AuthorizationFailed body)."""
    answer = Response()
    answer.status_code = 403
    answer._content = json.dumps({"error": {"code": "AuthorizationFailed", "message": (
        f"The client 'ci-plan' with object id '0' does not have authorization to perform action "
        f"'{namespace}/register/action' over scope '/subscriptions/{SUB}' or the scope is invalid.")}}).encode()
    answer.headers["Content-Type"] = "application/json"
    return HttpResponseError(response=RequestsTransportResponse(
        HttpRequest("POST", f"https://management.azure.com/subscriptions/{SUB}/providers/{namespace}/register"), answer))


def test_the_namespaces_of_production_are_the_services_it_uses():
    needed = namespaces([s.type for s in session("production").steps])
    assert set(needed) == {"Microsoft.OperationalInsights", "Microsoft.Storage", "Microsoft.Insights", "Microsoft.Web",
                           "Microsoft.KeyVault", "Microsoft.Network", "Microsoft.DBforPostgreSQL", "Microsoft.Cache",
                           "Microsoft.Communication", "Microsoft.ManagedIdentity"}
    # Registered in every subscription: never asked about.
    assert not {"Microsoft.Resources", "Microsoft.Authorization", "Microsoft.Consumption"} & set(needed)


def test_registered_namespaces_are_only_read(c):
    c.resource.providers.get.side_effect = lambda ns, **kw: _provider(ns, "Registered")
    assert ensure_registered(c, ["Microsoft.Web", "Microsoft.Cache"], 0.0, 1.0, print) == []
    c.resource.providers.register.assert_not_called()


def test_an_unregistered_namespace_is_registered_and_waited_for(c):
    states = {"Microsoft.Web": iter(["NotRegistered", "Registering", "Registering", "Registered"]),
              "Microsoft.Cache": iter(["Registered"])}
    c.resource.providers.get.side_effect = lambda ns, **kw: _provider(ns, next(states[ns]))
    told: list[str] = []
    assert ensure_registered(c, ["Microsoft.Web", "Microsoft.Cache"], 0.0, 5.0, told.append) == ["Microsoft.Web"]
    assert [call.args for call in c.resource.providers.register.call_args_list] == [("Microsoft.Web",)]
    assert told and "Microsoft.Web" in told[0]


def test_an_identity_that_may_not_register_stops_the_run_naming_what_to_run(c):
    c.resource.providers.get.side_effect = lambda ns, **kw: _provider(ns, "NotRegistered")
    c.resource.providers.register.side_effect = lambda ns, **kw: (_ for _ in ()).throw(_forbidden(ns))
    with pytest.raises(TargetError) as info:
        ensure_registered(c, ["Microsoft.Web", "Microsoft.DBforPostgreSQL"], 0.0, 1.0, print)
    message = str(info.value)
    assert "Microsoft.Web, Microsoft.DBforPostgreSQL" in message and "register/action" in message
    assert "az provider register" in message and "Nothing was written" in message


def test_a_registration_that_never_completes_is_bounded(c):
    c.resource.providers.get.side_effect = lambda ns, **kw: _provider(ns, "Registering")
    with pytest.raises(TargetError) as info:
        ensure_registered(c, ["Microsoft.Web"], 0.01, 0.05, print)
    assert "still not Registered" in str(info.value)
