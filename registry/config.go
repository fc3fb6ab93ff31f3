package registry

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"strings"
)

// CompatibilityLevel decides which earlier versions a new schema must be compatible with, and
// in which direction (Confluent's levels).
type CompatibilityLevel string

// The compatibility levels. BACKWARD is the default.
const (
	// CompatNone checks nothing.
	CompatNone CompatibilityLevel = "NONE"
	// CompatBackward: the new schema can read data written with the latest version.
	CompatBackward CompatibilityLevel = "BACKWARD"
	// CompatBackwardTransitive: the new schema can read data written with every version.
	CompatBackwardTransitive CompatibilityLevel = "BACKWARD_TRANSITIVE"
	// CompatForward: the latest version can read data written with the new schema.
	CompatForward CompatibilityLevel = "FORWARD"
	// CompatForwardTransitive: every version can read data written with the new schema.
	CompatForwardTransitive CompatibilityLevel = "FORWARD_TRANSITIVE"
	// CompatFull: backward and forward against the latest version.
	CompatFull CompatibilityLevel = "FULL"
	// CompatFullTransitive: backward and forward against every version.
	CompatFullTransitive CompatibilityLevel = "FULL_TRANSITIVE"
)

// DefaultCompatibility is the global level until one is set, as in Confluent.
const DefaultCompatibility = CompatBackward

// ParseCompatibilityLevel reads a level, ignoring case; an unknown one wraps
// ErrInvalidCompatibility.
func ParseCompatibilityLevel(s string) (CompatibilityLevel, error) {
	l := CompatibilityLevel(strings.ToUpper(strings.TrimSpace(s)))
	switch l {
	case CompatNone, CompatBackward, CompatBackwardTransitive, CompatForward, CompatForwardTransitive, CompatFull, CompatFullTransitive:
		return l, nil
	}
	return "", errorf(ErrInvalidCompatibility, "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive")
}

// backward, forward and transitive describe what a level checks.
func (l CompatibilityLevel) backward() bool {
	return l == CompatBackward || l == CompatBackwardTransitive || l == CompatFull || l == CompatFullTransitive
}

func (l CompatibilityLevel) forward() bool {
	return l == CompatForward || l == CompatForwardTransitive || l == CompatFull || l == CompatFullTransitive
}

func (l CompatibilityLevel) transitive() bool {
	return l == CompatBackwardTransitive || l == CompatForwardTransitive || l == CompatFullTransitive
}

// AccessMode says whether a subject (or the whole registry) accepts writes: what Confluent's
// API calls a subject's "mode" (/mode). It is not the validation mode (canary or strict) that
// governance keeps for payloads.
type AccessMode string

// The access modes. READWRITE is the default.
const (
	// ModeReadWrite accepts registrations and deletes.
	ModeReadWrite AccessMode = "READWRITE"
	// ModeReadOnly refuses registrations and deletes (ErrOperationNotPermitted).
	ModeReadOnly AccessMode = "READONLY"
	// ModeReadOnlyOverride is READONLY that also holds against a subject-level mode.
	ModeReadOnlyOverride AccessMode = "READONLY_OVERRIDE"
	// ModeImport accepts registrations that bring their own schema ID and version, without
	// compatibility checks, for migrating from another registry.
	ModeImport AccessMode = "IMPORT"
)

// ParseAccessMode reads a mode, ignoring case; an unknown one wraps ErrInvalidMode.
func ParseAccessMode(s string) (AccessMode, error) {
	m := AccessMode(strings.ToUpper(strings.TrimSpace(s)))
	switch m {
	case ModeReadWrite, ModeReadOnly, ModeReadOnlyOverride, ModeImport:
		return m, nil
	}
	return "", errorf(ErrInvalidMode, "Invalid mode. Valid values are READWRITE, READONLY, READONLY_OVERRIDE and IMPORT")
}

func (m AccessMode) readOnly() bool { return m == ModeReadOnly || m == ModeReadOnlyOverride }

