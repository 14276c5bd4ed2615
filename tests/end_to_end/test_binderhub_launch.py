"""BinderHub's build API to a running notebook, and the 5-server limit.

The real BinderHub app (offline/local_binder.py: the chart's
binderhub_config.py from the rendered binder pod, auth on, the named-server
limit from the pod's environment) in front of the real hub of
``local_hub(..., cluster=True)``, where KubeSpawner's own start() creates
pods that run as notebook processes. A user asks BinderHub for
``/build/gh/owner/repo/main`` with her hub API token, as BinderHub's page
does with her login: BinderHub resolves ``main`` through the GitHub API
stand-in, streams its FakeBuild's log, launches through the hub API as the
hub's ``binder`` service, and the hub's spawn hook reads ``.resources`` at
the resolved commit. What had to change for a machine without a cluster,
registry, Docker or network is listed in local_binder.py.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlparse

import pytest

from offline.chart import NAMESPACE
from offline.hub_setup import SHA, github
from offline.local_binder import hub_and_binder
from tests.axe import assert_accessible, violations
from tests.conftest import ROOT
from tests.phone import assert_fits_a_phone

pytestmark = pytest.mark.slow

FILES = {
    f"/owner/repo/{SHA}/.resources": b"cpur=0.5\ncpul=3\nmemr=1\nmeml=3\n",
    f"/owner/broken/{SHA}/.resources": b"cpur=2\ncpu=2\n",
    f"/owner/huge/{SHA}/.resources": b"cpul=100\n",
}
COMMITS = {("owner", name, "main"): SHA for name in ("repo", "broken", "huge")}
SPEC = "gh/owner/repo/main"
LIMIT = 5  # hub.namedServerLimitPerUser in values/minimal.yaml (the chart default)


def quota_message(hub) -> str:
    """BinderHub's refusal when its count sees a full quota: the hub's words
    (pyconfig/binder/launcher.py), not upstream's "One must be deleted"."""
    return (
        f"Launch refused: you already have {LIMIT} servers running or starting, "
        f"the most allowed ({LIMIT}). Stop one at {hub.url}/hub/home, then launch "
        "again. Stopped servers do not count, and your files in the persistent "
        "volume stay.\n"
    )


@pytest.fixture(scope="module")
def binderhub(tmp_path_factory):
    state = tmp_path_factory.mktemp("binderhub")
    with hub_and_binder(state, FILES, COMMITS) as (hub, binder):
        hub.api("POST", "/users/alice")
        hub.alice = hub.new_token("alice")
        yield hub, binder


def pods_of(hub, user: str) -> dict[str, dict[str, Any]]:
    """The user's pods in the cluster, by server name."""
    found = {}
    for pod in hub.kube.list("pods", NAMESPACE):
        annotations = pod["metadata"].get("annotations") or {}
        if annotations.get("hub.jupyter.org/username") == user:
            found[annotations["hub.jupyter.org/servername"]] = pod
    return found


def servers_of(hub, user: str, include_stopped: bool = False) -> dict[str, Any]:
    """The user's named servers in the hub API: active ones, or all it holds
    (the stopped default server "" every user has is left out)."""
    query = "?include_stopped_servers=1" if include_stopped else ""
    status, model = hub.api("GET", f"/users/{user}{query}")
    assert status == 200, model
    return {name: s for name, s in model["servers"].items() if name}


def remove_all(hub, user: str) -> None:
    """Delete every named server of ``user`` and wait until they are gone."""
    for name in servers_of(hub, user):
        hub.api("DELETE", f"/users/{user}/servers/{name}", {"remove": True})
    deadline = time.monotonic() + 60
    while servers_of(hub, user):
        assert time.monotonic() < deadline, servers_of(hub, user)
        time.sleep(0.3)


def ready(hub, binder, events: list[dict]) -> dict:
    assert events and events[-1]["phase"] == "ready", (
        events,
        binder.log.read_text()[-4000:],
        hub.log.read_text()[-4000:],
    )
    return events[-1]


