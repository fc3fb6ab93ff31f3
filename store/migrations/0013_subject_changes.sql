-- A change counter per subject: changes grows by one for every row of
-- subject_versions inserted, updated or deleted, whoever writes it (a
-- registration, a delete, an import, an older binary), because triggers on
-- subject_versions bump it. It only grows, and a subject's row stays after
-- its versions are deleted, so one value of changes names one set of version
-- rows: a registry that holds a subject's rows in memory together with the
-- value read with them knows, from that value alone, whether the database
-- still holds the same rows (registry/batchview.go). Version numbers are no
-- such name: they come back after a permanent delete.
CREATE TABLE subject_changes (
    subject VARCHAR(255) PRIMARY KEY,
    changes BIGINT       NOT NULL
);

INSERT INTO subject_changes (subject, changes)
SELECT subject, COUNT(*) FROM subject_versions GROUP BY subject;

CREATE TRIGGER subject_versions_insert_changes AFTER INSERT ON subject_versions
BEGIN
    INSERT INTO subject_changes (subject, changes) VALUES (NEW.subject, 1)
    ON CONFLICT (subject) DO UPDATE SET changes = changes + 1;
END;

-- An update counts for the subject it leaves and the one it enters (once
-- when they are the same: UNION drops the duplicate).
CREATE TRIGGER subject_versions_update_changes AFTER UPDATE ON subject_versions
BEGIN
    INSERT INTO subject_changes (subject, changes)
    SELECT subject, 1 FROM (SELECT OLD.subject AS subject UNION SELECT NEW.subject) WHERE true
    ON CONFLICT (subject) DO UPDATE SET changes = changes + 1;
END;

CREATE TRIGGER subject_versions_delete_changes AFTER DELETE ON subject_versions
BEGIN
    INSERT INTO subject_changes (subject, changes) VALUES (OLD.subject, 1)
    ON CONFLICT (subject) DO UPDATE SET changes = changes + 1;
END;