// Config is a compatibility configuration, global or per subject. Normalize and
// CompatibilityGroup are nil/empty when not set.
type Config struct {
	Compatibility      CompatibilityLevel
	Normalize          *bool
	CompatibilityGroup string
	// JSONSchemaFormat is what "format" does in JSON Schemas when payloads are validated
	// under the subject (under every subject without one of its own, in the global config);
	// "" when not set: a subject inherits the global setting, the global config the gateway's
	// schema_registry.json_schema.format. See EffectiveJSONSchemaFormat.
	JSONSchemaFormat JSONSchemaFormat
	// Alias, set on a subject, names the subject that requests addressed to this one reach
	// (Confluent's subject aliases, followed by the gateway); "" when not set. It is read from
	// the subject's own configuration only, never from the global one.
	Alias string
	// ValidateFields turns on the confluent:reserved check of registrations (see contract.go);
	// nil when not set (off).
	ValidateFields *bool
	// DefaultMetadata and OverrideMetadata are metadata objects merged into every new version,
	// under and over what the registration brings (or the previous version had); DefaultRuleSet
	// and OverrideRuleSet the same for rule sets. Compact JSON objects, "" when not set.
	DefaultMetadata, OverrideMetadata string
	DefaultRuleSet, OverrideRuleSet   string
}

// globalKey is the row of the global config and mode; subject names are never empty.
const globalKey = ""

// Config returns the configuration of subject, or the global one for subject "". A subject
// without its own configuration wraps ErrSubjectCompatibilityNotConfigured unless
// defaultToGlobal, in which case the global one is returned; with defaultToGlobal, a subject
// configuration without a JSONSchemaFormat also shows the global one's.
func (r *Registry) Config(ctx context.Context, subject string, defaultToGlobal bool) (Config, error) {
	if subject != globalKey {
		if err := validateSubject(subject); err != nil {
			return Config{}, err
		}
	}
	c, found, err := r.configRow(ctx, r.db.SQL(), subject)
	if err != nil {
		return Config{}, r.storeErr("reading a compatibility configuration", err)
	}
	switch {
	case found && c.Compatibility != "" && defaultToGlobal && c.JSONSchemaFormat == "" && subject != globalKey:
		g, _, err := r.configRow(ctx, r.db.SQL(), globalKey)
		if err != nil {
			return Config{}, r.storeErr("reading a compatibility configuration", err)
		}
		c.JSONSchemaFormat = g.JSONSchemaFormat
		return c, nil
	case found && c.Compatibility != "":
		return c, nil
	case subject == globalKey:
		c.Compatibility = DefaultCompatibility
		return c, nil
	case !defaultToGlobal:
		return Config{}, errorf(ErrSubjectCompatibilityNotConfigured, "Subject '%s' does not have subject-level compatibility configured", subject)
	}
	return r.Config(ctx, globalKey, false)
}

