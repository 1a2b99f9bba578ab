package vault

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// embedModel is the model name documents are recorded with: the configured
// one when there is an embedder, "" when Add and Reindex index lexically.
func (v *Vault) embedModel() string {
	if v.opts.embedder == nil {
		return ""
	}
	return v.opts.embedModel
}

// embedUnits sets the vectors of d's units with the vault's embedder (none
// without one), batch by batch, adding the time spent to *embedTime.
func (v *Vault) embedUnits(ctx context.Context, d *docObject, embedTime *time.Duration) error {
	d.Model = v.embedModel()
	if v.opts.embedder == nil {
		for i := range d.Chunks {
			d.Chunks[i].Vec = nil
		}
		return nil
	}
	const batch = 32
	for i := 0; i < len(d.Chunks); i += batch {
		j := min(i+batch, len(d.Chunks))
		texts := make([]string, 0, j-i)
		for k := range d.Chunks[i:j] {
			texts = append(texts, embedText(unitContext(d.Path, &d.Chunks[i+k])))
		}
		t0 := time.Now()
		clock := embedClockOf(ctx)
		clock.begin(t0)
		vecs, err := v.opts.embedder.Embed(ctx, texts)
		t1 := time.Now()
		clock.end(t1)
		*embedTime += t1.Sub(t0)
		if err != nil {
			return fmt.Errorf("vault: embed %s: %w", d.Path, err)
		}
		if len(vecs) != len(texts) {
			return fmt.Errorf("vault: embed %s: %d vectors for %d texts", d.Path, len(vecs), len(texts))
		}
		for k := range vecs {
			d.Chunks[i+k].Vec = vecs[k]
		}
	}
	return nil
}

// ReindexOptions tune Reindex.
type ReindexOptions struct {
	// All rebuilds every document, not only those that need it.
	All bool
	// ChunkChars is the largest unit (default DefaultChunkChars).
	ChunkChars int
	// Progress, when set, is called after each document (BytesDone and
	// BytesTotal count documents too).
	Progress func(Progress)
}

// ReindexReport says what Reindex did.
type ReindexReport struct {
	Reindexed int           `json:"reindexed"`
	Current   int           `json:"current"` // already units with this model's vectors
	Units     int           `json:"units"`   // units written
	Errors    []error       `json:"-"`       // per-document problems; Reindex goes on past them
	EmbedTime time.Duration `json:"embed_ns"`
}

// Reindex brings every document to the current index: documents stored as
// coarse chunks (before units) are cut into units, and, with an embedder,
// documents without vectors or with another model's are embedded again.
// It is how vectors are added after a lexical-only Add, and what to run
// after changing the embedding model. A document's units come from its
// file when the file still has the content the vault holds, otherwise from
// the text the vault holds (files are never re-read with new content: that
// is Add's job). Changes are committed in batches, so an interrupted
// Reindex keeps what it committed.
func (v *Vault) Reindex(ctx context.Context, o ReindexOptions) (ReindexReport, error) {
	var rep ReindexReport
	v.mu.Lock()
	if err := v.check(); err != nil {
		v.mu.Unlock()
		return rep, err
	}
	type docRef struct{ key, ref string }
	var docs []docRef
	for _, k := range v.st.keys(nsDoc) {
		if w, ok := v.st.get(nsDoc, k); ok {
			if _, missing := v.missing[w.Ref]; !missing {
				docs = append(docs, docRef{k, w.Ref})
			}
		}
	}
	v.mu.Unlock()
	sort.Slice(docs, func(i, j int) bool { return docs[i].key < docs[j].key })

	var pending []pendingDoc
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		_, err := v.commitDocs(pending)
		if err != nil {
			for _, p := range pending {
				if p.staged != nil {
					discardStaged([]*stagedObject{p.staged})
				}
			}
		}
		pending = nil
		return err
	}
	for i, dr := range docs {
		if err := ctx.Err(); err != nil {
			flush()
			return rep, err
		}
		pd, current, err := v.reindexDoc(ctx, dr.key, dr.ref, o, &rep.EmbedTime)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				flush()
				return rep, ctx.Err()
			}
			rep.Errors = append(rep.Errors, err)
		case current:
			rep.Current++
		default:
			pending = append(pending, *pd)
			rep.Reindexed++
			rep.Units += len(pd.doc.Chunks)
		}
		if o.Progress != nil {
			o.Progress(Progress{Path: dr.key, FilesDone: i + 1, FilesTotal: len(docs), BytesDone: int64(i + 1), BytesTotal: int64(len(docs))})
		}
		if len(pending) >= 16 {
			if err := flush(); err != nil {
				return rep, err
			}
		}
	}
	if err := flush(); err != nil {
		return rep, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return rep, v.saveSnapshotLocked()
}

