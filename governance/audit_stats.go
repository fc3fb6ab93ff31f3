package governance

import "context"

// CountByAction counts the audit entries per action, for the schemagate_audit_entries_total
// metric.
func (a *Audit) CountByAction(ctx context.Context) (map[string]int64, error) {
	rows, err := a.db.SQL().QueryContext(ctx, `SELECT action, COUNT(*) FROM audit_entries GROUP BY action`)
	if err != nil {
		return nil, storeErr("counting audit entries", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var action string
		var n int64
		if err := rows.Scan(&action, &n); err != nil {
			return nil, storeErr("counting audit entries", err)
		}
		out[action] = n
	}
	return out, rows.Err()
}
