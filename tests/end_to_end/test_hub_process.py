"""A real JupyterHub process with configurable-http-proxy, launched like BinderHub does.

The hub runs the rendered release's configuration (values/minimal.yaml with
offline/values/loopback-hub.yaml over it; offline/local_hub.py): z2jh's
jupyterhub_config.py, binderhub's snippets and ours. The spawner is the
configured BinderSpawner with only KubeSpawner's cluster calls replaced; raw
files and Secrets come from the loopback stand-ins. Launches go through the
hub's REST API with the body BinderHub's launcher sends.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta

import pytest

from offline.hub_setup import SHA, github
from offline.local_hub import local_hub
from tests.conftest import ROOT
from tests.phone import assert_fits_a_phone

pytestmark = pytest.mark.slow


FILES = {
    f"/owner/good/{SHA}/.resources": b"cpur=2\ncpul=4\nmeml=8\n",
    f"/owner/broken/{SHA}/.resources": b"cpur=2\ncpu=2\nmeml=8GB\n",
    f"/owner/huge/{SHA}/.resources": b"cpul=100\n",
    f"/owner/gpu/{SHA}/.resources": b"gpu=1\n",
}


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with local_hub(tmp_path_factory.mktemp("hub"), FILES) as running:
        running.api("POST", "/users/alice")
        yield running


def test_broken_resources_is_refused_with_line_numbers_through_the_api(hub):
    launch = hub.launch("alice", "broken-x1", github("owner", "broken"))
    assert launch.outcome == "failed", launch
    message = launch.message
    assert "github.com/owner/broken at 0123456789ab" in message
    assert ".resources:2: `cpu=2`: unknown key 'cpu'; did you mean cpur or cpul?" in (
        message
    )
    assert ".resources:3: `meml=8GB`: meml is always in GB" in message
    assert not (hub.pods / "alice-broken-x1.json").exists()


def test_good_resources_reach_the_spawner(hub):
    launch = hub.launch("alice", "good-x1", github("owner", "good"))
    assert launch.outcome == "ready", launch
    pod, _ = hub.recorded("alice", "good-x1")
    container = pod["spec"]["containers"][0]
    assert container["resources"]["requests"]["cpu"] == 2.0
    assert container["resources"]["limits"]["cpu"] == 4.0
    assert container["resources"]["limits"]["memory"] == 8 * 1024**3
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["BINDERHUB_RESOURCES_SOURCE"].startswith("from .resources of github.com")
    assert "BEGIN OPENSSH PRIVATE KEY" not in hub.log.read_text()


def test_hub_answers_with_the_header_helm_test_checks(hub):
    """What the chart's `helm test` pod runs, against the real hub."""
    from pyconfig.hub.helm_test import check

    assert check(f"{hub.url}/hub/api/") is None


def servers_of(hub, user: str, include_stopped: bool = False) -> dict:
    query = "?include_stopped_servers" if include_stopped else ""
    status, body = hub.api("GET", f"/users/{user}{query}")
    assert status == 200, body
    return body["servers"]


def wait_until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.1)


def test_a_refused_launch_leaves_no_server_behind(hub):
    hub.api("POST", "/users/carol")
    assert hub.launch("carol", "broken-c1", github("owner", "broken")).outcome == (
        "failed"
    )
    wait_until(
        lambda: "broken-c1" not in servers_of(hub, "carol", include_stopped=True)
    )


def test_quota_counts_running_servers_like_binderhub_and_frees_on_stop(hub):
    hub.api("POST", "/users/bob")
    for index in range(5):
        launch = hub.launch("bob", f"good-b{index}", github("owner", "good"))
        assert launch.outcome == "ready", launch
    # BinderHub's launcher counts the servers the hub API lists: active ones.
    assert len(servers_of(hub, "bob")) == 5
    launch = hub.launch("bob", "good-b5", github("owner", "good"))
    assert launch.outcome == "failed"
    message = launch.message
    assert "you already have 5 servers running or starting, the most allowed (5)" in (
        message
    )
    assert "good-b0" in message and "Stop one at /hub/home" in message
    wait_until(lambda: "good-b5" not in servers_of(hub, "bob", include_stopped=True))

    # Stopping one frees a slot; the stopped server stays and does not count.
    status, _ = hub.api("DELETE", "/users/bob/servers/good-b0")
    assert status in (202, 204)
    wait_until(lambda: "good-b0" not in servers_of(hub, "bob"))
    launch = hub.launch("bob", "good-b6", github("owner", "good"))
    assert launch.outcome == "ready", launch
    assert "good-b0" in servers_of(hub, "bob", include_stopped=True)
    assert len(servers_of(hub, "bob")) == 5

    # So does deleting one.
    hub.api("DELETE", "/users/bob/servers/good-b1", {"remove": True})
    wait_until(lambda: "good-b1" not in servers_of(hub, "bob", include_stopped=True))
    launch = hub.launch("bob", "good-b7", github("owner", "good"))
    assert launch.outcome == "ready", launch


