// Package bench is the harness `schemagate bench` runs: it starts a gateway on loopback with a
// temporary data directory, registers small and medium Avro, JSON Schema and Protobuf records, and
// measures each validation path as a ratio to the in-process engine over the same store,
// measured in the same run.
package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hamba/avro/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/schemagate/schemagate/gateway"
	"github.com/schemagate/schemagate/governance"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
	"github.com/schemagate/schemagate/registry"
	"github.com/schemagate/schemagate/store"
	"github.com/schemagate/schemagate/validate"
)

// Options configures Run.
type Options struct {
	// Duration is how long each measurement runs. Default 2s.
	Duration time.Duration
	// Logger receives the bench server's logs. Default: discarded.
	Logger *slog.Logger
}

// Row is one measurement: a rate in validations per second and its ratio to the in-process
// engine rate of the same corpus, measured in the same run. Unary rows compare the median
// latency of a Validate call with that of a no-op unary RPC on the same server.
type Row struct {
	Corpus, Path string
	PerSecond    float64
	Ratio        float64 // to the engine rate; for "unary p50", to the no-op RPC's p50
	Note         string
}

// env is a gateway serving on loopback with the bench corpora registered, and the baseline
// beside it: an engine and an evidence record of its own over the gateway's store, built the
// way the gateway builds them, in process.
type env struct {
	g            *gateway.Gateway
	conn         *grpc.ClientConn
	corpora      []corpus
	http         *http.Client
	baseEngine   *validate.Engine
	baseEvidence *governance.Evidence
	floor        *floor // the transport floor: grpc-go alone, on the same kind of connection
}

// corpus is one subject and a valid payload for it.
type corpus struct {
	name, subject string
	req           *pb.ValidateRequest
	// batchReq is a ValidateBatchRequest of 100 copies of req, built once.
	batchReq *pb.ValidateBatchRequest
	// textReq is a JSON corpus's payload sent as json_text, the compact JSON text req's Value
	// stands for; nil for Avro and Protobuf corpora.
	textReq   *pb.ValidateRequest
	engineReq validate.Request
	httpBody  string
	size      int
}

// newEnv starts an open gateway on 127.0.0.1:0 with a temporary data directory, registers a
// small (~200 B) and a medium (~4 KiB) record, in Avro, JSON Schema and Protobuf, and opens the
// baseline over the gateway's store.
func newEnv(ctx context.Context, logger *slog.Logger) (_ *env, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "schemagate-bench-")
	if err != nil {
		return nil, nil, err
	}
	cfg := gateway.DefaultConfig()
	cfg.Server.HTTPAddr, cfg.Server.GRPCAddr, cfg.Server.DataDir = "127.0.0.1:0", "127.0.0.1:0", dir
	g, err := gateway.New(ctx, gateway.Options{Config: cfg, Logger: logger})
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = g.Run(runCtx); close(done) }()
	transport := &http.Transport{MaxIdleConnsPerHost: 4}
	e := &env{g: g, http: &http.Client{Transport: transport}}
	var db *store.DB
	cleanup = func() {
		if e.floor != nil {
			e.floor.close()
		}
		if e.conn != nil {
			e.conn.Close()
		}
		if db != nil {
			db.Close()
		}
		transport.CloseIdleConnections()
		stop()
		<-done
		os.RemoveAll(dir)
	}
	defer func() {
		if err != nil {
			cleanup()
		}
	}()
	if e.conn, err = grpc.NewClient(g.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
		return nil, nil, err
	}
	if err := e.registerCorpora(ctx); err != nil {
		return nil, nil, err
	}
	if db, err = e.openBaseline(ctx, cfg, logger); err != nil {
		return nil, nil, fmt.Errorf("bench baseline: %w", err)
	}
	if e.floor, err = e.startFloor(ctx, cfg.Server); err != nil {
		return nil, nil, err
	}
	return e, cleanup, nil
}

