"""Questions about what the library does not hold: a unit, region or year no stored report has is declined, with
the closest that exist, and never answered from another unit's report.

>>> from ingest.schema import DocFields, DocRecord
>>> lib = [DocRecord(DocFields("d1", "a.txt", "t", "益阳市赫山区投资促进服务中心", "湖南省益阳市赫山区", y, "部门整体支出"), "txt", 3, 0.0) for y in (2021, 2022)]
>>> from qa.understand import understand
>>> out_of_scope(understand("益阳市资阳区投资促进服务中心2021年基本支出是多少？", [], lib), lib)
'未在已收录报告中找到益阳市资阳区投资促进服务中心的报告。已收录的相近单位：益阳市赫山区投资促进服务中心。'
>>> out_of_scope(understand("赫山区投资促进服务中心2025年基本支出是多少？", [], lib), lib)
'未在已收录报告中找到益阳市赫山区投资促进服务中心2025年的报告。已收录该单位2021、2022年的报告。'
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from ingest.schema import DocRecord
from qa.understand import PLACE, Understood, fuzzy_units, is_place, match_units, named_orgs, without_exception

_SUGGEST = 3
_PREPOSITIONS = frozenset("向在对从于给为到和与及跟")


def _closest(name: str, options: Sequence[str]) -> list[str]:
    """Up to three options most like `name` (character sequence similarity), most alike first."""
    scored = sorted(
        ((difflib.SequenceMatcher(None, name, o).ratio(), o) for o in dict.fromkeys(options)),
        key=lambda x: (-x[0], x[1]),
    )
    return [o for r, o in scored if r >= 0.3][:_SUGGEST]


def _years(catalogue: Sequence[DocRecord]) -> str:
    return "、".join(str(y) for y in sorted({d.doc.year for d in catalogue if d.doc.year is not None}))


def _unnamed_at(places: Sequence[str], catalogue: Sequence[DocRecord]) -> bool:
    """Some report of one of `places` names no unit."""
    return any(
        not d.doc.unit and any(p in f"{d.doc.region} {d.doc.title} {d.doc.source}" for p in places) for d in catalogue
    )


def out_of_scope(u: Understood, catalogue: Sequence[DocRecord]) -> str | None:
    """The decline message when the question names a unit, region or year the library has no report of."""
    year, unit = u.filters.year, u.filters.unit
    if not catalogue:  # an empty library: the answering path says so
        return None
    if unit:
        own = [
            d
            for d in catalogue
            if d.doc.unit == unit or (unit in d.doc.unit or unit in d.doc.title or unit in d.doc.source)
        ]
        if own and year is not None and not any(d.doc.year == year for d in own):
            return f"未在已收录报告中找到{own[0].doc.display_unit}{year}年的报告。已收录该单位{_years(own)}年的报告。"
    if year is not None and not any(d.doc.year == year for d in catalogue):
        return f"未在已收录报告中找到{year}年的报告。已收录的年份：{_years(catalogue)}。"
    if unit or u.units:
        return None
    # What the library's reports name, built only for a question that names an organisation or a place: it reads
    # every record (37 of a question's 85 ms at 100k chunks, when it was built for every question).
    asked = without_exception(u.standalone) if u.excluded else u.standalone
    names = named_orgs(asked)
    places_asked = [p for p in PLACE.findall(asked) if is_place(p)]
    if not names and not places_asked:
        return None
    known_places = " ".join(f"{d.doc.region} {d.doc.unit} {d.doc.title}" for d in catalogue)
    stems = {p[:-1] for p in PLACE.findall(known_places) if is_place(p)} if names else set()
    for name in names:
        if (
            match_units(name, catalogue)
            or fuzzy_units(name, catalogue)
            or any(name in d.doc.title or name in d.doc.unit for d in catalogue)
        ):
            continue
        places = [p for p in PLACE.findall(name) if is_place(p)]
        # A place the library has leaves it open only where one of its reports names no unit (开福区负责楼宇经济工作的
        # 中心: the 开福区 report names none, so it may be that one); where every report of the place names its unit
        # and none is this one (益阳市赫山区商务局 when 赫山区 has only 投资促进服务中心), no report is about it.
        if (
            any(p not in known_places for p in places)
            or not (places or any(s in name for s in stems if len(s) >= 2))
            or (places and not _unnamed_at(places, catalogue))
        ):
            near = _closest(name, [d.doc.unit for d in catalogue if d.doc.unit])
            return f"未在已收录报告中找到{name}的报告。" + (f"已收录的相近单位：{'、'.join(near)}。" if near else "")
    # A region the library has leaves the question open (other places are what reports say: "开福区…拿到了长沙市的
    # 什么荣誉"), unless it names right after it a district of it the library lacks ("益阳市资阳区…" read 益阳市 and
    # was answered from 赫山区's report).
    region = u.filters.region
    for place in (p for p in places_asked if not region or (p not in region and f"{region}{p}" in asked)):
        # "向大祥区反馈巡视意见": a place may carry a preposition before it, and a district whose stem a unit's name
        # holds (大祥 of 大祥工业集中区) is that unit's place, not one the library lacks.
        said = (place, place[1:]) if place[0] in _PREPOSITIONS else (place,)  # 荆州市 is not 州市 of 广州市
        if not any(n in known_places or (len(n) >= 3 and n[:-1] in known_places) for n in said):
            regions = [p for d in catalogue for p in PLACE.findall(d.doc.region) if is_place(p)]
            near = _closest(place, regions)
            return f"未在已收录报告中找到{place}的报告。" + (f"已收录的相近地区：{'、'.join(near)}。" if near else "")
    return None
