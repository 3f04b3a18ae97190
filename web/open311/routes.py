"""The GeoReport v2 methods: discovery, services, a service definition, POST and GET requests, tokens."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, request, url_for
from flask_babel import force_locale
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag

from schemas.open311 import (
    CreatedRequests,
    Discovery,
    FormatPath,
    LocaleQuery,
    Open311Errors,
    RequestPath,
    RequestsQuery,
    ServiceDefinition,
    ServicePath,
    ServiceRequests,
    Services,
    TokenAnswers,
    TokenPath,
)
from schemas.vocabulary import Category
from web.api.integrator_keys import Refusal, check_key, key_of
from web.open311 import texts
from web.open311.formats import JSON_TYPE, XML_TYPE, answer, errors
from web.session import db_session, engine, publish_event
from workflow.base import config
from workflow.base.errors import DomainError, NotFound
from workflow.cases.categories import CATEGORIES
from workflow.cases.tracking import display
from workflow.integrators import reading
from workflow.integrators.catalogue import attributes_of, category_of, group_of
from workflow.integrators.filing import Submission, case_for_token, file_request
from workflow.integrators.keys import KeyHolder

SPEC = "http://wiki.open311.org/GeoReport_v2"
# Bumped when the services or their attributes change: clients cache definitions by it.
CHANGESET = "2026-12-02T00:00:00Z"
FMT = "<any(json, xml):fmt>"

api = APIBlueprint("open311", __name__, url_prefix="/open311/v2", abp_tags=[Tag(name="open311")])

def _both(model: Any, description: str = "JSON, or XML with the same fields as elements (arrays as repeated "
                                           "elements)") -> dict[str, Any]:
    """Document an answer in JSON (the model) and XML (the same fields as elements)."""
    return {"description": description,
            "content": {JSON_TYPE.split(";")[0]: {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}},
                        XML_TYPE.split(";")[0]: {"schema": {"type": "string"}}}}


def _errors(*statuses: int) -> dict[str | int, Any]:
    """Document error answers: the spec's array of {code, description}, in the format asked for."""
    meaning = {400: "A parameter is missing or wrong (the description names it)",
               403: "The api_key is missing, unknown, revoked, or lacks the scope",
               404: "No such service, request, token or format", 405: "Method not allowed",
               429: "The api_key's rate was exceeded (Retry-After says when to try again)"}
    return {status: _both(Open311Errors, meaning[status]) for status in statuses}


_ERRORS = _errors(400, 404, 405)
_READ_ERRORS = _errors(400, 403, 404, 405, 429)


def _refused(fmt: str, exc: DomainError) -> Response:
    status = 404 if isinstance(exc, NotFound) else 400
    # The spec's errors carry no field: the description names it first.
    named = exc.field and not exc.message.startswith(exc.field)
    return errors(fmt, status, f"{exc.field}: {exc.message}" if named else exc.message)


def _local(value: datetime | None) -> str | None:
    # w3 date-times with the offset of the deployment's zone, as residents read the clock.
    return value.astimezone(ZoneInfo(config.timezone_name())).isoformat(timespec="seconds") if value else None


def _reads_need_key() -> bool:
    return os.environ.get("GRIDCASE_OPEN311_READ_KEY", "").lower() in ("1", "true", "yes", "on")


def _read_refusal(fmt: str) -> Response | None:
    """Refuse a read without a key with the read scope, where the deployment asks for one."""
    if not _reads_need_key():
        return None
    checked = check_key(key_of(request, "api_key"), "read")
    if isinstance(checked, Refusal):
        headers = {"Retry-After": str(checked.retry_after)} if checked.retry_after else None
        return errors(fmt, checked.status, checked.message, headers=headers)
    return None


@api.get(f"/discovery.{FMT}", summary="Service discovery", responses={200: _both(Discovery), **_ERRORS})
def get_discovery(path: FormatPath) -> Response:
    """Return the endpoint, its formats, changeset, contact and how to get a key."""
    with force_locale(texts.language_of(request)):
        body = {
            "changeset": CHANGESET, "contact": texts.contact_text(), "key_service": texts.key_service_text(),
            "endpoints": [{"specification": SPEC, "url": url_for("open311.get_discovery", fmt=path.fmt,
                                                                 _external=True).rsplit("/", 1)[0],
                           "changeset": CHANGESET, "type": "production",
                           "formats": [XML_TYPE.split(";")[0], JSON_TYPE.split(";")[0]]}],
        }
    return answer(path.fmt, "discovery", body)


