//go:build unix

// Command sync measures vault sync between two devices on loopback against
// a raw copy of the same bytes over one TCP stream on the same machine.
//
//	go run ./bench/sync [-objects 10000] [-changes 10] [-rounds 3] [-net tcp]
//
// Two vaults of one identity on the embedded chain (a geth node in process,
// as nook runs by default), each with a libp2p host on 127.0.0.1. Device A
// holds -objects notes (documents with their chunks and 384-dimension
// vectors). Each round makes a fresh device B and times its first sync
// with A until B's state digest equals A's: every entry verified and
// imported, every object verified, written durably and indexed (B's index
// snapshot, a cache written within seconds of a sync, is written when B
// is closed after the round: that time is printed too). The raw
// copies send the same bytes (A's entry and object files) over one TCP
// connection: into memory, into one file (fsync once), and into as many
// files as the vault has, made durable the way the vault makes a batch
// durable (flush_linux.go: in batches of 256, temp files, one syncfs for
// their bytes, renames, one syncfs for the names; elsewhere an fsync per
// file and per folder). Rounds interleave the variants; the cpu column is
// the whole process (both devices and the chain run in it). -cpuprofile
// writes a profile of the first round's sync.
//
// Then A changes -changes notes and a second sync runs through a counting
// TCP proxy: its time and the bytes it moves, in both directions and with every header
// of libp2p's, against the changed objects' own size. It is measured twice:
// over the connection B already holds to A (the way a running nook syncs:
// it keeps its connections to paired devices open), and over a new
// connection (a one-shot `nook sync now`: Noise handshake, identify and
// multistream negotiation included).
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/common"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/nook-ai/nook/ledgerclient"
	"github.com/nook-ai/nook/vault"
	vsync "github.com/nook-ai/nook/vault/sync"
	"github.com/nook-ai/nook/vault/vaulttest"
)

var pass = []byte("bench passphrase")

// lg is the bench's own logger: the embedded chain makes go-ethereum's
// logger (and with it slog's and the log package's default) a discard one.
var lg = log.New(os.Stderr, "bench/sync: ", 0)

func opts() []vault.Option {
	return []vault.Option{vault.WithScryptWorkFactor(10), vault.WithEmbedder(vaulttest.HashEmbedder{Dim: 384}), vault.WithEmbedModel("hash-384")}
}

var words = strings.Fields("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu garden river stone cloud paper window orange lantern")

func note(i, version int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Note %d (version %d)\n\n", i, version)
	for p := range 3 {
		for w := range 40 {
			b.WriteString(words[(i*7+p*13+w*w+version)%len(words)])
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "id%d\n\n", i)
	}
	return b.String()
}

type env struct {
	dir      string
	ctx      context.Context
	chain    *ledgerclient.DevChain
	c        *ledgerclient.Client
	a        *vault.Vault
	na       *vsync.Node
	notes    string
	netw     string
	identity common.Address
	register func(dev, rec string) error
}

func listen(netw string) []string {
	if netw == "quic" {
		return []string{"/ip4/127.0.0.1/udp/0/quic-v1"}
	}
	return []string{"/ip4/127.0.0.1/tcp/0"}
}

func setup(ctx context.Context, dir string, objects int, netw string) (*env, error) {
	e := &env{dir: dir, ctx: ctx, notes: filepath.Join(dir, "notes"), netw: netw}
	var err error
	if e.a, err = vault.Init(filepath.Join(dir, "a"), pass, opts()...); err != nil {
		return nil, err
	}
	ks := vsync.Keys(e.a)
	if e.chain, err = ledgerclient.OpenDevChain(filepath.Join(dir, "chain"), ks); err != nil {
		return nil, err
	}
	if e.c, err = e.chain.Client(ctx); err != nil {
		return nil, err
	}
	owner, err := ledgerclient.CreateIdentity(ks)
	if err != nil {
		return nil, err
	}
	e.identity = ledgerclient.Address(owner)
	e.register = func(dev, rec string) error { return vsync.RegisterDevice(ctx, e.c, owner, e.identity, dev, rec) }
	if err := e.register(e.a.Device(), e.a.DeviceRecipient()); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(e.notes, 0o755); err != nil {
		return nil, err
	}
	for i := range objects {
		if err := os.WriteFile(filepath.Join(e.notes, fmt.Sprintf("n%05d.md", i)), []byte(note(i, 0)), 0o644); err != nil {
			return nil, err
		}
	}
	t := time.Now()
	rep, err := e.a.Add(ctx, []string{e.notes}, vault.AddOptions{})
	if err != nil {
		return nil, err
	}
	lg.Printf("device A: %d notes ingested in %v", rep.Added, time.Since(t).Round(time.Millisecond))
	if e.na, err = e.node(e.a); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *env) node(v *vault.Vault) (*vsync.Node, error) {
	// Secrets travel too (both sides allow them): A's vault holds the
	// identity and chain keys, and B converges to the same digest only
	// with them.
	n, err := vsync.New(v, vsync.Config{Listen: listen(e.netw), Manual: true, Secrets: true,
		Ledger: vsync.LedgerDevices{Client: e.c, Identity: e.identity}})
	if err != nil {
		return nil, err
	}
	if err := n.Start(e.ctx); err != nil {
		return nil, err
	}
	return n, n.RefreshDevices(e.ctx)
}

