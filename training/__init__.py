"""Training and evaluation tools: data, trainer, judge, evaluation, model card (not needed to use the model)."""
