-- Confluent's data-contract settings in a subject's (or the global, subject '') configuration:
-- alias (the subject whose versions reads through this one reach), validate_fields (1/0: check
-- confluent:reserved field names on registration), and the metadata and rule sets merged into
-- every new version (default_*: under what a registration brings, override_*: over it), as
-- compact JSON objects. NULL is "not set": a subject falls back to the global row. Portable
-- between SQLite and PostgreSQL.

ALTER TABLE subject_configs ADD COLUMN alias VARCHAR(255);
ALTER TABLE subject_configs ADD COLUMN validate_fields INTEGER;
ALTER TABLE subject_configs ADD COLUMN default_metadata TEXT;
ALTER TABLE subject_configs ADD COLUMN override_metadata TEXT;
ALTER TABLE subject_configs ADD COLUMN default_rule_set TEXT;
ALTER TABLE subject_configs ADD COLUMN override_rule_set TEXT;
