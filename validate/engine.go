package validate

import (
	"bytes"
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/hamba/avro/v2"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/schemagate/schemagate/registry"
	"github.com/schemagate/schemagate/registry/protoschema"
)

// Format says how a payload is encoded.
type Format int

// The payload formats.
const (
	// FormatUnspecified: JSON, AVRO_JSON or PROTOBUF_JSON for a JSON payload (the schema's type
	// decides), CONFLUENT for binary data.
	FormatUnspecified Format = iota
	// FormatAvroBinary is raw Avro binary for a subject version or schema ID.
	FormatAvroBinary
	// FormatConfluent is magic byte 0, a 4-byte big-endian schema ID, then Avro binary, JSON
	// text, or (for a Protobuf schema) the message-index array and the Protobuf binary message.
	FormatConfluent
	// FormatAvroJSON is a JSON value in Avro's JSON encoding: a decoded value, or its text in Data.
	FormatAvroJSON
	// FormatJSON is a JSON value checked against a JSON Schema: a decoded value, or its text in
	// Data.
	FormatJSON
	// FormatProtobuf is a raw Protobuf binary message for a subject version or schema ID, of
	// the type Request.MessageName names.
	FormatProtobuf
	// FormatProtobufJSON is a Protobuf message in the Protobuf JSON mapping (what protojson
	// writes), of the type Request.MessageName names: JSON text in Data or JSONText, or a
	// decoded value.
	FormatProtobufJSON
)

// Errors of requests that cannot be validated at all (as opposed to payloads with findings).
var (
	// ErrSubjectNotFound: the subject has no live version.
	ErrSubjectNotFound = errors.New("subject not found")
	// ErrVersionNotFound: the subject has no such live version.
	ErrVersionNotFound = errors.New("version not found")
	// ErrBadRequest: the request is inconsistent (no payload, a format the schema type cannot
	// have).
	ErrBadRequest = errors.New("bad validation request")
)

// Source is what the engine needs of the registry.
type Source interface {
	Resolved(ctx context.Context, id int) (registry.Resolved, error)
	LiveVersions(ctx context.Context) ([]registry.LiveVersion, error)
	SubjectLiveVersions(ctx context.Context, subject string) ([]registry.LiveVersion, error)
}

// SchemaMembership is what a Source may offer besides: the live subject versions that hold a
// schema ID. The engine asks it when a payload names a schema ID that its subject index does not
// hold under the subject (upstream mode: a version registered in the upstream registry since
// the last poll), and reloads the subject when the answer has it. Without it such a payload is
// an unknown_schema_id finding until the index refreshes.
type SchemaMembership interface {
	SchemaSubjects(ctx context.Context, id int) ([]registry.SubjectVersion, error)
}

// FormatSettings is what a Source may offer besides: the JSON Schema format setting in force
// for a subject (its own, else the registry's global one), "" when neither is set. The engine
// asks it on every validation, so it must answer from memory (the embedded registry does, once
// it serves from memory). Without it, or on "", Options.JSONSchemaFormat holds: in upstream
// mode the setting is gateway-wide only, since the upstream registry keeps no such config.
type FormatSettings interface {
	EffectiveJSONSchemaFormat(ctx context.Context, subject string) (registry.JSONSchemaFormat, error)
}

// DefaultMaxCacheBytes is the default Options.MaxCacheBytes.
const DefaultMaxCacheBytes = 64 << 20

// Options configures an Engine.
type Options struct {
	// Source is required.
	Source Source
	// MaxCacheBytes bounds the compiled validators kept (least recently used go first), by an
	// estimate of their size. Default 64 MiB (config key schema_registry.validator_cache_bytes).
	MaxCacheBytes int64
	// RefreshInterval is how often Run reloads the subject index, so versions registered on
	// any replica are picked up. Default 2s.
	RefreshInterval time.Duration
	// Limits bound each payload.
	Limits Limits
	// JSONSchemaFormat says what "format" does in JSON Schemas (config key
	// schema_registry.json_schema.format) under subjects for which the Source's FormatSettings
	// name none. Default registry.JSONFormatAssert. It holds for the engine's lifetime (a
	// change of the key takes a new engine, a restart); a change of a subject's or the global
	// setting in the registry counts from the next validation, since validators are cached by
	// schema ID and setting.
	JSONSchemaFormat registry.JSONSchemaFormat
	// Logger is optional.
	Logger *slog.Logger
	// Registerer receives the engine's metric, schemagate_validation_duration_seconds (the
	// time of Validate calls, one in 8 timed). Optional: without it validations are not timed.
	Registerer prometheus.Registerer
}

