"""The state database's schema revisions (Alembic reads them from this directory)."""
