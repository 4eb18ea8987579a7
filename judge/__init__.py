"""Machines that give verdicts: LLM judges, baselines and automatic metrics."""
