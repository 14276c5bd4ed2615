"""KubeSpawner for a hub process on a machine without Kubernetes.

Everything up to the pod is the real KubeSpawner: configuration, the hub's
pre-spawn hook, ``get_pod_manifest()``. Only what needs a cluster is replaced:
``start()`` writes the pod manifest it would create to a folder and serves a
stand-in notebook (an HTTP server answering 200) on loopback, so the hub sees
a running server; ``stop()`` and ``poll()`` follow that stand-in.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from kubernetes_asyncio.client import ApiClient
from kubespawner import KubeSpawner
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

_SERIALIZER = ApiClient.__new__(ApiClient)  # serializer only; opens no session


class _Anything(web.RequestHandler):
    def get(self, *args):
        self.write({"stand-in": "notebook"})


class RecordingKubeSpawner(KubeSpawner):
    _stand_in: HTTPServer | None = None

    async def start(self):
        if self.user_options.get("image") == "unpullable":
            # What KubeSpawner does when the image cannot be pulled: give up.
            raise TimeoutError("pod did not start: image could not be pulled")
        pod = _SERIALIZER.sanitize_for_serialization(await self.get_pod_manifest())
        folder = Path(os.environ["RECORDED_PODS"])
        (folder / f"{self.user.name}-{self.name}.json").write_text(json.dumps(pod))
        sockets = bind_sockets(0, "127.0.0.1")
        self._stand_in = HTTPServer(web.Application([(r"(.*)", _Anything)]))
        self._stand_in.add_sockets(sockets)
        return f"http://127.0.0.1:{sockets[0].getsockname()[1]}"

    async def poll(self):
        return None if self._stand_in is not None else 0

    async def stop(self, now=False):
        if self._stand_in is not None:
            self._stand_in.stop()
            self._stand_in = None
