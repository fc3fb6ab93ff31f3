package clients

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"
)

// Avro schemas of one record that evolves. Each test gives the record a name of its own, so
// that no two tests share a schema (and so a global ID).
func paymentV1(name string) string {
	return `{"type":"record","name":"` + name + `","namespace":"io.schemagate.clients.go","fields":[` +
		`{"name":"id","type":"string"},{"name":"amount","type":"long"}]}`
}

// paymentOptional adds a field with a default: BACKWARD compatible with paymentV1.
func paymentOptional(name string) string {
	return `{"type":"record","name":"` + name + `","namespace":"io.schemagate.clients.go","fields":[` +
		`{"name":"id","type":"string"},{"name":"amount","type":"long"},` +
		`{"name":"currency","type":"string","default":"EUR"}]}`
}

// paymentRequired adds a field without a default: not BACKWARD compatible with paymentV1.
func paymentRequired(name string) string {
	return `{"type":"record","name":"` + name + `","namespace":"io.schemagate.clients.go","fields":[` +
		`{"name":"id","type":"string"},{"name":"amount","type":"long"},` +
		`{"name":"payer","type":"string"}]}`
}

func TestRegisterAndLookup(t *testing.T) {
	subj := subject(t, "value")
	v1 := avroInfo(paymentV1("LookupPayment"))
	v2 := avroInfo(paymentOptional("LookupPayment"))

	id1 := register(t, subj, v1)
	id2 := register(t, subj, v2)
	if id1 == id2 {
		t.Fatalf("two different schemas got the same ID %d", id1)
	}

	t.Run("same schema again gives the same ID and no new version", func(t *testing.T) {
		c := newClient(t)
		md, err := c.RegisterFullResponse(subj, v1, false)
		must(t, err, "register again")
		if md.ID != id1 {
			t.Fatalf("re-register: want ID %d, got %d", id1, md.ID)
		}
		versions, err := c.GetAllVersions(subj)
		must(t, err, "GetAllVersions")
		if !slices.Equal(versions, []int{1, 2}) {
			t.Fatalf("GetAllVersions: want [1 2], got %v", versions)
		}
	})

	t.Run("GetBySubjectAndID", func(t *testing.T) {
		c := newClient(t)
		info, err := c.GetBySubjectAndID("", id1)
		must(t, err, "GetBySubjectAndID without subject")
		if info.Schema == "" {
			t.Fatal("GET /schemas/ids/{id}: empty schema")
		}
		if info.SchemaType != "" && info.SchemaType != "AVRO" {
			t.Fatalf("schemaType of an Avro schema: want absent or AVRO, got %q", info.SchemaType)
		}
		info, err = c.GetBySubjectAndID(subj, id2)
		must(t, err, "GetBySubjectAndID with subject")
		if info.Schema == "" {
			t.Fatal("GET /schemas/ids/{id}?subject=: empty schema")
		}
	})

	t.Run("GetSchemaMetadata by version and latest", func(t *testing.T) {
		c := newClient(t)
		md, err := c.GetSchemaMetadata(subj, 1)
		must(t, err, "GetSchemaMetadata v1")
		if md.ID != id1 || md.Version != 1 || md.Subject != subj || md.Schema == "" {
			t.Fatalf("GetSchemaMetadata(%s, 1): want id %d version 1 subject %s, got %+v", subj, id1, subj, md)
		}
		latest, err := c.GetLatestSchemaMetadata(subj)
		must(t, err, "GetLatestSchemaMetadata")
		if latest.ID != id2 || latest.Version != 2 || latest.Subject != subj {
			t.Fatalf("latest: want id %d version 2, got %+v", id2, latest)
		}
	})

	t.Run("GetAllSubjects", func(t *testing.T) {
		subjects, err := newClient(t).GetAllSubjects()
		must(t, err, "GetAllSubjects")
		if !contains(subjects, subj) {
			t.Fatalf("GetAllSubjects: %s missing from %v", subj, subjects)
		}
	})

	t.Run("GetID and GetVersion look a schema up", func(t *testing.T) {
		c := newClient(t)
		id, err := c.GetID(subj, v2, false)
		must(t, err, "GetID")
		if id != id2 {
			t.Fatalf("GetID: want %d, got %d", id2, id)
		}
		md, err := c.GetIDFullResponse(subj, v1, false)
		must(t, err, "GetIDFullResponse")
		if md.ID != id1 || md.Version != 1 || md.Subject != subj {
			t.Fatalf("POST /subjects/{s}: want id %d version 1 subject %s, got %+v", id1, subj, md)
		}
		version, err := c.GetVersion(subj, v2, false)
		must(t, err, "GetVersion")
		if version != 2 {
			t.Fatalf("GetVersion: want 2, got %d", version)
		}
		_, err = c.GetID(subj, avroInfo(paymentRequired("LookupPayment")), false)
		wantCode(t, err, 40403, "GetID of a schema never registered")
	})

	t.Run("GetSubjectsAndVersionsByID", func(t *testing.T) {
		svs, err := newClient(t).GetSubjectsAndVersionsByID(id2)
		must(t, err, "GetSubjectsAndVersionsByID")
		if !slices.Contains(svs, schemaregistry.SubjectAndVersion{Subject: subj, Version: 2}) {
			t.Fatalf("GET /schemas/ids/%d/versions: want {%s 2} in %+v", id2, subj, svs)
		}
	})

	t.Run("the same schema written differently is the same schema", func(t *testing.T) {
		// Whitespace and the order of a type's attributes do not make a new schema.
		reformatted := `{ "namespace": "io.schemagate.clients.go", "name": "LookupPayment", "type": "record",
			"fields": [ { "type": "string", "name": "id" }, { "type": "long", "name": "amount" } ] }`
		id, err := newClient(t).Register(subj, avroInfo(reformatted), false)
		must(t, err, "register the reformatted schema")
		if id != id1 {
			t.Fatalf("reformatted version 1 schema: want ID %d, got %d", id1, id)
		}
		versions, err := newClient(t).GetAllVersions(subj)
		must(t, err, "GetAllVersions")
		if !slices.Equal(versions, []int{1, 2}) {
			t.Fatalf("a reformatted schema must not add a version: want [1 2], got %v", versions)
		}
	})

	t.Run("version -1 is the latest", func(t *testing.T) {
		md, err := newClient(t).GetSchemaMetadata(subj, -1)
		must(t, err, "GetSchemaMetadata(-1)")
		if md.ID != id2 || md.Version != 2 {
			t.Fatalf("GET /subjects/{s}/versions/-1: want id %d version 2, got %+v", id2, md)
		}
	})

	t.Run("not found errors", func(t *testing.T) {
		c := newClient(t)
		_, err := c.GetBySubjectAndID("", 1<<30)
		wantCode(t, err, 40403, "unknown schema ID")
		_, err = c.GetLatestSchemaMetadata(subject(t, "absent"))
		wantCode(t, err, 40401, "latest of an unknown subject")
		_, err = c.GetSchemaMetadata(subj, 99)
		wantCode(t, err, 40402, "unknown version of a known subject")
		_, err = c.GetAllVersions(subject(t, "absent"))
		wantCode(t, err, 40401, "versions of an unknown subject")
	})
}