def metric(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    prefix = f"{name}{{{wanted}}} " if labels else f"{name} "
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.split()[-1])
    return 0.0


def test_metrics_count_launches_by_outcome(hub):
    request = urllib.request.Request(
        f"{hub.url}/hub/metrics",
        headers={"Authorization": f"token {hub.tokens['tests']}"},
    )

    def read() -> str:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read().decode()

    before = read()
    hub.api("POST", "/users/dave")
    hub.launch("dave", "good-d1", github("owner", "good"))
    hub.launch("dave", "plain-d1", github("owner", "no-file"))
    hub.launch("dave", "broken-d1", github("owner", "broken"))
    after = read()
    launches = "persistent_binderhub_launches_total"
    for outcome in ("file", "defaults", "refused"):
        grew = metric(after, launches, outcome=outcome) - metric(
            before, launches, outcome=outcome
        )
        assert grew == 1, outcome
    refusals = "persistent_binderhub_refusals_total"
    assert metric(after, refusals, reason="resources") >= 1
    assert metric(after, "persistent_binderhub_resources_cache_entries") >= 2
    lookups = "persistent_binderhub_resources_cache_lookups_total"
    assert metric(after, lookups, result="hit") > metric(before, lookups, result="hit")
    assert metric(after, "persistent_binderhub_resources_fetch_seconds_count") >= 3


def test_a_launch_whose_image_fails_leaves_no_server_and_no_slot(hub):
    hub.api("POST", "/users/frank")
    options = {**github("owner", "good"), "image": "unpullable"}
    assert hub.launch("frank", "good-f1", options).outcome == "failed"
    wait_until(lambda: "good-f1" not in servers_of(hub, "frank", include_stopped=True))


def test_a_server_that_ran_is_kept_when_stopped(hub):
    hub.api("POST", "/users/gina")
    assert hub.launch("gina", "good-g1", github("owner", "good")).outcome == "ready"
    hub.api("DELETE", "/users/gina/servers/good-g1")
    wait_until(lambda: "good-g1" not in servers_of(hub, "gina"))
    time.sleep(0.5)  # a removal, if any, would have run
    assert "good-g1" in servers_of(hub, "gina", include_stopped=True)


def refused_and_gone(hub, user: str, server: str, repo: str, fragment: str) -> None:
    launch = hub.launch(user, server, github("owner", repo))
    assert launch.outcome == "failed", launch
    assert fragment in launch.message
    wait_until(lambda: server not in servers_of(hub, user, include_stopped=True))


def test_caps_group_caps_and_totals_refuse_and_leave_nothing(hub):
    hub.api("POST", "/users/hank")
    refused_and_gone(hub, "hank", "huge-h1", "huge", "ResourcePolicy.max_cpu")
    refused_and_gone(hub, "hank", "gpu-h1", "gpu", "members of gpu may ask for more")
    hub.api("POST", "/groups/gpu")
    status, body = hub.api("POST", "/groups/gpu/users", {"users": ["hank"]})
    assert status == 200, body
    launch = hub.launch("hank", "gpu-h2", github("owner", "gpu"))
    assert launch.outcome == "ready", launch
    refused_and_gone(hub, "hank", "gpu-h3", "gpu", "ResourcePolicy.max_total_gpu")
    assert [n for n in servers_of(hub, "hank", include_stopped=True) if n] == ["gpu-h2"]


