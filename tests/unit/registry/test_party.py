"""The party-member register: who looks after which households, 5 to 20 of them, masked per role."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from workflow.base.db import unit_of_work
from workflow.base.errors import InvalidInput
from workflow.org.members import user_by_name
from workflow.registry.demo import load_demo_register
from workflow.registry.models import PartyMember, RegistryStep
from workflow.registry.party import look_after, member_view, members_of


def test_central_households_look_after_5_to_20(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        load_demo_register(session)
        member = session.scalars(select(PartyMember).order_by(PartyMember.id)).first()
        assert member is not None and member.central_household
        leader = user_by_name(session, "xy01a1.leader")
        view = member_view(session, member, leader)
        assert len(view["households"]) == 3 and view["below_target"]
        with pytest.raises(InvalidInput, match="5 to 20 households, not 3"):
            look_after(session, member.id, [1, 2, 3], "xy01a.secretary")
        with pytest.raises(InvalidInput, match="5 to 20 households, not 21"):
            look_after(session, member.id, list(range(1, 22)), "xy01a.secretary")
        look_after(session, member.id, [1, 2, 3, 4, 5, 6], "xy01a.secretary")
        view = member_view(session, member, leader)
        assert [h["id"] for h in view["households"]] == [1, 2, 3, 4, 5, 6] and not view["below_target"]
        step = session.scalars(select(RegistryStep).where(RegistryStep.party_member_id == member.id)).one()
        assert (step.kind, step.actor, step.detail) == ("care", "xy01a.secretary", {"households": [1, 2, 3, 4, 5, 6]})
        street = user_by_name(session, "xy.street")
        assert member_view(session, member, street)["phone"].count("*") == 4
        assert member in members_of(session, leader) and len(members_of(session, street)) == 12


def test_party_member_api(engine: Engine, client: object) -> None:
    from tests.unit.helpers import token_for

    with unit_of_work(engine) as session:
        load_demo_register(session)
    secretary = token_for(engine, "xy01a.secretary")
    listed = client.get("/api/v1/party-members", headers=secretary).get_json()["party_members"]  # type: ignore[attr-defined]
    assert len(listed) == 2 and listed[0]["central_household"] and len(listed[0]["households"]) == 3
    member_id = listed[0]["id"]
    answer = client.put(f"/api/v1/party-members/{member_id}/households", json={"households": [1, 2, 3, 4, 5]},  # type: ignore[attr-defined]
                        headers=secretary)
    assert answer.status_code == 200 and len(answer.get_json()["households"]) == 5
    short = client.put(f"/api/v1/party-members/{member_id}/households", json={"households": [1]}, headers=secretary)  # type: ignore[attr-defined]
    assert short.status_code == 422 and short.get_json()["problems"][0]["field"] == "households"
    leader = token_for(engine, "xy01a1.leader")
    assert client.put(f"/api/v1/party-members/{member_id}/households", json={"households": [1, 2, 3, 4, 5]},  # type: ignore[attr-defined]
                      headers=leader).status_code == 404  # the branch is above a grid leader's subtree
