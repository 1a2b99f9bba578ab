package llama

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Linux load measurement from /proc: no cgo, a few small reads per sample.

// usableCPUs is how many CPUs this process may run on: its affinity mask,
// lowered by a cgroup CPU quota (containers), and the physical cores among
// them (llama.cpp's threads gain nothing from a core's second hyperthread).
func usableCPUs() (cores, physical int) {
	cores = runtime.NumCPU() // the affinity mask at start-up
	if q := cgroupQuota(); q > 0 && q < cores {
		cores = q
	}
	physical = physicalCores()
	if physical <= 0 || physical > cores {
		physical = cores
	}
	return cores, physical
}

// physicalCores counts the distinct cores among the CPUs in the affinity
// mask, from sysfs topology; 0 when unknown.
func physicalCores() int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return 0
	}
	seen := map[string]bool{}
	for cpu := 0; cpu < 8192 && len(seen) < 8192; cpu++ {
		if !set.IsSet(cpu) {
			continue
		}
		b, err := os.ReadFile("/sys/devices/system/cpu/cpu" + strconv.Itoa(cpu) + "/topology/thread_siblings_list")
		if err != nil {
			return 0
		}
		seen[string(bytes.TrimSpace(b))] = true
	}
	return len(seen)
}

// cgroupQuota is the CPU limit of this process's cgroup, rounded up to
// whole cores (v2 cpu.max or v1 cpu.cfs_quota_us); 0 when none.
func cgroupQuota() int {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var quota, period float64
		switch {
		case parts[0] == "0" && parts[1] == "":
			f, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", parts[2], "cpu.max"))
			if err != nil {
				continue
			}
			fs := strings.Fields(string(f))
			if len(fs) != 2 || fs[0] == "max" {
				continue
			}
			quota, _ = strconv.ParseFloat(fs[0], 64)
			period, _ = strconv.ParseFloat(fs[1], 64)
		case strings.Contains(","+parts[1]+",", ",cpu,"):
			dir := filepath.Join("/sys/fs/cgroup/cpu,cpuacct", parts[2])
			if _, err := os.Stat(dir); err != nil {
				dir = filepath.Join("/sys/fs/cgroup/cpu", parts[2])
			}
			q, err1 := os.ReadFile(filepath.Join(dir, "cpu.cfs_quota_us"))
			p, err2 := os.ReadFile(filepath.Join(dir, "cpu.cfs_period_us"))
			if err1 != nil || err2 != nil {
				continue
			}
			quota, _ = strconv.ParseFloat(strings.TrimSpace(string(q)), 64)
			period, _ = strconv.ParseFloat(strings.TrimSpace(string(p)), 64)
		}
		if quota > 0 && period > 0 {
			return int(math.Ceil(quota / period))
		}
	}
	return 0
}

// clockTicks is USER_HZ, the unit of /proc's CPU times (100 on every
// Linux architecture Go supports).
const clockTicks = 100

// procMeter measures the machine's load from /proc between two samples.
type procMeter struct {
	at      time.Time
	busy    uint64         // all CPUs' busy ticks (including steal) from /proc/stat
	self    uint64         // this process's ticks (all threads, living or exited)
	threads map[int]uint64 // this process's living threads' ticks by id
	buf     []byte
}

func newLoadMeter() loadMeter {
	if _, err := os.Stat("/proc/stat"); err != nil {
		return nil
	}
	return &procMeter{threads: map[int]uint64{}, buf: make([]byte, 0, 16<<10)}
}

