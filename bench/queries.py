"""Query texts for the latency and load runs: the kinds of things staff type (problems, measures, lookups)."""

from __future__ import annotations

import random

from bench.gen_corpus import MEASURES, PROBLEMS, PROJECTS, UNIT_KINDS

# "Which units…" questions, by the path that answers them: a problem, a measure and a category topic go to the
# findings (qa/findings/evidence.py); a topic that is none of these goes through the corpus-wide pass.
FINDINGS_AGGREGATES = [
    "哪些单位提到预算编制不够细化？",
    "哪些单位提出要加强资金监管？",
    "哪些单位提到项目资金未专账核算？",
]
# Topics of the corpus-wide pass, narrow to broad: at 10k chunks 政府采购 is in 248 of 775 generated reports,
# 三公经费 in 718 (each asked twice: the first ask embeds the sentences, the repeat finds them cached).
GENERIC_AGGREGATES = [
    "哪些单位提到政府采购？",
    "哪些单位提到固定资产管理？",
    "哪些单位提到财务人员业务培训？",
    "哪些单位提到群众满意度？",
    "哪些单位提到三公经费？",
]

_FIXED = [
    "预算编制不够细化",
    "项目资金未实行专账核算",
    "绩效目标设置不够明确",
    "三公经费支出情况",
    "预算执行进度偏慢",
    "固定资产管理不规范",
    "政府采购程序不够规范",
    "财务人员业务培训",
    "下一步改进措施",
    "存在的问题及原因分析",
    "群众满意度",
    "自评得分",
    "基本支出是多少",
    "政府性基金预算支出",
    "绩效自评报告质量有待提升",
]


def query_pool(n: int = 120, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    pool = list(_FIXED)
    while len(pool) < n:
        kind = rng.random()
        if kind < 0.35:
            pool.append(rng.choice(PROBLEMS).split("，")[0])
        elif kind < 0.55:
            pool.append(rng.choice(MEASURES).split("，")[0])
        elif kind < 0.8:
            pool.append(
                f"{rng.choice(UNIT_KINDS)}{rng.randint(2019, 2024)}年{rng.choice(['基本支出', '项目支出', '三公经费', '绩效目标完成情况'])}"
            )
        else:
            pool.append(f"{rng.choice(PROJECTS)}项目绩效")
    return pool[:n]
