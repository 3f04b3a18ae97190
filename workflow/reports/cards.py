"""Service cards (服务卡): a PDF of cards, eight per A4 page (ReportLab), one per building.

Each card has the grid leader's and the central household's name and work phone, and a QR code to
the public form prefilled with the building.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.vocabulary import Level, Role
from workflow.base.errors import N_, NotFound
from workflow.mediation.agreement_pdf import font
from workflow.org.models import Unit, User
from workflow.org.tree import unit_by_code
from workflow.registry.models import Household
from workflow.registry.register import address_label
from workflow.reports.places import Place, places

CARD_W, CARD_H = 90 * mm, 60 * mm  # close to a business card scaled up, 2 x 4 on A4 with cutting margins
COLUMNS, ROWS = 2, 4


@dataclass(frozen=True)
class Card:
    """What one card says."""

    place: Place
    leader: tuple[str, str] | None  # name, work phone
    household: tuple[str, str] | None
    url: str
    heading: str | None = None  # a household's address on a household's card; else the building


def _contact(session: Session, unit_ids: list[int], role: Role) -> tuple[str, str] | None:
    member = session.scalars(select(User).where(User.unit_id.in_(unit_ids), User.role == role.value)
                             .order_by(User.id)).first()
    if member is None:
        return None
    return member.display_name, member.phone or ""


def cards_of(session: Session, unit_code: str, base_url: str) -> list[Card]:
    """Return a card for each building of the unit's subtree.

    Raises:
        NotFound: no unit with that code.
    """
    unit_by_code(session, unit_code)
    made = []
    for place in places(session, unit_code):
        grid = session.scalars(select(Unit).where(Unit.code == place.grid_code)).one()
        homes = list(session.scalars(select(Unit.id).where(Unit.parent_id == grid.id,
                                                           Unit.level == Level.HOUSEHOLD.value)))
        made.append(Card(place, _contact(session, [grid.id], Role.GRID_LEADER),
                         _contact(session, homes, Role.HOUSEHOLD_LEADER) if homes else None,
                         f"{base_url}/report?b={place.key}"))
    return made


def household_cards(session: Session, household_ids: list[int], base_url: str) -> list[Card]:
    """Return a card for each household of the list (the register's), headed with its address.

    Raises:
        NotFound: a household that is not in the register.
    """
    made = []
    for household_id in household_ids:
        household = session.get(Household, household_id)
        if household is None:
            raise NotFound(N_("no household %(id)s"), field="households", id=str(household_id))
        building = household.address.building
        place = Place(f"b{building.id}", building.compound, building.name, building.grid.code)
        homes = list(session.scalars(select(Unit.id).where(Unit.parent_id == building.grid_unit_id,
                                                           Unit.level == Level.HOUSEHOLD.value)))
        made.append(Card(place, _contact(session, [building.grid_unit_id], Role.GRID_LEADER),
                         _contact(session, homes, Role.HOUSEHOLD_LEADER) if homes else None,
                         f"{base_url}/report?b={place.key}", address_label(household.address)))
    return made


def cards_pdf(cards: list[Card]) -> bytes:
    """Lay the cards out eight per A4 page, with thin cutting lines."""
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    canvas.setTitle("网格服务卡")
    name = font()
    page_w, page_h = A4
    left = (page_w - COLUMNS * CARD_W) / 2
    top = page_h - (page_h - ROWS * CARD_H) / 2
    for index, card in enumerate(cards):
        slot = index % (COLUMNS * ROWS)
        if index and slot == 0:
            canvas.showPage()
        x = left + (slot % COLUMNS) * CARD_W
        y = top - (slot // COLUMNS + 1) * CARD_H
        _draw(canvas, card, x, y, name)
    if not cards:
        canvas.setFont(name, 14)
        canvas.drawString(20 * mm, page_h - 30 * mm, "没有楼栋 / no building")
    canvas.save()
    return out.getvalue()


def _draw(canvas: Canvas, card: Card, x: float, y: float, name: str) -> None:
    canvas.setStrokeColorRGB(0.7, 0.7, 0.7)
    canvas.setDash(2, 2)
    canvas.rect(x, y, CARD_W, CARD_H)
    canvas.setDash()
    pad = 5 * mm
    canvas.setFont(name, 13)
    canvas.drawString(x + pad, y + CARD_H - pad - 4 * mm, "网格服务卡")
    canvas.setFont(name, 10)
    room = CARD_W - 2 * pad - 32 * mm  # beside the QR code
    heading = _fit(canvas, card.heading or card.place.label, name, 10, room)
    canvas.drawString(x + pad, y + CARD_H - pad - 10 * mm, heading)
    lines = []
    if card.leader:
        lines.append(f"网格长：{card.leader[0]}")
        lines.append(f"电话：{card.leader[1]}")
    if card.household:
        lines.append(f"党员中心户：{card.household[0]}")
        lines.append(f"电话：{card.household[1]}")
    canvas.setFont(name, 9)
    for n, line in enumerate(lines):
        canvas.drawString(x + pad, y + CARD_H - pad - (17 + 5 * n) * mm, _fit(canvas, line, name, 9, room))
    canvas.setFont(name, 8)
    canvas.drawString(x + pad, y + pad, "扫码反映问题 · 紧急情况请拨110/119/120")
    buffer = io.BytesIO()
    segno.make(card.url, error="m").save(buffer, kind="png", scale=6, border=1)
    size = 30 * mm
    canvas.drawImage(ImageReader(io.BytesIO(buffer.getvalue())), x + CARD_W - pad - size,
                     y + CARD_H - pad - size - 6 * mm, size, size)


def _fit(canvas: Canvas, text: str, name: str, size: float, width: float) -> str:
    """Return ``text`` cut (with …) to fit ``width`` points in the font."""
    if canvas.stringWidth(text, name, size) <= width:
        return text
    while text and canvas.stringWidth(text + "…", name, size) > width:
        text = text[:-1]
    return text + "…"