// Request is one payload to validate, in exactly one of three places: Data, bytes as sent; JSON
// with HasJSON set, a decoded JSON value (numbers as json.Number); or JSONText. Data is binary for
// FormatConfluent, FormatAvroBinary and FormatProtobuf (and FormatUnspecified, which means
// FormatConfluent with Data) and JSON text for FormatJSON, FormatAvroJSON and
// FormatProtobufJSON: Validate decodes it as a framed JSON body is decoded, numbers exact, and
// it must be one valid UTF-8 JSON value or the request is refused (ErrBadRequest); nesting
// deeper than Limits.MaxDepth is a decode_error finding.
//
// A Protobuf JSON payload is checked as text, so that a field named twice is found: JSONText
// with FormatProtobufJSON is taken as Data (DecodeText moves it there), and a decoded value is
// encoded again as compact JSON, numbers exactly as decoded (its repeated names are gone).
//
// A nil Data without HasJSON is no payload at all and Validate refuses it (ErrBadRequest) rather
// than report findings about it; a non-nil empty Data is a zero-byte payload, which is a valid
// Avro binary encoding (a record without fields) and is validated like any other. Transports
// keep the difference: the wire field data tracks presence.
type Request struct {
	Subject  string
	Version  int // 0: latest
	SchemaID int // 0: by version
	Format   Format
	Data     []byte
	JSON     any
	HasJSON  bool
	// JSONText is a JSON payload as text, the alternative to JSON and HasJSON: Validate decodes
	// it with numbers as json.Number, so they stay exactly as written (a protobuf Value would
	// have made them doubles). It must be one valid UTF-8 JSON value, or the request is
	// refused (ErrBadRequest); nesting is not limited here but reported as findings, as for JSON.
	JSONText []byte
	// MessageName is the full name of the message type of a FormatProtobuf or
	// FormatProtobufJSON payload (a leading dot allowed); "" is the first message the schema
	// declares, the default of Confluent's serializers. A name the schema does not declare is
	// ErrBadRequest, and so is a name with another format or a schema that is not Protobuf: a
	// Confluent frame names its message by its message-index array.
	MessageName string
}

// DecodeText returns r with its JSONText decoded into JSON (HasJSON set, JSONText nil), numbers
// as json.Number; r unchanged when it has no JSONText. With FormatProtobufJSON the text is
// checked and moved to Data instead, as Protobuf JSON is validated as text. Validate does this
// itself; a caller that hands the request on after validating (to the governance gate, which
// keeps payload samples) decodes first so both see the same payload. Malformed text, or JSONText with JSON, is
// ErrBadRequest. The size limit is not checked here: Validate measures the decoded value as
// compact JSON, the same for text as for a decoded value; the text itself is bounded by the
// transport (gRPC's message size, the /v1 body limit).
func (r Request) DecodeText() (Request, error) {
	if r.JSONText == nil {
		return r, nil
	}
	if r.HasJSON {
		return Request{}, fmt.Errorf("%w: set json or json_text, not both", ErrBadRequest)
	}
	if r.Format == FormatProtobufJSON && r.Data == nil {
		if !utf8.Valid(r.JSONText) || !json.Valid(r.JSONText) {
			_, err := decodeJSONText(r.JSONText) // says why
			return Request{}, fmt.Errorf("%w: json_text: %w", ErrBadRequest, err)
		}
		r.Data, r.JSONText = r.JSONText, nil
		return r, nil
	}
	v, err := decodeJSONText(r.JSONText)
	if err != nil {
		return Request{}, fmt.Errorf("%w: json_text: %w", ErrBadRequest, err)
	}
	r.JSON, r.HasJSON, r.JSONText = v, true, nil
	return r, nil
}

// Result is the outcome of one validation.
type Result struct {
	// SchemaID and Version name the schema the payload was checked against (0 when the payload
	// could not be tied to one, e.g. an unknown framed ID).
	SchemaID, Version int
	// Findings, empty when the payload is valid. A stale_schema_version finding alone does not
	// make it invalid. At most Limits.MaxFindings come from the payload's content (the first
	// ones, in the validator's order), plus the stale_schema_version finding.
	Findings []Finding
	// TotalFindings counts every finding, those left out of Findings by the cap included.
	TotalFindings int
}

// Truncated reports whether findings were left out of Findings by Limits.MaxFindings.
func (r Result) Truncated() bool { return r.TotalFindings > len(r.Findings) }