def test_home_page_shows_servers_quota_storage_and_key(hub):
    """Log in as the user (dummy login) and read the hub's home page HTML."""
    opener = logged_in(hub, "ivy")
    hub.launch("ivy", "good-i1", github("owner", "good"))
    hub.launch("ivy", "plain-i1", github("owner", "no-file"))
    hub.api("DELETE", "/users/ivy/servers/plain-i1")
    wait_until(lambda: "plain-i1" not in servers_of(hub, "ivy"))

    def home() -> str:
        with opener.open(f"{hub.url}/hub/home", timeout=30) as response:
            return response.read().decode()

    wait_until(lambda: "kept until you delete it" in home())  # the stop has landed
    page = home()
    assert "1 of 5 servers running" in page
    assert (
        'data-server-name="good-i1"' in page and 'data-server-name="plain-i1"' in page
    )
    assert f"https://github.com/owner/good/tree/{SHA}" in page
    # Just launched with a one-week timeout: a week away, not "in 6 days".
    assert "kept until you delete it" in page and ">in 7 days</time>" in page
    assert "2 CPU (up to 4)" in page and "from .resources" in page
    assert "/home/ivy-nfs-pvc" in page
    assert "ssh-ed25519 " in page and "PRIVATE KEY" not in page
    # BinderHub's page, from the binder service's OAuth callback in the values.
    assert (
        'id="launch-another" class="btn btn-primary" href="https://binder.example.org/"'
        in page
    )


SCREENSHOTS = ROOT / "build" / "screenshots"


def open_home_page(hub, browser, user: str) -> None:
    """Log ``user`` in (the test values' dummy login) onto the home page."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as shown
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 15)
    browser.get(f"{hub.url}/hub/login?next=%2Fhub%2Fhome")
    browser.find_element(By.ID, "username_input").send_keys(user)
    browser.find_element(By.ID, "password_input").send_keys("x")
    browser.find_element(By.ID, "login_submit").click()
    wait.until(shown.presence_of_element_located((By.ID, "persistent-binderhub-home")))
    if "/hub/home" not in browser.current_url:
        browser.get(f"{hub.url}/hub/home")
        wait.until(shown.presence_of_element_located((By.ID, "quota")))


def test_in_a_browser_the_user_sees_stops_and_deletes_servers(hub, browser):
    """The page follows the servers without a reload: Stop, Delete and a
    launch from elsewhere change the rows and the count. Times are in the
    reader's zone (UTC in the tooltip). At 390 px every button is on screen
    and no name breaks at its hyphens."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as shown
    from selenium.webdriver.support.ui import WebDriverWait

    long_name = "binder-examples-requirements-j1"
    hub.api("POST", "/users/judy")
    hub.launch("judy", long_name, github("owner", "good"))
    hub.launch("judy", "plain-j1", github("owner", "no-file"))
    wait = WebDriverWait(browser, 15)
    browser.execute_cdp_cmd(
        "Emulation.setTimezoneOverride", {"timezoneId": "Asia/Tokyo"}
    )

    open_home_page(hub, browser, "judy")
    assert "2 of 5 servers running" in browser.find_element(By.ID, "quota").text
    key = browser.find_element(By.ID, "ssh-public-key").get_attribute("value")
    assert key.startswith("ssh-ed25519 ")
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.home-server-row")
    assert {r.get_attribute("data-server-name") for r in rows} == {
        long_name,
        "plain-j1",
    }

    # The removal moment in Tokyo's time, UTC in its tooltip.
    moment = browser.find_element(By.CSS_SELECTOR, ".pbh-removal time.pbh-local")
    wait.until(lambda _: "UTC" in (moment.get_attribute("title") or ""))
    utc = datetime.strptime(moment.get_attribute("datetime"), "%Y-%m-%dT%H:%M:%SZ")
    tokyo = utc + timedelta(hours=9)
    assert f"{tokyo:%H:%M}" in moment.text and "GMT+9" in moment.text, moment.text
    assert moment.get_attribute("title") == (
        f"{utc:%a} {utc.day} {utc:%b %Y}, {utc:%H:%M} UTC"
    )
    removal = browser.find_element(By.CSS_SELECTOR, ".pbh-removal time").text
    assert removal == "in 7 days", removal

    # Only Delete is red: Stop keeps everything.
    browser.execute_script("window.pbhNotReloaded = true;")
    stop = browser.find_element(By.ID, "stop-plain-j1")
    assert "btn-danger" not in stop.get_attribute("class")
    stop.click()
    wait.until(shown.visibility_of_element_located((By.ID, "delete-plain-j1")))
    wait_until(lambda: "plain-j1" not in servers_of(hub, "judy"))
    row = 'tr[data-server-name="plain-j1"]'
    wait.until(
        shown.text_to_be_present_in_element(
            (By.CSS_SELECTOR, f"{row} .server-status"), "stopped"
        )
    )
    wait.until(
        shown.text_to_be_present_in_element((By.ID, "quota"), "1 of 5 servers running")
    )
    cells = browser.find_element(By.CSS_SELECTOR, row).text
    assert "kept until you delete it" in cells and "in 7 days" not in cells, cells
    assert not browser.find_element(
        By.CSS_SELECTOR, f"{row} .server-link"
    ).is_displayed()
    assert not browser.find_element(By.ID, "stop-plain-j1").is_displayed()
    delete = browser.find_element(By.ID, "delete-plain-j1")
    assert "btn-danger" in delete.get_attribute("class")

    # The screenshots (`make screenshots`): one server running, one stopped.
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / "home-1280.png"))
    browser.set_window_size(390, 844)
    assert_fits_a_phone(browser, [long_name, "plain-j1"], {"Open", "Stop", "Delete"})
    browser.save_screenshot(str(SCREENSHOTS / "home-390.png"))
    browser.set_window_size(1280, 900)
    # Delete asks first, and says the files stay; Cancel keeps the server.
    delete.click()
    question = wait.until(shown.alert_is_present())
    assert "plain-j1" in question.text and "/home/judy-nfs-pvc" in question.text
    assert "stay" in question.text
    question.dismiss()
    time.sleep(1)
    assert "plain-j1" in servers_of(hub, "judy", include_stopped=True)
    delete.click()
    wait.until(shown.alert_is_present()).accept()
    wait.until(shown.invisibility_of_element_located((By.CSS_SELECTOR, row)))
    wait_until(lambda: "plain-j1" not in servers_of(hub, "judy", include_stopped=True))
    assert long_name in servers_of(hub, "judy")
    assert browser.execute_script("return window.pbhNotReloaded === true;")

    # A launch from elsewhere (BinderHub in another tab) shows up, running,
    # and the count follows.
    hub.launch("judy", "other-j2", github("owner", "good"))
    WebDriverWait(browser, 30).until(
        shown.text_to_be_present_in_element(
            (By.CSS_SELECTOR, 'tr[data-server-name="other-j2"] .server-status'),
            "running",
        )
    )
    wait.until(
        shown.text_to_be_present_in_element((By.ID, "quota"), "2 of 5 servers running")
    )


