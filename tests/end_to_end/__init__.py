"""The service end to end: a real hub (and BinderHub) on the loopback cluster."""