def server_of(hub, event: dict) -> str:
    """The server name in a ready event's URL (hub_url/user/alice/NAME/)."""
    assert event["url"].startswith(f"{hub.url}/user/alice/"), event
    return event["url"].rstrip("/").rsplit("/", 1)[1]


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def test_a_build_request_launches_a_notebook_with_the_files_resources(binderhub):
    hub, binder = binderhub
    events = binder.build(SPEC, hub.alice)
    event = ready(hub, binder, events)

    # main resolved through the GitHub API stand-in, to the commit launched.
    assert any(
        path == "/repos/owner/repo/commits/main"
        for _, path, _ in binder.github.requests
    )
    assert event["binder_request"] == "v2/gh/owner/repo/main"
    assert event["binder_persistent_request"] == f"v2/gh/owner/repo/{SHA}"
    assert event["binder_ref_url"] == f"https://github.com/owner/repo/tree/{SHA}"
    # FakeBuild's log streamed, then the launch's phases.
    messages = [e["message"] for e in events]
    assert messages[0] == "Waiting for build to start...\n"
    built = next(i for i, e in enumerate(events) if e["phase"] == "built")
    assert [m for m in dict.fromkeys(messages[1:built])] == [
        "Pending...\n",
        "Running...\n",
        "Succeed...\n",
        "Building...\n",
    ]
    assert {e["phase"] for e in events[built + 1 : -1]} == {"launching"}
    assert "Launching server...\n" in messages
    image = events[built]["imageName"]
    assert image == event["image"]
    assert image.endswith(f":{SHA}")

    # The notebook answers at the URL the ready event gives, with her token.
    server = server_of(hub, event)
    assert server.startswith("owner-repo-")
    path = urlparse(event["url"]).path
    status, body = hub.call("GET", f"{path}api/status", service=f"token:{hub.alice}")
    assert status == 200, body

    # Its pod has the limits of the .resources at that commit.
    pod = pods_of(hub, "alice")[server]
    assert pod["status"]["phase"] == "Running"
    [container] = pod["spec"]["containers"]
    assert container["image"] == image
    resources = container["resources"]
    assert float(resources["requests"]["cpu"]) == 0.5
    assert float(resources["limits"]["cpu"]) == 3
    assert int(resources["requests"]["memory"]) == 1 * 1024**3
    assert int(resources["limits"]["memory"]) == 3 * 1024**3
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert (
        "from .resources of github.com/owner/repo" in env["BINDERHUB_RESOURCES_SOURCE"]
    )


def test_a_sixth_build_fails_with_the_quota_message_until_one_stops(binderhub):
    hub, binder = binderhub
    # Five servers running for alice: what earlier tests left, and the rest
    # launched through the hub API as BinderHub's launcher does.
    missing = [f"filler-{i}" for i in range(LIMIT - len(servers_of(hub, "alice")))]
    with ThreadPoolExecutor(max(len(missing), 1)) as pool:
        results = list(
            pool.map(
                lambda name: hub.launch("alice", name, github("owner", "repo")), missing
            )
        )
    assert all(r.outcome == "ready" for r in results), (
        results,
        hub.log.read_text()[-4000:],
    )
    five = set(servers_of(hub, "alice"))
    assert len(five) == LIMIT
    assert set(pods_of(hub, "alice")) == five

    events = binder.build(SPEC, hub.alice)
    # BinderHub's quota check, before it launches or builds, counted her
    # servers (pyconfig/binder/build_handler.py) and refused, once.
    assert events[-1] == {"phase": "failed", "message": quota_message(hub)}, events
    assert [e for e in events if e.get("phase") == "failed"] == [events[-1]]
    assert not [e for e in events if e.get("phase") == "launching"], events
    # A repository never built before is refused before its build starts.
    events = binder.build("gh/owner/broken/main", hub.alice)
    assert events[-1] == {"phase": "failed", "message": quota_message(hub)}, events
    assert {e.get("phase") for e in events[:-1]} <= {"waiting"}, events
    # No sixth server or pod, in the hub or the cluster.
    assert set(servers_of(hub, "alice", include_stopped=True)) == five
    assert set(pods_of(hub, "alice")) == five

    # Stop one through the hub API: the next build launches.
    stopped = sorted(five)[0]
    status, body = hub.api("DELETE", f"/users/alice/servers/{stopped}")
    assert status in (202, 204), body
    wait_until(
        lambda: (
            stopped not in servers_of(hub, "alice")
            and stopped not in pods_of(hub, "alice")
        ),
        60,
        f"{stopped} did not stop",
    )
    event = ready(hub, binder, binder.build(SPEC, hub.alice))
    new = server_of(hub, event)
    assert new not in five
    assert set(servers_of(hub, "alice")) == five - {stopped} | {new}
    assert set(pods_of(hub, "alice")) == five - {stopped} | {new}
    path = urlparse(event["url"]).path
    status, body = hub.call("GET", f"{path}api/status", service=f"token:{hub.alice}")
    assert status == 200, body