// SetConfig sets the configuration of subject ("" for global) and returns it. An empty
// Compatibility keeps the current level (BACKWARD for a subject without one), and an empty
// JSONSchemaFormat the current setting (DeleteConfig removes it); Normalize and
// CompatibilityGroup are replaced. Alias, ValidateFields and the default and override metadata
// and rule sets left unset keep their current values, as a Confluent 7.4+ PUT merges with the
// stored configuration. An unknown level or JSONSchemaFormat, a metadata or rule set that is not
// a JSON object or an invalid alias wraps ErrInvalidCompatibility (Confluent's 42203, its code
// for an invalid configuration).
func (r *Registry) SetConfig(ctx context.Context, subject string, c Config) (Config, error) {
	if subject != globalKey {
		if err := validateSubject(subject); err != nil {
			return Config{}, err
		}
	}
	if c.Compatibility != "" {
		l, err := ParseCompatibilityLevel(string(c.Compatibility))
		if err != nil {
			return Config{}, err
		}
		c.Compatibility = l
	}
	if c.JSONSchemaFormat != "" {
		f, err := parseConfigFormat(c.JSONSchemaFormat)
		if err != nil {
			return Config{}, err
		}
		c.JSONSchemaFormat = f
	}
	if err := checkContractConfig(&c); err != nil {
		return Config{}, err
	}
	var change Change
	var stored Config
	// InTx may run the function again (PostgreSQL retries a serialization failure): it reads c
	// and assigns its results, never changes c.
	err := r.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := r.db.Dialect().LockWrites(ctx, tx, writeLock); err != nil {
			return err
		}
		if _, err := r.checkWritable(ctx, tx, subject); err != nil {
			return err
		}
		stored = c
		cur, _, err := r.q.config(ctx, tx, subject)
		if err != nil {
			return err
		}
		stored.Compatibility = cmp.Or(stored.Compatibility, cur.Compatibility, DefaultCompatibility)
		stored.JSONSchemaFormat = cmp.Or(stored.JSONSchemaFormat, cur.JSONSchemaFormat)
		keepContractConfig(&stored, cur)
		if err := r.q.putConfig(ctx, tx, subject, stored); err != nil {
			return err
		}
		details := map[string]string{"compatibility": string(stored.Compatibility)}
		if stored.JSONSchemaFormat != "" {
			details["json_schema_format"] = string(stored.JSONSchemaFormat)
		}
		if stored.Alias != "" {
			details["alias"] = stored.Alias
		}
		change = Change{Action: ActionConfigChanged, Subject: subject, Details: details}
		return r.hooks.Journal(ctx, tx, change)
	})
	if err != nil {
		return Config{}, r.storeErr("writing a compatibility configuration", err)
	}
	r.log.InfoContext(ctx, "compatibility configured", "subject", subject, "level", stored.Compatibility, "json_schema_format", stored.JSONSchemaFormat)
	r.hooks.Notify(ctx, change)
	return stored, nil
}

// DeleteConfig removes the configuration of subject (the global one returns to BACKWARD, and
// its JSONSchemaFormat to the gateway's) and returns what was removed. A subject without its own configuration wraps
// ErrSubjectCompatibilityNotConfigured.
func (r *Registry) DeleteConfig(ctx context.Context, subject string) (Config, error) {
	prev, err := r.Config(ctx, subject, false)
	if err != nil {
		return Config{}, err
	}
	change := Change{Action: ActionConfigChanged, Subject: subject, Details: map[string]string{"deleted": string(prev.Compatibility)}}
	err = r.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := r.checkWritable(ctx, tx, subject); err != nil {
			return err
		}
		if err := r.q.deleteConfig(ctx, tx, subject); err != nil {
			return err
		}
		return r.hooks.Journal(ctx, tx, change)
	})
	if err != nil {
		return Config{}, r.storeErr("deleting a compatibility configuration", err)
	}
	r.hooks.Notify(ctx, change)
	return prev, nil
}

// AccessMode returns the access mode of subject, or the global one for subject "". A subject
// without its own mode wraps ErrSubjectModeNotConfigured unless defaultToGlobal.
func (r *Registry) AccessMode(ctx context.Context, subject string, defaultToGlobal bool) (AccessMode, error) {
	if subject != globalKey {
		if err := validateSubject(subject); err != nil {
			return "", err
		}
	}
	m, found, err := r.modeRow(ctx, r.db.SQL(), subject)
	if err != nil {
		return "", r.storeErr("reading a mode", err)
	}
	switch {
	case found:
		return m, nil
	case subject == globalKey:
		return ModeReadWrite, nil
	case !defaultToGlobal:
		return "", errorf(ErrSubjectModeNotConfigured, "Subject '%s' does not have subject-level mode configured", subject)
	}
	return r.AccessMode(ctx, globalKey, false)
}