def _service(category: Category, language: str) -> dict[str, Any]:
    info = CATEGORIES[category]
    name = {"zh_Hans": info.zh_hans, "zh_Hant": info.zh_hant, "en": info.en}[language]
    group = group_of(category)
    return {"service_code": category.value, "service_name": name,
            "description": f"{name}: {texts.GROUP_DESCRIPTIONS[group]}",
            "metadata": bool(attributes_of(category)), "type": "realtime",
            "keywords": ", ".join(dict.fromkeys([info.zh_hans, info.zh_hant, info.en])),
            "group": str(texts.GROUPS[group])}


@api.get(f"/services.{FMT}", summary="Services (one per category)", responses={200: _both(Services), **_ERRORS})
def get_services(path: FormatPath, query: LocaleQuery) -> Response:
    """Return every service, named in the language asked for (``locale`` or Accept-Language)."""
    language = texts.language_of(request)
    with force_locale(language):
        body = [_service(category, language) for category in CATEGORIES]
    return answer(path.fmt, "services", body)


@api.get(f"/services/<service_code>.{FMT}", summary="A service definition",
         responses={200: _both(ServiceDefinition), **_ERRORS})
def get_service_definition(path: ServicePath, query: LocaleQuery) -> Response:
    """Return the attributes of a service: what a dispute needs answered."""
    try:
        category = category_of(path.service_code)
    except DomainError as exc:
        return _refused(path.fmt, exc)
    with force_locale(texts.language_of(request)):
        attributes = [{"variable": a.variable, "code": a.code, "datatype": a.datatype, "required": a.required,
                       "datatype_description": texts.datatype_hint(a), "order": a.order,
                       "description": texts.question(a),
                       "values": [{"key": v, "name": texts.value_name(v)} for v in a.values]}
                      for a in attributes_of(category)]
    return answer(path.fmt, "service_definition", {"service_code": category.value, "attributes": attributes})


_FORM_FIELDS = ("service_code", "lat", "long", "lon", "address_string", "address_id", "email", "device_id",
                "account_id", "first_name", "last_name", "phone", "description", "media_url")
_POST_BODY = {
    "requestBody": {
        "required": True,
        "description": "application/x-www-form-urlencoded as the spec sends it. api_key is required (or "
                       "X-Api-Key / Authorization: Bearer). A location is required: lat and long (or lon), "
                       "address_string, or address_id (a building or grid code). attribute[CODE]=value answers "
                       "the service definition (attribute[CODE][]=v for a multivaluelist). The same content "
                       "from the same key within the retry window gets the first answer.",
        "content": {"application/x-www-form-urlencoded": {"schema": {
            "type": "object", "required": ["service_code"],
            "properties": {**{name: {"type": "string"} for name in ("api_key", "jurisdiction_id", *_FORM_FIELDS)},
                           "service_code": {"type": "string", "pattern": "^[A-Za-z]{3}$"}},
            "additionalProperties": {"type": "string"},
        }}},
    }
}


def _attributes(form: Any) -> dict[str, list[str]]:
    """Collect ``attribute[CODE]`` and ``attribute[CODE][]`` fields, every value of each."""
    found: dict[str, list[str]] = {}
    for name in form:
        if name.startswith("attribute[") and name.endswith("]"):
            code = name[len("attribute["):].removesuffix("[]").removesuffix("]")
            found.setdefault(code, []).extend(form.getlist(name))
    return found


@api.post(f"/requests.{FMT}", summary="Create a service request (api_key required)",
          responses={200: _both(CreatedRequests, "A retry: the first answer again"),
                     201: _both(CreatedRequests, "Filed: a new case"), **_errors(400, 403, 404, 405, 429)},
          security=[{"api_key": []}], openapi_extensions=_POST_BODY)