// TestConcurrentRegistration is many producers starting at once, each auto-registering the
// same schema: one ID, one version.
func TestConcurrentRegistration(t *testing.T) {
	subj := subject(t, "value")
	info := avroInfo(paymentV1("ConcurrentPayment"))
	const n = 8
	ids := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i], errs[i] = newClient(t).Register(subj, info, false)
		}()
	}
	wg.Wait()
	for i := range n {
		must(t, errs[i], fmt.Sprintf("concurrent register #%d", i))
		if ids[i] != ids[0] {
			t.Fatalf("concurrent registrations of one schema got different IDs: %v", ids)
		}
	}
	versions, err := newClient(t).GetAllVersions(subj)
	must(t, err, "GetAllVersions")
	if !slices.Equal(versions, []int{1}) {
		t.Fatalf("concurrent registrations of one schema: want versions [1], got %v", versions)
	}
}

func TestJSONSchemaRegister(t *testing.T) {
	subj := subject(t, "value")
	schema := `{"$schema":"http://json-schema.org/draft-07/schema#","title":"Shipment","type":"object",` +
		`"properties":{"id":{"type":"string"},"weight":{"type":"number"}},"required":["id"]}`
	id := register(t, subj, jsonInfo(schema))
	c := newClient(t)
	info, err := c.GetBySubjectAndID("", id)
	must(t, err, "GetBySubjectAndID")
	if info.SchemaType != "JSON" {
		t.Fatalf("schemaType: want JSON, got %q", info.SchemaType)
	}
	md, err := c.GetLatestSchemaMetadata(subj)
	must(t, err, "GetLatestSchemaMetadata")
	if md.ID != id || md.SchemaType != "JSON" {
		t.Fatalf("latest: want id %d schemaType JSON, got %+v", id, md)
	}
	again := register(t, subj, jsonInfo(schema))
	if again != id {
		t.Fatalf("same JSON schema again: want ID %d, got %d", id, again)
	}
	got, err := c.GetID(subj, jsonInfo(schema), false)
	must(t, err, "GetID")
	if got != id {
		t.Fatalf("GetID: want %d, got %d", id, got)
	}
}

