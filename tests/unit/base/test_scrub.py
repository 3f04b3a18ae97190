"""Free text loses its phone, ID and bank card numbers: one function, checked against numbers inside Chinese."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from workflow.base.privacy import scrub

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
# Chinese text with its punctuation and some Latin letters, but no digit: a digit next to a
# number would make it a longer number.
chinese = st.text(
    alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF) | st.sampled_from(list("，。：；！？、 （）ABCabc")),
    max_size=30,
)


def digits(n: int) -> st.SearchStrategy[str]:
    """``n`` ASCII digits."""
    return st.text(alphabet="0123456789", min_size=n, max_size=n)


@st.composite
def mobiles(draw: st.DrawFn) -> str:
    """A mainland mobile, with or without +86 and separators."""
    number = "1" + draw(st.sampled_from("3456789")) + draw(digits(9))
    sep = draw(st.sampled_from(["", " ", "-"]))
    prefix = draw(st.sampled_from(["", "+86", "+86 ", "86"]))
    return prefix + number[:3] + sep + number[3:7] + sep + number[7:]


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    """An 18-digit resident ID number: area, birth date, sequence, check character."""
    birth = f"{draw(st.integers(1900, 2099))}{draw(st.integers(1, 12)):02d}{draw(st.integers(1, 28)):02d}"
    return draw(digits(6)) + birth + draw(digits(3)) + draw(st.sampled_from("0123456789X"))


@st.composite
def cards(draw: st.DrawFn) -> str:
    """A bank card number of 16 to 19 digits, whole or in groups of four."""
    number = draw(st.sampled_from("3456")) + draw(digits(draw(st.integers(15, 18))))
    # An 18-digit number with a real birth date where an ID number has one reads as an ID and is masked as
    # one (its start shown too): by design, since the two cannot be told apart. Cards here are the others.
    assume(not re.fullmatch(r"\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{4}", number))
    if len(number) in (16, 19) and draw(st.booleans()):
        sep = draw(st.sampled_from([" ", "-"]))
        return sep.join(number[i:i + 4] for i in range(0, len(number), 4))
    return number


@st.composite
def landlines(draw: st.DrawFn) -> str:
    """A landline with its area code: 010-12345678, (0476)8123456, 0476 8123456."""
    area = "0" + draw(digits(draw(st.integers(2, 3))))
    local = draw(st.sampled_from("2345678")) + draw(digits(draw(st.integers(6, 7))))
    shape = draw(st.sampled_from(["{a}-{l}", "{a} {l}", "{a}{l}", "({a}){l}", "（{a}）{l}"]))
    return shape.format(a=area, l=local)


# The most digits each kind may still show (its start and its end).
VISIBLE = {"mobile": 7, "id": 8, "card": 4, "landline": 5}
KINDS = {"mobile": mobiles(), "id": id_numbers(), "card": cards(), "landline": landlines()}


def shown_digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


@pytest.mark.parametrize("kind", sorted(KINDS))
@given(data=st.data())
def test_a_number_inside_chinese_text_is_masked_and_the_text_kept(kind: str, data: st.DataObject) -> None:
    number = data.draw(KINDS[kind])
    if data.draw(st.booleans()):
        number = number.translate(FULL_WIDTH)  # as a Chinese input method types it
    before, after = data.draw(chinese), data.draw(chinese)
    out = scrub(before + number + after)
    masked = out[len(before):len(before) + len(number)]
    assert out == before + masked + after
    country_code = 2 if kind == "mobile" and shown_digits(number) == 13 else 0  # +86 stays
    assert "*" in masked and shown_digits(masked) <= VISIBLE[kind] + country_code, (number, masked)
    # What stays is the number's own end, so a holder can still tell two numbers apart.
    assert masked[-2:] == number[-2:]


@given(first=mobiles(), second=id_numbers(), between=chinese.filter(lambda s: len(s) > 0))
def test_every_number_in_a_text_is_masked(first: str, second: str, between: str) -> None:
    out = scrub(f"电话{first}{between}身份证{second}")
    assert first not in out and second not in out
    assert between in out


@given(text=chinese)
def test_text_without_numbers_is_unchanged(text: str) -> None:
    assert scrub(text) == text


@given(text=st.text(max_size=60))
def test_scrubbing_twice_changes_nothing_more(text: str) -> None:
    once = scrub(text)
    assert scrub(once) == once and len(once) == len(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("请联系13812345678王先生", "请联系138****5678王先生"),
    ("身份证号11010119900307777X，住三号楼", "身份证号1101**********777X，住三号楼"),
    # 18 digits whose birth date has no real month or day are a card number, masked as one.
    ("卡号300000200000000000", "卡号**************0000"),
    ("工资卡6222 0212 3456 7890 123没到账", "工资卡**** **** **** ***0 123没到账"),
    ("物业电话010-62345678", "物业电话010-******78"),
    ("手机１３８１２３４５６７８", "手机１３８****５６７８"),
    # Dates, amounts and house numbers are not phone numbers.
    ("2026年12月1日晚10点，3号楼502室，赔偿1500元", "2026年12月1日晚10点，3号楼502室，赔偿1500元"),
])
def test_examples_read_as_a_resident_wrote_them(text: str, expected: str) -> None:
    assert scrub(text) == expected
