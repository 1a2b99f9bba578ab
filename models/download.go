package models

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// errStallCause marks a request cancelled by the stall watchdog.
var errStallCause = errors.New("no bytes received")

// fetcher downloads blobs: resumable, in ranged parts, hashed as they land.
type fetcher struct {
	client      *http.Client
	stall       time.Duration // no bytes for this long = ErrStalled
	parallelMin int64         // blobs at least this big are fetched in parts
	partSize    int64
	workers     int
	retries     int // per part, for transient errors
	noSync      bool
}

// blobJob is one blob to fetch into dst.
type blobJob struct {
	url    string
	digest string
	size   int64
	dst    string
	done   *atomic.Int64 // bytes on disk so far, for progress
}

// part is a byte range [Start, End) of the blob, Done bytes of it written.
type part struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
	Done  int64 `json:"done"`
}

func (p part) complete() bool { return p.Start+p.Done >= p.End }

// sidecar is the progress record kept beside a partial file.
type sidecar struct {
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
	Parts  []part `json:"parts"`
}

func (f *fetcher) plan(size int64) []part {
	if size < f.parallelMin || f.partSize <= 0 {
		return []part{{Start: 0, End: size}}
	}
	var ps []part
	for s := int64(0); s < size; s += f.partSize {
		ps = append(ps, part{Start: s, End: min(s+f.partSize, size)})
	}
	return ps
}

// validSidecar reports whether sc describes a partial file for this job.
func validSidecar(sc *sidecar, digest string, size int64) bool {
	if sc.Digest != digest || sc.Size != size || len(sc.Parts) == 0 {
		return false
	}
	var at int64
	for _, p := range sc.Parts {
		if p.Start != at || p.End < p.Start || p.Done < 0 || p.Done > p.End-p.Start {
			return false
		}
		at = p.End
	}
	return at == size
}

// fetch downloads the blob into job.dst, verifying its sha256 before the
// rename. On failure the partial file and its sidecar stay for a resume,
// except after a digest mismatch, when both are removed.
func (f *fetcher) fetch(ctx context.Context, job blobJob) error {
	if st, err := os.Stat(job.dst); err == nil && st.Size() == job.size {
		job.done.Store(job.size)
		return nil
	}
	partial := job.dst + "-partial"
	sidePath := partial + ".json"

	var sc sidecar
	resumed := false
	if b, err := os.ReadFile(sidePath); err == nil && json.Unmarshal(b, &sc) == nil && validSidecar(&sc, job.digest, job.size) {
		if st, err := os.Stat(partial); err == nil && st.Size() == job.size {
			resumed = true
		}
	}
	if !resumed {
		sc = sidecar{Digest: job.digest, Size: job.size, Parts: f.plan(job.size)}
	}
	flags := os.O_RDWR | os.O_CREATE
	if !resumed {
		flags |= os.O_TRUNC
	}
	file, err := os.OpenFile(partial, flags, 0o644)
	if err != nil {
		return err
	}
	if !resumed {
		if err := file.Truncate(job.size); err != nil {
			file.Close()
			return err
		}
	}

	d := &download{f: f, job: job, file: file, sc: sc, notify: make(chan struct{}, 1)}
	var already int64
	for _, p := range sc.Parts {
		already += p.Done
	}
	job.done.Store(already)

	err = d.run(ctx) // on success the data is verified and synced
	if err == nil {
		if err := file.Close(); err != nil {
			return err
		}
		if err := os.Rename(partial, job.dst); err != nil {
			return err
		}
		os.Remove(sidePath)
		syncDir(dirOf(job.dst))
		return nil
	}
	if errors.Is(err, ErrDigestMismatch) {
		file.Close()
		os.Remove(partial)
		os.Remove(sidePath)
		return err
	}
	// Keep what was fetched: data first, then the record of it.
	file.Sync()
	file.Close()
	d.saveSidecar(sidePath)
	return err
}

func dirOf(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[:i]
	}
	return "."
}