// SetAccessMode sets the mode of subject ("" for global). Entering IMPORT while schemas exist (in
// the subject, or anywhere for the global mode) needs force, else ErrOperationNotPermitted.
func (r *Registry) SetAccessMode(ctx context.Context, subject string, mode AccessMode, force bool) (AccessMode, error) {
	if subject != globalKey {
		if err := validateSubject(subject); err != nil {
			return "", err
		}
	}
	m, err := ParseAccessMode(string(mode))
	if err != nil {
		return "", err
	}
	change := Change{Action: ActionAccessModeChanged, Subject: subject, Details: map[string]string{"mode": string(m)}}
	err = r.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := r.db.Dialect().LockWrites(ctx, tx, writeLock); err != nil {
			return err
		}
		if m == ModeImport && !force {
			var n int
			var err error
			if subject == globalKey {
				n, err = r.q.countVersions(ctx, tx, "")
			} else {
				n, err = r.q.countVersions(ctx, tx, subject)
			}
			if err != nil {
				return err
			}
			if n > 0 {
				return errorf(ErrOperationNotPermitted, "Cannot import since found existing subjects")
			}
		}
		if err := r.q.putMode(ctx, tx, subject, m); err != nil {
			return err
		}
		return r.hooks.Journal(ctx, tx, change)
	})
	if err != nil {
		return "", r.storeErr("writing a mode", err)
	}
	r.log.InfoContext(ctx, "mode set", "subject", subject, "mode", m)
	r.hooks.Notify(ctx, change)
	return m, nil
}

// DeleteAccessMode removes the mode of subject (the global one returns to READWRITE) and returns
// what was removed.
func (r *Registry) DeleteAccessMode(ctx context.Context, subject string) (AccessMode, error) {
	prev, err := r.AccessMode(ctx, subject, false)
	if err != nil {
		return "", err
	}
	change := Change{Action: ActionAccessModeChanged, Subject: subject, Details: map[string]string{"deleted": string(prev)}}
	err = r.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := r.q.deleteMode(ctx, tx, subject); err != nil {
			return err
		}
		return r.hooks.Journal(ctx, tx, change)
	})
	if err != nil {
		return "", r.storeErr("deleting a mode", err)
	}
	r.hooks.Notify(ctx, change)
	return prev, nil
}

// effectiveMode is the mode that governs writes to subject: a global READONLY_OVERRIDE wins,
// then the subject's own mode, then the global one.
func (r *Registry) effectiveMode(ctx context.Context, db querier, subject string) (AccessMode, error) {
	global, found, err := r.modeRow(ctx, db, globalKey)
	if err != nil {
		return "", err
	}
	if !found {
		global = ModeReadWrite
	}
	if global == ModeReadOnlyOverride {
		return global, nil
	}
	own, found, err := r.modeRow(ctx, db, subject)
	if err != nil {
		return "", err
	}
	if found {
		return own, nil
	}
	return global, nil
}

// checkWritable refuses writes to a read-only subject (READONLY, or READONLY_OVERRIDE of the
// subject or the whole registry), or to the global config ("") while the global mode is
// read-only, as Confluent refuses them: schema registrations and deletions, and the config.
func (r *Registry) checkWritable(ctx context.Context, db querier, subject string) (AccessMode, error) {
	m, err := r.effectiveMode(ctx, db, subject)
	if err != nil {
		return "", err
	}
	switch {
	case m.readOnly() && subject == globalKey:
		return m, errorf(ErrOperationNotPermitted, "The registry is in read-only mode (global mode %s)", m)
	case m.readOnly():
		return m, errorf(ErrOperationNotPermitted, "Subject %s is in read-only mode", subject)
	}
	return m, nil
}

