// Command models measures pull throughput against a raw copy of the same
// bytes from the same loopback server.
//
//	go run ./bench/models [-mib 256] [-rounds 3]
//
// The pull is a full `nook pull`: manifest, ranged parallel parts, sha256
// verification, rename into the store. The raw copy is one HTTP GET
// io.Copy'd to a file, with no verification. It prints MB/s for both and the
// ratio pull/raw (target ≥ 0.9).
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nook-ai/nook/models"
)

func main() {
	mib := flag.Int("mib", 256, "blob size in MiB")
	rounds := flag.Int("rounds", 3, "rounds of each (the median is reported)")
	workers := flag.Int("workers", 4, "parallel connections for the pull")
	flag.Parse()
	log.SetFlags(0)

	data := make([]byte, *mib<<20)
	rand.Read(data)
	sum := sha256.Sum256(data)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	cfg := []byte(`{"model_format":"gguf"}`)
	cs := sha256.Sum256(cfg)
	cdigest := "sha256:" + hex.EncodeToString(cs[:])
	manifest, _ := json.Marshal(models.Manifest{SchemaVersion: 2, MediaType: models.MediaTypeManifest,
		Config: models.Layer{MediaType: models.MediaTypeConfig, Digest: cdigest, Size: int64(len(cfg))},
		Layers: []models.Layer{{MediaType: models.MediaTypeModel, Digest: digest, Size: int64(len(data))}}})

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/manifests/latest"):
			w.Write(manifest)
		case strings.HasSuffix(r.URL.Path, "/blobs/"+digest):
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
		case strings.HasSuffix(r.URL.Path, "/blobs/"+cdigest):
			w.Write(cfg)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	blobURL := srv.URL + "/v2/library/bench/blobs/" + digest

	tmp, err := os.MkdirTemp("", "nook-bench-models-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)

	raw := func(sync bool) time.Duration {
		p := filepath.Join(tmp, "raw")
		defer os.Remove(p)
		start := time.Now()
		resp, err := http.Get(blobURL)
		if err != nil {
			log.Fatal(err)
		}
		f, err := os.Create(p)
		if err != nil {
			log.Fatal(err)
		}
		if _, err := io.Copy(f, resp.Body); err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		if sync {
			f.Sync()
		}
		f.Close()
		return time.Since(start)
	}
	pull := func(opts ...models.Option) time.Duration {
		dir := filepath.Join(tmp, "store")
		defer os.RemoveAll(dir)
		s, err := models.NewStore(dir, models.WithRegistry(srv.URL), models.WithParallel(64<<20, 16<<20, *workers))
		for _, o := range opts {
			o(s)
		}
		if err != nil {
			log.Fatal(err)
		}
		start := time.Now()
		if _, err := s.Pull(context.Background(), "bench", nil); err != nil {
			log.Fatal(err)
		}
		return time.Since(start)
	}

	raw(false) // warm up the server and the page cache
	var rs, rss, ps, pns []time.Duration
	for range *rounds {
		rs = append(rs, raw(false))
		ps = append(ps, pull())
		rss = append(rss, raw(true))
		pns = append(pns, pull(models.WithoutSync()))
	}
	mb := float64(len(data)) / 1e6
	med := func(d []time.Duration) time.Duration { slices.Sort(d); return d[len(d)/2] }
	r, rsy, p, pn := med(rs), med(rss), med(ps), med(pns)
	line := func(what string, d time.Duration) {
		fmt.Printf("%-34s %8.1f MB/s  %v\n", what, mb/d.Seconds(), d.Round(time.Millisecond))
	}
	fmt.Printf("blob %d MiB, median of %d rounds, pull with %d connections\n", *mib, *rounds, *workers)
	line("raw copy (GET → file)", r)
	line("raw copy + fsync", rsy)
	line("nook pull (sha256 + fsync, default)", p)
	line("nook pull WithoutSync (sha256 only)", pn)
	fmt.Printf("ratio pull/raw                     %.2f   (target >= 0.90)\n", r.Seconds()/p.Seconds())
	fmt.Printf("ratio pull/(raw + fsync)           %.2f\n", rsy.Seconds()/p.Seconds())
	fmt.Printf("ratio pull WithoutSync/raw         %.2f\n", r.Seconds()/pn.Seconds())
}