func TestInvalidSchema(t *testing.T) {
	_, err := newClient(t).Register(subject(t, "value"),
		avroInfo(`{"type":"record","name":"Broken","fields":[{"name":"a","type":"integr"}]}`), false)
	wantCode(t, err, 42201, "register an Avro schema that does not parse")
	_, err = newClient(t).Register(subject(t, "json"), jsonInfo(`{"type": 12}`), false)
	wantCode(t, err, 42201, "register a JSON schema that is not valid")
}

func TestIncompatibleRegistration(t *testing.T) {
	subj := subject(t, "value")
	register(t, subj, avroInfo(paymentV1("IncompatPayment")))
	_, err := newClient(t).Register(subj, avroInfo(paymentRequired("IncompatPayment")), false)
	wantCode(t, err, 409, "register a new required field under BACKWARD")
	versions, err := newClient(t).GetAllVersions(subj)
	must(t, err, "GetAllVersions")
	if !slices.Equal(versions, []int{1}) {
		t.Fatalf("a refused schema must not be stored: want versions [1], got %v", versions)
	}
}

func TestCompatibilityCheck(t *testing.T) {
	subj := subject(t, "value")
	register(t, subj, avroInfo(paymentV1("CheckPayment")))
	c := newClient(t)

	ok, err := c.TestCompatibility(subj, 1, avroInfo(paymentOptional("CheckPayment")))
	must(t, err, "TestCompatibility (compatible)")
	if !ok {
		t.Error("TestCompatibility: a new field with a default should be BACKWARD compatible")
	}
	ok, err = c.TestCompatibility(subj, 1, avroInfo(paymentRequired("CheckPayment")))
	must(t, err, "TestCompatibility (incompatible)")
	if ok {
		t.Error("TestCompatibility: a new field without a default should not be BACKWARD compatible")
	}
	ok, err = c.TestSubjectCompatibility(subj, avroInfo(paymentRequired("CheckPayment")))
	must(t, err, "TestSubjectCompatibility")
	if ok {
		t.Error("TestSubjectCompatibility: a new field without a default should not be BACKWARD compatible")
	}

	// "latest" is what the Java and Go serializers use; the Go client only takes a number, so ask
	// for it directly.
	r := raw(t, "POST", "/compatibility/subjects/"+subj+"/versions/latest",
		map[string]string{"schema": paymentOptional("CheckPayment")})
	var res struct {
		IsCompatible *bool `json:"is_compatible"`
	}
	if r.Status != 200 {
		t.Fatalf("POST /compatibility/subjects/%s/versions/latest: want 200, got %s", subj, r)
	}
	r.decode(t, &res)
	if res.IsCompatible == nil || !*res.IsCompatible {
		t.Fatalf("POST /compatibility/.../versions/latest: want is_compatible true, got %s", r)
	}

	_, err = c.TestCompatibility(subject(t, "absent"), 1, avroInfo(paymentV1("CheckPayment")))
	wantCode(t, err, 40401, "compatibility check against an unknown subject")
	_, err = c.TestCompatibility(subj, 7, avroInfo(paymentV1("CheckPayment")))
	wantCode(t, err, 40402, "compatibility check against an unknown version")
}