def test_a_refused_resources_file_shows_its_message_under_the_loading_bar(binderhub):
    """The hub's spawn hook refuses a broken `.resources`; BinderHub streams
    that message, once, as the launch's failure, and no server remains."""
    hub, binder = binderhub
    remove_all(hub, "alice")  # room under the quota
    before = set(servers_of(hub, "alice", include_stopped=True))
    events = binder.build("gh/owner/broken/main", hub.alice)
    failed = events[-1]
    assert failed["phase"] == "failed", events
    assert ".resources:2: `cpu=2`: unknown key 'cpu'" in failed["message"], failed
    assert not any("retrying" in e.get("message", "") for e in events), events
    deadline = time.monotonic() + 30  # the failed server goes after a second
    while set(servers_of(hub, "alice", include_stopped=True)) != before:
        assert time.monotonic() < deadline, servers_of(hub, "alice", True)
        time.sleep(0.3)

    # A request over a cap: the same, with the cap named.
    events = binder.build("gh/owner/huge/main", hub.alice)
    assert events[-1]["phase"] == "failed", events
    assert "cpul=100" in events[-1]["message"], events[-1]
    assert "ResourcePolicy.max_cpu" in events[-1]["message"], events[-1]


def test_ten_builds_at_once_with_five_slots_start_five_and_leave_nothing_else(
    binderhub,
):
    """One user fires ten launches at once: BinderHub's own count, the hub's
    named-server limit and our quota all race; exactly five notebooks
    start, the other five end with the quota message, and no server, pod,
    claim or Secret is left for them."""
    hub, binder = binderhub
    earlier = set(servers_of(hub, "alice", include_stopped=True))
    remove_all(hub, "alice")
    earlier |= set(servers_of(hub, "alice", include_stopped=True))
    with ThreadPoolExecutor(2 * LIMIT) as pool:
        outcomes = list(
            pool.map(
                lambda _: binder.build(SPEC, hub.alice, timeout=300), range(2 * LIMIT)
            )
        )
    started = [server_of(hub, e[-1]) for e in outcomes if e[-1]["phase"] == "ready"]
    refused = [e[-1] for e in outcomes if e[-1]["phase"] != "ready"]
    assert len(started) == LIMIT, (outcomes, hub.log.read_text()[-3000:])
    assert len(refused) == LIMIT
    # The quota message: BinderHub's when its count saw five servers, the
    # hub's when BinderHub's count raced (ServerQuota.refusal_delay); both
    # say to stop one, with the hub's home page.
    for event in refused:
        assert event["phase"] == "failed", event
        assert f"the most allowed ({LIMIT})" in event["message"], event
        assert f"Stop one at {hub.url}/hub/home" in event["message"], event
        assert "must be deleted" not in event["message"], event
    wait_until(
        lambda: (
            set(servers_of(hub, "alice", include_stopped=True)) - earlier
            == set(started)
        ),
        30,
        f"servers other than {started}: {servers_of(hub, 'alice', True)}",
    )
    assert set(pods_of(hub, "alice")) == set(started)
    claims = [
        c["metadata"]["name"]
        for c in hub.kube.list("persistentvolumeclaims", NAMESPACE)
    ]
    assert [c for c in claims if "alice" in c] == ["alice-nfs-pvc"], claims
    secrets = [s["metadata"]["name"] for s in hub.kube.list("secrets", NAMESPACE)]
    assert len([s for s in secrets if "alice" in s]) == 1, secrets
    # Five refusals in a row did not stop the hub (JupyterHub exits 2 s after
    # its consecutive_failure_limit; the chart turns it off).
    time.sleep(3)
    assert hub.process.poll() is None, hub.log.read_text()[-2000:]
    assert hub.api("GET", "/")[0] == 200


