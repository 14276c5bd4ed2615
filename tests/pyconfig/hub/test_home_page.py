"""The home page's data, from real hub objects (users, spawners, servers)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path

from jupyterhub import orm
from traitlets.config import Config

from offline.hub_setup import SHA, github
from pyconfig.hub.home_page import (
    at_most,
    in_words,
    page_data,
    removal_words,
    repository_of,
    span,
)

NOW = datetime(2026, 11, 29, 12, 0, 0)
WEEK = 7 * 86400
HOUR = 3600  # the chart's cull.every


def server(user, name, options, running=True, last=None):
    spawner = user.spawners[name]
    spawner.orm_spawner.user_options = options
    spawner.orm_spawner.last_activity = last or NOW - timedelta(hours=1)
    spawner.orm_spawner.started = NOW - timedelta(days=1) if running else None
    if running:
        spawner.orm_spawner.server = orm.Server()
    user.db.commit()
    return spawner


def recorded(**extra):
    return {
        "persistent_binderhub": {
            "cpu_guarantee": 2,
            "cpu_limit": 4,
            "mem_guarantee_gb": 1,
            "mem_limit_gb": 16,
            "gpu": 1,
            "origin": "file",
            "explanation": "from .resources",
            "ssh_public_key": "ssh-ed25519 AAAA k",
            **extra,
        }
    }


async def test_rows_quota_cull_and_key(make_spawner):
    first = make_spawner(Config(), username="alice", server="repo-a")
    user = first.user
    server(user, "repo-a", {**github("owner", "repo"), **recorded()})
    server(user, "repo-b", github("owner", "other"), running=False)
    odd_last = NOW - timedelta(days=6, hours=23, minutes=30)
    server(user, "odd", {"unexpected": 1}, last=odd_last)
    server(user, "due", {}, last=NOW - timedelta(days=8))
    page = page_data(user, 5, WEEK, HOUR, "/home/alice-nfs-pvc", NOW)
    rows = {row.name: row for row in page.rows}
    assert page.active == 3 and page.quota_text == "3 of 5 servers running"
    assert not page.full
    a = rows["repo-a"]
    assert (a.repository, a.commit, a.status) == ("owner/repo", SHA[:12], "running")
    assert a.repository_url == f"https://github.com/owner/repo/tree/{SHA}"
    assert a.removal == "in 6 days 23 h"
    # The earliest moment, as data: last activity + timeout.
    assert a.removal_at == NOW - timedelta(hours=1) + timedelta(seconds=WEEK)
    assert a.resources == "2 CPU (up to 4), 1 GB (up to 16), 1 GPU"
    assert rows["repo-b"].status == "stopped"
    assert rows["repo-b"].removal == "kept until you delete it"
    assert rows["repo-b"].removal_at is None
    assert rows["odd"].repository == "" and rows["odd"].resources == ""
    # 30 minutes to the earliest moment, and the culler checks hourly: it
    # goes within 90 minutes, not "in 30 minutes".
    assert rows["odd"].removal_at == NOW + timedelta(minutes=30)
    assert rows["odd"].removal == "within 2 hours"
    # Past its moment: at the next check.
    assert rows["due"].removal == "within 1 hour"
    assert page.cull_text == (
        "A running server idle for 7 days is removed at the culler's next "
        "check (it checks every 1 hour). Stopped servers are kept."
    )
    assert page.ssh_public_key == "ssh-ed25519 AAAA k"
    assert page.storage_path == "/home/alice-nfs-pvc"


async def test_full_quota_and_no_key_yet(make_spawner):
    first = make_spawner(Config(), server="s0")
    for index in range(2):
        server(first.user, f"s{index}", github("o", f"r{index}"))
    page = page_data(first.user, 2, 0, 0, "/home/x", NOW)
    assert page.full and page.quota_text == "2 of 2 servers running"
    assert page.ssh_public_key == ""
    assert {row.removal for row in page.rows} == {"not removed for inactivity"}
    assert {row.removal_at for row in page.rows} == {None}
    assert page.cull_text == "" and page.check_interval == ""


def test_durations_in_words():
    """Rounded to the minute, in the two largest units: a week less a few
    seconds (right after a launch) is "in 7 days", not a day early."""
    assert in_words(timedelta(days=7) - timedelta(seconds=5)) == "in 7 days"
    assert in_words(timedelta(days=6, hours=23, minutes=10)) == "in 6 days 23 h"
    assert in_words(timedelta(days=6, hours=23, minutes=40)) == "in 7 days"
    assert in_words(timedelta(days=1, minutes=20)) == "in 1 day"
    assert in_words(timedelta(days=2, hours=5)) == "in 2 days 5 h"
    assert in_words(timedelta(hours=1, minutes=5)) == "in 1 h 5 min"
    assert in_words(timedelta(hours=3, seconds=20)) == "in 3 h"
    assert in_words(timedelta(minutes=59, seconds=50)) == "in 1 h"
    assert in_words(timedelta(minutes=5)) == "in 5 min"
    assert in_words(timedelta(seconds=20)) == "any moment now"
    assert in_words(timedelta(seconds=-30)) == "any moment now"
    assert span(WEEK) == "7 days" and span(HOUR) == "1 hour"
    assert span(5400) == "90 minutes" and span(10) == "10 seconds"
    assert at_most(3600) == "1 hour" and at_most(3601) == "2 hours"
    assert at_most(10) == "1 minute" and at_most(70) == "2 minutes"


def test_removal_words_never_promise_before_the_cullers_check():
    """The culler removes a server at its first check after the moment, so
    up to one interval later; the words never name a time before that."""
    moment = NOW + timedelta(days=3)
    assert removal_words(moment, HOUR, NOW) == "in 3 days"
    assert removal_words(NOW + timedelta(minutes=90), HOUR, NOW) == "in 1 h 30 min"
    assert removal_words(NOW + timedelta(minutes=5), HOUR, NOW) == "within 2 hours"
    assert removal_words(NOW - timedelta(days=1), HOUR, NOW) == "within 1 hour"
    assert removal_words(NOW - timedelta(days=1), 10, NOW) == "within 1 minute"
    assert removal_words(NOW + timedelta(minutes=5), 0, NOW) == "in 5 min"


def test_repository_of_odd_options():
    assert repository_of({}) == ("", "", "")
    label, _, _ = repository_of({"repo_url": "https://gist.github.com/u/abc.git"})
    assert label == "u/abc"


GARBAGE_RECORDS = [
    "not a record",
    ["a", "list"],
    {},
    {"cpu_guarantee": "2"},
    {**recorded()["persistent_binderhub"], "cpu_limit": None},
    {**recorded()["persistent_binderhub"], "gpu": True},
    {**recorded()["persistent_binderhub"], "mem_limit_gb": float("nan")},
    {**recorded()["persistent_binderhub"], "ssh_public_key": 7},
    {**recorded()["persistent_binderhub"], "origin": "<script>"},
]


async def test_any_stored_options_render_and_bad_records_show_unknown(make_spawner):
    """user_options are what a REST caller sent: the page never fails on them."""

    first = make_spawner(Config(), username="mallory", server="g0")
    user = first.user
    for index, garbage in enumerate(GARBAGE_RECORDS):
        options = {**github("owner", "repo"), "persistent_binderhub": garbage}
        server(user, f"g{index}", options)
    server(user, "odd-urls", {"repo_url": "http://[", "binder_ref_url": 5})
    server(user, "script", {"binder_ref_url": "javascript:alert(1)"})
    page = page_data(user, 5, WEEK, HOUR, "/home/mallory-nfs-pvc", NOW)
    rows = {row.name: row for row in page.rows}
    for index in range(len(GARBAGE_RECORDS)):
        assert rows[f"g{index}"].resources == "unknown", GARBAGE_RECORDS[index]
        assert rows[f"g{index}"].origin == ""
    assert page.ssh_public_key == ""
    assert rows["odd-urls"].repository == "" and rows["odd-urls"].resources == ""
    assert rows["script"].repository_url == ""


def rendered(page) -> str:
    """The page's own template (jinja, as the hub renders it) with ``page``."""
    import jinja2

    import pyconfig.hub

    loader = jinja2.DictLoader(
        {
            "page.html": "{% block main %}{% endblock %}{% block script %}"
            "{% endblock %}",
            "home.html": (Path(pyconfig.hub.__file__).parent / "home.html").read_text(),
        }
    )
    html = jinja2.Environment(loader=loader, autoescape=True).get_template("home.html")
    return html.render(persistent_binderhub=page)