// sample returns the load since the previous call. decodeCPU is the CPU
// time the threads that called llama_decode spent inside it during the
// window: that part of this process's own threads is llama.cpp, not Go.
func (m *procMeter) sample(decodeCPU time.Duration) (loadSample, bool) {
	now := time.Now()
	busy, running, ok := m.readStat()
	if !ok {
		return loadSample{}, false
	}
	self, ok := m.readSelf()
	if !ok {
		return loadSample{}, false
	}
	living, ownRunning := m.readThreads()
	prevAt, prevBusy, prevSelf := m.at, m.busy, m.self
	m.at, m.busy, m.self = now, busy, self
	// procs_running counts this process's running threads too (at least
	// the one reading it).
	waiting := float64(max(0, running-ownRunning))
	if prevAt.IsZero() {
		return loadSample{Waiting: waiting}, true // no window yet: the run queue only
	}
	secs := now.Sub(prevAt).Seconds()
	if secs <= 0 {
		return loadSample{}, false
	}
	s := loadSample{
		Others:  othersCores(busy-prevBusy, self-prevSelf, secs),
		Waiting: waiting,
		Own:     max(0, float64(living)/clockTicks/secs-decodeCPU.Seconds()/secs),
	}
	return s, true
}

// waitingNow is how many tasks of other programs are runnable now: the
// median of five readings a millisecond apart, so that a process passing
// through the run queue is not taken for a busy one.
func (m *procMeter) waitingNow() (float64, bool) {
	var w [5]float64
	for i := range w {
		if i > 0 {
			time.Sleep(time.Millisecond)
		}
		_, running, ok := m.readStat()
		if !ok {
			return 0, false
		}
		_, own := m.countThreads()
		w[i] = float64(max(0, running-own))
	}
	slices.Sort(w[:])
	return w[2], true
}

// othersOver measures how many cores other programs use over the next d,
// from /proc/stat's busy ticks less this process's own.
func (m *procMeter) othersOver(d time.Duration) (float64, bool) {
	busy0, _, ok := m.readStat()
	self0, ok2 := m.readSelf()
	t0 := time.Now()
	if !ok || !ok2 {
		return 0, false
	}
	time.Sleep(d)
	busy1, _, ok := m.readStat()
	self1, ok2 := m.readSelf()
	secs := time.Since(t0).Seconds()
	if !ok || !ok2 || secs <= 0 || busy1 < busy0 || self1 < self0 {
		return 0, false
	}
	return othersCores(busy1-busy0, self1-self0, secs), true
}

// othersCores is how many cores other programs used over secs: the
// machine's busy ticks less this process's own.
func othersCores(dBusy, dSelf uint64, secs float64) float64 {
	return max(0, (float64(int64(dBusy))-float64(int64(dSelf)))/clockTicks/secs)
}

// countThreads counts this process's threads that are running now.
func (m *procMeter) countThreads() (threads, running int) {
	d, err := os.Open("/proc/self/task")
	if err != nil {
		return 0, 1
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	for _, name := range names {
		b, err := readInto(m.buf[:0], "/proc/self/task/"+name+"/stat")
		if err != nil {
			continue
		}
		m.buf = b
		if state, _, ok := parseTaskStat(b); ok {
			threads++
			if state == 'R' {
				running++
			}
		}
	}
	return threads, max(running, 1)
}

// readStat returns the busy ticks of all CPUs (everything but idle and
// iowait) and procs_running from /proc/stat.
func (m *procMeter) readStat() (busy uint64, running int, ok bool) {
	b, err := readInto(m.buf[:0], "/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	m.buf = b
	return parseProcStat(b)
}

// parseProcStat reads /proc/stat's aggregate busy ticks and procs_running.
func parseProcStat(b []byte) (busy uint64, running int, ok bool) {
	line, rest, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, false
	}
	// user nice system idle iowait irq softirq steal (guest is inside user)
	for i, v := range f[1:min(len(f), 9)] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		if i != 3 && i != 4 {
			busy += n
		}
	}
	if i := bytes.Index(rest, []byte("procs_running ")); i >= 0 {
		v, _, _ := bytes.Cut(rest[i+len("procs_running "):], []byte("\n"))
		running, _ = strconv.Atoi(string(v))
	}
	return busy, running, true
}