// registerCorpora registers the six bench records. Field counts and string lengths are chosen
// so the payloads are about 200 B and 4 KiB.
func (e *env) registerCorpora(ctx context.Context) error {
	for _, c := range []struct {
		name           string
		fields, strLen int
		typ            pb.SchemaType
	}{
		{"avro-small", 8, 44, pb.SchemaType_SCHEMA_TYPE_AVRO}, {"avro-medium", 160, 46, pb.SchemaType_SCHEMA_TYPE_AVRO},
		{"json-small", 6, 40, pb.SchemaType_SCHEMA_TYPE_JSON}, {"json-medium", 100, 58, pb.SchemaType_SCHEMA_TYPE_JSON},
		{"proto-small", 8, 44, pb.SchemaType_SCHEMA_TYPE_PROTOBUF}, {"proto-medium", 160, 44, pb.SchemaType_SCHEMA_TYPE_PROTOBUF},
	} {
		corpus, err := e.register(ctx, c.name, c.fields, c.strLen, c.typ)
		if err != nil {
			return fmt.Errorf("bench corpus %s: %w", c.name, err)
		}
		e.corpora = append(e.corpora, corpus)
	}
	return nil
}

// openBaseline opens the gateway's store a second time and builds over it what the gateway
// builds in process: a registry serving from memory, a validation engine with the same cache
// size, limits and JSON Schema format setting (its subject index refreshed after the corpora
// were registered), and an evidence record that is never flushed. It returns the store for
// the caller to close.
func (e *env) openBaseline(ctx context.Context, cfg gateway.Config, logger *slog.Logger) (*store.DB, error) {
	db, err := store.Open(ctx, cfg.StorageURL())
	if err != nil {
		return nil, err
	}
	reg, err := registry.New(db, registry.Options{Logger: logger})
	if err == nil {
		// As the gateway's: the engine asks the registry for each JSON payload's format setting.
		err = reg.ServeFromMemory(ctx, nil)
	}
	if err == nil {
		sr := cfg.SchemaRegistry
		e.baseEngine, err = validate.NewEngine(validate.Options{Source: reg, MaxCacheBytes: sr.ValidatorCacheBytes,
			Limits: validate.Limits{MaxPayloadBytes: sr.MaxPayloadBytes, MaxDepth: sr.MaxJSONDepth}, Logger: logger,
			JSONSchemaFormat: sr.JSONSchema.Format})
	}
	if err == nil {
		err = e.baseEngine.Refresh(ctx)
	}
	if err == nil {
		e.baseEvidence, err = governance.NewEvidence(governance.EvidenceOptions{DB: db, Replica: "bench", Logger: logger})
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// register registers a record of n fields, alternately strings of strLen bytes and longs, and
// builds a valid payload: Confluent-framed binary for Avro and Protobuf, a JSON value for JSON
// Schema.
func (e *env) register(ctx context.Context, name string, n, strLen int, typ pb.SchemaType) (corpus, error) {
	value := map[string]any{}
	var avroFields, jsonProps, required, protoFields []string
	var protoBody []byte
	for i := range n {
		if i%2 == 0 {
			s := fmt.Sprintf("%0*d", strLen, i)
			value[fmt.Sprintf("f%d", i)] = s
			avroFields = append(avroFields, fmt.Sprintf(`{"name":"f%d","type":"string"}`, i))
			jsonProps = append(jsonProps, fmt.Sprintf(`"f%d":{"type":"string","maxLength":64}`, i))
			protoFields = append(protoFields, fmt.Sprintf("string f%d = %d;", i, i+1))
			protoBody = protowire.AppendString(protowire.AppendTag(protoBody, protowire.Number(i+1), protowire.BytesType), s)
		} else {
			value[fmt.Sprintf("f%d", i)] = int64(1000 + i)
			avroFields = append(avroFields, fmt.Sprintf(`{"name":"f%d","type":"long"}`, i))
			jsonProps = append(jsonProps, fmt.Sprintf(`"f%d":{"type":"integer","minimum":0}`, i))
			protoFields = append(protoFields, fmt.Sprintf("int64 f%d = %d;", i, i+1))
			protoBody = protowire.AppendVarint(protowire.AppendTag(protoBody, protowire.Number(i+1), protowire.VarintType), uint64(1000+i))
		}
		required = append(required, fmt.Sprintf(`"f%d"`, i))
	}
	schema := `{"type":"record","name":"Bench","fields":[` + strings.Join(avroFields, ",") + `]}`
	switch typ {
	case pb.SchemaType_SCHEMA_TYPE_JSON:
		schema = `{"type":"object","properties":{` + strings.Join(jsonProps, ",") + `},"required":[` + strings.Join(required, ",") + `],"additionalProperties":false}`
	case pb.SchemaType_SCHEMA_TYPE_PROTOBUF:
		schema = "syntax = \"proto3\";\npackage bench;\nmessage Bench {\n  " + strings.Join(protoFields, "\n  ") + "\n}\n"
	}
	reg, err := pb.NewRegistryServiceClient(e.conn).RegisterSchema(ctx, &pb.RegisterSchemaRequest{Subject: name, SchemaType: typ, Schema: schema})
	if err != nil {
		return corpus{}, err
	}
	c := corpus{name: name, subject: name}
	if typ != pb.SchemaType_SCHEMA_TYPE_JSON {
		body := append([]byte{0}, protoBody...) // message indexes: the single 0, the first message
		if typ == pb.SchemaType_SCHEMA_TYPE_AVRO {
			if body, err = avro.Marshal(avro.MustParse(schema), value); err != nil {
				return corpus{}, err
			}
		}
		data := binary.BigEndian.AppendUint32([]byte{0}, uint32(reg.GetId()))
		data = append(data, body...)
		c.req = &pb.ValidateRequest{Subject: name, Data: data}
		c.engineReq = validate.Request{Subject: name, Data: data}
		c.size = len(data)
	} else {
		sv, err := structpb.NewValue(value)
		if err != nil {
			return corpus{}, err
		}
		c.req = &pb.ValidateRequest{Subject: name, Json: sv}
		b, err := json.Marshal(value)
		if err != nil {
			return corpus{}, err
		}
		c.textReq = &pb.ValidateRequest{Subject: name, JsonText: string(b)}
		c.size = len(b)
		// The engine takes JSON decoded with UseNumber, as the gateway hands it over.
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return corpus{}, err
		}
		c.engineReq = validate.Request{Subject: name, JSON: v, HasJSON: true}
	}
	b, err := protojson.Marshal(c.req)
	if err != nil {
		return corpus{}, err
	}
	c.httpBody = string(b)
	c.batchReq = &pb.ValidateBatchRequest{Requests: make([]*pb.ValidateRequest, 100)}
	for i := range c.batchReq.Requests {
		c.batchReq.Requests[i] = c.req
	}
	return c, nil
}

// Workloads. Each runs n validations of corpus c and fails on any non-valid result.

func (e *env) engine(ctx context.Context, c corpus, n int) error {
	for range n {
		res, err := e.baseEngine.Validate(ctx, c.engineReq)
		if err != nil || res.Invalid() {
			return fmt.Errorf("engine: %v %v", err, res.Findings)
		}
	}
	return nil
}

func (e *env) evidence(_ context.Context, c corpus, n int) error {
	for range n {
		e.baseEvidence.Record(c.subject, "bench", nil, nil)
	}
	return nil
}

func (e *env) stream(ctx context.Context, c corpus, n int) error {
	s, err := pb.NewValidationServiceClient(e.conn).ValidateStream(ctx)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	msg := &pb.ValidateStreamRequest{Request: c.req} // never modified, so sent again as it is
	go func() {
		for range n {
			if err := s.Send(msg); err != nil {
				errc <- err
				return
			}
		}
		errc <- s.CloseSend()
	}()
	for range n {
		m, err := s.Recv()
		if err != nil {
			return err
		}
		if m.GetResponse().GetOutcome() != pb.Outcome_OUTCOME_VALID {
			return fmt.Errorf("stream: %v", m)
		}
	}
	if _, err := s.Recv(); err != io.EOF {
		return fmt.Errorf("stream end: %v", err)
	}
	return <-errc
}

func (e *env) batch(ctx context.Context, c corpus, n int) error {
	client := pb.NewValidationServiceClient(e.conn)
	for done := 0; done < n; done += 100 {
		req := c.batchReq
		if n-done < 100 {
			req = &pb.ValidateBatchRequest{Requests: req.Requests[:n-done]}
		}
		resp, err := client.ValidateBatch(ctx, req)
		if err != nil {
			return err
		}
		for _, r := range resp.GetResults() {
			if r.GetResponse().GetOutcome() != pb.Outcome_OUTCOME_VALID {
				return fmt.Errorf("batch: %v", r)
			}
		}
	}
	return nil
}

// unary runs n Validate calls of req and returns their latencies.
func (e *env) unary(ctx context.Context, req *pb.ValidateRequest, n int) ([]time.Duration, error) {
	client := pb.NewValidationServiceClient(e.conn)
	lat := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		resp, err := client.Validate(ctx, req)
		if err != nil || resp.GetOutcome() != pb.Outcome_OUTCOME_VALID {
			return nil, fmt.Errorf("unary: %v %v", err, resp)
		}
		lat = append(lat, time.Since(start))
	}
	return lat, nil
}

