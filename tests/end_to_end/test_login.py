"""Logging in through OpenID Connect with values/cerit.yaml's own login.

The hub runs GenericOAuthenticator exactly as values/cerit.yaml configures
it (preferred_username is the hub user, eduperson_entitlement values are
the hub groups through manage_groups, only members of the users group may
log in), with only the provider's URLs and the callback moved to loopback
(offline/local_hub.py, login_values). The provider is
fakes/oidc_provider.py (authlib's server side): it serves discovery,
authorize (a login form with no password, standing for the institution's
login page), token, userinfo and signed ID tokens. BinderHub, the hub, the
loopback cluster and the notebooks are those of
tests/end_to_end/test_binderhub_launch.py. The client secret is random per
run and reaches the hub only through the stand-in of the admin's Secret that
values/cerit.yaml names.
"""

from __future__ import annotations

import base64
import json
import sqlite3

import pytest

from offline import chart
from offline.chart import NAMESPACE
from offline.hub_setup import SHA
from offline.local_binder import hub_and_binder
from offline.login import (
    CERIT,
    LOGIN_VALUES,
    cerit_hub_config,
    log_in_browser,
    log_in_http,
    members_group,
)

pytestmark = pytest.mark.slow

_HUB_CONFIG = cerit_hub_config()
USERS = members_group()
[LARGE] = _HUB_CONFIG["ResourcePolicy"]["group_caps"]
DEFAULT_MAX_MEM = _HUB_CONFIG["ResourcePolicy"]["max_mem"]
LARGE_MAX_MEM = _HUB_CONFIG["ResourcePolicy"]["group_caps"][LARGE]["max_mem"]
ASKED_MEM = (DEFAULT_MAX_MEM + LARGE_MAX_MEM) // 2  # above one cap, within the other

FILES = {f"/lab/model/{SHA}/.resources": f"memr=2\nmeml={ASKED_MEM}\n".encode()}
COMMITS = {("lab", "model", "main"): SHA}


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    from fakes.oidc_provider import OIDCProvider

    state = tmp_path_factory.mktemp("login")
    with OIDCProvider() as idp:
        idp.users.update(
            {
                "alice": {"eduperson_entitlement": [USERS, LARGE]},
                "bob": {"eduperson_entitlement": [USERS]},
                "mallory": {
                    "eduperson_entitlement": ["urn:geant:example.org:group:other"]
                },
            }
        )
        service = hub_and_binder(state, FILES, COMMITS, LOGIN_VALUES, idp=idp)
        with service as (hub, binder):
            hub.state = state
            yield hub, binder, idp


def groups_of(hub, user: str) -> set[str]:
    status, model = hub.api("GET", f"/users/{user}")
    assert status == 200, model
    return set(model["groups"])


def owned_by(hub, user: str, resource: str) -> list[str]:
    """Names of the cluster's objects of ``resource`` that are ``user``'s."""
    return [
        obj["metadata"]["name"]
        for obj in hub.kube.list(resource, NAMESPACE)
        if user in obj["metadata"]["name"]
        or (obj["metadata"].get("annotations") or {}).get("hub.jupyter.org/username")
        == user
    ]


