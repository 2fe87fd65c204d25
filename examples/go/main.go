// Command departmental_system is a small departmental system in Go, the
// Rust and Python examples' counterpart: it follows its unit's inbox
// through the gateway (InboxService.WatchAssignments) and handles each
// order it leads — accept, contact the requester through the centre's
// relay, reply — continuing the order's trace on every call it makes
// about the order.
//
// Stubs come from `buf generate` (buf.gen.yaml at the repository root,
// into gen/ here) or from protoc; build.sh builds it offline against
// Debian's packaged gRPC:
//
//	examples/go/build.sh /tmp/departmental_system
//	/tmp/departmental_system --gateway 127.0.0.1:7345 --unit dept-housing --orders 1 \
//	    --cert hotline-data/pki/unit-dept-housing.crt \
//	    --key hotline-data/pki/unit-dept-housing.key \
//	    --ca hotline-data/pki/ca.crt
//
// Every hop of the mesh is mutual TLS: the unit's certificate proves which
// unit this system is.
package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	pb "hotline-mesh/examples/go/gen/hotline/v1"
)

// own is the metadata of a call a unit makes for itself: the unit it is
// for and the unit making it.
func own(ctx context.Context, unit string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "x-hotline-target", unit, "x-hotline-unit", unit)
}

// childTraceparent continues the order's trace (W3C Trace Context): the
// same trace id and flags, and a span id of this system's own for its
// handling of the assignment. An empty or malformed parent gives "": the
// calls then start traces of their own, which the mesh only links to the
// order's.
func childTraceparent(parent string) string {
	p := strings.Split(parent, "-")
	if len(p) != 4 || p[0] != "00" || len(p[1]) != 32 || len(p[2]) != 16 || len(p[3]) != 2 {
		return ""
	}
	for _, part := range p[1:] {
		if _, err := hex.DecodeString(part); err != nil || strings.ToLower(part) != part {
			return ""
		}
	}
	if strings.Trim(p[1], "0") == "" {
		return ""
	}
	id := make([]byte, 8)
	for strings.Trim(hex.EncodeToString(id), "0") == "" {
		if _, err := rand.Read(id); err != nil {
			return ""
		}
	}
	return fmt.Sprintf("00-%s-%s-%s", p[1], hex.EncodeToString(id), p[3])
}

// handle accepts, contacts the requester and replies. Request ids derive
// from the order and epoch, so a retry after a crash is answered, not
// applied twice.
func handle(ctx context.Context, c pb.DispatchServiceClient, unit, orderID string) (bool, error) {
	got, err := c.GetAssignment(own(ctx, unit), &pb.GetAssignmentRequest{OrderId: orderID})
	if err != nil {
		return false, err
	}
	a := got.GetAssignment()
	lead := a.GetRole() == pb.AssignmentRole_ASSIGNMENT_ROLE_LEAD ||
		a.GetRole() == pb.AssignmentRole_ASSIGNMENT_ROLE_CO_HANDLER
	if !lead || a.GetState() != pb.AssignmentState_ASSIGNMENT_STATE_DISPATCHED {
		return false, nil
	}
	// The calls about the order continue its trace; the read above did not
	// (a poll is no part of the order's story).
	onOrder := own(ctx, unit)
	if tp := childTraceparent(a.GetTraceParent()); tp != "" {
		fmt.Printf("traceparent %s %s\n", orderID, tp)
		onOrder = metadata.AppendToOutgoingContext(onOrder, "traceparent", tp)
	}
	rid := func(step string) string { return fmt.Sprintf("%s:%s:%d:%s", unit, orderID, a.GetEpoch(), step) }
	if _, err := c.AcceptAssignment(onOrder, &pb.AcceptAssignmentRequest{
		RequestId: rid("accept"), OrderId: orderID, Epoch: a.GetEpoch(),
	}); err != nil {
		return false, err
	}
	// The requester is reached through the centre's relay: the number
	// never leaves the centre.
	if _, err := c.ContactRequester(onOrder, &pb.ContactRequesterRequest{
		RequestId: rid("contact"), OrderId: orderID, Epoch: a.GetEpoch(),
		Purpose: "confirm the location",
	}); err != nil {
		return false, err
	}
	if _, err := c.ReplyAssignment(onOrder, &pb.ReplyAssignmentRequest{
		RequestId: rid("reply"), OrderId: orderID, Epoch: a.GetEpoch(),
		Outcome: pb.ReplyOutcome_REPLY_OUTCOME_RESOLVED,
		Text:    "repaired by the Go departmental system",
	}); err != nil {
		return false, err
	}
	return true, nil
}

func dial(gateway, cert, key, ca string, plaintext bool) (*grpc.ClientConn, error) {
	if i := strings.Index(gateway, "://"); i >= 0 {
		gateway = gateway[i+3:]
	}
	if plaintext {
		return grpc.Dial(gateway, grpc.WithInsecure())
	}
	if cert == "" || key == "" || ca == "" {
		return nil, errors.New("--cert, --key and --ca are required (or --insecure-plaintext)")
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(ca)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("no certificate in %s", ca)
	}
	// The gateway's certificate names 127.0.0.1 and localhost.
	creds := credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: roots})
	return grpc.Dial(gateway, grpc.WithTransportCredentials(creds))
}

func main() {
	gateway := flag.String("gateway", "127.0.0.1:7345", "the gateway's address")
	unit := flag.String("unit", "", "the unit this system acts for (required)")
	orders := flag.Int("orders", 0, "stop after handling this many (0: run until killed)")
	cursor := flag.Uint64("cursor", 0, "resume after this cursor")
	cert := flag.String("cert", "", "the unit's certificate (PEM)")
	key := flag.String("key", "", "the unit's private key (PEM)")
	ca := flag.String("ca", "", "the mesh CA certificate (PEM)")
	plaintext := flag.Bool("insecure-plaintext", false, "no TLS, for a mesh started with --insecure-plaintext")
	flag.Parse()
	if *unit == "" {
		log.Fatal("--unit is required")
	}
	conn, err := dial(*gateway, *cert, *key, *ca, *plaintext)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	dispatch := pb.NewDispatchServiceClient(conn)
	inbox := pb.NewInboxServiceClient(conn)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := inbox.WatchAssignments(own(ctx, *unit), &pb.WatchAssignmentsRequest{AfterCursor: *cursor})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("watching %s after cursor %d\n", *unit, *cursor)
	handled := 0
	for *orders == 0 || handled < *orders {
		item, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		e := item.GetEvent()
		fmt.Printf("event %d %s %s epoch %d\n", e.GetCursor(), e.GetKind(), e.GetOrderId(), e.GetEpoch())
		if e.GetKind() == pb.InboxEventKind_INBOX_EVENT_KIND_DISPATCHED {
			done, err := handle(ctx, dispatch, *unit, e.GetOrderId())
			if err != nil {
				log.Fatal(err)
			}
			if done {
				handled++
				fmt.Printf("handled %s\n", e.GetOrderId())
			}
		}
		*cursor = e.GetCursor()
	}
	fmt.Printf("stopped at cursor %d\n", *cursor)
}
