"""One persistent volume per user, shared by every server of that user.

KubeSpawner creates the claim on the user's first launch (``storage_pvc_ensure``)
and mounts it in each server. The claim's name is per user, not per server,
and ``delete_pvc`` is off, so neither culling, deleting a server, deleting the
user in the hub nor a failed launch can remove a user's files.
"""

from __future__ import annotations

import re
from typing import Any

from traitlets import Dict, List, TraitError, Unicode, validate
from traitlets.config import LoggingConfigurable

#: The volume (and mount) of the user's persistent home, in KubeSpawner.volumes.
HOME_VOLUME = "persistent-binderhub-home"

#: A positive Kubernetes quantity (resource.Quantity's grammar, without the
#: minus sign or zero a storage request cannot have). One definition for the
#: trait's check and the chart schema's ``pattern``, so Python, Helm (Go RE2)
#: and JSON Schema (ECMA-262) agree: ASCII classes only, anchored, and each
#: quantifier is followed by a disjoint class, so matching is linear.
CAPACITY_PATTERN = (
    r"^\+?0*(?:[1-9][0-9]*(?:\.[0-9]*)?|\.0*[1-9][0-9]*)"
    r"(?:[KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?$"
)
#: Longer than any real size; bounds the work of a check.
CAPACITY_MAX_LENGTH = 32
_CAPACITY = re.compile(CAPACITY_PATTERN)


class UserStorage(LoggingConfigurable):
    """The per-user ReadWriteMany volume, as KubeSpawner settings."""

    pvc_name_template = Unicode(
        "{username}-nfs-pvc",
        help="Name of the user's PersistentVolumeClaim (KubeSpawner template "
        "fields). It must not contain {servername}: all servers of a user "
        "share it. Changing it on a running service orphans every user's files.",
    ).tag(config=True)
    mount_path = Unicode(
        "/home/{username}-nfs-pvc",
        help="Where every notebook of the user sees the volume.",
    ).tag(config=True)
    storage_class = Unicode(
        "",
        help="StorageClass of new claims (it must offer ReadWriteMany, e.g. an "
        "NFS CSI class); empty for the cluster's default class.",
    ).tag(config=True)
    capacity = Unicode(
        "10Gi",
        help="Size of a new claim, e.g. 10Gi (claims that exist keep their size).",
    ).tag(
        config=True,
        schema={"pattern": CAPACITY_PATTERN, "maxLength": CAPACITY_MAX_LENGTH},
    )
    access_modes = List(
        Unicode(), ["ReadWriteMany"], help="Access modes of a new claim."
    ).tag(config=True)
    extra_labels = Dict(
        {}, help="Extra labels on new claims, e.g. for backup selection."
    ).tag(config=True)
    home_variable = Unicode(
        "PERSISTENT_HOME",
        help="Environment variable that tells notebooks where the volume is.",
    ).tag(config=True)
    server_dir_variable = Unicode(
        "PERSISTENT_SERVER_DIR",
        help="Environment variable with a suggested folder for this server "
        "alone (two notebooks writing the same path overwrite each other).",
    ).tag(config=True)

    @validate("capacity")
    def _quantity(self, proposal):
        """A bad size would only fail at a user's first launch, as a PVC error."""
        value = proposal.value
        if len(value) > CAPACITY_MAX_LENGTH or not _CAPACITY.fullmatch(value):
            raise TraitError(
                f"UserStorage.capacity must be a positive Kubernetes quantity "
                f"of at most {CAPACITY_MAX_LENGTH} characters, such as 10Gi, "
                f"500M or 1.5Ti (units Ki Mi Gi Ti Pi Ei or k M G T P E), "
                f"not {value!r}"
            )
        return value

    def kubespawner_config(self) -> dict[str, Any]:
        """KubeSpawner trait values (volumes and mounts as dicts keyed by name)."""
        if "{servername}" in self.pvc_name_template:
            raise ValueError(
                "UserStorage.pvc_name_template must not contain {servername}: "
                "the volume is shared by all servers of a user"
            )
        config: dict[str, Any] = {
            "storage_pvc_ensure": True,
            "pvc_name_template": self.pvc_name_template,
            "storage_capacity": self.capacity,
            "storage_access_modes": list(self.access_modes),
            "storage_extra_labels": dict(self.extra_labels),
            "delete_pvc": False,
            "volumes": {
                HOME_VOLUME: {
                    "name": HOME_VOLUME,
                    "persistentVolumeClaim": {"claimName": "{pvc_name}"},
                }
            },
            "volume_mounts": {
                HOME_VOLUME: {"name": HOME_VOLUME, "mountPath": self.mount_path}
            },
            "environment": {
                self.home_variable: self.mount_path,
                self.server_dir_variable: f"{self.mount_path}/{{servername}}",
            },
        }
        if self.storage_class:
            config["storage_class"] = self.storage_class
        return config