// newB makes a fresh second device, registered and introduced to A.
func (e *env) newB(round int) (*vault.Vault, *vsync.Node, error) {
	dir := filepath.Join(e.dir, fmt.Sprintf("b%d", round))
	dev, rec, err := vault.NewDevice(dir, pass, e.a.ID(), opts()...)
	if err != nil {
		return nil, nil, err
	}
	if err := e.a.WrapFor(dev, rec); err != nil {
		return nil, nil, err
	}
	ws, err := e.a.Wraps()
	if err != nil {
		return nil, nil, err
	}
	if err := vault.AddWraps(dir, ws); err != nil {
		return nil, nil, err
	}
	if err := e.register(dev, rec); err != nil {
		return nil, nil, err
	}
	if err := e.na.RefreshDevices(e.ctx); err != nil {
		return nil, nil, err
	}
	b, err := vault.Open(dir, pass, opts()...)
	if err != nil {
		return nil, nil, err
	}
	nb, err := e.node(b)
	if err != nil {
		return nil, nil, err
	}
	for _, a := range e.na.Addrs() {
		if _, err := nb.AddPeer(a); err != nil {
			return nil, nil, err
		}
	}
	return b, nb, nil
}

// payload is A's entry and object files: what B receives.
func (e *env) payload() ([][]byte, int64, error) {
	var files [][]byte
	var total int64
	for _, sub := range []string{"log", "objects"} {
		err := filepath.WalkDir(filepath.Join(e.a.Dir(), sub), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".tmp-") {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			files = append(files, b)
			total += int64(len(b))
			return nil
		})
		if err != nil {
			return nil, 0, err
		}
	}
	return files, total, nil
}

type sample struct{ wall, cpu time.Duration }

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func measure(f func() error) (sample, error) {
	runtime.GC()
	syscall.Sync()
	c0, t0 := cpuTime(), time.Now()
	err := f()
	return sample{time.Since(t0), cpuTime() - c0}, err
}

// syncRound times a new device's first sync, and then its Close: the
// vault writes its index snapshot (a cache of the logs and objects, see
// vault.saveSnapshotSoon) within seconds of a sync or at Close, so a sync
// is converged before it; closing shows what writing it costs.
func (e *env) syncRound(round int) (sample, time.Duration, vsync.Report, error) {
	b, nb, err := e.newB(round)
	if err != nil {
		return sample{}, 0, vsync.Report{}, err
	}
	// B's folder stays until the run ends (see removeAtEnd).
	closed := false
	closeB := func() (time.Duration, error) {
		closed = true
		nb.Close()
		t := time.Now()
		err := b.Close()
		return time.Since(t), err
	}
	defer func() {
		if !closed {
			closeB()
		}
	}()
	var rep vsync.Report
	s, err := measure(func() error {
		var err error
		rep, err = nb.SyncNow(e.ctx)
		return err
	})
	if err != nil {
		return s, 0, rep, err
	}
	da, _ := e.a.StateDigest()
	db, _ := b.StateDigest()
	if da != db || !rep.Peers[0].InSync {
		return s, 0, rep, fmt.Errorf("round %d: B did not converge to A (in sync: %v)", round, rep.Peers[0].InSync)
	}
	c, err := closeB()
	return s, c, rep, err
}

// rawCopy sends files over one loopback TCP connection; sink consumes
// them on the other side.
func rawCopy(files [][]byte, sink func(r *bufio.Reader) error) (sample, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return sample{}, err
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		w := bufio.NewWriterSize(c, 1<<20)
		var hdr [binary.MaxVarintLen64]byte
		for _, f := range files {
			w.Write(hdr[:binary.PutUvarint(hdr[:], uint64(len(f)))])
			w.Write(f)
		}
		w.Flush()
	}()
	return measure(func() error {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			return err
		}
		defer c.Close()
		return sink(bufio.NewReaderSize(c, 1<<20))
	})
}

