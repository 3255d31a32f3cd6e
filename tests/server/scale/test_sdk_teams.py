"""Teams through the real scaleapi SDK: ``list_teammates`` lists the key's organization's
members with Scale's roles; inviting and changing roles are not offered (404)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from scaleapi import ScaleClient
from scaleapi.exceptions import ScaleResourceNotFound, ScaleUnauthorized
from scaleapi.teams import TeammateRole

from labelmill.server.db.engine import Database
from labelmill.server.services import tenancy
from tests.factory import Factory, OrgHandle

ScaleFactory = Callable[[str], ScaleClient]


def _member(db: Database, org: OrgHandle, email: str, name: str, role: str) -> None:
    with db.write_session() as session:
        user = tenancy.create_user(session=session, email=email, name=name)
        org_row = tenancy.get_org_by_name(session=session, name=org.name)
        tenancy.add_member(session=session, org=org_row, user=user, role=role)


def test_teammates_are_the_organizations_members(
    factory: Factory, scale: ScaleFactory, db: Database
) -> None:
    org, other = factory.org("Acme Labs"), factory.org()
    client = scale(org.key)
    assert client.list_teammates() == []  # a service key alone: no members yet

    _member(db, org, "Ada@Example.com", "Ada Lovelace", "owner")
    _member(db, org, "grace@example.com", "Grace Brewster Hopper", "manager")
    _member(db, org, "cher@example.com", "Cher", "viewer")
    _member(db, other, "eve@example.com", "Eve Other", "owner")

    teammates = client.list_teammates()
    assert [t.as_dict() for t in teammates] == [
        {
            "email": "ada@example.com",
            "role": "admin",
            "firstName": "Ada",
            "lastName": "Lovelace",
            "company": "Acme Labs",
        },
        {
            "email": "grace@example.com",
            "role": "manager",
            "firstName": "Grace",
            "lastName": "Brewster Hopper",
            "company": "Acme Labs",
        },
        {
            "email": "cher@example.com",
            "role": "member",
            "firstName": "Cher",
            "company": "Acme Labs",
        },
    ]
    assert (teammates[2].first_name, teammates[2].last_name) == ("Cher", None)
    # Every role is one of Scale's.
    assert {t.role for t in teammates} <= {r.value for r in TeammateRole}
    # A viewer key may list them; another organization sees only its own.
    assert len(scale(factory.key(org, "viewer")).list_teammates()) == 3
    assert [t.email for t in scale(other.key).list_teammates()] == ["eve@example.com"]


def test_inviting_and_changing_roles_are_not_offered(factory: Factory, scale: ScaleFactory) -> None:
    client = scale(factory.org().key)
    with pytest.raises(ScaleResourceNotFound) as invite:
        client.invite_teammates(["new@example.com"], TeammateRole.Member)
    assert "not supported" in invite.value.message
    with pytest.raises(ScaleResourceNotFound):
        client.update_teammates_role(["new@example.com"], TeammateRole.Admin)
    with pytest.raises(ScaleUnauthorized):
        scale("lm_live_not_a_key").list_teammates()
