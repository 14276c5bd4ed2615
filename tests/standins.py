"""The loopback stand-ins live in tools/standins.py (`pyconfig preview` runs
the hub's code against one too); the tests import them from here."""

from tools.standins import KubeAPIStandIn, LoopbackServer, RawFileServer

__all__ = ["KubeAPIStandIn", "LoopbackServer", "RawFileServer"]
