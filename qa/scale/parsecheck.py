"""Do the generated documents parse as intended? Each document goes through the ingest path's preparation
(clean, structure, metadata, chunks, findings; no embedding) and is compared with what the generator knows:

- metadata: the unit, year, report kind and region inferred from the text (no manifest) against the truth. The
  scale evaluation ingests with the true metadata (a manifest), so a failure here does not reach its answers;
  it is reported as a finding about metadata inference, by title form.
- findings: the share of stated problems that the findings extraction returns as problem findings, and of plans
  returned as measures, by layout (where the problems are, their heading, how they are itemised).
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from ingest.document import RawDocument
from ingest.pipeline import prepare
from qa.scale.generate import Library, LibraryDoc
from qa.scale.score import overlaps
from qa.settings import Settings

_PART = re.compile(r"[\u4e00-\u9fa5]{2,6}?(?:省|自治区|市|区|县)")


def _region_ok(inferred: str, doc: LibraryDoc) -> bool:
    """Inferred region consistent with the truth: not empty, and each of its parts is one of the true parts."""
    parts = _PART.findall(inferred)
    return bool(parts) and all(p in (doc.province, doc.city, doc.county) for p in parts)


def _share(hits: list[bool]) -> dict[str, float | int]:
    return {"n": len(hits), "share": round(sum(hits) / len(hits), 4) if hits else 1.0}


def parse_check(library: Library, settings: Settings) -> dict[str, Any]:
    meta: dict[str, list[bool]] = defaultdict(list)
    meta_failures: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    problems: dict[str, list[bool]] = defaultdict(list)
    plans: list[bool] = []
    in_problems: dict[str, int] = defaultdict(int)
    for doc in library.docs:
        prepared = prepare(
            RawDocument(doc.file, doc.text, "txt"),
            {},
            chunk_size=settings.chunk_size,
            chunk_overlap=settings.chunk_overlap,
        )
        rec = prepared.record.doc
        checks = {
            "unit": rec.unit == doc.unit,
            "year": rec.year == doc.year,
            "kind": rec.report_kind == doc.kind,
            "region": _region_ok(rec.region, doc),
        }
        form = doc.layout.get("title") or doc.layout.get("other", "")
        for name, ok in checks.items():
            meta[name].append(ok)
            if not ok:
                meta_failures[name][form] += 1
        found: dict[str, list[str]] = defaultdict(list)
        for row in prepared.finding_rows:
            found[str(row.metadata["role"])].append(str(row.metadata["finding_text"]))
        for p in doc.planted:
            if p.category == "problem":
                ok = any(overlaps(p.text, f) for f in found["problem"])
                problems["all"].append(ok)
                for key in ("placement", "problems_heading", "problem_items"):
                    if key in doc.layout:
                        problems[f"{key}={doc.layout[key]}"].append(ok)
            elif p.category == "plan":
                plans.append(any(overlaps(p.text, f) for f in found["measure"]))
            elif p.category in ("positive", "no_problem", "surface", "decoy"):
                in_problems[p.category] += any(overlaps(p.text, f) for f in found["problem"])
    return {
        "metadata": {k: _share(v) for k, v in meta.items()},
        "metadata_failures_by_title": {k: dict(v) for k, v in meta_failures.items()},
        "problems_as_findings": {k: _share(v) for k, v in sorted(problems.items())},
        "plans_as_measures": _share(plans),
        # Near misses the extraction returns as problem findings (no_problem statements sit in problems sections).
        "near_misses_in_problem_findings": dict(in_problems),
    }