async def test_the_home_template_renders_unknown_resources(make_spawner):
    """A record the hook did not write shows as "unknown" in the page."""

    first = make_spawner(Config(), username="mallory", server="g0")
    server(first.user, "g0", {"persistent_binderhub": {"gpu": "x"}})
    page = page_data(first.user, 5, WEEK, HOUR, "/home/m", NOW)
    assert 'data-label="Resources">unknown</td>' in rendered(page)


async def test_the_template_gives_the_removal_moment_machine_readably(make_spawner):
    """Scripts and tests read when a server goes from <time datetime>, in
    UTC; people read the words, and the tooltip and the note say the culler
    acts only at its checks."""

    first = make_spawner(Config(), username="alice", server="a")
    server(first.user, "a", {}, last=NOW - timedelta(hours=1))
    server(first.user, "b", {}, running=False)
    page = page_data(first.user, 5, WEEK, HOUR, "/home/m", NOW)
    text = rendered(page)
    assert (
        '<time datetime="2026-12-06T11:00:00Z" title="At the culler\'s first '
        'check after Sun 6 Dec 2026, 11:00 UTC; it checks every 1 hour">in 6 days '
        "23 h</time>"
    ) in text
    # Without JavaScript the moment is in UTC and says so; the page's script
    # puts each <time class="pbh-local"> in the reader's zone.
    assert (
        '<time class="pbh-local" datetime="2026-12-06T11:00:00Z">Sun 6 Dec 2026, '
        "11:00 UTC</time>"
    ) in text
    removal_cell = text[text.index('class="pbh-removal"') :]
    assert removal_cell.index("</td>") > removal_cell.index("pbh-local")
    assert (
        '<td class="pbh-removal" data-label="Removed">kept until you delete it</td>'
        in text
    )
    assert "it checks every 1 hour" in text[text.index('id="cull-note"') :]


