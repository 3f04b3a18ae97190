"""The categories of DOMAIN.md with their default severity and names."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.vocabulary import Category, Severity


@dataclass(frozen=True)
class CategoryInfo:
    """What gridcase knows of a category."""

    code: Category
    default_severity: Severity
    zh_hans: str
    zh_hant: str
    en: str


_P0, _P1, _P2, _P3 = Severity.P0, Severity.P1, Severity.P2, Severity.P3
CATEGORIES: dict[Category, CategoryInfo] = {
    info.code: info
    for info in (
        CategoryInfo(Category.FAM, _P2, "婚姻家庭", "婚姻家庭", "Marriage and family"),
        CategoryInfo(Category.NEI, _P2, "邻里纠纷", "鄰里糾紛", "Neighbour dispute"),
        CategoryInfo(Category.NOI, _P2, "噪音", "噪音", "Noise"),
        CategoryInfo(Category.PRO, _P2, "物业纠纷", "物業糾紛", "Property management"),
        CategoryInfo(Category.HOU, _P2, "房屋土地", "房屋土地", "Housing and land"),
        CategoryInfo(Category.CON, _P3, "合同债务", "合同債務", "Contract and debt"),
        CategoryInfo(Category.DAM, _P2, "损害赔偿", "損害賠償", "Compensation"),
        CategoryInfo(Category.LAB, _P1, "劳动争议/欠薪", "勞動爭議/欠薪", "Labour and wage arrears"),
        CategoryInfo(Category.CSM, _P3, "消费纠纷", "消費糾紛", "Consumer dispute"),
        CategoryInfo(Category.MED, _P2, "医疗纠纷", "醫療糾紛", "Medical dispute"),
        CategoryInfo(Category.TRF, _P2, "交通事故", "交通事故", "Traffic accident"),
        CategoryInfo(Category.ENV, _P3, "环境卫生", "環境衛生", "Sanitation and environment"),
        CategoryInfo(Category.DEM, _P1, "征地拆迁", "徵地拆遷", "Expropriation and demolition"),
        CategoryInfo(Category.UTL, _P1, "供热水电气", "供熱水電氣", "Heating, water, power, gas"),
        CategoryInfo(Category.SAF, _P1, "安全隐患", "安全隱患", "Safety hazard"),
        CategoryInfo(Category.PUB, _P1, "治安", "治安", "Public order"),
        CategoryInfo(Category.GOV, _P3, "社区事务", "社區事務", "Community affairs"),
        CategoryInfo(Category.OTH, _P3, "其他", "其他", "Other"),
    )
}


def default_severity(category: Category) -> Severity:
    """Return the severity a case of ``category`` gets when the reporter names none."""
    return CATEGORIES[category].default_severity
