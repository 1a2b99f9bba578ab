package llama

import "testing"

func TestStopperHoldsBackPartialStops(t *testing.T) {
	t.Parallel()
	s := newStopper([]string{"<|im_end|>", "User:"})
	var shown string
	for _, piece := range []string{"Hello", " wor", "ld<|im", "_en", "d|>ignored"} {
		out, stopped := s.push(piece)
		shown += out
		if stopped {
			if shown != "Hello world" {
				t.Fatalf("shown %q", shown)
			}
			return
		}
		if piece == "ld<|im" && shown != "Hello world" {
			t.Fatalf("after a partial stop, shown %q", shown)
		}
	}
	t.Fatal("stop not found")
}

func TestStopperFlushesHeldTextAtTheEnd(t *testing.T) {
	t.Parallel()
	s := newStopper([]string{"User:"})
	out, _ := s.push("see you Us")
	if out != "see you " {
		t.Fatalf("out %q", out)
	}
	if f := s.flush(); f != "Us" {
		t.Fatalf("flush %q", f)
	}
}

func TestIncompleteUTF8IsHeldBack(t *testing.T) {
	t.Parallel()
	euro := []byte("€") // 3 bytes
	for _, tc := range []struct {
		in   []byte
		want int
	}{
		{[]byte("abc"), 3},
		{append([]byte("a"), euro[:1]...), 1},
		{append([]byte("a"), euro[:2]...), 1},
		{append([]byte("a"), euro...), 4},
		{[]byte{0xff, 0xfe}, 2},
	} {
		if got := completeUTF8(tc.in); got != tc.want {
			t.Errorf("completeUTF8(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
