"""Shared Streamlit helpers of the pages (kept out of the importable packages)."""
