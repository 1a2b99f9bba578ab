package llama

import "testing"

func TestTheWeightsAreReadIntoMemoryOnlyOnTheCPUAndWhenTheyFit(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	const gib = 1 << 30
	cases := []struct {
		name   string
		pinned *bool
		onGPU  bool
		size   uint64
		avail  uint64
		mmap   bool
	}{
		{"CPU only, plenty of memory: read", nil, false, 2 * gib, 16 * gib, false},
		{"CPU only, the file and the headroom just fit: read", nil, false, 2 * gib, 3 * gib, false},
		{"CPU only, no room for the headroom: mapped", nil, false, 2 * gib, 3*gib - 1, true},
		{"CPU only, larger than memory: mapped", nil, false, 20 * gib, 16 * gib, true},
		{"memory unknown: mapped", nil, false, 2 * gib, 0, true},
		{"layers on a GPU: mapped", nil, true, 2 * gib, 16 * gib, true},
		{"the user asks for mapping", &yes, false, 2 * gib, 16 * gib, true},
		{"the user asks for reading, even on a GPU", &no, true, 20 * gib, 16 * gib, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := useMmap(tc.pinned, tc.onGPU, tc.size, tc.avail); got != tc.mmap {
				t.Fatalf("useMmap = %v, want %v", got, tc.mmap)
			}
		})
	}
}
