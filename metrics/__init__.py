"""Automatic metrics: perplexity on held-out text, text metrics against references (BLEU,
chrF, ROUGE, METEOR, exact match, token F1), contamination checks and lm-evaluation-harness
benchmarks."""
