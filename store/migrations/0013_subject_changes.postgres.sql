-- A change counter per subject: see 0013_subject_changes.sql. PostgreSQL
-- runs a trigger through a function; one function serves the three events.
CREATE TABLE subject_changes (
    subject VARCHAR(255) PRIMARY KEY,
    changes BIGINT       NOT NULL
);

INSERT INTO subject_changes (subject, changes)
SELECT subject, COUNT(*) FROM subject_versions GROUP BY subject;

CREATE FUNCTION subject_versions_count_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO subject_changes AS c (subject, changes) VALUES (OLD.subject, 1)
        ON CONFLICT (subject) DO UPDATE SET changes = c.changes + 1;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.subject <> OLD.subject) THEN
        INSERT INTO subject_changes AS c (subject, changes) VALUES (NEW.subject, 1)
        ON CONFLICT (subject) DO UPDATE SET changes = c.changes + 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER subject_versions_changes AFTER INSERT OR UPDATE OR DELETE ON subject_versions
FOR EACH ROW EXECUTE FUNCTION subject_versions_count_change();
