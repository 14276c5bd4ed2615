"""A hub process with the rendered release's own configuration, on loopback.

`jupyterhub -f` this file. It loads z2jh's jupyterhub_config.py exactly as
the hub pod runs it (offline/hub_pod.py laid the pod's files out; only z2jh's
fixed paths point there), then changes what a machine without a cluster
forces, and nothing else:

- the spawner: the configured class (BinderSpawner) with KubeSpawner's
  cluster calls replaced (recording_spawner.py), unless the hub runs
  against the loopback cluster (LOOPBACK_CLUSTER: fakes/kube_api.py and
  fakes/kubelet.py), where KubeSpawner's own start() and stop() run;
- the network the cluster's Services give the hub pod: the hub, the proxy
  API and the public proxy listen on free loopback ports, the culler service
  is told the hub's port, and the hub starts configurable-http-proxy itself
  (the chart runs it in its own pod);
- the pod boundary: in a cluster the proxy and the culler die with their
  pod; here they are the hub's children, started so that they die with the
  hub even when it is killed (fakes/lifetime.py).
"""

import os
import sys

sys.path.insert(0, os.environ["PROJECT_ROOT"])  # tools/, tests/

from fakes.lifetime import bound_to_parent

c = get_config()  # noqa: F821 - provided by JupyterHub

load_subconfig(os.environ["RENDERED_HUB_CONFIG"])  # noqa: F821 - as above

if not os.environ.get("LOOPBACK_CLUSTER"):
    from offline.recording_spawner import recording

    c.JupyterHub.spawner_class = recording(c.JupyterHub.spawner_class)

hub = f"http://127.0.0.1:{os.environ['HUB_PORT']}"
c.JupyterHub.hub_bind_url = hub
c.JupyterHub.hub_connect_url = hub
c.JupyterHub.bind_url = f"http://127.0.0.1:{os.environ['HUB_PROXY_PORT']}"
c.ConfigurableHTTPProxy.should_start = True
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ['PROXY_API_PORT']}"
c.ConfigurableHTTPProxy.command = bound_to_parent([os.environ["CHP_COMMAND"]])

# The culler service reaches the hub where the pod has it (localhost:8081).
for service in c.JupyterHub.services:
    if service.get("command"):
        service["command"] = bound_to_parent(
            f"--url={hub}/hub/api" if str(arg).startswith("--url=") else arg
            for arg in service["command"]
        )