func readAll(r *bufio.Reader, each func([]byte) error) error {
	for {
		n, err := binary.ReadUvarint(r)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return err
		}
		if err := each(b); err != nil {
			return err
		}
	}
}

// rawBatch is how many files the raw copy makes durable at once: the
// objects vault/sync asks for in one request (objectBatch in pull.go).
const rawBatch = 256

// toFiles writes each received file under dir/xx/ in batches of
// rawBatch, made durable the way the vault makes a batch of files durable
// (flushData, then renames, then flushNames: see flush_linux.go): the
// copy a file-syncing tool makes of A's files. (The vault itself now
// stores a received batch as one pack: fewer files than this.)
func toFiles(dir string) func(r *bufio.Reader) error {
	return func(r *bufio.Reader) error {
		var batch []*os.File
		i := 0
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			err := flushData(batch)
			for _, f := range batch {
				f.Close()
			}
			if err != nil {
				return err
			}
			dirs := map[string]bool{}
			var list []string
			for _, f := range batch {
				if err := os.Rename(f.Name(), strings.TrimSuffix(f.Name(), ".tmp")); err != nil {
					return err
				}
				if d := filepath.Dir(f.Name()); !dirs[d] {
					dirs[d] = true
					list = append(list, d)
				}
			}
			n := len(batch)
			batch = batch[:0]
			return flushNames(list, n)
		}
		err := readAll(r, func(b []byte) error {
			sub := filepath.Join(dir, fmt.Sprintf("%02x", i%256))
			if err := os.MkdirAll(sub, 0o700); err != nil {
				return err
			}
			f, err := os.Create(filepath.Join(sub, fmt.Sprintf("%d.tmp", i)))
			if err != nil {
				return err
			}
			i++
			if _, err := f.Write(b); err != nil {
				return err
			}
			batch = append(batch, f)
			if len(batch) == rawBatch {
				return flush()
			}
			return nil
		})
		if err != nil {
			return err
		}
		return flush()
	}
}

// fsyncFiles fsyncs files on 16 goroutines (the vault's portable way).
func fsyncFiles(files []*os.File) error {
	return each(len(files), func(i int) error { return files[i].Sync() })
}

// fsyncDirs fsyncs each folder once.
func fsyncDirs(dirs []string) error {
	return each(len(dirs), func(i int) error {
		d, err := os.Open(dirs[i])
		if err != nil {
			return err
		}
		defer d.Close()
		return d.Sync()
	})
}