// effectiveConfig is the configuration that governs subject: its own, else the global one (as
// Confluent's config in scope: a subject's configuration replaces the global one as a whole).
func (r *Registry) effectiveConfig(ctx context.Context, db querier, subject string) (Config, error) {
	c, found, err := r.configRow(ctx, db, subject)
	if err != nil {
		return Config{}, err
	}
	if found && c.Compatibility != "" {
		return c, nil
	}
	g, found, err := r.configRow(ctx, db, globalKey)
	if err != nil {
		return Config{}, err
	}
	if !found || g.Compatibility == "" {
		g.Compatibility = DefaultCompatibility
	}
	if c.Normalize != nil {
		g.Normalize = c.Normalize
	}
	g.CompatibilityGroup = cmp.Or(c.CompatibilityGroup, g.CompatibilityGroup)
	g.Alias = ""
	return g, nil
}

// EffectiveJSONSchemaFormat is the JSON Schema format setting that governs payloads validated
// under subject: its own, else the global config's, else "" (the caller's default, the
// gateway's schema_registry.json_schema.format). It is read from memory when the registry
// serves reads from memory (ServeFromMemory), so a validation pays no query for it; a config
// written on another replica counts once the change feed has brought it.
func (r *Registry) EffectiveJSONSchemaFormat(ctx context.Context, subject string) (JSONSchemaFormat, error) {
	for _, key := range []string{subject, globalKey} {
		c, _, err := r.configRow(ctx, r.db.SQL(), key)
		if err != nil {
			return "", r.storeErr("reading a compatibility configuration", err)
		}
		if c.JSONSchemaFormat != "" {
			return c.JSONSchemaFormat, nil
		}
	}
	return "", nil
}

// parseConfigFormat reads the JSONSchemaFormat of a config: one of the settings, wrapping
// ErrInvalidCompatibility otherwise.
func parseConfigFormat(f JSONSchemaFormat) (JSONSchemaFormat, error) {
	if strings.TrimSpace(string(f)) != "" {
		if v, err := ParseJSONSchemaFormat(string(f)); err == nil {
			return v, nil
		}
	}
	return "", errorf(ErrInvalidCompatibility, "Invalid JSON Schema format setting '%s'. Valid values are assert, annotate and draft", f)
}

// configRow reads subject's stored configuration: from memory when db is the pool and the
// registry serves reads from memory (ServeFromMemory), else through db (a transaction reads
// the database).
func (r *Registry) configRow(ctx context.Context, db querier, subject string) (Config, bool, error) {
	if idx := r.memFor(db); idx != nil {
		c, found := idx.config(subject)
		return c, found, nil
	}
	return r.q.config(ctx, db, subject)
}

// modeRow reads subject's stored access mode, from memory as configRow does.
func (r *Registry) modeRow(ctx context.Context, db querier, subject string) (AccessMode, bool, error) {
	if idx := r.memFor(db); idx != nil {
		m, found := idx.mode(subject)
		return m, found, nil
	}
	return r.q.mode(ctx, db, subject)
}

// memFor returns the index when db is the connection pool (not a transaction, which must see
// the database) and reads may be served from memory.
func (r *Registry) memFor(db querier) *index {
	if pool, ok := db.(*sql.DB); !ok || pool != r.db.SQL() {
		return nil
	}
	return r.mem()
}

// config and mode queries.

func (q queries) config(ctx context.Context, db querier, subject string) (Config, bool, error) {
	var row configColumns
	err := db.QueryRowContext(ctx, q.d.Rebind(`SELECT `+configSelect+` FROM subject_configs WHERE subject = ?`), subject).
		Scan(row.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return Config{}, false, nil
	}
	if err != nil {
		return Config{}, false, err
	}
	return row.config(), true, nil
}

// configSelect lists the columns of a subject_configs row that configColumns scans.
const configSelect = `compatibility, normalize, compatibility_group, json_schema_format, alias, validate_fields, ` +
	`default_metadata, override_metadata, default_rule_set, override_rule_set`

// configColumns holds the columns of a subject_configs row (configSelect), as scanned.
type configColumns struct {
	level, group, format, alias                                        sql.NullString
	defaultMetadata, overrideMetadata, defaultRuleSet, overrideRuleSet sql.NullString
	normalize, validateFields                                          sql.NullInt64
}

