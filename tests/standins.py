"""The loopback stand-ins live in fakes/standins.py (`make preview` runs
the hub's code against one too); the tests import them from here."""

from fakes.standins import KubeAPIStandIn, LoopbackServer, RawFileServer

__all__ = ["KubeAPIStandIn", "LoopbackServer", "RawFileServer"]