// download is the state of one fetch in flight.
//
// The sha256 runs alongside, in order along the blob. A worker that writes
// the bytes the hash has reached hands its buffer to the hash after the
// write and takes a fresh one, so those bytes are hashed from memory, never
// read back. Bytes written ahead of the hash (by parts further on) are read
// back from the page cache when the hash gets there, while later parts are
// still downloading.
type download struct {
	f      *fetcher
	job    blobJob
	file   *os.File
	notify chan struct{} // poked when pending or the frontier grows
	free   chan []byte   // buffers the hash is done with

	mu      sync.Mutex
	sc      sidecar
	queued  int64   // the hash has been handed or has claimed [0, queued)
	pending []chunk // handed to the hash, not hashed yet, in order
	gen     int     // bumped when the hash must start again from byte 0
	nbufs   int     // buffers made so far
}

// chunk is a span for the hash: a worker's buffer, or (buf nil) n bytes to
// read back from the file.
type chunk struct {
	off int64
	n   int64
	buf []byte
	gen int
}

const (
	bufSize     = 1 << 20
	extraBufs   = 4                      // buffers beyond one per worker: how far the hash may lag
	flushEvery  = 250 * time.Millisecond // longest a slow stream holds bytes before writing them
	readBackBuf = 4 << 20
)

func (d *download) poke() {
	select {
	case d.notify <- struct{}{}:
	default:
	}
}

func (d *download) saveSidecar(path string) {
	d.mu.Lock()
	b, _ := json.Marshal(d.sc)
	d.mu.Unlock()
	writeFileAtomic(path, b)
}

// frontierLocked is the end of the prefix of the blob that is on disk.
func (d *download) frontierLocked() int64 {
	for _, p := range d.sc.Parts {
		if !p.complete() {
			return p.Start + p.Done
		}
	}
	return d.sc.Size
}

// buffer returns a free buffer, making one while there are fewer than the
// limit, else waiting for the hash to release one.
func (d *download) buffer(ctx context.Context) ([]byte, error) {
	select {
	case b := <-d.free:
		return b, nil
	default:
	}
	d.mu.Lock()
	if d.nbufs < cap(d.free) {
		d.nbufs++
		d.mu.Unlock()
		return make([]byte, min(bufSize, max(d.sc.Size, 1))), nil
	}
	d.mu.Unlock()
	select {
	case b := <-d.free:
		return b, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

func (d *download) release(b []byte) {
	if b != nil {
		d.free <- b[:cap(b)] // never blocks: free holds every buffer there is
	}
}

// handOff gives the hash buf, just written at off, if off is where the hash
// has reached; it reports whether it did (buf then belongs to the hash).
func (d *download) handOff(off int64, buf []byte) bool {
	d.mu.Lock()
	ok := off == d.queued
	if ok {
		d.queued += int64(len(buf))
		d.pending = append(d.pending, chunk{off: off, n: int64(len(buf)), buf: buf, gen: d.gen})
	}
	d.mu.Unlock()
	if ok {
		d.poke()
	}
	return ok
}

func (d *download) run(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	todo := make(chan int, len(d.sc.Parts))
	for i, p := range d.sc.Parts {
		if !p.complete() {
			todo <- i
		}
	}
	close(todo)
	workers := max(1, min(d.f.workers, len(todo)))
	d.free = make(chan []byte, workers+extraBufs)

	hashed := make(chan error, 1)
	go func() {
		err := d.hash(ctx)
		if err != nil {
			cancel(err) // workers waiting for a buffer stop too
		}
		hashed <- err
	}()

	// Start writeback early so the final fsync has little left to do, and
	// keep a progress record so a killed process can resume too.
	saverDone := make(chan struct{})
	go func() {
		defer close(saverDone)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for i := 1; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if !d.f.noSync {
					startWriteback(d.file)
				}
				if i%10 == 0 {
					d.saveSidecar(d.job.dst + "-partial.json")
				}
			}
		}
	}()

	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var buf []byte
			for i := range todo {
				if ctx.Err() != nil {
					return
				}
				if err := d.fetchPartRetrying(ctx, i, &buf); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		<-saverDone
		<-hashed
		return err
	}
	// All bytes are written: flush them to disk while the hash catches up.
	synced := make(chan error, 1)
	go func() {
		if d.f.noSync {
			synced <- nil
			return
		}
		synced <- d.file.Sync()
	}()
	d.poke()
	err := <-hashed
	if serr := <-synced; err == nil {
		err = serr
	}
	cancel(nil)
	<-saverDone
	return err
}

