"""The SDK's public surface is curated: ``__all__`` lists exactly what is meant to be used."""

from __future__ import annotations

import labelmill.client
import labelmill.client.errors


def test_all_is_sorted_and_exhaustive() -> None:
    names = labelmill.client.__all__
    assert names == sorted(names, key=lambda n: (not n.isupper(), n))
    public = {name for name in vars(labelmill.client) if not name.startswith("_")}
    modules = {"errors"}  # the documented public module, importable as labelmill.client.errors
    assert public - modules == set(names)


def test_every_error_is_exported_and_derives_from_api_error() -> None:
    errors = labelmill.client.errors
    classes = {
        name
        for name, obj in vars(errors).items()
        if isinstance(obj, type) and issubclass(obj, errors.ApiError)
    }
    assert classes <= set(labelmill.client.__all__)
    assert classes <= set(errors.__all__)