// TestCompatibilityConfig changes the global level, so it restores it before it ends.
func TestCompatibilityConfig(t *testing.T) {
	c := newClient(t)

	global, err := c.GetDefaultCompatibility()
	must(t, err, "GetDefaultCompatibility")
	if global != schemaregistry.Backward {
		t.Errorf("GET /config: the default level should be BACKWARD, got %s", global.String())
	}
	t.Cleanup(func() {
		if _, err := newClient(t).UpdateDefaultCompatibility(schemaregistry.Backward); err != nil {
			t.Errorf("restore the global level: %v", err)
		}
	})

	subj := subject(t, "value")
	_, err = c.GetCompatibility(subj)
	wantCode(t, err, 40408, "GET /config/{subject} of a subject without a level of its own")

	cfg, err := c.GetConfig(subj, true)
	must(t, err, "GetConfig(defaultToGlobal=true)")
	if cfg.CompatibilityLevel != schemaregistry.Backward {
		t.Errorf("GET /config/{subject}?defaultToGlobal=true: want BACKWARD, got %s", cfg.CompatibilityLevel.String())
	}

	t.Run("per subject", func(t *testing.T) {
		got, err := c.UpdateCompatibility(subj, schemaregistry.Full)
		must(t, err, "UpdateCompatibility FULL")
		if got != schemaregistry.Full {
			t.Fatalf("PUT /config/{subject}: want FULL, got %s", got.String())
		}
		got, err = c.GetCompatibility(subj)
		must(t, err, "GetCompatibility")
		if got != schemaregistry.Full {
			t.Fatalf("GET /config/{subject}: want FULL, got %s", got.String())
		}
		r := raw(t, "PUT", "/config/"+subj, map[string]string{"compatibility": "NONE"})
		if r.Status != 200 || !jsonHas(t, r, "compatibility", "NONE") {
			t.Fatalf(`PUT /config/%s {"compatibility":"NONE"}: want 200 {"compatibility":"NONE"}, got %s`, subj, r)
		}
		// NONE lets an incompatible change through.
		register(t, subj, avroInfo(paymentV1("ConfigPayment")))
		register(t, subj, avroInfo(paymentRequired("ConfigPayment")))

		r = raw(t, "PUT", "/config/"+subj, map[string]string{"compatibility": "SIDEWAYS"})
		if r.Status != 422 || !jsonHasCode(t, r, 42203) {
			t.Fatalf("PUT /config/{subject} with an unknown level: want 422 error_code 42203, got %s", r)
		}

		r = raw(t, "DELETE", "/config/"+subj, nil)
		if r.Status != 200 {
			t.Fatalf("DELETE /config/%s: want 200, got %s", subj, r)
		}
		_, err = c.GetCompatibility(subj)
		wantCode(t, err, 40408, "GET /config/{subject} after DELETE /config/{subject}")
	})

	t.Run("global", func(t *testing.T) {
		got, err := c.UpdateDefaultCompatibility(schemaregistry.FullTransitive)
		must(t, err, "UpdateDefaultCompatibility FULL_TRANSITIVE")
		if got != schemaregistry.FullTransitive {
			t.Fatalf("PUT /config: want FULL_TRANSITIVE, got %s", got.String())
		}
		got, err = c.GetDefaultCompatibility()
		must(t, err, "GetDefaultCompatibility")
		if got != schemaregistry.FullTransitive {
			t.Fatalf("GET /config: want FULL_TRANSITIVE, got %s", got.String())
		}

		// A subject without a level of its own follows the global one.
		other := subject(t, "follows-global")
		_, err = c.UpdateDefaultCompatibility(schemaregistry.None)
		must(t, err, "UpdateDefaultCompatibility NONE")
		register(t, other, avroInfo(paymentV1("GlobalPayment")))
		register(t, other, avroInfo(paymentRequired("GlobalPayment")))

		_, err = c.UpdateDefaultCompatibility(schemaregistry.Backward)
		must(t, err, "UpdateDefaultCompatibility BACKWARD")
		third := subject(t, "follows-global-backward")
		register(t, third, avroInfo(paymentV1("GlobalPayment2")))
		_, err = newClient(t).Register(third, avroInfo(paymentRequired("GlobalPayment2")), false)
		wantCode(t, err, 409, "incompatible registration under the global BACKWARD")

		// A subject level overrides the global one.
		_, err = c.UpdateCompatibility(third, schemaregistry.None)
		must(t, err, "UpdateCompatibility NONE")
		register(t, third, avroInfo(paymentRequired("GlobalPayment2")))
	})
}

