"""The configured spawner for a hub process on a machine without Kubernetes.

Everything down to KubeSpawner is the real class the hub was configured
with (the binderhub chart's BinderSpawner and its mixin, KubeSpawner's
configuration and manifests, the hub's pre-spawn hook). Only what needs a
cluster is replaced, below the mixin in the class order: ``start()`` writes
the Pod and PVC manifests it would create to a folder and serves a stand-in
notebook (an HTTP server answering 200) on loopback, so the hub sees a
running server; ``stop()`` and ``poll()`` follow that stand-in.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from kubespawner import KubeSpawner
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from offline.hub_pod import serialized


class _Anything(web.RequestHandler):
    def get(self, *args):
        self.write({"stand-in": "notebook"})


class RecordingKubeSpawner(KubeSpawner):
    _stand_in: HTTPServer | None = None

    async def start(self):
        if self.user_options.get("image") == "unpullable":
            # What KubeSpawner does when the image cannot be pulled: give up.
            raise TimeoutError("pod did not start: image could not be pulled")
        pod = serialized(await self.get_pod_manifest())
        pvc = serialized(self.get_pvc_manifest()) if self.storage_pvc_ensure else None
        folder = Path(os.environ["RECORDED_PODS"])
        record = folder / f"{self.user.name}-{self.name}.json"
        record.write_text(json.dumps(pod))
        record.with_suffix(".pvc.json").write_text(json.dumps(pvc))
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


def recording(spawner_class: type) -> type:
    """``spawner_class`` with RecordingKubeSpawner in KubeSpawner's place."""
    return type(spawner_class.__name__, (spawner_class, RecordingKubeSpawner), {})