// noop runs n health checks, the no-op unary RPC through the same server and interceptors.
func (e *env) noop(ctx context.Context, n int) ([]time.Duration, error) {
	client := healthpb.NewHealthClient(e.conn)
	lat := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if _, err := client.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(start))
	}
	return lat, nil
}

func (e *env) httpValidate(ctx context.Context, c corpus, n int) error {
	url := "http://" + e.g.HTTPAddr() + "/v1/subjects/" + c.subject + "/validate"
	for range n {
		req, err := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(c.httpBody))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := e.http.Do(req)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "OUTCOME_VALID") {
			return fmt.Errorf("http: %d %s", resp.StatusCode, body)
		}
	}
	return nil
}

// timed runs fn with growing n until it takes at least d, and returns operations per second.
func timed(d time.Duration, fn func(n int) error) (float64, error) {
	for n := 1; ; n *= 4 {
		start := time.Now()
		if err := fn(n); err != nil {
			return 0, err
		}
		if el := time.Since(start); el >= d || n >= 1<<24 {
			return float64(n) / el.Seconds(), nil
		}
	}
}

// p50 is the median of lat.
func p50(lat []time.Duration) time.Duration {
	slices.Sort(lat)
	return lat[len(lat)/2]
}

// Run starts a gateway on loopback with a temporary data directory and, for each corpus
// (Avro, JSON and Protobuf, small ~200 B and medium ~4 KiB), measures in one run: the in-process engine
// (the baseline), ValidateStream, ValidateBatch at 100 per call, each beside its transport
// floor (grpc-go alone moving messages of the same sizes, see floor.go) and what the client
// spends on protobuf for them, unary Validate against a no-op unary RPC, HTTP validate, and the
// cost of recording evidence. Every figure is reported as a ratio to a baseline measured in
// the same run. Stream and batch rows note what each payload costs over the engine, and what
// is left of that less the floor and less the client's protobuf (the gateway's share); a JSON corpus is also sent as json_text, alternating with the
// Value, and its row notes the ratio of the two medians (Value ÷ json_text).
func Run(ctx context.Context, opts Options) ([]Row, error) {
	if opts.Duration <= 0 {
		opts.Duration = 2 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	e, cleanup, err := newEnv(ctx, opts.Logger)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	d := opts.Duration
	var rows []Row
	noopLat, err := e.noop(ctx, 2000)
	if err != nil {
		return nil, err
	}
	floor := p50(noopLat)
	for _, c := range e.corpora {
		base, err := timed(d, func(n int) error { return e.engine(ctx, c, n) })
		if err != nil {
			return nil, err
		}
		rows = append(rows, Row{Corpus: c.name, Path: "engine (baseline)", PerSecond: base, Ratio: 1, Note: fmt.Sprintf("%d-byte payload", c.size)})
		rec, err := timed(d, func(n int) error { return e.evidence(ctx, c, n) })
		if err != nil {
			return nil, err
		}
		rows = append(rows, Row{Corpus: c.name, Path: "evidence record", PerSecond: rec, Ratio: base / rec,
			Note: fmt.Sprintf("cost per validation: %.1f%% of the engine's", 100*base/rec)})
		// Stream and batch, each after its transport floor (grpc-go alone moving messages of
		// the same sizes) and what the client spends on protobuf for them, in process. What a
		// payload costs beyond the engine, the floor and the client is the gateway's share.
		for _, w := range []struct {
			name, floorName, clientName string
			fn, floorFn, clientFn       func(n int) error
		}{
			{"ValidateStream", "stream floor", "stream client protobuf", func(n int) error { return e.stream(ctx, c, n) },
				func(n int) error { return e.floor.streamRun(ctx, c, n) }, func(n int) error { return e.floor.clientStreamProto(c, n) }},
			{"ValidateBatch x100", "batch x100 floor", "batch client protobuf", func(n int) error { return e.batch(ctx, c, n) },
				func(n int) error { return e.floor.batchRun(ctx, c, n) }, func(n int) error { return e.floor.clientBatchProto(c, n) }},
		} {
			var rates [3]float64
			for i, fn := range []func(int) error{w.floorFn, w.clientFn, w.fn} {
				if rates[i], err = timed(d, fn); err != nil {
					return nil, fmt.Errorf("%s %s: %w", c.name, w.name, err)
				}
			}
			floorUS, clientUS, overEngineUS := 1e6/rates[0], 1e6/rates[1], 1e6/rates[2]-1e6/base
			rows = append(rows,
				Row{Corpus: c.name, Path: w.floorName, PerSecond: rates[0], Ratio: rates[0] / base,
					Note: fmt.Sprintf("%.2f µs per payload: grpc-go alone, messages of the same sizes", floorUS)},
				Row{Corpus: c.name, Path: w.clientName, PerSecond: rates[1], Ratio: rates[1] / base,
					Note: fmt.Sprintf("%.2f µs per payload: the client's protobuf encoding and decoding", clientUS)},
				Row{Corpus: c.name, Path: w.name, PerSecond: rates[2], Ratio: rates[2] / base,
					Note: fmt.Sprintf("%+.2f µs per payload over the engine; less the floor: %+.2f µs; less the client's protobuf too: %+.2f µs",
						overEngineUS, overEngineUS-floorUS, overEngineUS-floorUS-clientUS)})
		}
		rate, err := timed(d, func(n int) error { return e.httpValidate(ctx, c, n) })
		if err != nil {
			return nil, fmt.Errorf("%s HTTP validate: %w", c.name, err)
		}
		rows = append(rows, Row{Corpus: c.name, Path: "HTTP validate", PerSecond: rate, Ratio: rate / base})
		unaryRows, err := e.unaryRows(ctx, c, floor, base)
		if err != nil {
			return nil, err
		}
		rows = append(rows, unaryRows...)
	}
	return rows, nil
}

// unaryRows measures unary Validate latency of c's payload against floor, the no-op RPC's p50:
// 2,000 calls, and for a JSON corpus 2,000 more of the payload as json_text, the two
// alternating in rounds of 100 so both see the same machine.
func (e *env) unaryRows(ctx context.Context, c corpus, floor time.Duration, base float64) ([]Row, error) {
	reqs := []*pb.ValidateRequest{c.req}
	if c.textReq != nil {
		reqs = append(reqs, c.textReq)
	}
	lats := make([][]time.Duration, len(reqs))
	for range 20 {
		for i, req := range reqs {
			lat, err := e.unary(ctx, req, 100)
			if err != nil {
				return nil, err
			}
			lats[i] = append(lats[i], lat...)
		}
	}
	engine := time.Duration(float64(time.Second) / base)
	row := func(path string, med time.Duration, note string) Row {
		return Row{Corpus: c.name, Path: path, PerSecond: 1 / med.Seconds(), Ratio: float64(med) / float64(floor),
			Note: fmt.Sprintf("p50 %s (engine %s); no-op unary RPC p50 %s%s", med.Round(time.Microsecond), engine.Round(10*time.Nanosecond), floor.Round(time.Microsecond), note)}
	}
	value := p50(lats[0])
	if c.textReq == nil {
		return []Row{row("unary Validate p50", value, "")}, nil
	}
	text := p50(lats[1])
	return []Row{
		row("unary Validate p50", value, fmt.Sprintf("; Value ÷ json_text %.2fx", float64(value)/float64(text))),
		row("unary json_text p50", text, ""),
	}, nil
}

// WriteTable prints rows as an aligned table.
func WriteTable(w io.Writer, rows []Row) error {
	if _, err := fmt.Fprintf(w, "%-12s %-24s %14s %9s  %s\n", "CORPUS", "PATH", "PER SECOND", "RATIO", "NOTE"); err != nil {
		return err
	}
	for _, r := range rows {
		if _, err := fmt.Fprintf(w, "%-12s %-24s %14.0f %8.3fx  %s\n", r.Corpus, r.Path, r.PerSecond, r.Ratio, r.Note); err != nil {
			return err
		}
	}
	return nil
}