// TestMode uses the REST API directly: confluent-kafka-go v2.11.1 has no mode methods.
func TestMode(t *testing.T) {
	var mode struct {
		Mode string `json:"mode"`
	}
	r := raw(t, "GET", "/mode", nil)
	if r.Status != 200 {
		t.Fatalf("GET /mode: want 200, got %s", r)
	}
	r.decode(t, &mode)
	if mode.Mode != "READWRITE" {
		t.Fatalf(`GET /mode: want {"mode":"READWRITE"}, got %s`, r)
	}

	subj := subject(t, "value")
	register(t, subj, avroInfo(paymentV1("ModePayment")))

	r = raw(t, "PUT", "/mode/"+subj, map[string]string{"mode": "READONLY"})
	if r.Status != 200 || !jsonHas(t, r, "mode", "READONLY") {
		t.Fatalf(`PUT /mode/%s {"mode":"READONLY"}: want 200 {"mode":"READONLY"}, got %s`, subj, r)
	}
	r = raw(t, "GET", "/mode/"+subj, nil)
	if r.Status != 200 || !jsonHas(t, r, "mode", "READONLY") {
		t.Fatalf(`GET /mode/%s: want 200 {"mode":"READONLY"}, got %s`, subj, r)
	}
	_, err := newClient(t).Register(subj, avroInfo(paymentOptional("ModePayment")), false)
	wantCode(t, err, 42205, "register under a READONLY subject")
	// Reads still work.
	_, err = newClient(t).GetLatestSchemaMetadata(subj)
	must(t, err, "read a READONLY subject")

	r = raw(t, "PUT", "/mode/"+subj, map[string]string{"mode": "READWRITE"})
	if r.Status != 200 || !jsonHas(t, r, "mode", "READWRITE") {
		t.Fatalf(`PUT /mode/%s {"mode":"READWRITE"}: want 200, got %s`, subj, r)
	}
	register(t, subj, avroInfo(paymentOptional("ModePayment")))

	r = raw(t, "PUT", "/mode/"+subj, map[string]string{"mode": "SIDEWAYS"})
	if r.Status != 422 || !jsonHasCode(t, r, 42204) {
		t.Fatalf("PUT /mode/{subject} with an unknown mode: want 422 error_code 42204, got %s", r)
	}
}