// reindexDoc rebuilds one document, or reports it current.
func (v *Vault) reindexDoc(ctx context.Context, key, ref string, o ReindexOptions, embedTime *time.Duration) (*pendingDoc, bool, error) {
	d, err := v.loadDoc(ref)
	if err != nil {
		return nil, false, err
	}
	if !o.All && !v.needsReindex(d) {
		return nil, true, nil
	}
	nd := &docObject{Path: d.Path, Hash: d.Hash, Size: d.Size, Format: d.Format, Tags: d.Tags, Version: docUnits}
	if data, ok := sameFile(d); ok {
		blocks, err := parse(d.Format, data)
		if err != nil {
			return nil, false, fmt.Errorf("vault: reindex %s: %w", d.Path, err)
		}
		nd.Chunks = units(blocks, o.ChunkChars)
	} else if d.Version >= docUnits {
		nd.Chunks = append([]Chunk(nil), d.Chunks...)
	} else {
		for _, c := range d.Chunks {
			nd.Chunks = append(nd.Chunks, unitsOfChunk(c, d.Format, o.ChunkChars)...)
		}
	}
	if err := v.embedUnits(ctx, nd, embedTime); err != nil {
		return nil, false, err
	}
	payload, err := json.Marshal(nd)
	if err != nil {
		return nil, false, fmt.Errorf("vault: reindex %s: %w", d.Path, err)
	}
	var enc time.Duration
	nref, staged, err := v.stageObject(kindDoc, payload, &enc)
	if err != nil {
		return nil, false, err
	}
	return &pendingDoc{key: key, ref: nref, doc: nd, staged: staged}, false, nil
}

// needsReindex reports whether d is coarse chunks, a PDF extracted before
// pages whose file is still there to parse again, or lacks this embedder's
// vectors.
func (v *Vault) needsReindex(d *docObject) bool {
	if d.Version < docUnits {
		return true
	}
	if pagelessPDFDoc(d) {
		if _, ok := sameFile(d); ok {
			return true
		}
	}
	if v.opts.embedder == nil {
		return false
	}
	if d.Model != v.opts.embedModel {
		return true
	}
	for _, c := range d.Chunks {
		if len(c.Vec) == 0 {
			return true
		}
	}
	return false
}

// sameFile returns the contents of d's file when it is a local file that
// still holds what the vault holds.
func sameFile(d *docObject) ([]byte, bool) {
	if strings.Contains(d.Path, "://") {
		return nil, false
	}
	fi, err := os.Stat(d.Path)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != d.Size {
		return nil, false
	}
	data, err := os.ReadFile(d.Path)
	if err != nil {
		return nil, false
	}
	sum := sha256.Sum256(data)
	return data, hex.EncodeToString(sum[:]) == d.Hash
}

// unitsOfChunk cuts a coarse chunk of an old object (of format) into
// units. Its paragraphs were joined with one blank line, so their lines are
// counted back from the chunk's last line; its headings and their date
// carry over.
func unitsOfChunk(c Chunk, format string, maxChars int) []Chunk {
	var bs []block
	paras := strings.Split(c.Text, "\n\n")
	line := c.EndLine - strings.Count(c.Text, "\n")
	kind := blockPara
	if format == fmtCode {
		kind = blockCode
	}
	for _, p := range paras {
		n := strings.Count(p, "\n")
		bs = append(bs, block{kind: kind, start: line, end: line + n, text: p})
		line += n + 2
	}
	us := units(structured(bs), maxChars)
	date := findDate(c.Heading)
	for i := range us {
		us[i].Heading = c.Heading
		if us[i].Date == "" {
			us[i].Date = date
		}
	}
	if len(us) > 0 {
		us[0].StartLine = min(us[0].StartLine, c.StartLine)
	}
	return us
}