SCREENSHOTS = ROOT / "build" / "screenshots"


def log_in_to_binderhub(browser, user: str) -> None:
    """On the hub's login page BinderHub sent the browser to: log in, and
    wait for BinderHub's form."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as shown
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 30).until(
        shown.presence_of_element_located((By.ID, "username_input"))
    )
    browser.find_element(By.ID, "username_input").send_keys(user)
    browser.find_element(By.ID, "password_input").send_keys("x")
    browser.find_element(By.ID, "login_submit").click()
    WebDriverWait(browser, 30).until(
        shown.presence_of_element_located((By.ID, "btn-launch"))
    )


def test_in_a_browser_a_launch_lands_in_the_notebook_and_the_quota_shows_once(
    binderhub, browser
):
    """As a person does it: log in through the hub from BinderHub's page, type
    the repository and the ref, launch, land in the notebook; with 5 servers
    running, the loading page shows BinderHub's quota message once."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as shown
    from selenium.webdriver.support.ui import WebDriverWait

    hub, binder = binderhub
    remove_all(hub, "alice")
    browser.get(f"{binder.url}/")
    log_in_to_binderhub(browser, "alice")
    browser.find_element(By.NAME, "repository").send_keys("owner/repo")
    browser.find_element(By.ID, "ref").send_keys("main")
    browser.find_element(By.ID, "btn-launch").click()
    WebDriverWait(browser, 90).until(
        shown.url_contains(f"{hub.url}/user/alice/owner-repo-")
    )
    [launched] = servers_of(hub, "alice")
    assert browser.current_url == f"{hub.url}/user/alice/{launched}/"

    for n in range(LIMIT - 1):
        assert hub.launch("alice", f"more-{n}", github("owner", "repo")).outcome == (
            "ready"
        )
    browser.get(f"{binder.url}/v2/gh/owner/repo/main")
    WebDriverWait(browser, 60).until(
        shown.text_to_be_present_in_element((By.TAG_NAME, "body"), "most allowed")
    )
    page = browser.find_element(By.TAG_NAME, "body").text
    # The log box is a terminal 80 columns wide: it breaks lines anywhere.
    flat = page.replace("\n", "")
    assert flat.count("the most allowed (5)") == 1, page
    assert f"Stop one at {hub.url}/hub/home" in flat, page
    # The way back to the hub, on BinderHub's page (pyconfig/binder/configure.py).
    links = browser.find_elements(By.CSS_SELECTOR, "nav.pbh-hub-links a")
    assert [(a.text, a.get_attribute("href")) for a in links] == [
        ("Your notebooks", f"{hub.url}/hub/home"),
        ("Log out", f"{hub.url}/hub/logout"),
    ]
    assert "retrying" not in page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / "binderhub-quota-1280.png"))
    browser.set_window_size(390, 844)
    browser.save_screenshot(str(SCREENSHOTS / "binderhub-quota-390.png"))

    # The hub's home page, with the servers these real launches made.
    browser.set_window_size(1280, 900)
    browser.get(f"{hub.url}/hub/home")
    WebDriverWait(browser, 30).until(
        shown.presence_of_element_located((By.ID, "quota"))
    )
    assert "5 of 5 servers running" in browser.find_element(By.ID, "quota").text
    browser.save_screenshot(str(SCREENSHOTS / "home-cluster-1280.png"))
    browser.set_window_size(390, 844)
    assert_fits_a_phone(browser, list(servers_of(hub, "alice")), {"Open", "Stop"})
    browser.save_screenshot(str(SCREENSHOTS / "home-cluster-390.png"))

    # Stop one there; the next launch from BinderHub lands in its notebook.
    browser.set_window_size(1280, 900)
    browser.get(f"{hub.url}/hub/home")
    stop = WebDriverWait(browser, 30).until(
        shown.element_to_be_clickable((By.ID, f"stop-{launched}"))
    )
    # Click once the button is inside the window (the page may still scroll).
    browser.execute_script(
        "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", stop
    )
    WebDriverWait(browser, 10).until(
        lambda _: browser.execute_script(
            "const box = arguments[0].getBoundingClientRect();"
            "return box.top >= 0 && box.bottom <= window.innerHeight;",
            stop,
        )
    )
    stop.click()
    WebDriverWait(browser, 30).until(
        shown.visibility_of_element_located((By.ID, f"delete-{launched}"))
    )
    deadline = time.monotonic() + 60
    while launched in servers_of(hub, "alice"):
        assert time.monotonic() < deadline, servers_of(hub, "alice")
        time.sleep(0.3)
    browser.get(f"{binder.url}/v2/gh/owner/repo/main")
    WebDriverWait(browser, 90).until(
        shown.url_contains(f"{hub.url}/user/alice/owner-repo-")
    )
    assert len(servers_of(hub, "alice")) == LIMIT


