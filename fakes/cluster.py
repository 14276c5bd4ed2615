"""The cluster the simulated one stands for, as `make render` targets it by
default: the release's namespace, the oldest Kubernetes the binderhub chart
supports (its kubeVersion), and the service account tokens its pods hold."""

from pathlib import Path

RELEASE, NAMESPACE = "binderhub", "binderhub"
KUBE_VERSION = "1.28"
#: The hub's service account token (fakes/kubeconfig.yaml's): the loopback
#: API grants it what the rendered release's Roles grant the hub.
HUB_TOKEN = "not-a-secret"
#: BinderHub's service account token (the binder Role's grants).
BINDER_TOKEN = "binderhub-token"
#: A kubeconfig with the hub's token; its server is a port nothing listens
#: on, so a client that is not pointed at a loopback API reaches nothing.
KUBECONFIG = Path(__file__).with_name("kubeconfig.yaml")
