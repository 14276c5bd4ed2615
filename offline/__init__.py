"""The release on one machine: the chart rendered (``chart``), a rendered
pod's files and configuration (``hub_pod``), the real hub and BinderHub
started on the simulated cluster (``local_hub``, ``local_binder``,
``login``, ``hub_setup``), and ``make demo`` (``demo``).

Imports :mod:`pyconfig` and :mod:`fakes`; tests, benchmarks and CI import
this, never the reverse.
"""
