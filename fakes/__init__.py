"""The simulated cluster, on loopback: what a machine without Kubernetes,
GitHub or an identity provider stands in for them with.

A Kubernetes API server that enforces the rendered RBAC and admission
(quota, limit ranges, pod security) and a node that runs pods as local
processes (``kube_api``, ``kubelet``, ``admission``, ``pod_security``,
``workloads``); raw-file and OpenID Connect stand-ins (``standins``,
``oidc_provider``); and the process helpers they share (``ports``,
``lifetime``). Imports :mod:`pyconfig` and nothing else of the tree.
"""