// readSelf returns this process's user+system ticks, exited threads included.
func (m *procMeter) readSelf() (uint64, bool) {
	b, err := readInto(m.buf[:0], "/proc/self/stat")
	if err != nil {
		return 0, false
	}
	m.buf = b
	_, ticks, ok := parseTaskStat(b)
	return ticks, ok
}

// readThreads returns the ticks this process's living threads used since
// the last sample (threads started since count whole) and how many of them
// are running now. llama.cpp's workers exist only during a decode, so
// between decodes the living threads are Go's (one of which also ran
// llama.cpp's first worker inside llama_decode).
func (m *procMeter) readThreads() (delta int64, running int) {
	d, err := os.Open("/proc/self/task")
	if err != nil {
		return 0, 1
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	seen := make(map[int]uint64, len(names))
	for _, name := range names {
		tid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		b, err := readInto(m.buf[:0], "/proc/self/task/"+name+"/stat")
		if err != nil {
			continue // exited meanwhile
		}
		m.buf = b
		state, ticks, ok := parseTaskStat(b)
		if !ok {
			continue
		}
		if state == 'R' {
			running++
		}
		seen[tid] = ticks
		if prev, ok := m.threads[tid]; ok && ticks >= prev {
			delta += int64(ticks - prev)
		} else if !m.at.IsZero() {
			delta += int64(ticks)
		}
	}
	m.threads = seen
	return delta, max(running, 1)
}

// parseTaskStat reads the state and utime+stime of a /proc/.../stat line.
func parseTaskStat(b []byte) (state byte, ticks uint64, ok bool) {
	i := bytes.LastIndexByte(b, ')') // the command name may hold spaces
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	// state(3) ... utime(14) stime(15), counted from pid(1)
	if len(f) < 13 || len(f[0]) != 1 {
		return 0, 0, false
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	s, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return f[0][0], u + s, true
}

func readInto(buf []byte, path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return buf, err
	}
	defer f.Close()
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil || n == 0 {
			return buf, nil
		}
	}
}

// threadCPU is the CPU time the calling OS thread has used.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// memAvailable is MemAvailable from /proc/meminfo in bytes (what can be
// allocated without swapping), lowered by a cgroup memory limit's room
// when there is one; 0 when unknown.
func memAvailable() uint64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	var avail uint64
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			fs := strings.Fields(rest)
			if len(fs) == 2 && fs[1] == "kB" {
				if kb, err := strconv.ParseUint(fs[0], 10, 64); err == nil {
					avail = kb << 10
				}
			}
		}
	}
	if avail == 0 {
		return 0
	}
	if room := cgroupMemoryRoom(); room > 0 && room < avail {
		avail = room
	}
	return avail
}

// cgroupMemoryRoom is memory.max minus memory.current of this process's
// cgroup (v2); 0 when there is no limit or it cannot be read.
func cgroupMemoryRoom() uint64 {
	dir := cgroupV2Dir()
	if dir == "" {
		return 0
	}
	maxB, err1 := os.ReadFile(filepath.Join(dir, "memory.max"))
	curB, err2 := os.ReadFile(filepath.Join(dir, "memory.current"))
	if err1 != nil || err2 != nil {
		return 0
	}
	limit, err1 := strconv.ParseUint(strings.TrimSpace(string(maxB)), 10, 64)
	cur, err2 := strconv.ParseUint(strings.TrimSpace(string(curB)), 10, 64)
	switch {
	case err1 != nil || err2 != nil:
		return 0 // "max" (no limit) or unreadable
	case cur >= limit:
		return 1 // at the limit: no room
	}
	return limit - cur
}

// cgroupV2Dir is this process's cgroup v2 folder under /sys/fs/cgroup;
// "" when it has none.
func cgroupV2Dir() string {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return ""
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "0::"); ok {
			return filepath.Join("/sys/fs/cgroup", rest)
		}
	}
	return ""
}
