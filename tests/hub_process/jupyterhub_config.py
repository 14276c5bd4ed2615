"""A real JupyterHub for the tests, configured the way the chart configures it.

Ports, stand-in URLs and folders come from the environment the test sets.
Only the spawner's Kubernetes calls are replaced (recording_spawner.py).
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.environ["PYCONFIG_ROOT"])  # the chart mounts pyconfig there

c = get_config()  # noqa: F821 - provided by JupyterHub

c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = int(os.environ["HUB_PROXY_PORT"])
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ["HUB_PORT"])
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ['PROXY_API_PORT']}"
c.ConfigurableHTTPProxy.command = [os.environ["CHP_COMMAND"]]
c.JupyterHub.db_url = "sqlite:///" + os.path.join(os.environ["HUB_STATE"], "hub.sqlite")
c.JupyterHub.cookie_secret_file = os.path.join(os.environ["HUB_STATE"], "cookie_secret")
c.JupyterHub.pid_file = os.path.join(os.environ["HUB_STATE"], "hub.pid")
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.JupyterHub.allow_named_servers = True
c.JupyterHub.named_server_limit_per_user = 5
c.JupyterHub.redirect_to_server = False
c.JupyterHub.services = [
    {"name": "binder", "api_token": os.environ["BINDER_TOKEN"]},
    # The culler as the chart runs it: a week, named servers removed.
    {
        "name": "cull-idle",
        "command": [
            sys.executable, "-m", "jupyterhub_idle_culler",
            "--timeout=604800", "--cull-every=3600", "--remove-named-servers",
        ],
    },
]  # fmt: skip
c.JupyterHub.load_roles = [
    {
        "name": "cull-idle",
        "scopes": [
            "list:users",
            "read:users:activity",
            "read:servers",
            "delete:servers",
        ],
        "services": ["cull-idle"],
    },
    {
        "name": "binder",
        "scopes": ["admin:users", "admin:servers", "admin:groups", "read:metrics"],
        "services": ["binder"],
    },
]

c.JupyterHub.spawner_class = "recording_spawner.RecordingKubeSpawner"
c.KubeSpawner.uid = 1000
c.KubeSpawner.k8s_api_host = os.environ["KUBE_URL"]
c.RepoFileFetcher.github_raw_urls = {
    "github.com": os.environ["RAW_URL"] + "/{repo}/{commit}/{path}"
}

# GPUs only for members of the group "gpu", at most one per user in total.
c.ResourcePolicy.max_gpu = 0
c.ResourcePolicy.group_caps = {"gpu": {"max_gpu": 1}}
c.ResourcePolicy.max_total_gpu = 1

# What the chart's hub.extraConfig does:
from pyconfig.hub_config import configure  # noqa: E402

configure(c)
