"""The registers' tables: buildings, addresses down to the room, households, residents, party members, steps."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.base.db import Base, UTCDateTime
from workflow.base.vault import Encrypted, EncryptedJSON, blind_index_column, keep_blind_index
from workflow.org.models import Unit


class Building(Base):
    """A building (楼栋) of a compound (小区), tied to the grid unit that looks after it."""

    __tablename__ = "registry_buildings"
    __table_args__ = (UniqueConstraint("compound", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    compound: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    grid_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)

    grid: Mapped[Unit] = relationship(lazy="joined")


class Address(Base):
    """A room of a building: entrance (单元), floor and room number."""

    __tablename__ = "registry_addresses"
    __table_args__ = (UniqueConstraint("building_id", "entrance", "room"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("registry_buildings.id"), index=True)
    entrance: Mapped[str] = mapped_column(String(20), default="")
    floor: Mapped[int | None] = mapped_column(Integer)
    room: Mapped[str] = mapped_column(String(20))

    building: Mapped[Building] = relationship(lazy="joined")


class Household(Base):
    """A household (户) living at one address."""

    __tablename__ = "registry_households"

    id: Mapped[int] = mapped_column(primary_key=True)
    address_id: Mapped[int] = mapped_column(ForeignKey("registry_addresses.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    address: Mapped[Address] = relationship(lazy="joined")
    residents: Mapped[list[Resident]] = relationship(back_populates="household", order_by="Resident.id")


class Resident(Base):
    """A member of a household; name, phone and ID number encrypted at rest, looked up by their blind indexes."""

    __tablename__ = "registry_residents"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("registry_households.id"), index=True)
    name: Mapped[str] = mapped_column(Encrypted("registry_residents.name"))
    relation: Mapped[str] = mapped_column(String(20))
    sex: Mapped[str | None] = mapped_column(String(1))
    birth_date: Mapped[date | None] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(Encrypted("registry_residents.phone"))
    # Finding a household by a caller's phone (addresses.search) compares this.
    phone_index: Mapped[str | None] = mapped_column(blind_index_column(), index=True)
    id_number: Mapped[str | None] = mapped_column(Encrypted("registry_residents.id_number"))
    # Unique: one person is in one household; the duplicate-person check of the import relies on it.
    id_number_index: Mapped[str | None] = mapped_column(blind_index_column(), unique=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)

    household: Mapped[Household] = relationship(back_populates="residents")


class PartyMember(Base):
    """A party member of a branch: a central household (中心户) or an in-service member (在职党员进社区)."""

    __tablename__ = "registry_party_members"
    __table_args__ = (UniqueConstraint("branch_unit_id", "name", "phone_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    branch_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    phone: Mapped[str | None] = mapped_column(Encrypted("registry_party_members.phone"))
    # One member per name and phone in a branch: the constraint compares the blind index.
    phone_index: Mapped[str | None] = mapped_column(blind_index_column())
    # The household unit of the org tree when this member is a central household.
    household_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    central_household: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    in_service: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    service: Mapped[str | None] = mapped_column(String(200))

    branch: Mapped[Unit] = relationship(foreign_keys=[branch_unit_id], lazy="joined")


class Care(Base):
    """A household a central household looks after (5 to 20 of them)."""

    __tablename__ = "registry_care"
    __table_args__ = (UniqueConstraint("party_member_id", "household_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    party_member_id: Mapped[int] = mapped_column(ForeignKey("registry_party_members.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("registry_households.id"), index=True)


class RegistryStep(Base):
    """One change, reveal or export of the register: who, when, what."""

    __tablename__ = "registry_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("registry_households.id"), index=True)
    party_member_id: Mapped[int | None] = mapped_column(ForeignKey("registry_party_members.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Names the residents added or changed: encrypted at rest.
    detail: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("registry_steps.detail"), default=dict)


class Visit(Base):
    """A patrol visit (排查走访) to a household: who went, when, whom they met, what they found."""

    __tablename__ = "registry_visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("registry_households.id"), index=True)
    visitor: Mapped[str] = mapped_column(String(64))
    visited_on: Mapped[date] = mapped_column(Date, index=True)
    met: Mapped[str | None] = mapped_column(Encrypted("registry_visits.met"))  # a resident's name
    # nothing | service (a need for a service) | risk (a tension, a resident in difficulty) | case
    outcome: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(2000))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


keep_blind_index(Resident.phone, "phone_index", "phone")
keep_blind_index(Resident.id_number, "id_number_index", "id_number")
keep_blind_index(PartyMember.phone, "phone_index", "phone")