// hash computes the blob's sha256 in order as its bytes arrive and checks it
// against the digest.
func (d *download) hash(ctx context.Context) error {
	h := sha256.New()
	var at int64 // bytes hashed
	gen := 0
	var rb []byte
	for {
		d.mu.Lock()
		if d.gen != gen {
			h.Reset()
			at, gen = 0, d.gen
		}
		var c chunk
		have := false
		if len(d.pending) > 0 {
			c, have = d.pending[0], true
			d.pending[0] = chunk{}
			d.pending = d.pending[1:]
		} else if fr := d.frontierLocked(); d.queued < fr {
			c, have = chunk{off: d.queued, n: fr - d.queued, gen: gen}, true
			d.queued = fr
		}
		finished := !have && d.queued >= d.sc.Size
		d.mu.Unlock()

		switch {
		case have && c.gen != gen:
			d.release(c.buf) // from before a restart
		case have && c.off != at:
			return fmt.Errorf("hash at byte %d was handed bytes from %d", at, c.off)
		case have && c.buf != nil:
			h.Write(c.buf)
			at += c.n
			d.release(c.buf)
		case have:
			if rb == nil {
				rb = make([]byte, min(readBackBuf, c.n))
			}
			for end := c.off + c.n; at < end; {
				n := min(int64(len(rb)), end-at)
				m, err := d.file.ReadAt(rb[:n], at)
				if err != nil && !(errors.Is(err, io.EOF) && int64(m) == n) {
					return err
				}
				h.Write(rb[:m])
				at += int64(m)
			}
		case finished:
			got := "sha256:" + hex.EncodeToString(h.Sum(nil))
			if got != d.job.digest {
				return fmt.Errorf("got %s, want %s: %w", got, d.job.digest, ErrDigestMismatch)
			}
			return nil
		default:
			select {
			case <-ctx.Done():
				return context.Cause(ctx)
			case <-d.notify:
			}
		}
	}
}

// retryable errors: the connection broke or stalled, or the server had a 5xx.
type retryableError struct{ error }

func (e retryableError) Unwrap() error { return e.error }

func (d *download) fetchPartRetrying(ctx context.Context, i int, buf *[]byte) error {
	var err error
	for attempt := 0; attempt <= d.f.retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return context.Cause(ctx)
			case <-time.After(time.Duration(attempt) * 250 * time.Millisecond):
			}
		}
		err = d.fetchPart(ctx, i, buf)
		var r retryableError
		if err == nil || !errors.As(err, &r) || ctx.Err() != nil {
			break
		}
	}
	var r retryableError
	if errors.As(err, &r) {
		return r.error
	}
	return err
}

