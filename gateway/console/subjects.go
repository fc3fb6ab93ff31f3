package console

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strings"

	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// subjectRow is one line of the subjects list.
type subjectRow struct {
	Status         *pb.SubjectStatus
	Team           string
	MinValidations int64
	// Stale: no replica has recorded evidence lately (see evidenceStale), so the status is made
	// of counts that stopped growing.
	Stale bool
}

// subjectsView is the subjects page.
type subjectsView struct {
	Rows   []subjectRow
	Filter url.Values // q, mode, eligible, sort: the form's values, kept in the live part's URL
	Total  int
}

// subjectsPage lists every subject granted to the principal (the API filters them), with the
// filters and sort order of the query: q (text in the name), mode (canary, strict), eligible
// (yes, no), sort (subject, clean, validations, eligible).
func (c *Console) subjectsPage(r *http.Request, ss *session) (view, error) {
	ctx := callContext(r, ss)
	resp, err := c.gov.ListSubjectStatuses(ctx, &pb.ListSubjectStatusesRequest{})
	if err != nil {
		return view{}, err
	}
	teams := c.owners(r, ss)
	q := r.URL.Query()
	filter := url.Values{}
	for _, k := range []string{"q", "mode", "eligible", "sort"} {
		if v := strings.TrimSpace(q.Get(k)); v != "" {
			filter.Set(k, v)
		}
	}
	v := subjectsView{Filter: filter, Total: len(resp.GetStatuses())}
	stale := false
	if len(resp.GetStatuses()) > 0 {
		// Replicas record for every subject at once: one subject's evidence tells of all.
		stale = c.stale(r, ss, resp.GetStatuses()[0].GetSubject())
	}
	for _, st := range resp.GetStatuses() {
		if !matches(st, filter) {
			continue
		}
		v.Rows = append(v.Rows, subjectRow{Status: st, Team: teams[st.GetSubject()], MinValidations: c.minValid, Stale: stale})
	}
	sortRows(v.Rows, filter.Get("sort"))
	return view{page: "subjects", title: "Subjects", data: v}, nil
}

// stale reports whether subject's evidence is stale (see evidenceStale); false when it cannot
// be read.
func (c *Console) stale(r *http.Request, ss *session, subject string) bool {
	ev, err := c.gov.GetSubjectEvidence(callContext(r, ss), &pb.GetSubjectEvidenceRequest{Subject: subject})
	return err == nil && evidenceStale(ev)
}

// owners maps subjects to their owning teams; a principal who may not read them sees none.
func (c *Console) owners(r *http.Request, ss *session) map[string]string {
	out := map[string]string{}
	resp, err := c.gov.ListSubjectOwners(callContext(r, ss), &pb.ListSubjectOwnersRequest{})
	if err != nil {
		return out
	}
	for _, o := range resp.GetOwners() {
		out[o.GetSubject()] = o.GetTeam()
	}
	return out
}

// matches applies the list's filters.
func matches(st *pb.SubjectStatus, f url.Values) bool {
	if q := f.Get("q"); q != "" && !strings.Contains(strings.ToLower(st.GetSubject()), strings.ToLower(q)) {
		return false
	}
	if m := f.Get("mode"); m != "" && modeName(st.GetMode()) != m {
		return false
	}
	switch f.Get("eligible") {
	case "yes":
		return st.GetEligible()
	case "no":
		return !st.GetEligible()
	}
	return true
}

// sortRows orders the list by key (subject by default); numbers and eligibility descending.
func sortRows(rows []subjectRow, key string) {
	slices.SortStableFunc(rows, func(a, b subjectRow) int {
		x, y := a.Status, b.Status
		var by int
		switch key {
		case "clean":
			by = cmp.Compare(y.GetCleanSeconds(), x.GetCleanSeconds())
		case "validations":
			by = cmp.Compare(y.GetValidations(), x.GetValidations())
		case "eligible":
			by = boolOrder(y.GetEligible()) - boolOrder(x.GetEligible())
		}
		return cmp.Or(by, strings.Compare(x.GetSubject(), y.GetSubject()))
	})
}

func boolOrder(b bool) int {
	if b {
		return 1
	}
	return 0
}
