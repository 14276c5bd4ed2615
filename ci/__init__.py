"""What CI runs besides pytest: the GitHub cluster job's checks
(``cluster_ci``, with ``k3s-values.yaml``) and the runner of upstream test
suites against the simulated cluster (``peer_suite``, its pytest plugin and
cluster)."""