async def test_the_template_marks_moving_servers_and_hides_open_when_stopped(
    make_spawner,
):
    """Buttons follow the status: a stopped server offers only Delete (its
    Open link hidden, as home.js hides it), a stopping one none."""

    first = make_spawner(Config(), username="alice", server="a")
    server(first.user, "a", {})
    server(first.user, "b", {}, running=False)
    server(first.user, "c", {})
    first.user.spawners["c"]._stop_pending = True
    page = page_data(first.user, 5, WEEK, HOUR, "/home/m", NOW)
    assert [row.status for row in page.rows] == ["running", "stopping", "stopped"]
    assert page.active == 2
    text = rendered(page)
    rows = {
        name: text[text.index(f'data-server-name="{name}"') :].split("</tr>")[0]
        for name in "abc"
    }
    assert 'data-status="stopping"' in rows["c"]
    assert 'class="server-link btn btn-xs btn-primary hidden"' in rows["b"]
    assert 'class="server-link btn btn-xs btn-primary"' in rows["a"]
    assert 'class="delete-server btn btn-xs btn-danger"' in rows["b"]
    assert 'aria-label="Stop c" disabled' in rows["c"]
    assert "disabled" not in rows["a"]


async def test_rows_come_newest_first_and_stopped_ones_last(make_spawner):
    first = make_spawner(Config(), username="alice", server="old")
    for name, days in (("old", 3), ("new", 1), ("middle", 2), ("twin", 2)):
        server(first.user, name, {})
        first.user.spawners[name].orm_spawner.started = NOW - timedelta(days=days)
    server(first.user, "b-stopped", {}, running=False)
    server(first.user, "a-stopped", {}, running=False)
    # The hub may keep a stopped server's last start: stopped ones are still
    # last, among themselves newest first.
    first.user.spawners["b-stopped"].orm_spawner.started = NOW
    first.user.db.commit()
    page = page_data(first.user, 10, WEEK, HOUR, "/home/a", NOW)
    assert [row.name for row in page.rows] == [
        "new",
        "middle",
        "twin",
        "old",
        "b-stopped",
        "a-stopped",
    ]


async def test_a_full_quota_disables_launching_another_and_says_why(make_spawner):
    first = make_spawner(Config(), username="alice", server="s0")
    for index in range(2):
        server(first.user, f"s{index}", {})
    full, room = (
        dataclasses.replace(
            page_data(first.user, limit, WEEK, HOUR, "/home/a", NOW),
            binder_url="https://binder.example.org/",
        )
        for limit in (2, 3)
    )
    text, other = rendered(full), rendered(room)
    button = text[text.index('id="launch-another"') :].split("</a>")[0]
    assert 'aria-disabled="true"' in button and "href=" not in button
    assert 'aria-describedby="quota-full"' in button
    words = " ".join(text.split())
    assert "Stop one of the running servers below to launch another" in words
    assert "delete" not in text[text.index('id="quota-full"') :].split("</div>")[0]
    assert 'href="https://binder.example.org/">Launch another' in other
    assert 'id="quota-full"' not in other
