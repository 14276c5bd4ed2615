"""pyconfig/binder/launcher.py's words on BinderHub's page, with the real
BinderHub package (conftest.py: in its own Python). The whole launch is
tested end to end in tests/end_to_end/test_binderhub_launch.py."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow  # BinderHub's own Python, in a process

SHOWN = """
import json, sys
from pyconfig.binder.launcher import FailureOnceLauncher
hub_url, messages = json.load(sys.stdin)
launcher = FailureOnceLauncher(hub_url=hub_url, named_server_limit_per_user=5)
print(json.dumps([launcher.hub_links(m) for m in messages]
                 + [launcher.full_quota_message()]))
"""


def test_the_hubs_paths_become_links_to_the_hub(in_binderhub):
    *links, quota = in_binderhub(
        SHOWN,
        [
            "https://hub.example.org/",
            [
                "Stop one at /hub/home, then launch again.",
                "Open /user/a.b/x-1/. Or https://else.org/hub/home, /hub/.",
                "a/hub/home or x/user/y stay",
            ],
        ],
    )
    assert links == [
        "Stop one at https://hub.example.org/hub/home, then launch again.",
        "Open https://hub.example.org/user/a.b/x-1/. Or https://else.org/hub/home, "
        "https://hub.example.org/hub/.",
        "a/hub/home or x/user/y stay",
    ]
    assert quota == (
        "Launch refused: you already have 5 servers running or starting, the most "
        "allowed (5). Stop one at https://hub.example.org/hub/home, then launch "
        "again. Stopped servers do not count, and your files in the persistent "
        "volume stay."
    )


def test_without_the_hubs_public_url_paths_stay(in_binderhub):
    [kept, _] = in_binderhub(SHOWN, ["/", ["Stop one at /hub/home."]])
    assert kept == "Stop one at /hub/home."
