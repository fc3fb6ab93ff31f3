-- What the "format" keyword of JSON Schemas does to payloads validated under a subject (or
-- globally, subject ''): assert, annotate or draft; NULL inherits (the subject from the global
-- row, the global row from the gateway's schema_registry.json_schema.format). Portable between
-- SQLite and PostgreSQL.

ALTER TABLE subject_configs ADD COLUMN json_schema_format VARCHAR(16);