// fetchPart downloads what is left of part i through *buf, a buffer the
// worker owns (nil: none yet); buffers handed to the hash are replaced.
func (d *download) fetchPart(ctx context.Context, i int, buf *[]byte) error {
	d.mu.Lock()
	p := d.sc.Parts[i]
	d.mu.Unlock()
	pos := p.Start + p.Done
	if pos >= p.End {
		return nil
	}
	whole := pos == 0 && p.End == d.sc.Size

	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stall := time.AfterFunc(d.f.stall, func() { cancel(errStallCause) })
	defer stall.Stop()

	req, err := http.NewRequestWithContext(rctx, http.MethodGet, d.job.url, nil)
	if err != nil {
		return err
	}
	if !whole {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", pos, p.End-1))
	}
	resp, err := d.f.client.Do(req)
	if err != nil {
		return classify(rctx, ctx, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent:
		if start, ok := contentRangeStart(resp.Header.Get("Content-Range")); !ok || start != pos {
			return fmt.Errorf("server sent range %q for bytes=%d-", resp.Header.Get("Content-Range"), pos)
		}
	case resp.StatusCode == http.StatusOK:
		if !whole {
			if len(d.sc.Parts) > 1 {
				return fmt.Errorf("server ignored the Range header (status 200 for a part)")
			}
			// A single stream restarts from byte 0, and so does the hash:
			// the bytes sent again need not be the ones hashed.
			d.mu.Lock()
			d.sc.Parts[i].Done = 0
			d.gen++
			d.queued = 0
			for _, c := range d.pending {
				d.release(c.buf)
			}
			d.pending = nil
			d.mu.Unlock()
			d.job.done.Add(-pos)
			pos = 0
		}
		if resp.ContentLength >= 0 && resp.ContentLength != d.sc.Size {
			return fmt.Errorf("server sent %d bytes, manifest says %d", resp.ContentLength, d.sc.Size)
		}
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("blob %s: %w", d.job.digest, ErrNotFound)
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return retryableError{fmt.Errorf("server said %s", resp.Status)}
	default:
		return fmt.Errorf("server said %s", resp.Status)
	}

	for pos < p.End {
		if *buf == nil {
			if *buf, err = d.buffer(ctx); err != nil {
				return err
			}
		}
		b := *buf
		// Fill the buffer before a write, unless the bytes come slowly,
		// resetting the stall watchdog on every read.
		n := 0
		want := int(min(int64(len(b)), p.End-pos))
		var rerr error
		for t0 := time.Now(); n < want && rerr == nil; {
			var m int
			m, rerr = resp.Body.Read(b[n:want])
			if m > 0 {
				stall.Reset(d.f.stall)
				n += m
				if time.Since(t0) > flushEvery {
					break
				}
			}
		}
		if n > 0 {
			if _, err := d.file.WriteAt(b[:n], pos); err != nil {
				return err
			}
			if d.handOff(pos, b[:n]) {
				*buf = nil // the hash has it now
			}
			pos += int64(n)
			d.mu.Lock()
			d.sc.Parts[i].Done = pos - p.Start
			d.mu.Unlock()
			d.job.done.Add(int64(n))
			d.poke()
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				if pos < p.End {
					return retryableError{fmt.Errorf("connection closed at byte %d of %d: %w", pos, d.sc.Size, io.ErrUnexpectedEOF)}
				}
				break
			}
			return classify(rctx, ctx, rerr)
		}
	}
	return nil
}

// classify turns a transport error into a stall, cancellation, unreachable
// registry or a retryable broken connection.
func classify(rctx, ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if context.Cause(rctx) == errStallCause {
		return retryableError{ErrStalled}
	}
	if unreachable(err) {
		return &unreachableError{err}
	}
	return retryableError{err}
}

// unreachableError is ErrUnreachable with its cause, said briefly: the
// address and what went wrong, without the request around it.
type unreachableError struct{ err error }

func (e *unreachableError) Unwrap() []error { return []error{ErrUnreachable, e.err} }

func (e *unreachableError) Error() string {
	var dns *net.DNSError
	var cert *tls.CertificateVerificationError
	var op *net.OpError
	detail := e.err.Error()
	switch {
	case errors.As(e.err, &dns):
		detail = dns.Error()
	case errors.As(e.err, &cert):
		detail = cert.Error()
	case errors.As(e.err, &op):
		detail = op.Err.Error()
		var sc *os.SyscallError
		if errors.As(op.Err, &sc) {
			detail = sc.Err.Error()
		}
		if op.Addr != nil {
			detail = op.Addr.String() + ": " + detail
		}
	}
	return ErrUnreachable.Error() + ": " + detail
}

// unreachable reports errors of reaching a host: DNS, connect, TLS.
func unreachable(err error) bool {
	var dns *net.DNSError
	var op *net.OpError
	var cert *tls.CertificateVerificationError
	switch {
	case errors.As(err, &dns), errors.As(err, &cert):
		return true
	case errors.As(err, &op):
		return op.Op == "dial"
	}
	return false
}

// contentRangeStart parses "bytes START-END/TOTAL".
func contentRangeStart(s string) (int64, bool) {
	s, ok := strings.CutPrefix(s, "bytes ")
	if !ok {
		return 0, false
	}
	i := strings.IndexByte(s, '-')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	return n, err == nil
}
