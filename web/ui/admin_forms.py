"""The administrator's forms (Flask-WTF: each carries its CSRF token); choices are filled by the views."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from web.ui.forms import PageForm
from workflow.org.members import MIN_PASSWORD_LENGTH

CODE = Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
              message=_l("Letters, digits, '.', '_' or '-', starting with a letter or digit."))
PHONE = Regexp(r"^\+?[0-9 -]{5,20}$", message=_l("Digits only, e.g. 13800138000."))
EMAIL = Regexp(r"^[^@\s]+@[^@\s]+$", message=_l("Not an email address."))
LANGUAGES = [SelectChoice("zh_Hans", "简体中文"), SelectChoice("zh_Hant", "繁體中文"), SelectChoice("en", "English")]
MEMBER_LANGUAGES = [SelectChoice("", _l("As the browser asks")), *LANGUAGES]
NOTICE_LANGUAGES = [SelectChoice("", _l("Default (简体中文)")), *LANGUAGES]


class MultiCheckboxField(SelectMultipleField):  # type: ignore[misc]
    """A multiple choice shown as a list of checkboxes (easier on a phone than a multi-select box)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RenameUnitForm(PageForm):
    """A unit's new name."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])


class ChildUnitForm(PageForm):
    """A unit to add one level below another."""

    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=64), CODE])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])


class MemberForm(PageForm):
    """What the administrator sets on a member; an empty password keeps the current one."""

    display_name = StringField(_l("Name shown"), validators=[DataRequired(), Length(max=100)])
    role = SelectField(_l("Role"), validators=[DataRequired()])
    unit = SelectField(_l("Unit"), validators=[DataRequired()])
    phone = StringField(_l("Phone"), validators=[Optional(), PHONE])
    email = StringField(_l("Email"), validators=[Optional(), Length(max=200), EMAIL])
    language = SelectField(_l("Language"), choices=MEMBER_LANGUAGES, validators=[Optional()])
    active = BooleanField(_l("Active (may log in)"), default=True)
    password = PasswordField(_l("New password"), validators=[
        Optional(), Length(min=MIN_PASSWORD_LENGTH, max=200,
                           message=_l("Between %(min)d and %(max)d characters."))])
    again = PasswordField(_l("New password again"),
                          validators=[EqualTo("password", message=_l("The two passwords differ."))])


class NewMemberForm(MemberForm):
    """A new member: a login name and a password besides what every member has."""

    name = StringField(_l("Login name"), validators=[DataRequired(), Length(max=64), CODE])
    password = PasswordField(_l("Password"), validators=[
        DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200,
                               message=_l("Between %(min)d and %(max)d characters."))])
    again = PasswordField(_l("Password again"),
                          validators=[DataRequired(), EqualTo("password", message=_l("The two passwords differ."))])


class SubscriptionForm(PageForm):
    """A subscription: whose events, which ones, and who is told how."""

    unit = SelectField(_l("Unit"), validators=[DataRequired()])
    topics = MultiCheckboxField(_l("Events"), validators=[DataRequired(message=_l("Choose at least one."))])
    subtree = BooleanField(_l("Also the events of every unit below"))
    categories = MultiCheckboxField(_l("Only these categories (none: all)"), validators=[Optional()])
    severities = MultiCheckboxField(_l("Only these severities (none: all)"), validators=[Optional()])
    channel = SelectField(_l("Channel"), validators=[DataRequired()])
    target = StringField(_l("Target (robot or webhook URL, email address or phone)"),
                         validators=[Optional(), Length(max=500)])
    secret = PasswordField(_l("Secret (DingTalk signing secret or webhook HMAC key)"),
                           validators=[Optional(), Length(max=200)])
    language = SelectField(_l("Language of the notices"), choices=NOTICE_LANGUAGES, validators=[Optional()])


class ConfirmForm(PageForm):
    """A confirmation with nothing to fill in but its CSRF token."""
