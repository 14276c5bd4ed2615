"""Build and lint helpers: the dependency chart, the schema and docs
generators, the pyconfig volume, `make lint`, the screenshots, the hub
matrix lock."""
