"""The org file: units of the five levels, nested, with their members."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from schemas.vocabulary import Level, Role

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64,
                                        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


class MemberSpec(BaseModel):
    """A member of a unit in the org file."""

    model_config = ConfigDict(extra="forbid")

    user: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64,
                                           pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    role: Role
    phone: str | None = None
    language: str | None = Field(default=None, pattern=r"^(zh_Hans|zh_Hant|en)$")


class UnitSpec(BaseModel):
    """A unit in the org file, with its children one level below."""

    model_config = ConfigDict(extra="forbid")

    code: Code
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    level: Level
    members: list[MemberSpec] = Field(default_factory=list)
    children: list[UnitSpec] = Field(default_factory=list)


class OrgFile(BaseModel):
    """The whole org file."""

    model_config = ConfigDict(extra="forbid")

    units: list[UnitSpec]