// Invalid reports whether the payload failed validation.
func (r Result) Invalid() bool { return Invalid(r.Findings) }

// Engine validates payloads against registered schemas. Compiled validators are cached by
// schema ID (and, for JSON Schemas, the format setting in force for the subject) and the subject index is kept in memory, so after the first validation of a schema
// the hot path makes no database call. It is safe for concurrent use.
type Engine struct {
	src      Source
	lim      Limits
	interval time.Duration
	log      *slog.Logger
	format   registry.JSONSchemaFormat

	metrics *metrics

	index     atomic.Pointer[subjectIndex]
	refreshMu sync.Mutex
	cache     *compiledCache
}

// NewEngine returns an Engine; call Run to keep its subject index fresh.
func NewEngine(opts Options) (*Engine, error) {
	if opts.Source == nil {
		return nil, errors.New("validate: Options.Source is required")
	}
	if opts.MaxCacheBytes <= 0 {
		opts.MaxCacheBytes = DefaultMaxCacheBytes
	}
	if opts.RefreshInterval <= 0 {
		opts.RefreshInterval = 2 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	format, err := registry.ParseJSONSchemaFormat(string(opts.JSONSchemaFormat))
	if err != nil {
		return nil, fmt.Errorf("validate: Options.JSONSchemaFormat: %w", err)
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	e := &Engine{src: opts.Source, lim: opts.Limits.WithDefaults(), interval: opts.RefreshInterval, log: opts.Logger,
		format: format, metrics: m, cache: newCompiledCache(opts.MaxCacheBytes)}
	e.index.Store(&subjectIndex{subjects: map[string]*subjectInfo{}})
	return e, nil
}

// Limits returns the limits in force.
func (e *Engine) Limits() Limits { return e.lim }

// Run reloads the subject index every RefreshInterval until ctx is done.
func (e *Engine) Run(ctx context.Context) {
	t := time.NewTicker(e.interval)
	defer t.Stop()
	for {
		if err := e.Refresh(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("validator subject index refresh failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Refresh reloads the subject index from the registry.
func (e *Engine) Refresh(ctx context.Context) error {
	e.refreshMu.Lock()
	defer e.refreshMu.Unlock()
	return e.refreshLocked(ctx)
}

func (e *Engine) refreshLocked(ctx context.Context) error {
	live, err := e.src.LiveVersions(ctx)
	if err != nil {
		return err
	}
	idx := &subjectIndex{subjects: map[string]*subjectInfo{}}
	start := 0
	for i := range live {
		if i+1 == len(live) || live[i+1].Subject != live[i].Subject {
			idx.subjects[live[i].Subject] = newSubjectInfo(live[start : i+1])
			start = i + 1
		}
	}
	e.index.Store(idx)
	return nil
}

// newSubjectInfo indexes the live versions of one subject.
func newSubjectInfo(live []registry.LiveVersion) *subjectInfo {
	info := &subjectInfo{versions: map[int]int{}, byID: map[int]int{}}
	for _, v := range live {
		info.versions[v.Version] = v.SchemaID
		if v.Version > info.byID[v.SchemaID] {
			info.byID[v.SchemaID] = v.Version
		}
		if v.Version > info.latest {
			info.latest, info.latestID = v.Version, v.SchemaID
		}
	}
	return info
}

// subject returns the index entry of subject. When the subject, or the wanted version, is not
// in the index, the subject alone is loaded from the registry (the miss path: a subject or
// version registered since the last refresh) and put in the index.
func (e *Engine) subject(ctx context.Context, subject string, version int) (*subjectInfo, error) {
	if info, ok := e.index.Load().subjects[subject]; ok && (version == 0 || info.versions[version] != 0) {
		return info, nil
	}
	live, err := e.src.SubjectLiveVersions(ctx, subject)
	if err != nil {
		return nil, fmt.Errorf("load subject %q: %w", subject, err)
	}
	if len(live) == 0 {
		e.setSubject(subject, nil)
		return nil, fmt.Errorf("%w: subject %q has no live version", ErrSubjectNotFound, subject)
	}
	info := newSubjectInfo(live)
	e.setSubject(subject, info)
	return info, nil
}

// setSubject replaces one subject's entry (nil removes it) in a copy of the index.
func (e *Engine) setSubject(subject string, info *subjectInfo) {
	e.refreshMu.Lock()
	defer e.refreshMu.Unlock()
	old := e.index.Load()
	if _, had := old.subjects[subject]; !had && info == nil {
		return
	}
	idx := &subjectIndex{subjects: make(map[string]*subjectInfo, len(old.subjects)+1)}
	for k, v := range old.subjects {
		idx.subjects[k] = v
	}
	if info == nil {
		delete(idx.subjects, subject)
	} else {
		idx.subjects[subject] = info
	}
	e.index.Store(idx)
}

// member returns info, or subject's entry reloaded when it does not hold schema id but the
// source's SchemaMembership says a live version of subject does.
func (e *Engine) member(ctx context.Context, info *subjectInfo, subject string, id int) (*subjectInfo, error) {
	m, ok := e.src.(SchemaMembership)
	if _, held := info.byID[id]; held || !ok {
		return info, nil
	}
	svs, err := m.SchemaSubjects(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("schema ID %d of subject %q: %w", id, subject, err)
	}
	for _, sv := range svs {
		if sv.Subject != subject {
			continue
		}
		live, err := e.src.SubjectLiveVersions(ctx, subject)
		if err != nil {
			return nil, fmt.Errorf("load subject %q: %w", subject, err)
		}
		if len(live) == 0 {
			return info, nil
		}
		fresh := newSubjectInfo(live)
		e.setSubject(subject, fresh)
		return fresh, nil
	}
	return info, nil
}

// InvalidateSubject drops subject from the index, so the next validation loads it afresh: call
// it when a version of the subject is registered or deleted on this replica.
func (e *Engine) InvalidateSubject(subject string) { e.setSubject(subject, nil) }

// InvalidateSchema drops the compiled validators of schema id, so the next validation against
// it compiles what the registry holds then: call it when id's content was replaced (IMPORT mode
// reusing the ID of a permanently deleted schema), as registry.Registry.OnSchemaReplaced tells.
// A compilation of the old content under way when it is called is not kept.
func (e *Engine) InvalidateSchema(id int) { e.cache.removeID(id) }

// Known reports whether subject has a live version in the in-memory index (no database call):
// what callers use to keep unregistered names out of metric labels.
func (e *Engine) Known(subject string) bool {
	_, ok := e.index.Load().subjects[subject]
	return ok
}

// subjectIndex maps each subject to its live versions. It is replaced whole, never modified.
type subjectIndex struct {
	subjects map[string]*subjectInfo
}

type subjectInfo struct {
	versions         map[int]int // version → schema ID
	byID             map[int]int // schema ID → highest live version holding it
	latest, latestID int
}

// Validate checks one payload. Findings describe what is wrong with the payload; an error means
// the request itself could not be served (unknown subject or version, inconsistent format,
// payload over the size limit, store down on a cache miss).
//
// The size limit holds for JSON payloads too, measured as compact JSON: a JSON value arrives
// decoded, so it is refused once its encoding passes the limit, without encoding it.
func (e *Engine) Validate(ctx context.Context, req Request) (Result, error) {
	if e.metrics != nil && e.metrics.sampled() {
		defer e.metrics.observe(time.Now())
	}
	req, err := req.DecodeText()
	if err != nil {
		return Result{}, err
	}
	if len(req.Data) > e.lim.MaxPayloadBytes {
		return Result{}, fmt.Errorf("%w: payload is %d bytes, the limit is %d", ErrTooLarge, len(req.Data), e.lim.MaxPayloadBytes)
	}
	if req.HasJSON && jsonSizeOver(req.JSON, e.lim.MaxPayloadBytes) {
		return Result{}, fmt.Errorf("%w: JSON payload is more than %d bytes as compact JSON, the limit is %d", ErrTooLarge, e.lim.MaxPayloadBytes, e.lim.MaxPayloadBytes)
	}
	format := req.Format
	if format == FormatUnspecified && !req.HasJSON {
		format = FormatConfluent
	}
	switch {
	case !req.HasJSON && req.Data == nil:
		return Result{}, fmt.Errorf("%w: no payload: set json or data", ErrBadRequest)
	case req.HasJSON && req.Data != nil:
		return Result{}, fmt.Errorf("%w: set one payload: json, json_text or data", ErrBadRequest)
	case req.HasJSON && (format == FormatConfluent || format == FormatAvroBinary || format == FormatProtobuf):
		return Result{}, fmt.Errorf("%w: CONFLUENT, AVRO_BINARY and PROTOBUF payloads go in data, not in json or json_text", ErrBadRequest)
	}
	info, err := e.subject(ctx, req.Subject, req.Version)
	if err != nil {
		return Result{}, err
	}

	// start is where the encoded value begins in req.Data: after the header of a framed
	// payload. Byte offsets in findings count from the start of req.Data, as the client sent it.
	start := 0
	var res Result
	switch {
	case format == FormatConfluent:
		id, _, err := ParseConfluentFrame(req.Data)
		if err != nil {
			return Result{Findings: []Finding{{Kind: KindDecodeError, Message: err.Error()}}, TotalFindings: 1}, nil
		}
		info, err = e.member(ctx, info, req.Subject, id)
		if err != nil {
			return Result{}, err
		}
		version, ok := info.byID[id]
		if !ok {
			return Result{Findings: []Finding{{Kind: KindUnknownSchemaID,
				Message: fmt.Sprintf("schema ID %d is not registered under subject %q", id, req.Subject)}}, TotalFindings: 1}, nil
		}
		res, start = Result{SchemaID: id, Version: version}, confluentHeader
	case req.SchemaID != 0:
		info, err = e.member(ctx, info, req.Subject, req.SchemaID)
		if err != nil {
			return Result{}, err
		}
		version, ok := info.byID[req.SchemaID]
		if !ok {
			return Result{Findings: []Finding{{Kind: KindUnknownSchemaID,
				Message: fmt.Sprintf("schema ID %d is not registered under subject %q", req.SchemaID, req.Subject)}}, TotalFindings: 1}, nil
		}
		res = Result{SchemaID: req.SchemaID, Version: version}
	case req.Version != 0:
		id, ok := info.versions[req.Version]
		if !ok {
			return Result{}, fmt.Errorf("%w: subject %q has no live version %d", ErrVersionNotFound, req.Subject, req.Version)
		}
		res = Result{SchemaID: id, Version: req.Version}
	default:
		res = Result{SchemaID: info.latestID, Version: info.latest}
	}

	c, err := e.compiled(ctx, res.SchemaID, req.Subject)
	if err != nil {
		return Result{}, err
	}
	if res.Findings, res.TotalFindings, err = e.check(c, format, start, req); err != nil {
		return Result{}, err
	}
	if format == FormatConfluent && res.Version < info.latest {
		res.Findings = append(res.Findings, Finding{Kind: KindStaleSchemaVersion,
			Message: fmt.Sprintf("framed with schema ID %d (version %d of %q); the latest version is %d", res.SchemaID, res.Version, req.Subject, info.latest)})
		res.TotalFindings++
	}
	return res, nil
}

// check runs the validator format calls for on req.Data[start:] or req's JSON value, and returns
// its findings (capped at MaxFindings) and how many there are in all.
func (e *Engine) check(c *compiled, format Format, start int, req Request) ([]Finding, int, error) {
	all := func(findings []Finding) ([]Finding, int, error) { return findings, len(findings), nil }
	avroJSON := func(v any, lim Limits) ([]Finding, int) { return validateAvroJSON(c.avro, v, lim) }
	if format == FormatUnspecified { // a JSON payload: Validate has made binary data CONFLUENT
		format = jsonFormatOf(c.typ)
	}
	switch {
	case req.MessageName != "" && c.typ != registry.SchemaTypeProtobuf:
		return nil, 0, fmt.Errorf("%w: schema %d is %s; message_name is for PROTOBUF schemas", ErrBadRequest, c.id, schemaTypeName(c.typ))
	case req.MessageName != "" && format == FormatConfluent:
		return nil, 0, fmt.Errorf("%w: message_name is for PROTOBUF and PROTOBUF_JSON payloads; a CONFLUENT frame names its message by its message indexes", ErrBadRequest)
	}
	if want := formatSchemaType(format); want != "" && want != c.typ {
		return nil, 0, fmt.Errorf("%w: schema %d is %s; %s", ErrBadRequest, c.id, schemaTypeName(c.typ), formatAdvice(format, c.typ))
	}
	switch format {
	case FormatAvroJSON:
		return e.checkJSON(req, avroJSON)
	case FormatAvroBinary:
		return all(validateAvroBinaryFrom(c.avro, req.Data, start, e.lim)) // stops at the first failure
	case FormatJSON:
		return e.checkJSON(req, c.json.check)
	case FormatProtobuf, FormatProtobufJSON:
		md, err := protoschema.MessageAt(c.protoTop, []int{0})
		if req.MessageName != "" {
			md, err = c.protoMessage(req.MessageName)
		}
		if err != nil {
			return nil, 0, fmt.Errorf("%w: schema %d: %w", ErrBadRequest, c.id, err)
		}
		if format == FormatProtobuf {
			return all(validateProtobufBinaryFrom(md, req.Data, start, e.lim))
		}
		return e.checkProtobufJSON(md, req)
	case FormatConfluent:
		switch c.typ {
		case registry.SchemaTypeAvro:
			return all(validateAvroBinaryFrom(c.avro, req.Data, start, e.lim))
		case registry.SchemaTypeProtobuf:
			return all(e.checkFramedProtobuf(c, req.Data, start))
		}
		doc, err := decodeJSONPayloadFrom(req.Data, start, e.lim)
		if err != nil {
			return all([]Finding{{Kind: KindDecodeError, Message: err.Error()}})
		}
		findings, total := c.json.check(doc, e.lim)
		return findings, total, nil
	}
	return nil, 0, fmt.Errorf("%w: unknown format %d", ErrBadRequest, format)
}

// jsonFormatOf is the format of a JSON payload for a schema of type t.
func jsonFormatOf(t registry.SchemaType) Format {
	switch t {
	case registry.SchemaTypeAvro:
		return FormatAvroJSON
	case registry.SchemaTypeProtobuf:
		return FormatProtobufJSON
	}
	return FormatJSON
}

// formatSchemaType is the schema type format needs, "" for CONFLUENT (any type).
func formatSchemaType(format Format) registry.SchemaType {
	switch format {
	case FormatAvroBinary, FormatAvroJSON:
		return registry.SchemaTypeAvro
	case FormatJSON:
		return registry.SchemaTypeJSON
	case FormatProtobuf, FormatProtobufJSON:
		return registry.SchemaTypeProtobuf
	}
	return ""
}

// schemaTypeName names a schema type in an error message: "an Avro schema".
func schemaTypeName(t registry.SchemaType) string {
	switch t {
	case registry.SchemaTypeAvro:
		return "an Avro schema"
	case registry.SchemaTypeJSON:
		return "a JSON Schema"
	}
	return "a " + string(t) + " schema"
}

// formatAdvice says what to send instead of format, which a schema of type t cannot take.
func formatAdvice(format Format, t registry.SchemaType) string {
	isJSON := format == FormatJSON || format == FormatAvroJSON || format == FormatProtobufJSON
	switch {
	case isJSON && t == registry.SchemaTypeAvro:
		return "use AVRO_JSON for JSON payloads"
	case isJSON && t == registry.SchemaTypeProtobuf:
		return "use PROTOBUF_JSON for JSON payloads"
	case t == registry.SchemaTypeAvro:
		return "use AVRO_BINARY or CONFLUENT for binary payloads"
	case t == registry.SchemaTypeProtobuf:
		return "use PROTOBUF or CONFLUENT for binary payloads"
	}
	return "use JSON, or CONFLUENT for a framed JSON payload"
}

// maxInlineIndexes is how many message indexes a framed Protobuf payload names without the
// engine allocating for them: nesting deeper than this is rare.
const maxInlineIndexes = 8

// checkFramedProtobuf validates the Protobuf body of a Confluent-framed payload, data[start:]:
// the message-index array, then the message it names. A malformed array or one that names no
// message of the schema is one decode_error finding.
func (e *Engine) checkFramedProtobuf(c *compiled, data []byte, start int) []Finding {
	var buf [maxInlineIndexes]int
	indexes, end, err := appendProtobufMessageIndexes(buf[:0], data, start)
	if err != nil {
		return []Finding{{Kind: KindDecodeError, Message: err.Error()}}
	}
	md, err := protoschema.MessageAt(c.protoTop, indexes)
	if err != nil { // the indexes are cloned for the message, so buf stays on the stack
		return []Finding{{Kind: KindDecodeError, Message: fmt.Sprintf("message indexes %v name no message of schema %d: %s", slices.Clone(indexes), c.id, err)}}
	}
	return validateProtobufBinaryFrom(md, data, end, e.lim)
}

// checkProtobufJSON validates req's Protobuf JSON payload as md: the text in req.Data, or req's
// decoded value encoded again as compact JSON, numbers exactly as decoded. Text in Data that is
// not one valid UTF-8 JSON value is ErrBadRequest, as for the other JSON formats, and text
// nested deeper than MaxDepth one decode_error finding.
func (e *Engine) checkProtobufJSON(md protoreflect.MessageDescriptor, req Request) ([]Finding, int, error) {
	text, lim := req.Data, e.lim
	if req.HasJSON {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(req.JSON); err != nil {
			return nil, 0, fmt.Errorf("%w: json: %w", ErrBadRequest, err)
		}
		// The limit was checked on the value; escapes may make its text longer.
		text, lim.MaxPayloadBytes = bytes.TrimSuffix(buf.Bytes(), []byte("\n")), max(lim.MaxPayloadBytes, buf.Len())
	} else if !utf8.Valid(text) || !json.Valid(text) {
		_, err := DecodeJSONPayload(text, lim) // says why, with the byte offset
		if errors.Is(err, ErrTooDeep) {
			return []Finding{{Kind: KindDecodeError, Message: err.Error()}}, 1, nil
		}
		return nil, 0, fmt.Errorf("%w: data: %w", ErrBadRequest, err)
	}
	findings := ValidateProtobufJSON(md, text, lim)
	return findings, len(findings), nil
}

// checkJSON runs validator on req's JSON value: req.JSON, or req.Data read as JSON text (a JSON
// or AVRO_JSON payload in data). The text is decoded as a framed JSON body is, numbers exact;
// text that is not one valid UTF-8 JSON value is ErrBadRequest, as json_text is, and text nested
// deeper than MaxDepth is not decoded but one decode_error finding naming the byte offset.
func (e *Engine) checkJSON(req Request, validator func(any, Limits) ([]Finding, int)) ([]Finding, int, error) {
	doc := req.JSON
	if !req.HasJSON {
		var err error
		doc, err = DecodeJSONPayload(req.Data, e.lim)
		switch {
		case errors.Is(err, ErrTooDeep):
			return []Finding{{Kind: KindDecodeError, Message: err.Error()}}, 1, nil
		case err != nil:
			return nil, 0, fmt.Errorf("%w: data: %w", ErrBadRequest, err)
		}
	}
	findings, total := validator(doc, e.lim)
	return findings, total, nil
}

// jsonFormat is the JSON Schema format setting in force for subject: the source's, else the
// engine's.
func (e *Engine) jsonFormat(ctx context.Context, subject string) (registry.JSONSchemaFormat, error) {
	fs, ok := e.src.(FormatSettings)
	if !ok {
		return e.format, nil
	}
	f, err := fs.EffectiveJSONSchemaFormat(ctx, subject)
	if err != nil {
		return "", fmt.Errorf("JSON Schema format setting of subject %q: %w", subject, err)
	}
	if f == "" {
		return e.format, nil
	}
	return f, nil
}

// cacheKey names a compiled validator: a schema ID and, for a JSON Schema, the format setting
// it was compiled under ("" for Avro and Protobuf schemas, which have no such setting).
type cacheKey struct {
	id     int
	format registry.JSONSchemaFormat
}

// compiled is a validator for one schema ID.
type compiled struct {
	key  cacheKey
	id   int
	typ  registry.SchemaType
	avro avro.Schema
	json *JSONSchema
	// protoFile is a Protobuf schema's file as payloads are walked under it, protoTop its
	// top-level messages (where message indexes start), and protoFiles holds it and its
	// imports, to find messages by name.
	protoFile  protoreflect.FileDescriptor
	protoTop   protoreflect.MessageDescriptors
	protoFiles *protoregistry.Files
	size       int64
}

// compileProto sets c's Protobuf descriptors from s, the registry's compiled schema. The file
// is rebuilt by protobuf-go (protodesc), whose descriptors find a field by its number in a map,
// where the compiler's linked descriptors search a message's fields one by one (quadratic in
// the fields of a message: a 4 KiB payload of 160 fields took 10× longer to walk); should the
// rebuild fail, or panic, the compiler's descriptors serve, slower but the same.
func (c *compiled) compileProto(file protoreflect.FileDescriptor, fdp *descriptorpb.FileDescriptorProto) {
	c.protoFiles = new(protoregistry.Files)
	imports := file.Imports()
	for i := range imports.Len() {
		registerProtoFile(c.protoFiles, imports.Get(i).FileDescriptor)
	}
	c.protoFile = file
	func() {
		defer func() { _ = recover() }()
		if std, err := protodesc.NewFile(fdp, c.protoFiles); err == nil {
			c.protoFile = std
		}
	}()
	_ = c.protoFiles.RegisterFile(c.protoFile) // a fresh path: no conflict
	c.protoTop = c.protoFile.Messages()
}

// registerProtoFile registers fd and its imports in files, each once.
func registerProtoFile(files *protoregistry.Files, fd protoreflect.FileDescriptor) {
	if _, err := files.FindFileByPath(fd.Path()); err == nil {
		return
	}
	for i := range fd.Imports().Len() {
		registerProtoFile(files, fd.Imports().Get(i).FileDescriptor)
	}
	_ = files.RegisterFile(fd) // a name two imports declare: the first one's stands
}

// protoMessage returns the message of the schema with a full name ("pkg.Outer.Inner", a
// leading dot allowed); a name the schema's own file does not declare is an error.
func (c *compiled) protoMessage(name string) (protoreflect.MessageDescriptor, error) {
	d, err := c.protoFiles.FindDescriptorByName(protoreflect.FullName(strings.TrimPrefix(name, ".")))
	if md, ok := d.(protoreflect.MessageDescriptor); err == nil && ok && md.ParentFile().Path() == c.protoFile.Path() {
		return md, nil
	}
	return nil, fmt.Errorf("no message %q in the schema", name)
}

// compiled returns the validator of schema id for a payload of subject, compiling it on first
// use; a JSON Schema is compiled once per format setting it is used under (the one in force
// for subject), an Avro or Protobuf schema once.
func (e *Engine) compiled(ctx context.Context, id int, subject string) (*compiled, error) {
	if c, ok := e.cache.get(cacheKey{id: id}); ok { // Avro or Protobuf: no setting to look up
		return c, nil
	}
	format, err := e.jsonFormat(ctx, subject)
	if err != nil {
		return nil, err
	}
	if c, ok := e.cache.get(cacheKey{id, format}); ok {
		return c, nil
	}
	at := e.cache.stamp()
	r, err := e.src.Resolved(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("load schema %d: %w", id, err)
	}
	if r.Schema.Type == registry.SchemaTypeProtobuf && r.Proto == nil {
		return nil, fmt.Errorf("load schema %d: a PROTOBUF schema without its compiled form", id)
	}
	c := &compiled{key: cacheKey{id: id}, id: id, typ: r.Schema.Type, avro: r.Avro, size: estimateSize(r)}
	if r.Proto != nil {
		c.compileProto(r.Proto.File, r.Proto.Proto())
	}
	if r.Schema.Type == registry.SchemaTypeJSON {
		c.key.format = format
		if c.json, err = CompileJSONSchemaFormat(r.JSONRoot, r.JSONRefs, format); err != nil {
			return nil, fmt.Errorf("compile schema %d: %w", id, err)
		}
	}
	e.cache.put(c, at)
	return c, nil
}

// estimateSize is the cache cost of a compiled schema: its text times a factor for the parsed
// and compiled forms, plus a fixed overhead. It is an estimate; the bound is approximate.
func estimateSize(r registry.Resolved) int64 {
	return 2048 + 16*int64(len(r.Schema.Text))
}

// compiledCache is an LRU of compiled validators bounded by their estimated total size.
type compiledCache struct {
	mu       sync.Mutex
	maxBytes int64
	bytes    int64
	order    *list.List // front = most recently used; values are *compiled
	byKey    map[cacheKey]*list.Element
	removals uint64 // removeID calls so far: see put
}

func newCompiledCache(maxBytes int64) *compiledCache {
	return &compiledCache{maxBytes: maxBytes, order: list.New(), byKey: map[cacheKey]*list.Element{}}
}

func (c *compiledCache) get(k cacheKey) (*compiled, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[k]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*compiled), true
}

// stamp returns the cache's state for put: take it before reading the schema to compile.
func (c *compiledCache) stamp() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.removals
}

// put adds v, compiled from a schema read after stamp returned at, unless a removeID came since:
// v may then be compiled from the content that removal meant to forget.
func (c *compiledCache) put(v *compiled, at uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.removals != at {
		return
	}
	if el, ok := c.byKey[v.key]; ok {
		c.order.MoveToFront(el)
		return
	}
	c.byKey[v.key] = c.order.PushFront(v)
	c.bytes += v.size
	// Keep at least the newest entry, even if it alone is over the bound.
	for c.bytes > c.maxBytes && c.order.Len() > 1 {
		c.evict(c.order.Back())
	}
}

// removeID removes every validator of schema id (one per JSON Schema format setting).
func (c *compiledCache) removeID(id int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removals++
	for k, el := range c.byKey {
		if k.id == id {
			c.evict(el)
		}
	}
}

// evict removes el's validator; c.mu is held.
func (c *compiledCache) evict(el *list.Element) {
	old := el.Value.(*compiled)
	c.order.Remove(el)
	delete(c.byKey, old.key)
	c.bytes -= old.size
}

// CachedBytes returns the estimated size of the cached validators.
func (e *Engine) CachedBytes() int64 {
	e.cache.mu.Lock()
	defer e.cache.mu.Unlock()
	return e.cache.bytes
}