func each(n int, f func(int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(n, 16) {
		wg.Go(func() {
			for i := range next {
				errs[i] = f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// counter is a TCP proxy that counts bytes both ways as they pass.
type counter struct {
	l     net.Listener
	bytes atomic.Int64
}

func newCounter(target string) (*counter, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &counter{l: l}
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			cp := func(dst, src net.Conn) {
				buf := make([]byte, 64<<10)
				for {
					n, err := src.Read(buf)
					if n > 0 {
						c.bytes.Add(int64(n))
						if _, werr := dst.Write(buf[:n]); werr != nil {
							break
						}
					}
					if err != nil {
						break
					}
				}
				dst.Close()
				src.Close()
			}
			go cp(out, in)
			go cp(in, out)
		}
	}()
	return c, nil
}

// deltaResult is one second sync: the changed objects' size as stored,
// the bytes on the wire (both ways) and what the sync reported.
type deltaResult struct {
	objBytes, wire int64
	took           time.Duration // the sync call
	rep            vsync.Report
}

// change rewrites changes notes on A (as version) and returns the size of
// the objects that makes, as stored.
func (e *env) change(changes, version int) (int64, error) {
	before := map[string]bool{}
	filepath.WalkDir(filepath.Join(e.a.Dir(), "objects"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			before[p] = true
		}
		return nil
	})
	for i := range changes {
		k := i*97 + version
		if err := os.WriteFile(filepath.Join(e.notes, fmt.Sprintf("n%05d.md", k)), []byte(note(k, version)), 0o644); err != nil {
			return 0, err
		}
	}
	if _, err := e.a.Add(e.ctx, []string{e.notes}, vault.AddOptions{}); err != nil {
		return 0, err
	}
	var size int64
	filepath.WalkDir(filepath.Join(e.a.Dir(), "objects"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !before[p] && !strings.HasPrefix(d.Name(), ".tmp-") {
			if fi, err := d.Info(); err == nil {
				size += fi.Size()
			}
		}
		return nil
	})
	return size, nil
}

// delta measures a second sync after changes on A, twice, through a
// counting proxy: over the connection B already holds to A (as the
// running service syncs: its connections to paired devices stay open),
// and over a new connection.
func (e *env) delta(changes int) (warm, cold deltaResult, err error) {
	b, nb, err := e.newB(1000)
	if err != nil {
		return warm, cold, err
	}
	defer func() {
		nb.Close()
		b.Close()
	}()
	if _, err := nb.SyncNow(e.ctx); err != nil {
		return warm, cold, err
	}
	var target string
	for _, a := range e.na.Host().Addrs() {
		if na, err := manet.ToNetAddr(a); err == nil && na.Network() == "tcp" {
			target = na.String()
		}
	}
	if target == "" {
		return warm, cold, errors.New("the delta is measured over TCP: run with -net tcp")
	}
	cnt, err := newCounter(target)
	if err != nil {
		return warm, cold, err
	}
	defer cnt.l.Close()
	aID := e.na.Host().ID()
	drop := func() {
		nb.Host().Network().ClosePeer(aID)
		e.na.Host().Network().ClosePeer(nb.Host().ID())
	}
	drop()
	// Forget A's real addresses on B so that B reaches A through the proxy.
	proxy := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", cnt.l.Addr().(*net.TCPAddr).Port, aID)
	if _, err := nb.ReplacePeerAddrs(proxy); err != nil {
		return warm, cold, err
	}
	// A sync with nothing new opens the connection the service then keeps.
	if _, err := nb.SyncNow(e.ctx); err != nil {
		return warm, cold, err
	}
	conns := nb.Host().Network().ConnsToPeer(aID)
	if len(conns) != 1 {
		return warm, cold, fmt.Errorf("B holds %d connections to A, not 1", len(conns))
	}
	held := conns[0].ID()
	settle := func() { time.Sleep(300 * time.Millisecond) }
	measureOne := func(version int, after func()) (deltaResult, error) {
		var d deltaResult
		var err error
		if d.objBytes, err = e.change(changes, version); err != nil {
			return d, err
		}
		settle()
		before := cnt.bytes.Load()
		t := time.Now()
		if d.rep, err = nb.SyncNow(e.ctx); err != nil {
			return d, err
		}
		d.took = time.Since(t)
		if after != nil {
			after()
		}
		settle()
		d.wire = cnt.bytes.Load() - before
		return d, nil
	}
	if warm, err = measureOne(1, nil); err != nil {
		return warm, cold, err
	}
	if conns := nb.Host().Network().ConnsToPeer(aID); len(conns) != 1 || conns[0].ID() != held {
		return warm, cold, errors.New("the second sync did not reuse the open connection")
	}
	drop()
	// The Hellos told B A's own addresses again: the proxy only.
	if _, err := nb.ReplacePeerAddrs(proxy); err != nil {
		return warm, cold, err
	}
	settle()
	// A new connection, closed after the sync: its setup and teardown count.
	if cold, err = measureOne(2, drop); err != nil {
		return warm, cold, err
	}
	for _, d := range []deltaResult{warm, cold} {
		if d.wire < d.objBytes {
			return warm, cold, errors.New("a second sync did not go through the counting proxy")
		}
	}
	return warm, cold, nil
}

func median(s []sample) sample {
	c := slices.Clone(s)
	slices.SortFunc(c, func(a, b sample) int { return int(a.wall - b.wall) })
	return c[len(c)/2]
}

func best(s []sample) sample {
	c := slices.Clone(s)
	slices.SortFunc(c, func(a, b sample) int { return int(a.wall - b.wall) })
	return c[0]
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:1], "")
}

func main() {
	objects := flag.Int("objects", 10000, "notes (objects) on device A")
	changes := flag.Int("changes", 10, "notes changed before the second sync")
	rounds := flag.Int("rounds", 3, "rounds of each variant (median and best are reported)")
	netw := flag.String("net", "tcp", "tcp or quic")
	dir := flag.String("dir", "", "folder for the vaults (default: the temp folder)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the first round's sync (both devices: they share this process) to this file")
	flag.Parse()
	root, err := os.MkdirTemp(*dir, "nook-bench-sync-")
	if err != nil {
		lg.Fatal(err)
	}
	// removeAtEnd: every round's files (B's vault, the raw copies) stay
	// until the run ends. Deleting a round's 10,630 files just before the
	// next round measured the file system's delete path in that round:
	// ext4 without a journal (this project's VMs) skips inodes deleted in
	// the last 60 s (360 s while their inode table block is dirty) when it
	// allocates one, so creating files right after a mass delete scans
	// over them (find_inode_bit → recently_deleted in a profile), and the
	// next round's file creation cost up to 4x more. A new device's first
	// sync does not follow a mass delete of its own.
	defer os.RemoveAll(root)
	ctx := context.Background()
	load0 := loadavg()
	e, err := setup(ctx, root, *objects, *netw)
	if err != nil {
		lg.Fatal(err)
	}
	defer e.chain.Close()
	defer e.na.Close()
	files, total, err := e.payload()
	if err != nil {
		lg.Fatal(err)
	}
	var syncS, closeS, memS, oneS, filesS []sample
	var lastRep vsync.Report
	for r := range *rounds {
		if r == 0 && *cpuprofile != "" {
			f, err := os.Create(*cpuprofile)
			if err != nil {
				lg.Fatal(err)
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				lg.Fatal(err)
			}
		}
		s, c, rep, err := e.syncRound(r)
		if r == 0 && *cpuprofile != "" {
			pprof.StopCPUProfile()
		}
		if err != nil {
			lg.Fatal(err)
		}
		syncS, closeS, lastRep = append(syncS, s), append(closeS, sample{wall: c}), rep
		s, err = rawCopy(files, func(r *bufio.Reader) error { return readAll(r, func([]byte) error { return nil }) })
		if err != nil {
			lg.Fatal(err)
		}
		memS = append(memS, s)
		one := filepath.Join(root, fmt.Sprintf("raw-one-%d", r))
		s, err = rawCopy(files, func(r *bufio.Reader) error {
			f, err := os.Create(one)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := readAll(r, func(b []byte) error { _, err := f.Write(b); return err }); err != nil {
				return err
			}
			return f.Sync()
		})
		if err != nil {
			lg.Fatal(err)
		}
		oneS = append(oneS, s)
		many := filepath.Join(root, fmt.Sprintf("raw-files-%d", r))
		s, err = rawCopy(files, toFiles(many))
		if err != nil {
			lg.Fatal(err)
		}
		filesS = append(filesS, s)
	}
	warm, cold, err := e.delta(*changes)
	if err != nil {
		lg.Fatal(err)
	}
	load1 := loadavg()
	mb := float64(total) / 1e6
	fmt.Printf("sync bench: %d objects + %d entries, %.1f MB as stored, %s on 127.0.0.1, %d CPUs, load %s → %s\n",
		*objects, len(files)-*objects, mb, *netw, runtime.NumCPU(), load0, load1)
	fmt.Printf("%-52s %9s %9s %9s %9s\n", "variant", "median s", "best s", "MB/s", "cpu s")
	row := func(name string, s []sample) {
		m := median(s)
		fmt.Printf("%-52s %9.2f %9.2f %9.1f %9.2f\n", name, m.wall.Seconds(), best(s).wall.Seconds(), mb/m.wall.Seconds(), m.cpu.Seconds())
	}
	row("nook sync (first sync of a new device, converged)", syncS)
	row("raw TCP copy into memory", memS)
	row("raw TCP copy into one file (fsync)", oneS)
	row(fmt.Sprintf("raw TCP copy into %d files (a file per object and entry)", len(files)), filesS)
	ms, mf, mm := median(syncS).wall.Seconds(), median(filesS).wall.Seconds(), median(memS).wall.Seconds()
	fmt.Printf("converge: %.2f s for %d objects (target < 5 s on 2 cores); then closing B (its index snapshot written): %.2f s\n", ms, *objects, median(closeS).wall.Seconds())
	fmt.Printf("ratio sync / raw copy into files: %.2f× (target ≥ 0.5×); sync / raw copy into memory: %.3f×\n", mf/ms, mm/ms)
	p := lastRep.Peers[0]
	fmt.Printf("first sync moved %d entries and %d objects (%.1f MB)\n", p.Entries, p.Objects, float64(p.Bytes)/1e6)
	second := func(d deltaResult, how, conn string) {
		dp := d.rep.Peers[0]
		fmt.Printf("second sync after %d changed notes, %s: %d objects (%d B as stored) + %d entry in %.3f s; %d B on the wire both ways; overhead %d B (target < 10 kB)\n",
			*changes, how, dp.Objects, d.objBytes, dp.Entries, d.took.Seconds(), d.wire, d.wire-d.objBytes)
		fmt.Printf("  of the overhead: %d B of log entries as stored; %d B %s\n", dp.Bytes-d.objBytes, d.wire-dp.Bytes, conn)
	}
	second(warm, "over the open connection (as the running service syncs)", "nook's frames and their yamux/Noise headers")
	second(cold, "over a new connection", "the new connection (TCP payload of the Noise handshake, identify, multistream, yamux) and nook's frames")
}
