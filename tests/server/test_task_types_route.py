"""GET /api/task-types: the catalogue every widget and client reads."""

from __future__ import annotations

from fastapi.testclient import TestClient

from labelmill.tasktypes import task_type_names
from tests.factory import Factory, auth


def test_catalogue_lists_every_registered_type_with_its_contract(
    client: TestClient, factory: Factory
) -> None:
    org = factory.org()
    listed = client.get("/api/task-types", headers=auth(org.key))
    assert listed.status_code == 200, listed.text
    by_name = {t["name"]: t for t in listed.json()}
    assert sorted(by_name) == task_type_names()
    categorization = by_name["categorization"]
    assert categorization["widget"] == "categorization"
    assert {"csv", "jsonl"} <= set(categorization["export_formats"])
    assert "oneOf" in categorization["response_schema"]
    one = client.get("/api/task-types/categorization", headers=auth(org.key))
    assert one.json() == categorization


def test_unknown_type_is_404_and_a_key_is_required(client: TestClient, factory: Factory) -> None:
    org = factory.org()
    missing = client.get("/api/task-types/no-such-type", headers=auth(org.key))
    assert missing.status_code == 404
    assert client.get("/api/task-types").status_code == 401
