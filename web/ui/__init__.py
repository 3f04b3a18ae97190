"""The browser UI: staff pages, the resident's status page, administration (Jinja, htmx, Pico; no CDN)."""

from __future__ import annotations

from flask import Blueprint, Flask

from web.ui import (
    accounts,
    admin,
    analysis,
    case_page,
    decision_pages,
    errors,
    exports,
    i18n,
    integrators,
    love_call,
    mediation_page,
    registry_pages,
    reports,
    resident,
    residents_admin,
    security,
    self_report,
    staff,
    wording,
)

# Templates and the vendored stylesheet and scripts, served from the app itself.
assets = Blueprint("ui", __name__, template_folder="templates", static_folder="static", static_url_path="/static")


def init_ui(app: Flask) -> None:
    """Install the pages and what guards them on ``app``."""
    security.init(app)
    i18n.init(app)
    accounts.init(app)
    errors.init(app)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.globals.update(role_label=wording.role_label, step_label=wording.step_label,
                                 party_role_label=wording.party_role_label, field_label=wording.field_label,
                                 channel_label=wording.channel_label,
                                 delivery_status_label=wording.delivery_status_label,
                                 answer_label=wording.answer_label, satisfaction_label=wording.satisfaction_label)
    for blueprint in (assets, accounts.bp, staff.bp, case_page.bp, mediation_page.bp, resident.bp, admin.bp,
                      integrators.bp, analysis.bp, exports.bp, reports.bp, registry_pages.bp, love_call.bp,
                      decision_pages.bp, self_report.bp, residents_admin.bp):
        app.register_blueprint(blueprint)
