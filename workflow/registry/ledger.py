"""The household 台账 as communities keep it in Excel: its columns, their Chinese headers and accepted aliases.

A workbook's header row is the first row in which at least three cells are known headers (a
title row above it is common). Headers are matched after removing spaces and a trailing ``*``
or ``（必填）`` mark. The layout of an export is ``COLUMNS`` in order, with the first header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """A 台账 column: its key, the headers that name it (the first is written on export), whether required."""

    key: str
    headers: tuple[str, ...]
    required: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("compound", ("小区", "小区名称", "所属小区"), required=True),
    Column("building", ("楼栋", "楼号", "楼栋号", "楼宇"), required=True),
    Column("entrance", ("单元", "单元号")),
    Column("floor", ("楼层", "层", "所在楼层")),
    Column("room", ("房号", "门牌号", "室", "房间号", "户号"), required=True),
    Column("name", ("姓名", "名字", "居民姓名"), required=True),
    Column("relation", ("与户主关系", "关系", "户主关系"), required=True),
    Column("sex", ("性别",)),
    Column("birth_date", ("出生日期", "出生年月", "生日")),
    Column("phone", ("联系电话", "手机号", "手机号码", "电话", "联系方式")),
    Column("id_number", ("身份证号", "身份证号码", "公民身份号码", "证件号码")),
    Column("tags", ("标签", "人员类别", "特殊人群")),
)
BY_KEY = {c.key: c for c in COLUMNS}
_MARKS = re.compile(r"\s+|\*|（必填）|\(必填\)")
_HEADER_TO_KEY = {_MARKS.sub("", h): c.key for c in COLUMNS for h in c.headers}
SEX_VALUES = {"男": "M", "女": "F", "M": "M", "F": "F", "男性": "M", "女性": "F"}
SEX_NAMES = {"M": "男", "F": "女"}


def key_of(header: object) -> str | None:
    """Return the column key a header cell names, or None if it names none."""
    if header is None:
        return None
    return _HEADER_TO_KEY.get(_MARKS.sub("", str(header)))


def header_map(row: tuple[object, ...]) -> dict[str, int] | None:
    """Return {column key: position} if ``row`` is a header row (three known headers or more), else None."""
    found: dict[str, int] = {}
    for position, cell in enumerate(row):
        key = key_of(cell)
        if key is not None and key not in found:
            found[key] = position
    return found if len(found) >= 3 else None
