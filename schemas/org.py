"""The org file: units of the five levels, nested, with their members."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from schemas.vocabulary import Category, Level, Role, Severity

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64,
                                        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]

Channel = Literal["email", "sms", "wecom", "dingtalk", "webhook"]


class SubscriptionSpec(BaseModel):
    """Who hears of which events: the unit's members (channel ``members``) or one address."""

    model_config = ConfigDict(extra="forbid")

    topics: list[str] = Field(default_factory=lambda: ["*"], description="Event kinds, e.g. case.escalated; * is all")
    subtree: bool = Field(default=False, description="Also the events of every unit below")
    categories: list[Category] | None = None
    severities: list[Severity] | None = None
    channel: Literal["members", "email", "sms", "wecom", "dingtalk", "webhook"] = "members"
    target: str | None = Field(default=None, description="Robot or webhook URL, email address or phone")
    secret: str | None = Field(default=None, description="DingTalk signing secret, or the webhook's HMAC key")
    language: Literal["zh_Hans", "zh_Hant", "en"] | None = None

    @model_validator(mode="after")
    def _target_when_needed(self) -> SubscriptionSpec:
        if self.channel != "members" and not self.target:
            raise ValueError(f"channel {self.channel} needs a target")
        if self.channel in ("wecom", "dingtalk", "webhook") and not str(self.target).startswith(("http://", "https://")):
            raise ValueError(f"the {self.channel} target must be an http(s) URL")
        return self


class MemberSpec(BaseModel):
    """A member of a unit in the org file."""

    model_config = ConfigDict(extra="forbid")

    user: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64,
                                           pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    role: Role
    phone: str | None = None
    language: str | None = Field(default=None, pattern=r"^(zh_Hans|zh_Hant|en)$")
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    channels: list[Channel] | None = Field(default=None, description="First choice first; default email, sms")
    quiet_hours: str | None = Field(default=None, pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$",
                                    description="Local hours when only P0 notices are sent, e.g. 22:00-07:00")


class Area(BaseModel):
    """Where a unit is on the ground: a centre and radius, or a polygon; WGS-84 degrees as given."""

    model_config = ConfigDict(extra="forbid")

    centre: tuple[Latitude, Longitude] | None = Field(default=None, description="[lat, lon] of the centre")
    radius_m: Annotated[float, Field(gt=0, le=50_000)] | None = Field(default=None, description="Radius in metres")
    polygon: Annotated[list[tuple[Latitude, Longitude]], Field(min_length=3, max_length=500)] | None = Field(
        default=None, description="[[lat, lon], ...] corners in order; the last joins the first")

    @model_validator(mode="after")
    def _one_shape(self) -> Area:
        circle = self.centre is not None or self.radius_m is not None
        if circle and (self.centre is None or self.radius_m is None):
            raise ValueError("a circle needs both centre and radius_m")
        if circle == (self.polygon is not None):
            raise ValueError("give either centre and radius_m, or polygon")
        return self


class UnitSpec(BaseModel):
    """A unit in the org file, with its children one level below."""

    model_config = ConfigDict(extra="forbid")

    code: Code
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    level: Level
    members: list[MemberSpec] = Field(default_factory=list)
    subscriptions: list[SubscriptionSpec] | None = None
    area: Area | None = Field(default=None, description="Where the unit is: requests with coordinates go "
                              "to the grid whose area holds them")
    children: list[UnitSpec] = Field(default_factory=list)


class OrgFile(BaseModel):
    """The whole org file."""

    model_config = ConfigDict(extra="forbid")

    units: list[UnitSpec]
