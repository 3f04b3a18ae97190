"""The pages' forms (Flask-WTF: each carries its CSRF token)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields import SelectChoice
from wtforms.i18n import get_translations
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp, StopValidation

from web.ui.i18n import current_language

# WTForms' own messages ("This field is required.") in the page language: its catalogues are
# named zh and zh_TW, which Flask-WTF's lookup by the page locale (zh_Hant) would miss.
_WTFORMS_LANGUAGES = {"zh_Hans": ["zh"], "zh_Hant": ["zh_TW"], "en": ["en"]}


class PageForm(FlaskForm):  # type: ignore[misc]
    """A form of the pages: CSRF-protected, its built-in messages in the page language."""

    class Meta:
        """WTForms' per-form settings."""

        def get_translations(self, form: Any) -> Any:
            """Return WTForms' catalogue for the page language."""
            return get_translations(_WTFORMS_LANGUAGES.get(current_language(), ["zh"]))


PHONE = Regexp(r"^\+?[0-9 -]{5,20}$", message=_l("Digits only, e.g. 13800138000."))


_NAME_WITH_PHONE = _l("Give a name with this phone (a surname is enough), or leave the phone empty.")


class NamedWithPhone:
    """A person's name is required when their phone is given: a phone alone would not be stored."""

    def __init__(self, phone_field: str) -> None:
        """Name the phone field this name belongs with."""
        self.phone_field = phone_field

    def __call__(self, form: Any, field: Any) -> None:
        """Refuse an empty name beside a phone; an empty name without a phone is fine."""
        if (field.data or "").strip():
            return
        field.errors[:] = []
        if (form[self.phone_field].data or "").strip():
            raise StopValidation(str(_NAME_WITH_PHONE))
        raise StopValidation()


class LoginForm(PageForm):
    """Name and password."""

    name = StringField(_l("Login name"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class LanguageForm(PageForm):
    """The member's language for the pages."""

    language = SelectField(_l("Language"), validators=[DataRequired()],
                           choices=[SelectChoice("zh_Hans", "简体中文"), SelectChoice("zh_Hant", "繁體中文"),
                                    SelectChoice("en", "English")])


class PasswordForm(PageForm):
    """A member changing their own password."""

    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    again = PasswordField(_l("New password again"),
                          validators=[DataRequired(), EqualTo("new", message=_l("The two new passwords differ."))])


class NewCaseForm(PageForm):
    """What a grid leader logs: where, what, who, how urgent, and photos."""

    # Chosen by the leader every time: a preselected first category got cases filed under it in a hurry.
    category = SelectField(_l("Category"), validators=[DataRequired(message=_l("Choose the category."))])
    grid = SelectField(_l("Grid"), validators=[DataRequired()])
    address = StringField(_l("Or the address (the case goes to that building's grid)"),
                          validators=[Optional(), Length(max=200)])
    severity = SelectField(_l("Severity"), validators=[Optional()])
    description = TextAreaField(_l("What happened"), validators=[DataRequired(), Length(max=4000)])
    reporter_name = StringField(_l("Resident's name"), validators=[NamedWithPhone("reporter_phone"), Length(max=64)])
    reporter_phone = StringField(_l("Resident's phone"), validators=[Optional(), PHONE])
    other_name = StringField(_l("Other party's name"), validators=[NamedWithPhone("other_phone"), Length(max=64)])
    other_phone = StringField(_l("Other party's phone"), validators=[Optional(), PHONE])
    photo = MultipleFileField(_l("Photos"))
    # The form's own idempotency key, made when the form is opened: it becomes the event id, so
    # sending the same form again (back, submit) lands on the case it made the first time.
    submission_id = HiddenField(validators=[Optional(), Regexp(r"^[0-9a-f-]{32,36}$")])


class ActionForm(PageForm):
    """One action on a case, with the text it needs; the version guards against acting on a stale page."""

    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=4000)])
    summary = TextAreaField(_l("What was done"), validators=[Optional(), Length(max=4000)])
    message = TextAreaField(_l("Message"), validators=[Optional(), Length(max=4000)])
    extend_by = SelectField(_l("Extend by"), choices=[SelectChoice(f"P{n}D", str(n)) for n in (1, 2, 3, 5)],
                            validators=[Optional()])
    merge_into = IntegerField(_l("Merge into case"), validators=[Optional()])
    expected_version = HiddenField()


class RevealForm(PageForm):
    """Asks to see one party's full details (logged)."""


class TrackForm(PageForm):
    """The resident's lookup: tracking code and the last four digits of their phone."""

    code = StringField(_l("Tracking code"), validators=[DataRequired(), Length(max=40)])
    phone_last4 = StringField(_l("Last four digits of your phone"),
                              validators=[DataRequired(), Regexp(r"^[0-9]{4}$", message=_l("Four digits."))])


