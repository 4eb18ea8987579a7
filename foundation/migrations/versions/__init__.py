"""The Alembic revisions, oldest first; Alembic reads them by file, never by import."""
