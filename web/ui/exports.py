"""Exports of case lists (my queue, my unit's inbox, the cases behind a figure) to CSV and XLSX."""

from __future__ import annotations

from flask import Blueprint, Response, abort, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from web.session import db_session
from web.ui.accounts import login_required, member_row
from web.ui.errors import html_errors
from web.ui.i18n import current_language
from workflow.analysis import exports
from workflow.base import wallclock

bp = Blueprint("exports", __name__)
html_errors(bp)

HEADERS = {
    "case": _l("Case"), "grid": _l("Grid"), "category": _l("Category"), "severity": _l("Severity"),
    "channel": _l("Channel"), "state": _l("State"), "level": _l("Level"), "submitted_at": _l("Received"),
    "deadline_at": _l("Deadline"), "supervised": _l("Supervised"), "reopened": _l("Reopened"),
    "reporter": _l("Reporter"), "reporter_phone": _l("Reporter's phone"), "description": _l("Description"),
}
_TYPES = {"csv": "text/csv; charset=utf-8",
          "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@bp.get("/exports/<kind>.<file_format>")
@login_required
def export(kind: str, file_format: str) -> ResponseReturnValue:
    """Send a case list as a file; the export is put on record with the cases it held."""
    if kind not in exports.KINDS or file_format not in exports.FORMATS:
        abort(404)
    with db_session() as session:
        user = member_row(session)
        ids, params = exports.listed(session, user, kind, dict(request.args.items()))
        found = exports.table(session, user, ids, current_language())
        exports.record(session, user, kind, params, ids, file_format, found)
    headers = [str(HEADERS[c]) for c in exports.COLUMNS]
    title = {"queue": _("My queue"), "inbox": _("Inbox of my unit"), "figure": _("Cases")}[kind]
    body = (exports.to_csv(headers, found.rows) if file_format == "csv"
            else exports.to_xlsx(headers, found.rows, title))
    stamp = wallclock.now().strftime("%Y%m%d-%H%M")
    return Response(body, mimetype=_TYPES[file_format],
                    headers={"Content-Disposition": f'attachment; filename="gridcase-{kind}-{stamp}.{file_format}"',
                             "Cache-Control": "no-store"})
