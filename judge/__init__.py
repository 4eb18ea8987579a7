"""LLM judges: providers (one file each, in ``providers``), prompt templates, answer parsing,
the runner and its cache, both orders reconciled into one verdict, and verdicts imported
from elsewhere."""
