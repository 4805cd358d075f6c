"""Scale evaluation (`qa eval --scale`): a generated library of report-shaped documents from a hand-written phrasing
bank (eval_sets/scale/), every question asked through the real answering path, scored per unit (docs/evaluation.md,
"Scale evaluation")."""