def logged_in(hub, user: str):
    """A browser-like client logged in as ``user`` (the dummy login)."""
    import http.cookiejar

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{hub.url}/hub/login", timeout=30) as response:
        response.read()
    xsrf = next(c.value for c in jar if c.name == "_xsrf")
    login = urllib.parse.urlencode(
        {"username": user, "password": "x", "_xsrf": xsrf}
    ).encode()
    with opener.open(f"{hub.url}/hub/login?next=/hub/home", data=login, timeout=30):
        pass
    return opener


def home_of(opener, hub) -> tuple[int, str]:
    try:
        with opener.open(f"{hub.url}/hub/home", timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


def test_a_refused_relaunch_with_a_garbage_record_keeps_the_page_and_record(hub):
    """A REST caller may send any user_options, a record of its own too."""
    opener = logged_in(hub, "kim")
    assert hub.launch("kim", "good-k1", github("owner", "good")).outcome == "ready"
    hub.api("DELETE", "/users/kim/servers/good-k1")
    wait_until(lambda: "good-k1" not in servers_of(hub, "kim"))
    garbage = {**github("owner", "broken"), "persistent_binderhub": ["not", "it"]}
    launch = hub.launch("kim", "good-k1", garbage)
    assert launch.outcome == "failed", launch
    status, page = home_of(opener, hub)
    assert status == 200
    row = page[page.index('data-server-name="good-k1"') :][:1500]
    assert "2 CPU (up to 4)" in row, row  # the record of the run, kept
    assert f"https://github.com/owner/good/tree/{SHA}" in page
    status, body = hub.api("GET", "/users/kim?include_stopped_servers")
    options = body["servers"]["good-k1"]["user_options"]
    assert options["persistent_binderhub"]["cpu_limit"] == 4


def test_a_launch_not_sent_by_binderhub_does_not_read_the_repository(hub):
    """Any hub user may send user_options naming any repository; only the
    launches of BinderHub (a trusted hub service) have its file read with the
    hub's tokens. A user's own token gets the defaults, and says why."""
    hub.api("POST", "/users/mallory")
    own = f"token:{hub.new_token('mallory', 'own')}"
    launch = hub.launch("mallory", "good-m1", github("owner", "good"), service=own)
    assert launch.outcome == "ready", launch
    pod, _ = hub.recorded("mallory", "good-m1")
    container = pod["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["BINDERHUB_RESOURCES_SOURCE"].startswith("defaults: ")
    assert "not sent by BinderHub" in env["BINDERHUB_RESOURCES_SOURCE"]
    assert container["resources"]["limits"]["cpu"] == 8.0  # not the file's 4
    # The same launch from BinderHub reads the file.
    launch = hub.launch("mallory", "good-m2", github("owner", "good"))
    pod, _ = hub.recorded("mallory", "good-m2")
    assert pod["spec"]["containers"][0]["resources"]["limits"]["cpu"] == 4.0


#: Seconds a refused server is kept before its removal, in the next test.
GRACE = 15


def test_a_refused_server_that_runs_within_the_grace_is_never_removed(tmp_path):
    """Refused, then launched again under the same name before its removal:
    the relaunch runs, is used and stopped, all within the grace, and the
    server stays; the removal of the refused launch was cancelled."""
    import yaml

    from offline.local_hub import TEST_VALUES

    layer = tmp_path / "grace.yaml"
    layer.write_text(
        yaml.safe_dump(
            {
                "binderhub": {
                    "jupyterhub": {
                        "hub": {
                            "config": {"ServerQuota": {"remove_refused_after": GRACE}},
                        }
                    }
                }
            }
        )
    )
    with local_hub(tmp_path / "hub", FILES, (*TEST_VALUES, layer)) as hub:
        hub.api("POST", "/users/ivan")
        refused_at = time.monotonic()
        assert hub.launch("ivan", "proj", github("owner", "huge")).outcome == "failed"
        assert hub.launch("ivan", "proj", github("owner", "good")).outcome == "ready"
        hub.api("DELETE", "/users/ivan/servers/proj")
        wait_until(lambda: "proj" not in servers_of(hub, "ivan"))
        # Past the moment the refused launch's removal would have come.
        time.sleep(max(0.0, refused_at + 2 * GRACE - time.monotonic()))
        assert "proj" in servers_of(hub, "ivan", include_stopped=True)
        assert "its first launch failed" not in hub.log.read_text()


def test_server_names_that_are_object_keys_in_javascript_keep_the_page_live(
    hub, browser
):
    """A server called "valueOf" started elsewhere appears, and Stop on one
    called "constructor" or "__proto__" updates its row, as for any name."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 20)
    hub.api("POST", "/users/kate")
    for name in ("constructor", "__proto__"):
        assert hub.launch("kate", name, github("owner", "good")).outcome == "ready"
    open_home_page(hub, browser, "kate")

    def names() -> set[str]:
        rows = browser.find_elements(By.CSS_SELECTOR, "tr.home-server-row")
        return {row.get_attribute("data-server-name") for row in rows}

    assert names() == {"constructor", "__proto__"}
    assert hub.launch("kate", "valueOf", github("owner", "good")).outcome == "ready"
    wait.until(lambda _: names() == {"constructor", "__proto__", "valueOf"})
    browser.execute_script("window.pbhNotReloaded = true;")
    for name in ("constructor", "__proto__"):
        browser.find_element(By.ID, f"stop-{name}").click()
        status = f'tr[data-server-name="{name}"] .server-status'
        wait.until(
            lambda _, css=status: (
                browser.find_element(By.CSS_SELECTOR, css).text == "stopped"
            )
        )
    assert browser.execute_script("return window.pbhNotReloaded === true;")
    assert "1 of 5 servers running" in browser.find_element(By.ID, "quota").text


def test_the_default_server_cannot_be_started(hub):
    """With their own token a user asks for the unnamed server, which
    BinderHub never uses: refused, so no sixth server escapes the limit."""
    hub.api("POST", "/users/lena")
    token = hub.new_token("lena")
    for server in ("one", "two", "three", "four", "five"):
        assert hub.launch("lena", server, github("owner", "good")).outcome == "ready"
    launch = hub.launch("lena", "", {}, service=f"token:{token}")
    assert launch.outcome in ("failed", "refused"), launch
    assert "named servers only" in launch.message, launch
    wait_until(lambda: "" not in servers_of(hub, "lena"))
    assert len(servers_of(hub, "lena")) == 5
