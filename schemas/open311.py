"""Open311 GeoReport v2: the JSON shapes of its answers and the parameters of its methods (field names as the spec)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

Format = Literal["json", "xml"]


class Open311Error(BaseModel):
    """One error: a code (the HTTP status, or a more precise one) and a sentence for people."""

    code: int
    description: str


class Open311Errors(RootModel[list[Open311Error]]):
    """The spec's error answer: an array of errors."""


class Endpoint(BaseModel):
    """One endpoint in the discovery document."""

    specification: str
    url: str
    changeset: str
    type: Literal["production", "test"]
    formats: list[str]


class Discovery(BaseModel):
    """The service discovery document."""

    changeset: str
    contact: str
    key_service: str
    endpoints: list[Endpoint]


class Service(BaseModel):
    """A service (one per category)."""

    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: Literal["realtime", "batch", "blackbox"]
    keywords: str
    group: str


class Services(RootModel[list[Service]]):
    """GET services."""


class AttributeValue(BaseModel):
    """An allowed value of a list attribute."""

    key: str
    name: str


class Attribute(BaseModel):
    """A question of a service definition."""

    variable: bool
    code: str
    datatype: Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
    required: bool
    datatype_description: str | None
    order: int
    description: str
    values: list[AttributeValue] = Field(default_factory=list)


class ServiceDefinition(BaseModel):
    """GET services/{service_code}."""

    service_code: str
    attributes: list[Attribute]


class CreatedRequest(BaseModel):
    """The answer to POST requests: the id, or a token when the key answers asynchronously."""

    service_request_id: str | None = None
    token: str | None = None
    service_notice: str | None = None
    account_id: str | None = None


class CreatedRequests(RootModel[list[CreatedRequest]]):
    """POST requests."""


class TokenAnswer(BaseModel):
    """GET tokens/{token_id}."""

    service_request_id: str
    token: str


class TokenAnswers(RootModel[list[TokenAnswer]]):
    """GET tokens/{token_id}."""


class ServiceRequest(BaseModel):
    """A request as anyone may read it (personal data masked)."""

    service_request_id: str
    status: Literal["open", "closed"]
    status_notes: str | None
    service_name: str
    service_code: str
    description: str
    agency_responsible: str
    service_notice: str | None
    requested_datetime: str
    updated_datetime: str
    expected_datetime: str | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None


class ServiceRequests(RootModel[list[ServiceRequest]]):
    """GET requests and GET requests/{id}."""


class FormatPath(BaseModel):
    """The format suffix of every method."""

    fmt: Format = Field(description="json or xml (the suffix: requests.json, requests.xml)")


class ServicePath(FormatPath):
    """A service code in the path."""

    service_code: str


class TokenPath(FormatPath):
    """A token in the path."""

    token_id: str


class RequestPath(FormatPath):
    """A request id in the path."""

    service_request_id: str


class LocaleQuery(BaseModel):
    """Parameters every method takes."""

    model_config = ConfigDict(extra="allow")

    jurisdiction_id: str | None = Field(default=None, description="Ignored: this endpoint serves one jurisdiction")
    locale: str | None = Field(default=None, description="zh_Hans, zh_Hant or en (else Accept-Language)")


class RequestsQuery(LocaleQuery):
    """The filters of GET requests (and the common page / page_size extension)."""

    service_request_id: str | None = Field(default=None, description="Comma-separated ids; overrides the rest",
                                           pattern=r"^\s*\d{1,12}\s*(,\s*\d{1,12}\s*)*$")
    service_code: str | None = Field(default=None, description="Comma-separated service codes")
    # No "format": the specification counts an empty parameter as absent, which a date-time format would refuse.
    start_date: str | None = Field(default=None, description="w3 date-time with a zone (empty: absent); default: "
                                   "90 days before end_date")
    end_date: str | None = Field(default=None, description="w3 date-time with a zone (empty: absent); default: "
                                 "now; at most 90 days after start_date")
    status: str | None = Field(default=None, description="open, closed, or both comma-separated",
                               pattern=r"^\s*(open|closed)\s*(,\s*(open|closed)\s*)?$")
    page: int | None = Field(default=None, ge=1, le=1_000_000, description="1 and up (default 1)")
    page_size: int | None = Field(default=None, ge=1, le=1000, description="1 to 1000 (default 1000)")
