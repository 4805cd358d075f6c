"""Answering a question in parts, each over one explicit context (`context.AnswerContext`):

- `result`: what an answer is (Answer, Citation, UnitEvidence) and how citations are grouped and quoted;
- `aggregate`: "哪些单位…" over every admitted document, from the findings first, else the corpus-wide pass;
- `per_unit`: follow-ups about named units ("它们分别提出了什么改进措施？");
- `lookup`: the sentences that answer a question, or the LLM's checked answer;
- `prepared`: the background pass that prepares every chunk's sentences for aggregates (run by `qa serve`'s
  start-up and `qa sentences`).

`qa.answer.Answerer` routes a question to one of them.
"""
