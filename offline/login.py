"""Logging in through the hub's GenericOAuthenticator and the loopback
OpenID Connect provider (fakes/oidc_provider.py), as a person does it in a
browser, or as a script does it with a cookie jar."""

from __future__ import annotations

import http.cookiejar
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from offline import chart

ROOT = Path(__file__).resolve().parents[1]
#: The values file whose login the tests, the storm and the demo run.
CERIT = ROOT / "values" / "cerit.yaml"
#: That file, with the tests' service layered over it.
LOGIN_VALUES = (CERIT, ROOT / "offline" / "values" / "loopback-login.yaml")


def cerit_hub_config() -> dict[str, Any]:
    """values/cerit.yaml's hub.config."""
    return chart.load_values(CERIT)["binderhub"]["jupyterhub"]["hub"]["config"]


def members_group() -> str:
    """The entitlement values/cerit.yaml lets log in."""
    [group] = cerit_hub_config()["GenericOAuthenticator"]["allowed_groups"]
    return group


def log_in_browser(browser: Any, username: str, timeout: float = 30) -> None:
    """From the hub's login page (where the browser is): "Sign in with ...",
    then the provider's form. Returns when the browser has left the
    provider, wherever the hub sent it (a refusal included)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as shown
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, timeout)
    wait.until(shown.element_to_be_clickable((By.CSS_SELECTOR, "a.btn-jupyter")))
    browser.find_element(By.CSS_SELECTOR, "a.btn-jupyter").click()
    wait.until(shown.presence_of_element_located((By.ID, "username")))
    provider = browser.current_url.split("/authorize", 1)[0]
    browser.find_element(By.ID, "username").send_keys(username)
    browser.find_element(By.ID, "login").click()
    wait.until(lambda _: not browser.current_url.startswith(provider))


def log_in_http(hub_url: str, username: str) -> urllib.request.OpenerDirector:
    """The same login with urllib: the hub's oauth_login, the provider's form
    posted, the callback; an opener holding the hub's login cookie."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{hub_url}/hub/oauth_login", timeout=30) as form:
        authorize = form.url  # the provider's authorize URL, query and all
        form.read()
    body = urllib.parse.urlencode({"username": username}).encode()
    with opener.open(authorize, data=body, timeout=60) as landed:
        landed.read()
        if not landed.url.startswith(hub_url):
            raise RuntimeError(f"login of {username} ended at {landed.url}")
    return opener


@contextmanager
def members_service(
    state: Path,
    files: dict[str, bytes],
    commits: dict[tuple[str, str, str], str],
    values_files: tuple[Path, ...] = LOGIN_VALUES,
    namespace_labels: dict[str, dict[str, str]] | None = None,
) -> Iterator[tuple[Any, Any]]:
    """The hub and BinderHub of ``values_files`` (values/cerit.yaml's login),
    logging in through the loopback OpenID Connect provider, where every
    newcomer is a member of the service's users group; ``namespace_labels``
    as local_hub's."""
    from fakes.oidc_provider import OIDCProvider
    from offline.local_binder import hub_and_binder

    with OIDCProvider() as idp:
        idp.newcomers = {"eduperson_entitlement": [members_group()]}
        with hub_and_binder(
            state,
            files,
            commits,
            values_files,
            idp=idp,
            namespace_labels=namespace_labels,
        ) as running:
            yield running
