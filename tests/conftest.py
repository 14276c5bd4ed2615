"""Shared fixtures: the repository root and a real hub User with KubeSpawner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"

# Before kubespawner is imported anywhere: see data/kubeconfig.yaml.
os.environ["KUBECONFIG"] = str(DATA / "kubeconfig.yaml")


@pytest.fixture
def make_spawner():
    """Build a real KubeSpawner the way JupyterHub does, through a hub User.

    Must be called inside a running event loop (KubeSpawner's rule).
    """
    from jupyterhub import orm
    from jupyterhub.objects import Hub
    from jupyterhub.user import User
    from kubespawner import KubeSpawner
    from traitlets.config import Config

    sessions = []

    def build(config: Config | None = None, username="alice", server="project"):
        db = orm.new_session_factory("sqlite:///:memory:")()
        sessions.append(db)
        orm_user = orm.User(name=username)
        db.add(orm_user)
        db.commit()
        settings = {
            "spawner_class": KubeSpawner,
            "hub": Hub(),
            "config": config or Config(),
            "allow_named_servers": True,
        }
        return User(orm_user, settings=settings).spawners[server]

    yield build
    for db in sessions:
        db.close()
