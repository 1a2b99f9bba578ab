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
	size   int64 // -1 = unknown (only for single-stream servers)
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
type download struct {
	f      *fetcher
	job    blobJob
	file   *os.File
	mu     sync.Mutex
	sc     sidecar
	notify chan struct{}
}

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

// frontier is the end of the prefix of the blob that is on disk.
func (d *download) frontier() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range d.sc.Parts {
		if !p.complete() {
			return p.Start + p.Done
		}
	}
	return d.sc.Size
}

func (d *download) run(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	// Hash the prefix on disk as it grows, alongside the download.
	hashed := make(chan error, 1)
	go func() { hashed <- d.hash(ctx) }()

	// Periodic progress record, so a killed process can resume too.
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
				startWriteback(d.file)
				if i%10 == 0 {
					d.saveSidecar(d.job.dst + "-partial.json")
				}
			}
		}
	}()

	todo := make(chan int, len(d.sc.Parts))
	for i, p := range d.sc.Parts {
		if !p.complete() {
			todo <- i
		}
	}
	close(todo)
	workers := max(1, min(d.f.workers, len(todo)))
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			buf := make([]byte, 1<<20)
			for i := range todo {
				if ctx.Err() != nil {
					return
				}
				if err := d.fetchPartRetrying(ctx, i, buf); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		cancel(err)
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

func (d *download) hash(ctx context.Context) error {
	h := sha256.New()
	buf := make([]byte, 4<<20)
	var at int64
	for at < d.sc.Size || d.sc.Size == 0 {
		end := d.frontier()
		for at < end {
			n := min(int64(len(buf)), end-at)
			m, err := d.file.ReadAt(buf[:n], at)
			if err != nil && !(errors.Is(err, io.EOF) && int64(m) == n) {
				return err
			}
			h.Write(buf[:m])
			at += int64(m)
		}
		if at >= d.sc.Size {
			break
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-d.notify:
		}
	}
	got := "sha256:" + hex.EncodeToString(h.Sum(nil))
	if got != d.job.digest {
		return fmt.Errorf("got %s, want %s: %w", got, d.job.digest, ErrDigestMismatch)
	}
	return nil
}

// retryable errors: the connection broke or stalled, or the server had a 5xx.
type retryableError struct{ error }

func (e retryableError) Unwrap() error { return e.error }

func (d *download) fetchPartRetrying(ctx context.Context, i int, buf []byte) error {
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

func (d *download) fetchPart(ctx context.Context, i int, buf []byte) error {
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
			// A single stream restarts from byte 0.
			d.mu.Lock()
			d.sc.Parts[i].Done = 0
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
		// Fill the buffer (at least a quarter) before a write, resetting
		// the stall watchdog on every read.
		n := 0
		want := int(min(int64(len(buf)), p.End-pos))
		var rerr error
		for n < want/4+1 && n < want && rerr == nil {
			var m int
			m, rerr = resp.Body.Read(buf[n:want])
			if m > 0 {
				stall.Reset(d.f.stall)
				n += m
			}
		}
		if n > 0 {
			if _, err := d.file.WriteAt(buf[:n], pos); err != nil {
				return err
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
		return fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	return retryableError{err}
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
