"""The bottom layer every other package builds on: database models, the engine and units of
work, Alembic migrations, settings, file readers, the error hierarchy and the domain enums."""
