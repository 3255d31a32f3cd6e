"""Projects through the real scaleapi SDK: create, get, list, setParams with versions, errors,
names with ``/`` in them, and tenancy."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from scaleapi import ScaleClient
from scaleapi.exceptions import (
    ScaleDuplicateResource,
    ScaleException,
    ScaleInvalidRequest,
    ScaleResourceNotFound,
    ScaleUnauthorized,
)
from scaleapi.tasks import TaskType

from tests.factory import Factory

ISO_MS_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
CATS = {"instruction": "Which animal?", "categories": ["cat", "dog"]}

ScaleFactory = Callable[[str], ScaleClient]


def test_create_get_list(factory: Factory, scale: ScaleFactory) -> None:
    client = scale(factory.org().key)
    created = client.create_project("kittens", TaskType.Categorization, params=CATS)
    assert (created.name, created.type, created.version) == ("kittens", "categorization", 0)
    assert created.instruction == "Which animal?"
    assert created.params["categories"] == ["cat", "dog"]
    assert ISO_MS_UTC.match(created.as_dict()["created_at"])
    assert ISO_MS_UTC.match(created.params["created_at"])

    fetched = client.get_project("kittens")
    assert fetched.as_dict() == created.as_dict()

    client.create_project("duels", TaskType.Comparison)  # params=None: defaults
    listed = {p.name: p for p in client.get_projects()}
    assert sorted(listed) == ["duels", "kittens"]
    assert listed["duels"].type == "comparison"
    assert listed["duels"].version == 0


@pytest.mark.parametrize(
    ("task_type", "native"),
    [
        (TaskType.Categorization, "categorization"),
        (TaskType.TextCollection, "text_collection"),
        (TaskType.ImageAnnotation, "image_annotation"),
        (TaskType.NamedEntityRecognition, "text_spans"),
        (TaskType.Comparison, "pairwise_comparison"),
    ],
)
def test_each_scale_type_maps_to_a_labelmill_type(
    factory: Factory, scale: ScaleFactory, task_type: TaskType, native: str
) -> None:
    # Without params a type whose labelmill params need a taxonomy is refused, and the
    # message names the missing field of the labelmill type it maps to.
    client = scale(factory.org().key)
    if native == "pairwise_comparison":
        assert client.create_project("p", task_type).type == task_type.value
        return
    with pytest.raises(ScaleInvalidRequest) as caught:
        client.create_project("p", task_type)
    assert native in caught.value.message
    assert caught.value.code == 400


def test_set_params_keeps_a_version_history(factory: Factory, scale: ScaleFactory) -> None:
    client = scale(factory.org().key)
    client.create_project("kittens", TaskType.Categorization, params=CATS)

    patched = client.update_project("kittens", patch=True, instruction="Label the kittens")
    assert patched.version == 1
    assert patched.instruction == "Label the kittens"
    assert patched.params["categories"] == ["cat", "dog"]  # patch merged into v0

    replaced = client.update_project(
        "kittens", patch=False, instruction="v2", categories=["a", "b"], allow_multiple=True
    )
    assert replaced.version == 2
    assert replaced.params["categories"] == ["a", "b"]
    assert replaced.params["multiple"] is True  # Scale's allow_multiple, labelmill's multiple
    history = client.get_project("kittens").as_dict()["param_history"]
    assert [h["version"] for h in history] == [0, 1, 2]
    assert [h["instruction"] for h in history] == ["Which animal?", "Label the kittens", "v2"]

    # A replacement missing the taxonomy is refused and writes no version.
    with pytest.raises(ScaleInvalidRequest) as caught:
        client.update_project("kittens", patch=False, instruction="no categories")
    assert "categories" in caught.value.message
    assert client.get_project("kittens").version == 2


def test_errors_map_to_the_sdks_exceptions(factory: Factory, scale: ScaleFactory) -> None:
    client = scale(factory.org().key)
    with pytest.raises(ScaleResourceNotFound):
        client.get_project("nope")
    with pytest.raises(ScaleResourceNotFound):
        client.update_project("nope", instruction="x")
    with pytest.raises(ScaleInvalidRequest):
        client.create_project("bad", TaskType.Categorization, params={"categories": []})
    with pytest.raises(ScaleInvalidRequest) as caught:
        client.create_project("bad", TaskType.Categorization, params={**CATS, "colour": "red"})
    assert "colour" in caught.value.message
    with pytest.raises(ScaleInvalidRequest) as caught:
        client.create_project("lidar", TaskType.LidarAnnotation)
    assert "unsupported project type" in caught.value.message
    with pytest.raises(ScaleInvalidRequest):
        client.create_project("x" * 201, TaskType.Comparison)
    client.create_project("taken", TaskType.Comparison)
    with pytest.raises(ScaleDuplicateResource):
        client.create_project("taken", TaskType.Comparison)
    assert [p.name for p in client.get_projects()] == ["taken"]  # nothing half-made

    with pytest.raises(ScaleUnauthorized):
        scale("lm_live_not-a-key").get_projects()
    with pytest.raises(ScaleUnauthorized):
        scale("lm_live_not-a-key").create_project("p", TaskType.Comparison)


def test_viewer_key_reads_but_cannot_write(factory: Factory, scale: ScaleFactory) -> None:
    org = factory.org()
    scale(org.key).create_project("kittens", TaskType.Categorization, params=CATS)
    viewer = scale(factory.key(org, "viewer"))
    assert viewer.get_project("kittens").name == "kittens"
    with pytest.raises(ScaleException) as caught:
        viewer.update_project("kittens", instruction="mine")
    assert caught.value.code == 403
    with pytest.raises(ScaleException) as caught:
        viewer.create_project("other", TaskType.Comparison)
    assert caught.value.code == 403
    assert scale(org.key).get_project("kittens").version == 0


def test_names_with_slashes_and_route_words(factory: Factory, scale: ScaleFactory) -> None:
    # The SDK sends "x/setParams" as x%2FsetParams: it must reach *that* project's GET, not
    # the setParams route of project "x".
    client = scale(factory.org().key)
    for name in ("x", "x/setParams", "team a/cats 100%", "ünï/cødé"):
        client.create_project(name, TaskType.Categorization, params=CATS)
    assert client.get_project("x/setParams").name == "x/setParams"
    assert client.get_project("team a/cats 100%").name == "team a/cats 100%"
    assert client.get_project("ünï/cødé").name == "ünï/cødé"

    assert client.update_project("x/setParams", patch=True, instruction="changed").version == 1
    assert client.get_project("x").version == 0
    with pytest.raises(ScaleResourceNotFound):
        client.get_project("x/")


def test_other_orgs_projects_are_invisible(factory: Factory, scale: ScaleFactory) -> None:
    mine, theirs = scale(factory.org().key), scale(factory.org().key)
    theirs.create_project("secret", TaskType.Categorization, params=CATS)
    with pytest.raises(ScaleResourceNotFound) as caught:
        mine.get_project("secret")
    missing = pytest.raises(ScaleResourceNotFound)
    with missing as also:
        mine.get_project("never-existed")
    assert caught.value.message.replace("secret", "?") == also.value.message.replace(
        "never-existed", "?"
    )
    with pytest.raises(ScaleResourceNotFound):
        mine.update_project("secret", patch=True, instruction="mine now")
    assert mine.get_projects() == []
    # The same name is free in my organization: names are per organization.
    assert mine.create_project("secret", TaskType.Comparison).type == "comparison"
    assert theirs.get_project("secret").type == "categorization"
    assert theirs.get_project("secret").version == 0