// dest returns the scan destinations, in configSelect's order.
func (c *configColumns) dest() []any {
	return []any{&c.level, &c.normalize, &c.group, &c.format, &c.alias, &c.validateFields,
		&c.defaultMetadata, &c.overrideMetadata, &c.defaultRuleSet, &c.overrideRuleSet}
}

// config builds a Config from the columns.
func (c *configColumns) config() Config {
	out := Config{Compatibility: CompatibilityLevel(c.level.String), CompatibilityGroup: c.group.String,
		JSONSchemaFormat: JSONSchemaFormat(c.format.String), Alias: c.alias.String,
		DefaultMetadata: c.defaultMetadata.String, OverrideMetadata: c.overrideMetadata.String,
		DefaultRuleSet: c.defaultRuleSet.String, OverrideRuleSet: c.overrideRuleSet.String,
		Normalize: nullBool(c.normalize), ValidateFields: nullBool(c.validateFields)}
	return out
}

// nullBool is an INTEGER 1/0 column as a *bool, nil for NULL.
func nullBool(n sql.NullInt64) *bool {
	if !n.Valid {
		return nil
	}
	b := n.Int64 != 0
	return &b
}

// nullIfEmpty is s for a column, NULL when empty.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// boolColumn is b for an INTEGER 1/0 column, NULL when nil.
func boolColumn(b *bool) any {
	if b == nil {
		return nil
	}
	return boolInt(*b)
}

func (q queries) putConfig(ctx context.Context, tx *sql.Tx, subject string, c Config) error {
	if _, err := tx.ExecContext(ctx, q.d.Rebind(`DELETE FROM subject_configs WHERE subject = ?`), subject); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, q.d.Rebind(
		`INSERT INTO subject_configs (subject, `+configSelect+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		subject, string(c.Compatibility), boolColumn(c.Normalize), nullIfEmpty(c.CompatibilityGroup), nullIfEmpty(string(c.JSONSchemaFormat)),
		nullIfEmpty(c.Alias), boolColumn(c.ValidateFields), nullIfEmpty(c.DefaultMetadata), nullIfEmpty(c.OverrideMetadata),
		nullIfEmpty(c.DefaultRuleSet), nullIfEmpty(c.OverrideRuleSet))
	return err
}

func (q queries) deleteConfig(ctx context.Context, db querier, subject string) error {
	_, err := db.ExecContext(ctx, q.d.Rebind(`DELETE FROM subject_configs WHERE subject = ?`), subject)
	return err
}

func (q queries) mode(ctx context.Context, db querier, subject string) (AccessMode, bool, error) {
	var m string
	err := db.QueryRowContext(ctx, q.d.Rebind(`SELECT mode FROM subject_modes WHERE subject = ?`), subject).Scan(&m)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return AccessMode(m), err == nil, err
}

func (q queries) putMode(ctx context.Context, tx *sql.Tx, subject string, m AccessMode) error {
	if _, err := tx.ExecContext(ctx, q.d.Rebind(`DELETE FROM subject_modes WHERE subject = ?`), subject); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, q.d.Rebind(`INSERT INTO subject_modes (subject, mode) VALUES (?, ?)`), subject, string(m))
	return err
}

func (q queries) deleteMode(ctx context.Context, db querier, subject string) error {
	_, err := db.ExecContext(ctx, q.d.Rebind(`DELETE FROM subject_modes WHERE subject = ?`), subject)
	return err
}

// countVersions counts the version rows of subject, or of every subject for "".
func (q queries) countVersions(ctx context.Context, db querier, subject string) (int, error) {
	query, args := `SELECT COUNT(*) FROM subject_versions`, []any{}
	if subject != "" {
		query, args = query+` WHERE subject = ?`, append(args, subject)
	}
	var n int
	err := db.QueryRowContext(ctx, q.d.Rebind(query), args...).Scan(&n)
	return n, err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
