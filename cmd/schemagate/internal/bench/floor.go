package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	"github.com/schemagate/schemagate/gateway"
	pb "github.com/schemagate/schemagate/proto/schemagate/v1"
)

// The transport floor: what grpc-go alone costs per payload on the bench's kind of connection.
// A second gRPC server on loopback, built with the gateway's transport options, serves a
// service that does no work: its stream answers each message with the bytes of a real
// ValidateStreamResponse, its unary method each call with the bytes of a real
// ValidateBatchResponse of 100 results, and the client sends the bytes of the real requests.
// Messages pass through as bytes (rawCodec) on both sides, so neither side spends anything on
// protobuf: the floor is framing, flow control and the goroutine hand-offs of each message.

// floorService names the floor's service and methods.
const (
	floorService = "schemagate.bench.Floor"
	floorStream  = "/" + floorService + "/Stream"
	floorUnary   = "/" + floorService + "/Unary"
)

// rawCodec passes messages through as bytes: it marshals a []byte and unmarshals into a
// *[]byte, copying (grpc-go reuses the buffers it hands over).
type rawCodec struct{}

// Name is the content-subtype the floor's client selects.
func (rawCodec) Name() string { return "bench-raw" }

// Marshal returns b, which must be a []byte.
func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, ok := v.([]byte)
	if !ok {
		return nil, fmt.Errorf("bench floor: cannot marshal %T", v)
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

// Unmarshal copies data into v, which must be a *[]byte, reusing its capacity.
func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	p, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("bench floor: cannot unmarshal into %T", v)
	}
	*p = (*p)[:0]
	for _, buf := range data {
		*p = append(*p, buf.ReadOnlyData()...)
	}
	return nil
}

// floorAnswers are the bytes the floor's service answers with.
type floorAnswers struct {
	stream, batch []byte
}

// floorServer serves the floor's service; answers are looked up by the request's size, so each
// corpus gets answers of its own sizes.
type floorServer struct {
	answers map[int]floorAnswers
}

func (s *floorServer) serveStream(_ any, ss grpc.ServerStream) error {
	var in []byte
	for {
		if err := ss.RecvMsg(&in); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		a, ok := s.answers[len(in)]
		if !ok {
			return fmt.Errorf("bench floor: no answer for a %d-byte stream message", len(in))
		}
		if err := ss.SendMsg(a.stream); err != nil {
			return err
		}
	}
}

func (s *floorServer) serveUnary(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
	var in []byte
	if err := dec(&in); err != nil {
		return nil, err
	}
	a, ok := s.answers[len(in)]
	if !ok {
		return nil, fmt.Errorf("bench floor: no answer for a %d-byte batch", len(in))
	}
	return a.batch, nil
}

// floorDesc is the floor's service: one bidi stream and one unary method.
func floorDesc() *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: floorService,
		HandlerType: (*any)(nil),
		Methods:     []grpc.MethodDesc{{MethodName: "Unary", Handler: nil}},
		Streams:     []grpc.StreamDesc{{StreamName: "Stream", ServerStreams: true, ClientStreams: true}},
	}
}

// floor is the floor's server and a client connection to it, and per corpus the request bytes
// the client sends.
type floor struct {
	srv      *grpc.Server
	conn     *grpc.ClientConn
	requests map[string]floorRequests // by corpus name
	answers  map[string]floorAnswers  // by corpus name
}

// floorRequests are a corpus's request bytes: one stream message and one batch of 100.
type floorRequests struct {
	stream, batch []byte
}

// startFloor starts the floor's server on 127.0.0.1:0 with the gateway's transport options
// (gateway.TransportServerOptions; plaintext, as the bench's gateway) and connects to
// it. For each corpus it takes the answers' sizes from one real ValidateStream and one real
// ValidateBatch call on the gateway.
func (e *env) startFloor(ctx context.Context, cfg gateway.ServerConfig) (*floor, error) {
	fs := &floorServer{answers: map[int]floorAnswers{}}
	f := &floor{requests: map[string]floorRequests{}, answers: map[string]floorAnswers{}}
	for _, c := range e.corpora {
		req, ans, err := e.realMessages(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("bench floor %s: %w", c.name, err)
		}
		if _, dup := fs.answers[len(req.stream)]; dup {
			return nil, fmt.Errorf("bench floor %s: two corpora send %d-byte messages", c.name, len(req.stream))
		}
		if _, dup := fs.answers[len(req.batch)]; dup || len(req.batch) == len(req.stream) {
			return nil, fmt.Errorf("bench floor %s: two corpora send %d-byte batches", c.name, len(req.batch))
		}
		fs.answers[len(req.stream)], fs.answers[len(req.batch)] = ans, ans
		f.requests[c.name], f.answers[c.name] = req, ans
	}
	desc := floorDesc()
	desc.Methods[0].Handler = fs.serveUnary
	desc.Streams[0].Handler = fs.serveStream
	f.srv = grpc.NewServer(append(gateway.TransportServerOptions(cfg),
		grpc.Creds(insecure.NewCredentials()), grpc.ForceServerCodecV2(rawCodec{}))...)
	f.srv.RegisterService(desc, fs)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() { _ = f.srv.Serve(lis) }()
	if f.conn, err = grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
		f.srv.Stop()
		return nil, err
	}
	return f, nil
}

