"""The schema: the migration files and their facts (``files``), the runner that applies and
rolls them back (``runner``), the version check the stores make (``version``), and the
adoption of databases the Alembic revision made (``adoption``, by stage)."""