func TestDelete(t *testing.T) {
	subj := subject(t, "value")
	id1 := register(t, subj, avroInfo(paymentV1("DeletePayment")))
	register(t, subj, avroInfo(paymentOptional("DeletePayment")))
	c := newClient(t)

	t.Run("DeleteSubjectVersion soft then hard", func(t *testing.T) {
		v, err := c.DeleteSubjectVersion(subj, 2, false)
		must(t, err, "soft-delete version 2")
		if v != 2 {
			t.Fatalf("DELETE /subjects/{s}/versions/2: want 2, got %d", v)
		}
		versions, err := c.GetAllVersions(subj)
		must(t, err, "GetAllVersions")
		if !slices.Equal(versions, []int{1}) {
			t.Fatalf("after soft delete of version 2: want [1], got %v", versions)
		}
		md, err := c.GetSchemaMetadataIncludeDeleted(subj, 2, true)
		must(t, err, "read a soft-deleted version with deleted=true")
		if md.Version != 2 {
			t.Fatalf("deleted=true: want version 2, got %+v", md)
		}
		_, err = newClient(t).GetSchemaMetadata(subj, 2)
		wantCode(t, err, 40402, "read a soft-deleted version without deleted=true")
		v, err = c.DeleteSubjectVersion(subj, 2, true)
		must(t, err, "hard-delete version 2")
		if v != 2 {
			t.Fatalf("DELETE /subjects/{s}/versions/2?permanent=true: want 2, got %d", v)
		}
		_, err = newClient(t).GetSchemaMetadataIncludeDeleted(subj, 2, true)
		wantCode(t, err, 40402, "read a hard-deleted version")
	})

	t.Run("a soft-deleted schema registered again keeps its ID", func(t *testing.T) {
		again := subject(t, "again")
		register(t, again, avroInfo(paymentV1("DeleteAgainPayment")))
		id2 := register(t, again, avroInfo(paymentOptional("DeleteAgainPayment")))
		_, err := c.DeleteSubjectVersion(again, 2, false)
		must(t, err, "soft-delete version 2")
		md, err := newClient(t).RegisterFullResponse(again, avroInfo(paymentOptional("DeleteAgainPayment")), false)
		must(t, err, "register the soft-deleted schema again")
		if md.ID != id2 {
			t.Fatalf("re-registered soft-deleted schema: want ID %d, got %d", id2, md.ID)
		}
		latest, err := newClient(t).GetLatestSchemaMetadata(again)
		must(t, err, "GetLatestSchemaMetadata")
		if latest.ID != id2 {
			t.Fatalf("latest after re-registration: want ID %d, got %+v", id2, latest)
		}
	})

	t.Run("hard delete needs a soft delete first", func(t *testing.T) {
		other := subject(t, "other")
		register(t, other, avroInfo(paymentV1("DeletePaymentOther")))
		_, err := c.DeleteSubject(other, true)
		wantCode(t, err, 40405, "permanent delete of a subject that was not soft-deleted")
		_, err = c.DeleteSubjectVersion(other, 1, true)
		wantCode(t, err, 40407, "permanent delete of a version that was not soft-deleted")
	})

	t.Run("DeleteSubject soft then hard", func(t *testing.T) {
		deleted, err := c.DeleteSubject(subj, false)
		must(t, err, "soft-delete subject")
		if !slices.Equal(deleted, []int{1}) {
			t.Fatalf("DELETE /subjects/{s}: want [1], got %v", deleted)
		}
		subjects, err := c.GetAllSubjects()
		must(t, err, "GetAllSubjects")
		if contains(subjects, subj) {
			t.Fatalf("a soft-deleted subject must not be listed: %v", subjects)
		}
		_, err = newClient(t).GetLatestSchemaMetadata(subj)
		wantCode(t, err, 40401, "latest of a soft-deleted subject")
		md, err := newClient(t).GetSchemaMetadataIncludeDeleted(subj, 1, true)
		must(t, err, "read a soft-deleted subject with deleted=true")
		if md.ID != id1 {
			t.Fatalf("deleted=true: want id %d, got %+v", id1, md)
		}
		// The schema itself is still there by ID.
		_, err = newClient(t).GetBySubjectAndID("", id1)
		must(t, err, "GET /schemas/ids/{id} of a soft-deleted subject's schema")

		deleted, err = c.DeleteSubject(subj, true)
		must(t, err, "hard-delete subject")
		if !slices.Equal(deleted, []int{1}) {
			t.Fatalf("DELETE /subjects/{s}?permanent=true: want [1], got %v", deleted)
		}
		_, err = newClient(t).GetSchemaMetadataIncludeDeleted(subj, 1, true)
		wantCode(t, err, 40401, "read a hard-deleted subject")
		_, err = c.DeleteSubject(subj, false)
		wantCode(t, err, 40401, "delete a subject that no longer exists")
	})
}

func TestContexts(t *testing.T) {
	contexts, err := newClient(t).GetAllContexts()
	must(t, err, "GetAllContexts")
	if !contains(contexts, ".") {
		t.Fatalf(`GET /contexts: want the default context "." listed, got %v`, contexts)
	}
}

// TestClusterMetadata checks GET /v1/metadata/id, which tools ask to identify the registry.
func TestClusterMetadata(t *testing.T) {
	r := raw(t, "GET", "/v1/metadata/id", nil)
	if r.Status != 200 {
		t.Fatalf("GET /v1/metadata/id: want 200, got %s", r)
	}
	var md struct {
		Scope *struct {
			Path     []string          `json:"path"`
			Clusters map[string]string `json:"clusters"`
		} `json:"scope"`
	}
	r.decode(t, &md)
	if md.Scope == nil || md.Scope.Path == nil || md.Scope.Clusters["schema-registry-cluster"] == "" {
		t.Fatalf(`GET /v1/metadata/id: want {"scope":{"path":[],"clusters":{"schema-registry-cluster":...}}}, got %s`, r)
	}
}

// jsonHas reports whether the response is a JSON object whose key is the string want.
func jsonHas(t *testing.T, r rawResponse, key, want string) bool {
	t.Helper()
	var m map[string]any
	r.decode(t, &m)
	got, _ := m[key].(string)
	return got == want
}

// jsonHasCode reports whether the response is a Confluent error with the given error_code.
func jsonHasCode(t *testing.T, r rawResponse, code int) bool {
	t.Helper()
	var e struct {
		Code    int    `json:"error_code"`
		Message string `json:"message"`
	}
	r.decode(t, &e)
	return e.Code == code && e.Message != ""
}
