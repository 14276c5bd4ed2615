"""The binder container's start, up to the point it would listen: run with the
BinderHub virtualenv (.venv-binderhub), in the binder pod's environment.

    python initialize.py --config <folder>/etc/binderhub/config/binderhub_config.py

The arguments are the container's own (`--config` and the chart's
binderhub_config.py, its fixed path pointed into the folder that stands for
``/``). This creates the real ``binderhub.app.BinderHub``, calls
``initialize(argv)`` as ``python -m binderhub`` does, and prints one JSON
object with the settings that took effect: the build executor and the build
pod volumes it would create, the registry it checks and whether it found
credentials, the login against the hub, the named-server limit. Credentials
and tokens are never printed, only whether they are there. What the config
file prints and BinderHub logs goes to stderr.
"""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Any


def qualified(cls: type | None) -> str | None:
    return None if cls is None else f"{cls.__module__}.{cls.__qualname__}"


def builder_settings(app: Any) -> dict[str, Any]:
    """The executor BinderHub made from its config (its /versions example)."""
    executor = app.tornado_settings["example_builder"]
    volumes, mounts = executor.get_builder_volumes()
    by_name = {v.name: v for v in volumes}
    pod_volumes = {}
    for mount in mounts:
        volume = by_name[mount.name]
        source: dict[str, Any] = {}
        if volume.host_path is not None:
            source = {"hostPath": volume.host_path.path, "type": volume.host_path.type}
        elif volume.secret is not None:
            source = {"secret": volume.secret.secret_name}
        pod_volumes[mount.mount_path] = {"subPath": mount.sub_path, **source}
    settings = {
        "class": qualified(type(executor)),
        "build_class": qualified(app.build_class),
        "build_docker_host": app.build_docker_host,
        "pod_volumes": pod_volumes,
        "pushes": "--push" in executor.get_r2d_cmd_options(),
        "has_registry_credentials": bool(executor.registry_credentials),
    }
    for name in (
        "docker_host",
        "push_secret",
        "sticky_builds",
        "namespace",
        "build_image",
        "image_pull_secrets",
        "node_selector",
    ):
        if executor.has_trait(name):
            settings[name] = getattr(executor, name)
    return settings


def registry_settings(app: Any) -> dict[str, Any]:
    registry = app.tornado_settings["registry"]
    settings: dict[str, Any] = {
        "use_registry": app.use_registry,
        "image_prefix": app.image_prefix,
        "class": qualified(type(registry)) if registry is not None else None,
    }
    if registry is not None:
        settings.update(
            url=registry.url,
            auth_config_url=registry.auth_config_url,
            token_url=registry.token_url,
            docker_config_path=registry.docker_config_path,
            has_username=bool(registry.username),
            has_password=bool(registry.password),
        )
    return settings


def auth_settings(app: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "auth_enabled": app.auth_enabled,
        "hub_url": app.hub_url,
        "hub_url_local": app.hub_url_local,
        "has_hub_api_token": bool(app.hub_api_token),
        "create_user": app.launcher.create_user,
        "allow_named_servers": app.launcher.allow_named_servers,
        "named_server_limit_per_user": app.launcher.named_server_limit_per_user,
    }
    if app.auth_enabled:
        from jupyterhub.services.auth import HubOAuth

        # What each request handler uses (binderhub/base.py).
        oauth = HubOAuth.instance(config=app.tornado_settings["traitlets_config"])
        settings["oauth"] = {
            "hub_host": oauth.hub_host,
            "api_url": oauth.api_url,
            "base_url": oauth.base_url,
            "oauth_client_id": oauth.oauth_client_id,
            "oauth_redirect_uri": oauth.oauth_redirect_uri,
            "has_api_token": bool(oauth.api_token),
        }
    return settings


def main(argv: list[str]) -> int:
    from binderhub.app import BinderHub

    app = BinderHub()
    with contextlib.redirect_stdout(sys.stderr):
        app.initialize(argv)
    try:
        report = {
            "builder": builder_settings(app),
            "registry": registry_settings(app),
            "auth": auth_settings(app),
            "base_url": app.base_url,
            "banner_message": app.banner_message,
            "launcher_class": qualified(type(app.launcher)),
            "launcher_retries": app.launcher.retries,
        }
    finally:
        app.build_pool.shutdown()
        app.executor.shutdown()
    print(json.dumps(report, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
