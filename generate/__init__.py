"""Generation: run models on a study's prompts (``sidebyside generate``) with provenance.

A feature beside ``annotate``, ``judge`` and ``metrics``: it reads prompt files, renders each
prompt as a chat message list, asks an engine (transformers, an OpenAI-compatible server, vLLM)
for the answers and stores each one as it arrives, keyed so that a rerun regenerates nothing.
The CLI then imports the stored answers into the study as ordinary outputs.
"""