class EvaluationForm(PageForm):
    """The resident's answer after report back."""

    resolved = RadioField(_l("Was the problem resolved?"), validators=[DataRequired()],
                          choices=[SelectChoice("yes", _l("Yes")), SelectChoice("partly", _l("Partly")),
                                   SelectChoice("no", _l("No"))])
    satisfaction = RadioField(_l("How satisfied are you?"), validators=[DataRequired()], coerce=int,
                              choices=[SelectChoice(str(n), label) for n, label in (
                                  (5, _l("Very satisfied")), (4, _l("Satisfied")), (3, _l("Neutral")),
                                  (2, _l("Unsatisfied")), (1, _l("Very unsatisfied")))])
    comment = TextAreaField(_l("Anything to add?"), validators=[Optional(), Length(max=1000)])


class RegistryImportForm(PageForm):
    """A 台账 to import: the file, its sheet, a dry run or not, the good rows only or not."""

    file = FileField(_l("台账 file (.xlsx or .csv)"), validators=[DataRequired()])
    sheet = StringField(_l("Sheet (empty: the first)"), validators=[Optional(), Length(max=100)])
    dry_run = BooleanField(_l("Only check, store nothing"), default=True)
    good_rows_only = BooleanField(_l("Store the good rows even if some are refused"))


class BuildingImportForm(PageForm):
    """A building list to import: the file, its sheet, a dry run or not."""

    file = FileField(_l("Building list (.xlsx or .csv)"), validators=[DataRequired()])
    sheet = StringField(_l("Sheet (empty: the first)"), validators=[Optional(), Length(max=100)])
    dry_run = BooleanField(_l("Only check, store nothing"), default=True)


class VisitForm(PageForm):
    """A patrol visit recorded from the phone: when, whom, what was found, and a case if there is a problem."""

    visited_on = DateField(_l("Date of the visit"), validators=[Optional()])
    met = StringField(_l("Who was met"), validators=[Optional(), Length(max=100)])
    outcome = RadioField(_l("What was found"), choices=[
        SelectChoice("nothing", _l("Nothing to report")), SelectChoice("service", _l("A need for a service")),
        SelectChoice("risk", _l("A risk (a tension, a resident in difficulty)")),
        SelectChoice("case", _l("A problem to log as a case now"))],
        default="nothing", validators=[DataRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])
    category = SelectField(_l("Category of the case"), validators=[Optional()])
    next_check_on = DateField(_l("Look again by"), validators=[Optional()])


class RiskCheckForm(PageForm):
    """A check of a risk on the register: still there (and when to look again), resolved, or a case now."""

    outcome = RadioField(_l("What the check found"), choices=[
        SelectChoice("ongoing", _l("Still there: look again later")), SelectChoice("resolved", _l("Resolved")),
        SelectChoice("case", _l("A problem to log as a case now"))],
        default="ongoing", validators=[DataRequired()])
    note = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=2000)])
    next_check_on = DateField(_l("Look again by"), validators=[Optional()])
    category = SelectField(_l("Category of the case"), validators=[Optional()])


class PhoneForm(PageForm):
    """The resident's mobile number, to send a code to."""

    phone = StringField(_l("Your mobile number"), validators=[DataRequired(), Length(max=20), PHONE])


class PhoneCodeForm(PageForm):
    """The six-digit code the resident received."""

    phone = HiddenField(validators=[DataRequired(), Length(max=20)])
    code = StringField(_l("The six-digit code from the SMS"),
                       validators=[DataRequired(), Regexp(r"^\s*[0-9]{6}\s*$", message=_l("Six digits."))])


class ResidentReportForm(PageForm):
    """What a resident reports: what, where, what happened, photos, name, when; the phone is confirmed already."""

    category = RadioField(_l("What happened?"), validators=[DataRequired(message=_l("Choose what happened."))])
    danger = BooleanField(_l("Someone is in danger now"))
    compound = SelectField(_l("Compound"), validators=[Optional()], validate_choice=False)
    building = SelectField(_l("Building"), validators=[DataRequired(message=_l("Choose the building."))])
    description = TextAreaField(_l("Tell us what happened"), validators=[DataRequired(), Length(max=2000)])
    photo = MultipleFileField(_l("Photos (up to three)"))
    name = StringField(_l("Your name (a surname is enough)"), validators=[DataRequired(), Length(max=64)])
    occurred_at = DateTimeLocalField(_l("When did it happen? (optional)"), validators=[Optional()],
                                     format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"])
    submission_id = HiddenField(validators=[Optional(), Regexp(r"^[0-9a-f-]{32,36}$")])
