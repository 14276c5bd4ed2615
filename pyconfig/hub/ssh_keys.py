"""One SSH keypair per user, kept in a Kubernetes Secret and mounted in every server.

The key is made on the user's first launch and never changes after, so the
public key a user added to GitHub keeps working. The hub's Role may only get,
list, create and delete Secrets, so the Secret is created once and never
updated; two first launches at the same moment both try to create it, and the
one that loses (409 Conflict) uses the winner's key.

The private key exists in the hub's memory only while the Secret is created
or read: it is never logged (at any level: the Kubernetes client's own
DEBUG log of response bodies is bypassed), never stored in spawner state,
user_options or the hub database.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any, NamedTuple

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from kubernetes_asyncio.client.exceptions import ApiException
from kubespawner.slugs import safe_slug
from traitlets import TraitError, Unicode, validate
from traitlets.config import LoggingConfigurable

from ..resources.policy import Count, Number
from . import metrics
from .user_names import OWNER_ANNOTATION, owner_of, user_slug

#: Secret data keys, which are also the file names under the mount paths.
PRIVATE_KEY = "ssh.priv"
PUBLIC_KEY = "ssh.pub"
#: The volume of the user's SSH key Secret, mounted file by file.
KEY_VOLUME = "persistent-binderhub-ssh-key"
KNOWN_HOSTS_VOLUME = "persistent-binderhub-known-hosts"
MANAGED_BY = "persistent-binderhub"


class SSHKeyError(Exception):
    """The user's key Secret could not be read or created; says why (no secrets)."""


class NotOwned(SSHKeyError):
    """A Secret of the user's name belongs to someone else."""


