"""The cluster the simulated one stands for, as `make render` targets it by
default: the release's namespace, and the oldest Kubernetes the binderhub
chart supports (its kubeVersion)."""

RELEASE, NAMESPACE = "binderhub", "binderhub"
KUBE_VERSION = "1.28"
