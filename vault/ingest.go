package vault

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/vault/internal/format"
)

// DefaultMaxFileSize is the largest file Add ingests unless told otherwise.
const DefaultMaxFileSize = 20 << 20

// AddOptions tune Add. Zero values take the defaults.
type AddOptions struct {
	// Excludes are .gitignore-style patterns, relative to each folder added.
	// The folder's own .gitignore and .nookignore are read too.
	Excludes []string
	// MaxFileSize skips larger files (default DefaultMaxFileSize).
	MaxFileSize int64
	// FileTimeout bounds the time spent on one file: reading, parsing and
	// embedding it (default DefaultFileTimeout). A file over it is skipped
	// and reported in Errors.
	FileTimeout time.Duration
	// Tags are attached to every document added by this call.
	Tags []string
	// ChunkChars is the largest unit in bytes (default DefaultChunkChars);
	// longer paragraphs are cut at sentence ends.
	ChunkChars int
	// BatchFiles is how many changed files go into one log entry (default 16).
	BatchFiles int
	// Progress, when set, is called after each file.
	Progress func(Progress)
}

// Progress reports Add's advance.
type Progress struct {
	Path       string
	FilesDone  int
	FilesTotal int
	BytesDone  int64
	BytesTotal int64
}

// AddReport says what Add did.
type AddReport struct {
	Added     int `json:"added"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Removed   int `json:"removed"`
	// Tagged counts unchanged documents that got the call's tags (their
	// units and vectors kept).
	Tagged  int `json:"tagged,omitempty"`
	Skipped int `json:"skipped"` // unsupported, excluded by size, unreadable
	// SkippedBy counts the skipped files by reason (Skip…): unreadable
	// ones are under "error" and in Errors.
	SkippedBy map[string]int `json:"skipped_by,omitempty"`
	Chunks    int            `json:"chunks"` // units written
	Bytes     int64          `json:"bytes"`  // bytes of changed files read
	Errors    []error        `json:"-"`      // per-file problems; Add goes on past them
	// Time spent, summed over the files (they overlap, so the sum may
	// exceed the wall time): reading, parsing and cutting files into
	// units (and encoding the document objects); in the Embedder; in age
	// encryption; writing objects, the log and the index snapshot (with
	// their fsyncs).
	ParseTime time.Duration `json:"parse_ns"`
	EmbedTime time.Duration `json:"embed_ns"`
	// EmbedWall is the wall time during which at least one Embed call
	// was in flight: the part of Add's wall time the embedder took
	// (EmbedTime also counts files waiting for each other's calls).
	EmbedWall   time.Duration `json:"embed_wall_ns,omitempty"`
	EncryptTime time.Duration `json:"encrypt_ns"`
	WriteTime   time.Duration `json:"write_ns"`
	// Erased: previous versions and removed documents, erased from disk.
	Erased Erased `json:"erased"`
}

type pendingDoc struct {
	key    string
	ref    string
	doc    *docObject
	new    bool
	staged *stagedObject // nil when the object was already there
}

type walkFile struct {
	path string
	size int64
}

// Add ingests files and folders: new and changed files are parsed, chunked,
// embedded and stored; unchanged ones (same content hash and embedding
// model) are skipped; files that disappeared from an added folder are
// removed (also when the path given is a file or folder that no longer
// exists; a path that never held documents is an error wrapping
// fs.ErrNotExist). Changes are committed to the log in batches, so an interrupted
// Add keeps what it committed and a new Add finishes the rest.
func (v *Vault) Add(ctx context.Context, paths []string, o AddOptions) (AddReport, error) {
	clock := &embedClock{}
	rep, err := v.add(context.WithValue(ctx, embedClockKey{}, clock), paths, o)
	rep.EmbedWall = clock.total()
	return rep, err
}

func (v *Vault) add(ctx context.Context, paths []string, o AddOptions) (AddReport, error) {
	var rep AddReport
	v.mu.Lock()
	err := v.check()
	v.mu.Unlock()
	if err != nil {
		return rep, err
	}
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = DefaultMaxFileSize
	}
	if o.BatchFiles <= 0 {
		o.BatchFiles = 16
	}
	if o.FileTimeout <= 0 {
		o.FileTimeout = DefaultFileTimeout
	}
	skip := func(reason string, n int) {
		if n == 0 {
			return
		}
		if rep.SkippedBy == nil {
			rep.SkippedBy = map[string]int{}
		}
		rep.SkippedBy[reason] += n
		rep.Skipped += n
	}
	var files []walkFile
	var removals []string
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return rep, fmt.Errorf("vault: add %q: %w", p, err)
		}
		fi, err := os.Stat(abs)
		if errors.Is(err, fs.ErrNotExist) {
			// A file or folder that is gone: drop its documents. One the
			// vault never had is a mistake in the path.
			gone := v.docsUnder(abs, nil)
			if len(gone) == 0 {
				return rep, fmt.Errorf("vault: add %s: %w", abs, err)
			}
			removals = append(removals, gone...)
			continue
		}
		if err != nil {
			return rep, fmt.Errorf("vault: add %s: %w", abs, err)
		}
		if !fi.IsDir() {
			if !fi.Mode().IsRegular() {
				return rep, refuseSpecial(abs, fi.Mode())
			}
			files = append(files, walkFile{abs, fi.Size()})
			continue
		}
		found, skipped, err := walkFolder(ctx, abs, o.Excludes)
		if err != nil {
			return rep, err
		}
		for reason, n := range skipped {
			skip(reason, n)
		}
		seen := map[string]bool{}
		for _, f := range found {
			seen[f.path] = true
		}
		files = append(files, found...)
		removals = append(removals, v.docsUnder(abs, seen)...)
	}
	var total int64
	for _, f := range files {
		total += f.size
	}
	var pending []pendingDoc
	var done int64
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		t0 := time.Now()
		defer func() { rep.WriteTime += time.Since(t0) }()
		erased, err := v.commitDocs(pending)
		rep.Erased.add(erased)
		pending = nil
		return err
	}
	defer func() { // what an error left unpublished
		for _, p := range pending {
			if p.staged != nil {
				discardStaged([]*stagedObject{p.staged})
			}
		}
	}()
	prepared := v.prepareAll(ctx, files, o)
	defer prepared.stop()
	for i, f := range files {
		if err := ctx.Err(); err != nil {
			flush()
			return rep, err
		}
		r := prepared.next()
		pd, skipped, err := r.pd, r.skipped, r.err
		rep.ParseTime += r.parse
		rep.EmbedTime += r.embed
		rep.EncryptTime += r.encrypt
		rep.WriteTime += r.write
		switch {
		case err != nil:
			if ctx.Err() != nil {
				flush()
				return rep, ctx.Err()
			}
			reason := "error"
			if errors.Is(err, errTimeout) {
				reason = SkipTimeout
			}
			skip(reason, 1)
			rep.Errors = append(rep.Errors, err)
		case skipped == "unchanged":
			rep.Unchanged++
		case skipped == "tagged":
			rep.Unchanged++
			rep.Tagged++
			pending = append(pending, *pd)
		case skipped != "":
			skip(skipped, 1)
		default:
			pending = append(pending, *pd)
			rep.Chunks += len(pd.doc.Chunks)
			rep.Bytes += f.size
			if pd.new {
				rep.Added++
			} else {
				rep.Updated++
			}
		}
		done += f.size
		if o.Progress != nil {
			o.Progress(Progress{Path: f.path, FilesDone: i + 1, FilesTotal: len(files), BytesDone: done, BytesTotal: total})
		}
		if len(pending) >= o.BatchFiles {
			if err := flush(); err != nil {
				return rep, err
			}
		}
	}
	if err := flush(); err != nil {
		return rep, err
	}
	if len(removals) > 0 {
		n, erased, err := v.removeDocs(removals)
		rep.Removed = n
		rep.Erased.add(erased)
		if err != nil {
			return rep, err
		}
	}
	t0 := time.Now()
	v.mu.Lock()
	err = v.saveSnapshotLocked()
	v.mu.Unlock()
	rep.WriteTime += time.Since(t0)
	return rep, err
}

type prepared struct {
	pd                           *pendingDoc
	skipped                      string
	err                          error
	parse, embed, encrypt, write time.Duration
}

// preparer runs prepare on a few files ahead of the caller, on several
// goroutines (reading, parsing, encrypting and writing overlap; the
// Embedder serialises what it must), and hands results back in order.
type preparer struct {
	results []chan prepared
	i       int
	window  chan struct{} // one token per file started and not yet taken
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func (v *Vault) prepareAll(ctx context.Context, files []walkFile, o AddOptions) *preparer {
	ctx, cancel := context.WithCancel(ctx)
	workers := min(runtime.GOMAXPROCS(0), 4)
	p := &preparer{results: make([]chan prepared, len(files)), window: make(chan struct{}, 2*workers), cancel: cancel}
	for i := range p.results {
		p.results[i] = make(chan prepared, 1)
	}
	next := make(chan int)
	for range workers {
		p.wg.Go(func() {
			for i := range next {
				r := prepared{}
				r.pd, r.skipped, r.err = v.prepare(ctx, files[i], o, &r)
				p.results[i] <- r
			}
		})
	}
	go func() {
		defer close(next)
		for i := range files {
			select {
			case p.window <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	return p
}

// next returns the result for the next file in order.
func (p *preparer) next() prepared {
	r := <-p.results[p.i]
	p.i++
	<-p.window
	return r
}

// stop cancels the work not taken yet and discards what it staged.
func (p *preparer) stop() {
	p.cancel()
	p.wg.Wait()
	for _, c := range p.results[p.i:] {
		select {
		case r := <-c:
			if r.pd != nil && r.pd.staged != nil {
				discardStaged([]*stagedObject{r.pd.staged})
			}
		default:
		}
	}
}

// docsUnder lists doc keys at or under root that are not in keep.
func (v *Vault) docsUnder(root string, keep map[string]bool) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	prefix := strings.TrimSuffix(root, string(filepath.Separator)) + string(filepath.Separator)
	for _, k := range v.st.keys(nsDoc) {
		if (k == root || strings.HasPrefix(k, prefix)) && !keep[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func (v *Vault) removeDocs(keys []string) (int, Erased, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	ops := make([]format.Op, 0, len(keys))
	for _, k := range keys {
		if _, ok := v.st.get(nsDoc, k); ok {
			ops = append(ops, format.Op{Op: "del", NS: nsDoc, Key: k})
		}
	}
	if len(ops) == 0 {
		return 0, Erased{}, nil
	}
	erased, err := v.commit(ops)
	if err != nil {
		return 0, erased, err
	}
	return len(ops), erased, nil
}

// commitDocs publishes the batch's objects, then appends one log entry
// that points at them.
func (v *Vault) commitDocs(pending []pendingDoc) (Erased, error) {
	var staged []*stagedObject
	for _, p := range pending {
		if p.staged != nil {
			staged = append(staged, p.staged)
		}
	}
	// Published outside the lock: preparing the next files goes on meanwhile.
	if err := syncStaged(staged); err != nil {
		return Erased{}, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.check(); err != nil {
		return Erased{}, err
	}
	ops := make([]format.Op, len(pending))
	for i, p := range pending {
		ops[i] = format.Op{Op: "put", NS: nsDoc, Key: p.key, Ref: p.ref, Hash: p.doc.Hash + ":" + p.doc.Model}
		v.fresh[p.ref] = p.doc
	}
	erased, err := v.commit(ops)
	if err != nil {
		return erased, err
	}
	return erased, nil
}

// prepare reads one file and, if it changed, builds and stores its doc
// object. skipped is "unchanged" or a Skip… reason when nothing is to be
// committed.
func (v *Vault) prepare(ctx context.Context, f walkFile, o AddOptions, t *prepared) (*pendingDoc, string, error) {
	if f.size > o.MaxFileSize {
		return nil, SkipTooLarge, nil
	}
	start, others := time.Now(), t.embed+t.encrypt+t.write
	defer func() { t.parse += time.Since(start) - (t.embed + t.encrypt + t.write - others) }()
	data, err := readSource(f.path, o.MaxFileSize)
	switch {
	case errors.Is(err, errTooLarge):
		return nil, SkipTooLarge, nil
	case errors.Is(err, errSpecial):
		return nil, SkipSpecial, nil
	case err != nil:
		return nil, "", fmt.Errorf("vault: add %s: %w", f.path, err)
	}
	format := formatOf(f.path, data)
	if format == "" {
		return nil, SkipUnsupported, nil
	}
	if format != fmtPDF && !looksText(data) {
		return nil, SkipBinary, nil // a binary, whatever its name says
	}
	d, payload, had, unchanged, err := v.docForWithin(ctx, f.path, data, format, o, &t.embed)
	if err != nil {
		return nil, "", err
	}
	if unchanged {
		pd, err := v.retagged(ctx, f.path, o.Tags, t)
		if pd == nil || err != nil {
			return nil, "unchanged", err
		}
		return pd, "tagged", nil
	}
	v.setAsideDamaged(f.path)
	t0, enc := time.Now(), t.encrypt
	ref, staged, err := v.stageObject(kindDoc, payload, &t.encrypt)
	t.write += time.Since(t0) - (t.encrypt - enc)
	if err != nil {
		return nil, "", err
	}
	return &pendingDoc{key: f.path, ref: ref, doc: d, new: !had, staged: staged}, "", nil
}

// docForWithin is docFor within the per-file time limit: past it the file
// is given up (the parse, which cannot be interrupted, ends on its own).
func (v *Vault) docForWithin(ctx context.Context, path string, data []byte, format string, o AddOptions, embed *time.Duration) (*docObject, []byte, bool, bool, error) {
	fctx, cancel := context.WithTimeout(ctx, o.FileTimeout)
	defer cancel()
	type result struct {
		d              *docObject
		payload        []byte
		had, unchanged bool
		err            error
		embed          time.Duration
	}
	done := make(chan result, 1)
	go func() {
		var r result
		r.d, r.payload, r.had, r.unchanged, r.err = v.docFor(fctx, path, data, format, o.ChunkChars, o.Tags, &r.embed)
		done <- r
	}()
	select {
	case r := <-done:
		*embed += r.embed
		if r.err != nil && fctx.Err() != nil && ctx.Err() == nil {
			r.err = timeoutErr(path, o.FileTimeout)
		}
		return r.d, r.payload, r.had, r.unchanged, r.err
	case <-fctx.Done():
		if err := ctx.Err(); err != nil {
			return nil, nil, false, false, err
		}
		return nil, nil, false, false, timeoutErr(path, o.FileTimeout)
	}
}

func timeoutErr(path string, d time.Duration) error {
	return hint.New(fmt.Errorf("vault: add %s: %w: %s was not enough to read, parse and embed it", path, errTimeout, d),
		"raise the limit (`nook add --file-timeout`), or exclude the file (.nookignore)")
}

// docSoundLocked reports whether the document key's version ref is held
// and indexed here: one whose object was found damaged or missing is not
// (the index dropped it), and the next Add ingests it again from its file.
// The caller holds v.mu.
func (v *Vault) docSoundLocked(key, ref string) bool {
	_, missing := v.missing[ref]
	return !missing && v.idx.docRef(key) == ref
}

// setAsideDamaged moves the object of key's current version to quarantine
// when it is on disk but fails to verify, so that the version about to be
// written (often under the same name) replaces it.
func (v *Vault) setAsideDamaged(key string) {
	v.mu.Lock()
	prev, had := v.st.get(nsDoc, key)
	sound := had && v.docSoundLocked(key, prev.Ref)
	v.mu.Unlock()
	if !had || sound || !v.HasObject(prev.Ref) {
		return
	}
	if _, err := v.getObject(prev.Ref, kindDoc); errors.Is(err, ErrCorrupt) {
		q := &quarantine{dir: v.dir}
		if v.looseExists(prev.Ref) {
			if err := q.move(v.objectPath(prev.Ref)); err != nil {
				v.addProblem(err)
			}
		} else if err := v.setAsidePacked(q, []string{prev.Ref}); err != nil {
			v.addProblem(err)
		}
	}
}

// docFor parses data (the content of source, in format), cuts it into
// units and embeds them into a document object and its JSON, or reports
// that the vault already holds this version (unchanged): with an embedder,
// the same content embedded by the same model; without one, the same
// content, whatever vectors it has (a lexical-only Add never drops
// vectors a model made). had says whether source was in the vault before.
// Embedding time is added to *embedTime.
func (v *Vault) docFor(ctx context.Context, source string, data []byte, format string, chunkChars int, tags []string, embedTime *time.Duration) (d *docObject, payload []byte, had, unchanged bool, err error) {
	sum := sha256.Sum256(data)
	hash := hex.EncodeToString(sum[:])
	v.mu.Lock()
	prev, had := v.st.get(nsDoc, source)
	sound := had && v.docSoundLocked(source, prev.Ref) && !(format == fmtPDF && v.idx.pagelessPDF(source))
	v.mu.Unlock()
	if sound && (prev.Hash == hash+":"+v.embedModel() || v.opts.embedder == nil && strings.HasPrefix(prev.Hash, hash+":")) {
		return nil, nil, had, true, nil
	}
	blocks, err := parse(format, data)
	if err != nil {
		return nil, nil, had, false, fmt.Errorf("vault: add %s: %w", source, err)
	}
	if sound {
		tags = v.keptTags(prev.Ref, tags)
	}
	d = &docObject{Path: source, Hash: hash, Model: v.embedModel(), Size: int64(len(data)), Format: format, Tags: tags, Version: docUnits, Chunks: units(blocks, chunkChars)}
	if err := v.embedUnits(ctx, d, embedTime); err != nil {
		return nil, nil, had, false, err
	}
	if payload, err = json.Marshal(d); err != nil {
		return nil, nil, had, false, fmt.Errorf("vault: add %s: %w", source, err)
	}
	return d, payload, had, false, nil
}

// embedClockKey carries Add's embedClock in the context to embedUnits.
type embedClockKey struct{}

// embedClock measures the wall time during which at least one Embed call
// is in flight (several files embed at once).
type embedClock struct {
	mu     sync.Mutex
	active int
	since  time.Time
	wall   time.Duration
}

// embedClockOf returns the context's clock; nil (which ignores calls)
// when there is none.
func embedClockOf(ctx context.Context) *embedClock {
	c, _ := ctx.Value(embedClockKey{}).(*embedClock)
	return c
}

func (c *embedClock) begin(now time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if c.active == 0 {
		c.since = now
	}
	c.active++
	c.mu.Unlock()
}

func (c *embedClock) end(now time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if c.active--; c.active == 0 {
		c.wall += now.Sub(c.since)
	}
	c.mu.Unlock()
}

func (c *embedClock) total() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wall
}