// close closes the floor's connection and stops its server.
func (f *floor) close() {
	f.conn.Close()
	f.srv.Stop()
}

// realMessages makes one ValidateStream and one ValidateBatch call of c's payload on the
// gateway and returns the wire bytes of the requests and of the answers.
func (e *env) realMessages(ctx context.Context, c corpus) (floorRequests, floorAnswers, error) {
	var req floorRequests
	var ans floorAnswers
	client := pb.NewValidationServiceClient(e.conn)
	s, err := client.ValidateStream(ctx)
	if err != nil {
		return req, ans, err
	}
	streamReq := &pb.ValidateStreamRequest{Request: c.req}
	if err := s.Send(streamReq); err != nil {
		return req, ans, err
	}
	if err := s.CloseSend(); err != nil {
		return req, ans, err
	}
	m, err := s.Recv()
	if err != nil {
		return req, ans, err
	}
	if _, err := s.Recv(); err != io.EOF {
		return req, ans, fmt.Errorf("stream end: %v", err)
	}
	batchReq := c.batchReq
	resp, err := client.ValidateBatch(ctx, batchReq)
	if err != nil {
		return req, ans, err
	}
	for _, p := range []struct {
		m   proto.Message
		out *[]byte
	}{{streamReq, &req.stream}, {batchReq, &req.batch}, {m, &ans.stream}, {resp, &ans.batch}} {
		if *p.out, err = proto.Marshal(p.m); err != nil {
			return req, ans, err
		}
	}
	return req, ans, nil
}

// streamRun sends n stream messages of c's size to the floor and reads n answers.
func (f *floor) streamRun(ctx context.Context, c corpus, n int) error {
	req := f.requests[c.name]
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := f.conn.NewStream(ctx, &floorDesc().Streams[0], floorStream, grpc.ForceCodecV2(rawCodec{}))
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() {
		for range n {
			if err := s.SendMsg(req.stream); err != nil {
				errc <- err
				return
			}
		}
		errc <- s.CloseSend()
	}()
	var in []byte
	for range n {
		if err := s.RecvMsg(&in); err != nil {
			return err
		}
	}
	if err := s.RecvMsg(&in); err != io.EOF {
		return fmt.Errorf("floor stream end: %v", err)
	}
	return <-errc
}

// batchRun makes ⌈n/100⌉ unary calls of c's batch size to the floor. Each call carries 100
// payloads, a last partial one too: the bench's n is large enough (timed) that this
// overstates the floor by under 1%.
func (f *floor) batchRun(ctx context.Context, c corpus, n int) error {
	req := f.requests[c.name]
	var out []byte
	for done := 0; done < n; done += 100 {
		if err := f.conn.Invoke(ctx, floorUnary, req.batch, &out, grpc.ForceCodecV2(rawCodec{})); err != nil {
			return err
		}
		if len(out) == 0 {
			return errors.New("floor batch: empty answer")
		}
	}
	return nil
}

// clientStreamProto is what the bench's client spends on protobuf for n stream payloads of c,
// in process: encoding each message and decoding each answer, as grpc-go's codec does with
// the standard protobuf library.
func (f *floor) clientStreamProto(c corpus, n int) error {
	msg := &pb.ValidateStreamRequest{Request: c.req}
	wire := f.answers[c.name].stream
	for range n {
		if _, err := proto.Marshal(msg); err != nil {
			return err
		}
		var resp pb.ValidateStreamResponse
		if err := proto.Unmarshal(wire, &resp); err != nil {
			return err
		}
	}
	return nil
}

// clientBatchProto is clientStreamProto for batches of 100: one request encoded and one
// answer decoded per 100 payloads.
func (f *floor) clientBatchProto(c corpus, n int) error {
	wire := f.answers[c.name].batch
	for done := 0; done < n; done += 100 {
		if _, err := proto.Marshal(c.batchReq); err != nil {
			return err
		}
		var resp pb.ValidateBatchResponse
		if err := proto.Unmarshal(wire, &resp); err != nil {
			return err
		}
	}
	return nil
}
