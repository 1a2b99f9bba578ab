//go:build unix

// Command models measures pull throughput against a raw copy of the same
// bytes from the same loopback server.
//
//	go run ./bench/models [-mib 256] [-rounds 5] [-workers 4]
//
// The pull is a full `nook pull`: manifest, ranged parallel parts, sha256
// verification, fsync, rename into the store. The raw copy is one HTTP GET
// of the blob into a file in the same folder, through the same http.Client,
// with the same 1 MiB buffer, and no verification. Rounds interleave the
// variants and sync the disk between runs. It prints, for each variant, the
// median and best MB/s and the CPU seconds the process used (the server runs
// in-process, so both sides count), then the ratios pull/raw (target ≥ 0.9)
// and the load average before and after.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/nook-ai/nook/models"
)

type result struct {
	wall, cpu time.Duration
}

type variant struct {
	key  string
	name string
	run  func() result
	res  []result
}

func main() {
	mib := flag.Int("mib", 256, "blob size in MiB")
	rounds := flag.Int("rounds", 5, "rounds of each variant (median and best are reported)")
	workers := flag.Int("workers", 4, "parallel connections for the pull")
	dir := flag.String("dir", "", "folder for the files (default: the temp folder)")
	only := flag.String("only", "", "run only these variants, comma-separated: raw, rawsync, pull, pullnosync")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the measured runs to this file")
	flag.Parse()
	log.SetFlags(0)
	load0 := loadavg()

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

	// One client for both, set up as the store's default one.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.MaxIdleConnsPerHost = 16
	client := &http.Client{Transport: tr}

	tmp, err := os.MkdirTemp(*dir, "nook-bench-models-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	store := filepath.Join(tmp, "store")
	blobs := filepath.Join(store, "blobs")

	raw := func(sync bool) func() result {
		return func() result {
			if err := os.MkdirAll(blobs, 0o755); err != nil {
				log.Fatal(err)
			}
			defer os.RemoveAll(store)
			return measure(func() {
				resp, err := client.Get(blobURL)
				if err != nil {
					log.Fatal(err)
				}
				defer resp.Body.Close()
				f, err := os.Create(filepath.Join(blobs, "raw-partial"))
				if err != nil {
					log.Fatal(err)
				}
				if err := copyFull(f, resp.Body, make([]byte, 1<<20)); err != nil {
					log.Fatal(err)
				}
				if sync {
					if err := f.Sync(); err != nil {
						log.Fatal(err)
					}
				}
				if err := f.Close(); err != nil {
					log.Fatal(err)
				}
			})
		}
	}
	pull := func(opts ...models.Option) func() result {
		return func() result {
			defer os.RemoveAll(store)
			opts := append([]models.Option{models.WithRegistry(srv.URL), models.WithHTTPClient(client),
				models.WithParallel(64<<20, 16<<20, *workers)}, opts...)
			s, err := models.NewStore(store, opts...)
			if err != nil {
				log.Fatal(err)
			}
			return measure(func() {
				if _, err := s.Pull(context.Background(), "bench", nil); err != nil {
					log.Fatal(err)
				}
			})
		}
	}
	vs := []*variant{
		{key: "raw", name: "raw copy (GET → file)", run: raw(false)},
		{key: "rawsync", name: "raw copy + fsync", run: raw(true)},
		{key: "pull", name: "nook pull (sha256 + fsync)", run: pull()},
		{key: "pullnosync", name: "nook pull WithoutSync (sha256)", run: pull(models.WithoutSync())},
	}
	if *only != "" {
		keep := strings.Split(*only, ",")
		vs = slices.DeleteFunc(vs, func(v *variant) bool { return !slices.Contains(keep, v.key) })
	}
	raw(false)() // warm up the server, the connections and the page cache
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	for range *rounds {
		for _, v := range vs {
			syscall.Sync() // each run starts with no dirty pages of another
			v.res = append(v.res, v.run())
		}
	}

	mb := float64(len(data)) / 1e6
	fmt.Printf("blob %d MiB, %d rounds, pull with %d connections, %d CPUs, load %s\n", *mib, *rounds, *workers, runtime.NumCPU(), load0)
	fmt.Printf("%-32s %10s %10s %10s\n", "", "median", "best", "CPU s")
	med, best := map[string]float64{}, map[string]float64{}
	for _, v := range vs {
		walls := make([]time.Duration, len(v.res))
		cpus := make([]time.Duration, len(v.res))
		for j, r := range v.res {
			walls[j], cpus[j] = r.wall, r.cpu
		}
		slices.Sort(walls)
		slices.Sort(cpus)
		med[v.key], best[v.key] = mb/walls[len(walls)/2].Seconds(), mb/walls[0].Seconds()
		fmt.Printf("%-32s %5.0f MB/s %5.0f MB/s %10.2f\n", v.name, med[v.key], best[v.key], cpus[len(cpus)/2].Seconds())
	}
	ratio := func(what, a, b, note string) {
		if med[a] > 0 && med[b] > 0 {
			fmt.Printf("%-32s %10.2f %10.2f%s\n", what, med[a]/med[b], best[a]/best[b], note)
		}
	}
	ratio("ratio pull/raw", "pull", "raw", "   (target >= 0.90)")
	ratio("ratio pull/(raw + fsync)", "pull", "rawsync", "")
	ratio("ratio pull WithoutSync/raw", "pullnosync", "raw", "")
	fmt.Printf("load before %s, after %s\n", load0, loadavg())
}

// copyFull copies r to w through buf, writing only full buffers (and the tail).
func copyFull(w io.Writer, r io.Reader, buf []byte) error {
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func measure(f func()) result {
	c0 := cpuTime()
	t0 := time.Now()
	f()
	return result{wall: time.Since(t0), cpu: cpuTime() - c0}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
