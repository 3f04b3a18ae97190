"""民意热点: themes counted once per text, category names kept whole, no personal data among the terms."""

from __future__ import annotations

from workflow.analysis.hot_terms import Term, terms_of


def test_themes_are_counted_once_per_text_and_category_names_stay_whole() -> None:
    counts = terms_of(["楼上夜间装修噪音，噪音很大", "楼上装修噪音扰民", "物业纠纷：物业费上涨", "小区环境卫生差"])
    assert counts["噪音"] == 2 and counts["装修"] == 2
    assert counts["物业纠纷"] == 1 and counts["环境卫生"] == 1
    assert "问题" not in counts and "，" not in counts


def test_no_name_phone_or_id_number_becomes_a_theme() -> None:
    texts = ["王小明反映楼上漏水，电话13812345678", "张大海家漏水，身份证150402199001011234",
             "李建国说噪音"]
    counts = terms_of(texts, names=["王小明", "张大海", "李建国"])
    assert counts["漏水"] == 2
    found = " ".join(counts)
    for private in ("王小明", "张大海", "李建国", "1381234", "5678", "150402", "1234"):
        assert private not in found, private


def test_category_names_stay_whole_on_every_call() -> None:
    # jieba's tagger clears the user words' tags from its tokenizer on first use (found by the suite's order).
    for _ in range(3):
        assert terms_of(["物业纠纷又起"])["物业纠纷"] == 1


def test_a_term_says_how_it_changed() -> None:
    assert Term("噪音", 7, 3).change == 4 and Term("漏水", 1, 5).change == -4
