"""Tests of pyconfig/binder: what runs inside BinderHub."""