def test_in_a_browser_a_login_lands_on_binderhub_with_the_entitlements_as_groups(
    service, browser
):
    """BinderHub's page sends the person to the hub, the hub to the
    provider; after the provider's form she is back on BinderHub's page."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as shown
    from selenium.webdriver.support.ui import WebDriverWait

    hub, binder, idp = service
    browser.get(f"{binder.url}/")
    log_in_browser(browser, "alice")
    WebDriverWait(browser, 30).until(
        shown.presence_of_element_located((By.ID, "btn-launch"))
    )
    assert browser.current_url.startswith(binder.url), browser.current_url
    assert groups_of(hub, "alice") == {USERS, LARGE}
    assert ("POST", "/token") in idp.requests and ("GET", "/userinfo") in idp.requests


def test_changed_entitlements_change_the_groups_at_the_next_login(service, browser):
    hub, _, idp = service
    idp.users["carol"] = {"eduperson_entitlement": [USERS, LARGE]}
    browser.get(f"{hub.url}/hub/login")
    log_in_browser(browser, "carol")
    assert groups_of(hub, "carol") == {USERS, LARGE}

    idp.users["carol"]["eduperson_entitlement"] = [USERS]
    browser.get(f"{hub.url}/hub/logout")
    browser.get(f"{hub.url}/hub/login")
    log_in_browser(browser, "carol")
    assert groups_of(hub, "carol") == {USERS}


def test_someone_outside_the_allowed_groups_sees_the_refusal_and_gets_nothing(
    service, browser
):
    from selenium.webdriver.common.by import By

    hub, _, _ = service
    browser.get(f"{hub.url}/hub/login")
    log_in_browser(browser, "mallory")
    page = browser.find_element(By.TAG_NAME, "body").text
    assert "403" in page, page
    assert _HUB_CONFIG["GenericOAuthenticator"]["custom_403_message"] in page, page
    assert hub.api("GET", "/users/mallory")[0] == 404
    assert owned_by(hub, "mallory", "secrets") == []
    assert owned_by(hub, "mallory", "persistentvolumeclaims") == []
    assert owned_by(hub, "mallory", "pods") == []


def test_a_group_with_a_higher_cap_launches_what_others_are_refused(service):
    """The cap comes from the groups the login gave: alice's entitlements
    include the group whose cap is above the default, bob's do not."""
    hub, binder, _ = service
    for user in ("alice", "bob"):
        log_in_http(hub.url, user)
    spec = "gh/lab/model/main"

    events = binder.build(spec, hub.new_token("alice"))
    assert events[-1]["phase"] == "ready", (events, hub.log.read_text()[-3000:])
    [pod] = [
        p
        for p in hub.kube.list("pods", NAMESPACE)
        if (p["metadata"].get("annotations") or {}).get("hub.jupyter.org/username")
        == "alice"
    ]
    limits = pod["spec"]["containers"][0]["resources"]["limits"]
    assert int(limits["memory"]) == ASKED_MEM * 1024**3, limits  # G: GiB

    events = binder.build(spec, hub.new_token("bob"))
    message = events[-1].get("message", "")
    assert events[-1]["phase"] == "failed", events
    assert "ResourcePolicy.max_mem" in message or f"{DEFAULT_MAX_MEM}" in message
    assert f"members of {LARGE} may ask for more" in message, message


def test_the_client_secret_is_in_no_log_page_database_or_manifest(service, browser):
    """Runs after the logins above: every place the hub and BinderHub wrote,
    and what a person sees."""
    hub, binder, _ = service
    secret = hub.client_secret
    encoded = base64.b64encode(secret.encode()).decode()
    log_in_http(hub.url, "bob")
    for log in (hub.log, binder.log):
        assert secret not in log.read_text()
    database = hub.state / "hub" / "jupyterhub.sqlite"
    assert database.exists()
    with sqlite3.connect(database) as db:
        for (table,) in db.execute("select name from sqlite_master where type='table'"):
            for row in db.execute(f'select * from "{table}"'):
                assert secret not in repr(row), table
    for page in ("/hub/login", "/hub/home", "/hub/token"):
        browser.get(f"{hub.url}{page}")
        assert secret not in browser.page_source
    # The manifests the hub ran from hold it only in the admin's Secret.
    holding = [
        o["metadata"]["name"]
        for o in hub.objects
        if secret in json.dumps(o) or encoded in json.dumps(o)
    ]
    assert holding == ["oidc-client"]
    # values/cerit.yaml's own release reads it from there, never from values.
    objects = chart.manifests(chart.render(chart.load_values(CERIT)))
    spec = chart.find(objects, "Deployment", "hub")["spec"]["template"]["spec"]
    [entry] = [
        e for e in spec["containers"][0]["env"] if e["name"] == "OAUTH_CLIENT_SECRET"
    ]
    assert entry["valueFrom"]["secretKeyRef"] == {
        "name": "oidc-client",
        "key": "client-secret",
    }
    hub_secret = chart.find(objects, "Secret", "hub")
    assert b"client_secret" not in base64.b64decode(hub_secret["data"]["values.yaml"])
