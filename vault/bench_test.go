package vault

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nook-ai/nook/vault/internal/format"
	"github.com/nook-ai/nook/vault/vaulttest"
)

// Benchmarks use vaulttest.ConstEmbedder (no model) to isolate the vault.
// The 100k-chunk ones run only with NOOK_BENCH_LARGE=1. Besides wall time
// they report cpu-ms/op (process CPU time from getrusage, all threads):
// on a loaded machine wall time includes waiting for a CPU.
//
//	NOOK_BENCH_LARGE=1 go test -run '^$' -bench . -benchtime 200x ./vault

var words = strings.Fields("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu garden river stone cloud paper window orange lantern")

func synthNote(i int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Note %d\n\n", i)
	for p := range 3 {
		for w := range 40 {
			b.WriteString(words[(i*7+p*13+w*w)%len(words)])
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "id%d\n\n", i)
	}
	return b.String()
}

func BenchmarkIngest(b *testing.B) {
	src := filepath.Join(b.TempDir(), "src")
	var total int64
	for i := range 200 {
		s := synthNote(i)
		total += int64(len(s))
		os.MkdirAll(src, 0o755)
		os.WriteFile(filepath.Join(src, fmt.Sprintf("n%d.md", i)), []byte(s), 0o644)
	}
	b.SetBytes(total)
	var enc time.Duration
	cpu := cpuTime()
	for b.Loop() {
		b.StopTimer()
		v, err := Init(filepath.Join(b.TempDir(), "v"), testPass, WithScryptWorkFactor(10), WithEmbedder(vaulttest.ConstEmbedder{Dim: 384}))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		rep, err := v.Add(context.Background(), []string{src}, AddOptions{})
		if err != nil {
			b.Fatal(err)
		}
		enc += rep.EncryptTime
		b.StopTimer()
		v.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(enc.Microseconds())/1000/float64(b.N), "encrypt-ms/op")
	reportCPU(b, cpu)
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, since time.Duration) {
	b.ReportMetric(float64((cpuTime()-since).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// BenchmarkEncrypt is the age encryption cost of one 4 KiB object, to
// compare with the embedding time of the same text.
func BenchmarkEncrypt(b *testing.B) {
	v, err := Init(filepath.Join(b.TempDir(), "v"), testPass, WithScryptWorkFactor(10))
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	p := []byte(strings.Repeat("x", 4096))
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		v.encrypt(p)
	}
}

// buildIndexVault makes a vault with n chunks directly through the index
// (10 chunks per document), then saves the snapshot.
func buildIndexVault(b *testing.B, n int) string {
	dir := filepath.Join(b.TempDir(), "v")
	emb := vaulttest.ConstEmbedder{Dim: 384}
	v, err := Init(dir, testPass, WithScryptWorkFactor(DefaultScryptWorkFactor), WithEmbedder(emb))
	if err != nil {
		b.Fatal(err)
	}
	var pending []pendingDoc
	for d := 0; d < n/10; d++ {
		doc := &docObject{Path: fmt.Sprintf("/notes/f%d/n%d.md", d%100, d), Hash: "h", Format: fmtMarkdown}
		for c := range 10 {
			text := synthNote(d*10 + c)[:300]
			vec, _ := emb.Embed(context.Background(), []string{text})
			doc.Chunks = append(doc.Chunks, Chunk{StartLine: c*5 + 1, EndLine: c*5 + 4, Text: text, Vec: vec[0]})
		}
		ref := format.ObjectName([]byte("k"), []byte(doc.Path))
		// A stand-in object file (the index is built from the document in
		// memory; a vault whose objects are missing would wait for sync).
		os.MkdirAll(filepath.Dir(v.objectPath(ref)), 0o700)
		os.WriteFile(v.objectPath(ref), []byte("stand-in"), 0o600)
		pending = append(pending, pendingDoc{key: doc.Path, ref: ref, doc: doc})
	}
	// One log entry for the whole batch, index filled in memory.
	if _, err := v.commitDocs(pending); err != nil {
		b.Fatal(err)
	}
	if err := v.Close(); err != nil {
		b.Fatal(err)
	}
	return dir
}

func benchQuery(b *testing.B, n int) {
	dir := buildIndexVault(b, n)
	v, err := Open(dir, testPass, WithEmbedder(vaulttest.ConstEmbedder{Dim: 384}))
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	var lat []time.Duration
	cpu := cpuTime()
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		if _, err := v.Search(context.Background(), words[i%len(words)]+" "+words[(i*3)%len(words)]+fmt.Sprintf(" id%d", i%n), SearchOptions{K: 5}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
	reportCPU(b, cpu)
}

func benchUnlock(b *testing.B, n int) {
	dir := buildIndexVault(b, n)
	cpu := cpuTime()
	for b.Loop() {
		v, err := Open(dir, testPass)
		if err != nil {
			b.Fatal(err)
		}
		if v.idx.len() != n {
			b.Fatalf("%d chunks", v.idx.len())
		}
		if len(v.problems) != 0 {
			b.Fatalf("the snapshot was not used: %v", v.problems)
		}
		v.closed = true
	}
	reportCPU(b, cpu)
}

// BenchmarkScrypt is the fixed part of unlock: the passphrase at the
// default work factor.
func BenchmarkScrypt(b *testing.B) {
	kf := &format.KeyFile{Format: 2}
	sealed, err := format.SealKeyFile(kf, testPass, DefaultScryptWorkFactor)
	if err != nil {
		b.Fatal(err)
	}
	cpu := cpuTime()
	for b.Loop() {
		if _, err := format.OpenKeyFile(sealed, testPass); !errors.Is(err, format.ErrDamaged) { // the empty key file's contents
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

func large(b *testing.B) {
	if os.Getenv("NOOK_BENCH_LARGE") == "" {
		b.Skip("set NOOK_BENCH_LARGE=1 for the 100k-chunk benchmarks")
	}
}

func BenchmarkQuery10k(b *testing.B)   { benchQuery(b, 10_000) }
func BenchmarkQuery100k(b *testing.B)  { large(b); benchQuery(b, 100_000) }
func BenchmarkUnlock10k(b *testing.B)  { benchUnlock(b, 10_000) }
func BenchmarkUnlock100k(b *testing.B) { large(b); benchUnlock(b, 100_000) }
