package sync

import (
	"bufio"
	"context"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Deadlines. Every stream has one: a request and its answer must finish
// within streamTimeout; an object transfer may take longer but no frame
// may take more than idleTimeout; a Pull waits for the peer's whole pull.
const (
	streamTimeout = 60 * time.Second
	idleTimeout   = 30 * time.Second
	pullTimeout   = 10 * time.Minute
)

// exchange is one stream: frames in with the stream's memory accounting,
// frames out through a buffer.
type exchange struct {
	s   network.Stream
	fr  *frameReader
	w   *bufio.Writer
	tap func([]byte) // tests: every frame written
}

func (n *Node) newExchange(s network.Stream) *exchange {
	return &exchange{s: s, fr: newFrameReader(s, s.Scope()), w: bufio.NewWriterSize(s, 64<<10), tap: n.tap}
}

// open opens a stream to p (dialling it if needed: the gate decides).
func (n *Node) open(ctx context.Context, p peer.ID, proto protocol.ID) (*exchange, error) {
	h := n.Host()
	if h == nil {
		return nil, fmt.Errorf("sync: %w", ErrNotPaired)
	}
	s, err := h.NewStream(ctx, p, proto)
	if err != nil {
		return nil, fmt.Errorf("sync: open a stream to %s: %w", p, err)
	}
	if err := s.Scope().SetService(serviceName); err != nil {
		s.Reset()
		return nil, fmt.Errorf("sync: stream to %s: %w", p, err)
	}
	s.SetDeadline(time.Now().Add(streamTimeout))
	return n.newExchange(s), nil
}

// send queues a frame (flush sends it).
func (x *exchange) send(m message) error {
	f := appendFrame(nil, m)
	if x.tap != nil {
		x.tap(f)
	}
	if _, err := x.w.Write(f); err != nil {
		return fmt.Errorf("sync: send: %w", err)
	}
	return nil
}

func (x *exchange) flush() error {
	if err := x.w.Flush(); err != nil {
		return fmt.Errorf("sync: send: %w", err)
	}
	return nil
}

// recv reads the next frame; an Error frame comes back as a *RemoteError.
func (x *exchange) recv() (message, error) { return x.fr.read() }

// call sends m and reads the answer.
func (x *exchange) call(m message) (message, error) {
	if err := x.send(m); err != nil {
		return nil, err
	}
	if err := x.flush(); err != nil {
		return nil, err
	}
	return x.recv()
}

// fail sends err as an Error frame (best effort).
func (x *exchange) fail(err error) {
	x.send(errorMsg(err))
	x.flush()
}

func (x *exchange) close() {
	x.fr.release()
	x.s.Close()
}

// expect checks an answer's type.
func expect[T message](m message) (T, error) {
	t, ok := m.(T)
	if !ok {
		var zero T
		return zero, fmt.Errorf("%w: unexpected message type %d", ErrProtocol, m.msgType())
	}
	return t, nil
}