def post_request(path: FormatPath) -> Response:
    """File a request as a case through intake; answer its id (or a token) and a notice."""
    form = request.form
    checked = check_key(key_of(request, "api_key"), "submit")
    if isinstance(checked, Refusal):
        headers = {"Retry-After": str(checked.retry_after)} if checked.retry_after else None
        return errors(path.fmt, checked.status, checked.message, headers=headers)
    holder: KeyHolder = checked
    if not (form.get("service_code") or "").strip():
        return errors(path.fmt, 400, "service_code is required; GET services lists them")
    sub = Submission(
        service_code=form.get("service_code", ""), lat=form.get("lat"),
        lon=form.get("long") or form.get("lon"),  # some clients send lon
        address_string=form.get("address_string"), address_id=form.get("address_id"), email=form.get("email"),
        device_id=form.get("device_id"), account_id=form.get("account_id"), first_name=form.get("first_name"),
        last_name=form.get("last_name"), phone=form.get("phone"), description=form.get("description"),
        media_url=form.get("media_url"), attributes=_attributes(form))
    try:
        filed = file_request(engine(), holder, sub)
    except DomainError as exc:
        return _refused(path.fmt, exc)
    if not filed.duplicate:
        publish_event(filed.inbox_id)
    code = display(filed.tracking_code)
    # The resident's status page, as notices link it (the API's /api/v1/track is for programs).
    status_url = f"{config.public_base_url()}/track?code={code}"
    with db_session() as session:
        view = reading.one(session, str(filed.case_id), texts.language_of(request))
        unit = view.case.holding_unit.name
    with force_locale(texts.language_of(request)):
        notice = texts.notice_filed(code, unit, status_url)
    created: dict[str, Any] = ({"token": filed.token} if holder.answer == "batch"
                               else {"service_request_id": str(filed.case_id)})
    created["service_notice"] = notice
    if sub.account_id:
        created["account_id"] = sub.account_id
    return answer(path.fmt, "service_requests", [created], status=200 if filed.duplicate else 201)


@api.get(f"/tokens/<token_id>.{FMT}", summary="The request id of a token",
         responses={200: _both(TokenAnswers), **_READ_ERRORS})
def get_token(path: TokenPath, query: LocaleQuery) -> Response:
    """Return the service_request_id a token stands for."""
    refusal = _read_refusal(path.fmt)
    if refusal is not None:
        return refusal
    with db_session() as session:
        case = case_for_token(session, path.token_id)
        if case is None:
            return errors(path.fmt, 404, f"token '{path.token_id}' was not found")
        body = [{"service_request_id": str(case.id), "token": path.token_id}]
    return answer(path.fmt, "service_requests", body)


def _request(view: reading.RequestView) -> dict[str, Any]:
    case, extra = view.case, view.extra
    is_open = view.status == "open"
    return {
        "service_request_id": str(case.id), "status": view.status, "status_notes": view.status_notes,
        "service_name": view.service_name, "service_code": case.category, "description": view.description,
        "agency_responsible": case.holding_unit.name,
        "service_notice": texts.notice_handling(case.holding_unit.name, _local(case.deadline_at)) if is_open else None,
        "requested_datetime": _local(case.submitted_at), "updated_datetime": _local(case.updated_at),
        "expected_datetime": _local(case.deadline_at) if is_open else None,
        "address": extra.address if extra else None, "address_id": extra.address_id if extra else None,
        "zipcode": None, "lat": extra.lat if extra else None, "long": extra.lon if extra else None,
        "media_url": extra.media_url if extra else None,
    }


@api.get(f"/requests.{FMT}", summary="Service requests (filters, 90 days, at most 1,000 a page)",
         responses={200: _both(ServiceRequests), **_READ_ERRORS})
def get_requests(path: FormatPath, query: RequestsQuery) -> Response:
    """Return the requests the filters select, the most recent first, masked as the tracking view is."""
    refusal = _read_refusal(path.fmt)
    if refusal is not None:
        return refusal
    language = texts.language_of(request)
    try:
        filters = reading.parse_query(query.service_request_id, query.service_code, query.start_date,
                                      query.end_date, query.status,
                                      None if query.page is None else str(query.page),
                                      None if query.page_size is None else str(query.page_size))
    except DomainError as exc:
        return _refused(path.fmt, exc)
    with db_session() as session, force_locale(language):
        body = [_request(v) for v in reading.search(session, filters, language)]
    return answer(path.fmt, "service_requests", body)


@api.get(f"/requests/<service_request_id>.{FMT}", summary="One service request",
         responses={200: _both(ServiceRequests), **_READ_ERRORS})
def get_request(path: RequestPath, query: LocaleQuery) -> Response:
    """Return one request: its status follows every step of the case."""
    refusal = _read_refusal(path.fmt)
    if refusal is not None:
        return refusal
    language = texts.language_of(request)
    try:
        with db_session() as session, force_locale(language):
            body = [_request(reading.one(session, path.service_request_id, language))]
    except DomainError as exc:
        return _refused(path.fmt, exc)
    return answer(path.fmt, "service_requests", body)