def new_keypair(comment: str) -> tuple[bytes, bytes]:
    """A fresh ed25519 keypair: (private key, public key), both OpenSSH format."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return private, public + f" {comment}\n".encode()


class SSHKeys(LoggingConfigurable):
    """Where each user's SSH keypair is kept and where notebooks see it."""

    secret_name_template = Unicode(
        "{username}-ssh-key",
        help="Name of the user's Secret. {username} is the hub user name where "
        "it is a valid Kubernetes name, else a readable part and a 130-bit "
        "hash of the exact name; it is the only field. Changing it gives every "
        "user a new key: their old public key stops working.",
    ).tag(config=True)
    private_key_path = Unicode(
        "/home/jovyan/.ssh/ssh.priv", help="Where notebooks see the private key."
    ).tag(config=True)
    public_key_path = Unicode(
        "/home/jovyan/.ssh/ssh.pub", help="Where notebooks see the public key."
    ).tag(config=True)
    file_mode = Count(
        0o440,
        help="Mode of the key files (decimal 288 = octal 0440). They belong to "
        "root and the pod's fsGroup, "
        "so uid 1000 reads them through the group and ssh accepts them (ssh "
        "only rejects group-readable keys that the user owns).",
    ).tag(config=True, schema={"minimum": 0, "maximum": 511})
    key_comment_template = Unicode(
        "{username}@persistent-binderhub",
        help="Comment at the end of the public key, shown by GitHub and GitLab "
        "next to the key ({username} is the hub user name).",
    ).tag(config=True)
    known_hosts_configmap = Unicode(
        "persistent-binderhub-known-hosts",
        help="ConfigMap (key 'ssh_known_hosts') with host keys of GitHub, "
        "GitLab and others, mounted at known_hosts_path so `git clone "
        "git@github.com:...` needs no confirmation; empty to mount none.",
    ).tag(config=True)
    known_hosts_path = Unicode(
        "/etc/ssh/ssh_known_hosts",
        help="Where the known hosts file is mounted (ssh's global known hosts).",
    ).tag(config=True)
    git_ssh_command = Unicode(
        "ssh -i {private_key_path} -o IdentitiesOnly=yes",
        help="GIT_SSH_COMMAND in notebooks, so git uses the mounted key; empty "
        "to leave it unset.",
    ).tag(config=True)

    request_timeout = Number(
        10.0,
        help="Seconds each Kubernetes API call for the user's key Secret may "
        "take; past that the launch is refused with a message to try again "
        "(nothing is lost), instead of waiting on a hung API server.",
    ).tag(config=True, schema={"exclusiveMinimum": 0})

    @validate("secret_name_template")
    def _one_field(self, proposal):
        try:
            proposal.value.format(username="u")
        except (KeyError, IndexError, ValueError) as error:
            raise TraitError(
                "SSHKeys.secret_name_template may use only the field "
                f"{{username}}, not {proposal.value!r} ({error!r})"
            ) from None
        return proposal.value

    def kubespawner_config(self) -> dict[str, Any]:
        """Volumes, mounts and environment for KubeSpawner (dicts keyed by name)."""
        volumes = {
            KEY_VOLUME: {
                "name": KEY_VOLUME,
                "secret": {
                    "secretName": self.secret_name_template,
                    "defaultMode": self.file_mode,
                },
            }
        }
        mounts = {
            f"{KEY_VOLUME}-private": {
                "name": KEY_VOLUME,
                "mountPath": self.private_key_path,
                "subPath": PRIVATE_KEY,
                "readOnly": True,
            },
            f"{KEY_VOLUME}-public": {
                "name": KEY_VOLUME,
                "mountPath": self.public_key_path,
                "subPath": PUBLIC_KEY,
                "readOnly": True,
            },
        }
        if self.known_hosts_configmap:
            volumes[KNOWN_HOSTS_VOLUME] = {
                "name": KNOWN_HOSTS_VOLUME,
                "configMap": {"name": self.known_hosts_configmap},
            }
            mounts[KNOWN_HOSTS_VOLUME] = {
                "name": KNOWN_HOSTS_VOLUME,
                "mountPath": self.known_hosts_path,
                "subPath": "ssh_known_hosts",
                "readOnly": True,
            }
        environment = {
            "SSH_PRIVATE_KEY_PATH": self.private_key_path,
            "SSH_PUBLIC_KEY_PATH": self.public_key_path,
        }
        if self.git_ssh_command:
            environment["GIT_SSH_COMMAND"] = self.git_ssh_command.format(
                private_key_path=self.private_key_path
            )
        return {"volumes": volumes, "volume_mounts": mounts, "environment": environment}

    def secret_body(
        self, name: str, username: str, user_label: str, private: bytes, public: bytes
    ) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {
                "name": name,
                "labels": {
                    "app.kubernetes.io/managed-by": MANAGED_BY,
                    "app.kubernetes.io/component": "ssh-key",
                    "hub.jupyter.org/username": user_label,
                },
                "annotations": {"hub.jupyter.org/username": username},
            },
            "data": {
                PRIVATE_KEY: base64.b64encode(private).decode(),
                PUBLIC_KEY: base64.b64encode(public).decode(),
            },
        }

    def secret_name(self, username: str) -> str:
        return self.secret_name_template.format(username=user_slug(username))

    def legacy_secret_name(self, username: str) -> str:
        """The name KubeSpawner's slug gave the Secret before names were unique."""
        return self.secret_name_template.format(
            username=safe_slug(username, max_length=48)
        )

    async def ensure_secret(
        self, api: Any, namespace: str, username: str, user_label: str
    ) -> KeyOutcome:
        """Make sure the user's key Secret exists; its name, public key and how
        it went.

        ``api`` is a kubernetes_asyncio ``CoreV1Api``. One read for a returning
        user; a create only on the first launch. The private key the read
        returns is dropped at once: only the public key leaves this method. A
        Secret of the user's name whose owner annotation names someone else
        is refused; one under the legacy name is taken over only when its
        annotation names this user.
        """
        name = self.secret_name(username)
        try:
            found = await self._read_owned(api, namespace, name, username)
            return KeyOutcome("existing", found, name)
        except ApiException as error:
            if error.status != 404:
                raise SSHKeyError(_describe("read", name, error)) from None
        legacy = self.legacy_secret_name(username)
        if legacy != name:
            try:
                found = await self._read_owned(api, namespace, legacy, username)
                self.log.info(
                    "Using %s's key Secret %s (its name before 0.1.0)", username, legacy
                )
                return KeyOutcome("existing", found, legacy)
            except ApiException as error:
                if error.status != 404:
                    raise SSHKeyError(_describe("read", legacy, error)) from None
            except NotOwned:
                pass  # someone else's Secret: this user gets their own
        private, public = new_keypair(
            self.key_comment_template.format(username=username)
        )
        body = self.secret_body(name, username, user_label, private, public)
        del private
        try:
            metrics.KUBERNETES_CALLS.labels("create").inc()
            await self._within_timeout(
                "create",
                name,
                api.create_namespaced_secret(namespace, body, _preload_content=False),
            )
            self.log.info("Created SSH key Secret %s for %s", name, username)
            return KeyOutcome("created", public.decode().strip(), name)
        except ApiException as error:
            if error.status != 409:
                raise SSHKeyError(_describe("create", name, error)) from None
        finally:
            body["data"].clear()
        # Another launch created it first: its key is the user's key.
        self.log.info("SSH key Secret %s was created by a parallel launch", name)
        try:
            found = await self._read_owned(api, namespace, name, username)
            return KeyOutcome("raced", found, name)
        except ApiException as error:
            raise SSHKeyError(_describe("read", name, error)) from None

    async def _read_owned(
        self, api: Any, namespace: str, name: str, username: str
    ) -> str:
        """The public key of Secret ``name``, if its owner annotation names
        ``username`` exactly; SSHKeyError otherwise (nothing is mounted)."""
        metrics.KUBERNETES_CALLS.labels("read").inc()
        secret = json.loads(
            await self._within_timeout(
                "read",
                name,
                api.read_namespaced_secret(name, namespace, _preload_content=False),
            )
        )
        if owner_of(secret) != username:
            self.log.warning(
                "SSH key Secret %s does not belong to %s (its %s annotation "
                "names another user or none)",
                name,
                username,
                OWNER_ANNOTATION,
            )
            secret.clear()
            raise NotOwned(
                f"Secret {name} belongs to another user; an administrator "
                "must look at it"
            )
        encoded = (secret.get("data") or {}).get(PUBLIC_KEY, "")
        secret.clear()
        return base64.b64decode(encoded).decode().strip()

    async def _within_timeout(self, verb: str, name: str, call: Any) -> bytes:
        """:func:`_unlogged`, given up after ``request_timeout`` seconds."""
        try:
            return await asyncio.wait_for(_unlogged(call), self.request_timeout)
        except TimeoutError:
            raise SSHKeyError(
                f"could not {verb} Secret {name}: the Kubernetes API did not "
                f"answer in {self.request_timeout:g} s"
            ) from None


async def _unlogged(call: Any) -> bytes:
    """The body of a Secret API call, kept out of every log.

    ``call`` must be made with ``_preload_content=False``: with it,
    kubernetes_asyncio neither logs the body (its ``client.rest`` logger
    writes every response body at DEBUG, the Secret's base64 ``ssh.priv``
    included) nor keeps it in ``ApiClient.last_response``. Errors become
    ApiException with the status and reason only, as the client would raise.
    """
    response = await call
    try:
        raw = await response.content.read()  # not response.read(): no cached copy
        if not 200 <= response.status <= 299:
            raise ApiException(status=response.status, reason=response.reason)
        return raw
    finally:
        response.release()


class KeyOutcome(NamedTuple):
    """How ensuring the key went ("existing", "created", "raced"), the
    public key, which the hub pages show, and the Secret's name."""

    state: str
    public_key: str
    name: str


def _describe(verb: str, name: str, error: ApiException) -> str:
    # Only the status and reason: the body of a failed create could echo data.
    return (
        f"could not {verb} Secret {name}: Kubernetes API {error.status} {error.reason}"
    )