def test_every_page_a_user_meets_passes_wcag_aa_and_a_refusal_is_told_once(
    binderhub, browser
):
    """axe-core's WCAG 2.1 AA rules find no serious or critical violation on
    the hub's login page, BinderHub's form, BinderHub's loading page after a
    refused launch, or the hub's home page (pyconfig/binder/page.css and
    page.js, pyconfig/hub/login.html). The refusal is told once, as text
    whose links work, with the log folded and no promise that the notebook
    will open; on a phone the page does not scroll sideways. First, axe's
    own check: on a page made to fail, it finds what it must."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as shown
    from selenium.webdriver.support.ui import WebDriverWait

    hub, binder = binderhub
    remove_all(hub, "alice")
    browser.get("data:text/html,<html><body><img src='x.png'><button></button>")
    assert {v["id"] for v in violations(browser)} >= {
        "html-has-lang",
        "image-alt",
        "button-name",
    }

    browser.get(f"{binder.url}/")
    WebDriverWait(browser, 30).until(
        shown.presence_of_element_located((By.ID, "username_input"))
    )
    assert_accessible(browser, "the hub's login page")
    log_in_to_binderhub(browser, "alice")
    browser.find_element(By.NAME, "repository").send_keys("owner/huge")
    user = browser.find_element(By.CSS_SELECTOR, "nav.pbh-hub-links .pbh-user")
    assert user.text == "Logged in as alice"
    assert_accessible(browser, "BinderHub's form")

    browser.get(f"{binder.url}/v2/gh/owner/huge/main")
    failure = WebDriverWait(browser, 90).until(
        shown.visibility_of_element_located((By.ID, "pbh-failure"))
    )
    WebDriverWait(browser, 10).until(
        lambda _: (
            "d-none"
            in browser.find_element(By.ID, "terminal-container").get_attribute("class")
        )
    )
    page = browser.find_element(By.TAG_NAME, "body").text
    assert page.count("cpul=100") == 1, page
    assert "ResourcePolicy.max_cpu" in failure.text, failure.text
    assert failure.get_attribute("role") == "alert"
    assert "will open automatically" not in page, page
    assert "Error in event stream" not in page, page
    assert_accessible(browser, "BinderHub's loading page after a refusal")
    browser.set_window_size(390, 844)
    wide, window = browser.execute_script(
        "return [document.documentElement.scrollWidth,"
        " document.documentElement.clientWidth];"
    )
    assert wide <= window, f"the loading page scrolls sideways: {wide} > {window}"
    box = failure.rect
    assert box["x"] >= 0 and box["x"] + box["width"] <= window, (box, window)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.execute_script("arguments[0].scrollIntoView()", failure)
    browser.save_screenshot(str(SCREENSHOTS / "binderhub-refusal-390.png"))
    browser.set_window_size(1280, 900)

    browser.get(f"{hub.url}/hub/home")
    WebDriverWait(browser, 30).until(
        shown.presence_of_element_located((By.ID, "quota"))
    )
    assert_accessible(browser, "the hub's home page")
