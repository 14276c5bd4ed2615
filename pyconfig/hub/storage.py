"""One persistent volume per user, shared by every server of that user.

KubeSpawner creates the claim on the user's first launch (``storage_pvc_ensure``)
and mounts it in each server. The claim's name is per user, not per server,
and ``delete_pvc`` is off, so neither culling, deleting a server, deleting the
user in the hub nor a failed launch can remove a user's files.

The claim's name is unique per exact username (user_names.py), and before a
launch the hook reads the claim: one whose owner annotation names someone
else is never mounted. A claim made under the name KubeSpawner's shorter
slug gave (before 0.1.0) is taken over when its annotation names this user.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from kubernetes_asyncio.client.exceptions import ApiException
from kubespawner.slugs import safe_slug
from traitlets import Dict, List, TraitError, Unicode, validate
from traitlets.config import LoggingConfigurable

from .user_names import owner_of, path_name, user_slug

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
        help="Name of the user's PersistentVolumeClaim. {username} is the hub "
        "user name where it is a valid Kubernetes name, else a readable part "
        "and a 130-bit hash of the exact name; it is the only field (all "
        "servers of a user share the claim). Changing it on a running service "
        "orphans every user's files.",
    ).tag(config=True)
    mount_path = Unicode(
        "/home/{username}-nfs-pvc",
        help="Where every notebook of the user sees the volume. {username} is "
        "the hub user name itself where it is a safe path component (letters, "
        "digits, ._@+-), else as in pvc_name_template.",
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

    @validate("pvc_name_template", "mount_path")
    def _one_field(self, proposal):
        """Only {username}: a claim per server would split a user's files."""
        try:
            proposal.value.format(username="u")
        except (KeyError, IndexError, ValueError) as error:
            raise TraitError(
                f"UserStorage.{proposal.trait.name} may use only the field "
                f"{{username}}, not {proposal.value!r} ({error!r})"
            ) from None
        return proposal.value

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

    def claim_name(self, username: str) -> str:
        return self.pvc_name_template.format(username=user_slug(username))

    def legacy_claim_name(self, username: str) -> str:
        """The name KubeSpawner's slug gave the claim before names were unique."""
        return self.pvc_name_template.format(
            username=safe_slug(username, max_length=48)
        )

    def home(self, username: str) -> str:
        return self.mount_path.format(username=path_name(username))

    def launch_settings(self, username: str, servername: str) -> dict[str, Any]:
        """What the hook sets on one launch's spawner: the mount path and the
        variables that name it, for this user (the claim name is set apart)."""
        home = self.home(username)
        return {
            "volume_mounts": {HOME_VOLUME: {"name": HOME_VOLUME, "mountPath": home}},
            "environment": {
                self.home_variable: home,
                self.server_dir_variable: f"{home}/{path_name(servername)}",
            },
        }

    async def owned_claim(
        self, api: Any, namespace: str, username: str, timeout: float
    ) -> str:
        """The claim the user's notebooks mount: the claim of their name if it
        is theirs or absent (KubeSpawner then creates it), else their claim
        under the legacy name. Raises ClaimError for a claim of the user's
        name that belongs to someone else."""
        name = self.claim_name(username)
        claim = await _read_claim(api, namespace, name, timeout)
        if claim is not None:
            if owner_of(claim) != username:
                raise ClaimError(name)
            return name
        legacy = self.legacy_claim_name(username)
        if legacy != name:
            claim = await _read_claim(api, namespace, legacy, timeout)
            if claim is not None and owner_of(claim) == username:
                self.log.info(
                    "Using %s's claim %s (its name before 0.1.0)", username, legacy
                )
                return legacy
        return name

    def kubespawner_config(self) -> dict[str, Any]:
        """KubeSpawner trait values (volumes and mounts as dicts keyed by name).

        The claim's name and the mount path here are KubeSpawner's templates
        for spawners no launch prepared (those JupyterHub stops or deletes);
        the hook sets each launch's own (launch_settings, owned_claim)."""
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


class ClaimError(Exception):
    """A claim of the user's name belongs to someone else; says which claim."""


async def _read_claim(
    api: Any, namespace: str, name: str, timeout: float
) -> dict[str, Any] | None:
    """The claim as a dict, or None when there is none."""
    try:
        claim = await asyncio.wait_for(
            api.read_namespaced_persistent_volume_claim(name, namespace), timeout
        )
    except ApiException as error:
        if error.status == 404:
            return None
        raise
    return api.api_client.sanitize_for_serialization(claim)
