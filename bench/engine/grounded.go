package main

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/nook-ai/nook/engine/llama"
)

// groundedBench measures prompt-lookup decoding: decode speed with and
// without it on an answer that copies from its prompt, and on one where
// nothing is copied (what it costs when it does not pay), against ollama.
// Rounds alternate: nook with lookup, nook without, ollama.
func groundedBench(b *bench, model string, c config) error {
	look, err := llama.Open(model, llama.Options{Threads: c.threads, ContextLength: 2048})
	if err != nil {
		return err
	}
	defer look.Close()
	gen := c.groundedGen
	for _, k := range []struct {
		title  string
		greedy bool
	}{
		{"grounded answer: copies from its prompt (retrieved sources; greedy)", true},
		{"nothing to copy: sampled at temperature 1, fixed seed", false},
	} {
		var withR, plainR, olR []result
		same := true
		before := readLoad()
		for i := range c.rounds + 1 {
			p := groundedPrompt(i)
			w, err := nookRound(look, p, gen, k.greedy)
			if err != nil {
				return fmt.Errorf("nook: %w", err)
			}
			pl, err := nookRound(b.eng, p, gen, k.greedy)
			if err != nil {
				return fmt.Errorf("nook: %w", err)
			}
			o, err := b.srv.round(p, gen, b.threads, k.greedy)
			if err != nil {
				return fmt.Errorf("ollama: %w; the end of its log:\n%s", err, b.srv.Log(15))
			}
			same = same && w.text == pl.text
			if i == 0 {
				continue // warm-up
			}
			withR, plainR, olR = append(withR, w), append(plainR, pl), append(olR, o)
		}
		w, pl, o := median(withR), median(plainR), median(olR)
		drafted, accepted := 0, 0
		for _, r := range withR {
			drafted += r.drafted
			accepted += r.accepted
		}
		acc := 0.0
		if drafted > 0 {
			acc = float64(accepted) / float64(drafted)
		}
		fmt.Printf("\n%s, %d tokens (load average %s before, %s after)\n", k.title, gen, before, readLoad())
		fmt.Printf("%-26s %12s %12s %12s\n", "metric", "nook", "ollama", "nook/ollama")
		fmt.Printf("%-26s %12.1f %12.1f %11.2fx\n", "decode tok/s, lookup", w.decodeRate, o.decodeRate, w.decodeRate/o.decodeRate)
		fmt.Printf("%-26s %12.1f %12.1f %11.2fx\n", "decode tok/s, no lookup", pl.decodeRate, o.decodeRate, pl.decodeRate/o.decodeRate)
		fmt.Printf("%-26s %12.1f %12.1f %11.2fx\n", "decode tok/s, lookup/none", w.decodeRate, pl.decodeRate, w.decodeRate/pl.decodeRate)
		fmt.Printf("%-26s %12s %12s\n", "drafted / accepted", fmt.Sprint(drafted/len(withR)), fmt.Sprint(accepted/len(withR)))
		fmt.Printf("%-26s %11.0f%%\n", "acceptance", 100*acc)
		fmt.Printf("same text with and without lookup: %v\n", same)
	}
	fmt.Println("targets: >= 1.50x with lookup on answers that copy; >= 0.97x (no more than 3% slower) where nothing is accepted")
	return nil
}

// groundedPrompt is a retrieved-sources prompt whose answer quotes them:
// numbered passages, a question, and the start of a quoting answer.
func groundedPrompt(round int) string {
	words := strings.Fields("the a small house river green light morning quiet garden stone bird read write open window letter road city winter summer friend music table story old new bright cold warm long short")
	rng := rand.New(rand.NewPCG(uint64(round)+11, 3))
	sentence := func(n int) string {
		w := make([]string, n)
		for i := range w {
			w[i] = words[rng.IntN(len(words))]
		}
		return strings.ToUpper(w[0][:1]) + strings.Join(w, " ")[1:] + "."
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Round %d. Answer from the sources below and quote them word for word.\n\n", round)
	var first string
	for i := 1; i <= 3; i++ {
		var para []string
		for range 4 {
			para = append(para, sentence(10+rng.IntN(6)))
		}
		if i == 1 {
			first = strings.Join(para, " ")
		}
		fmt.Fprintf(&b, "[%d] %s\n", i, strings.Join(para, " "))
	}
	q := strings.Fields(first)
	fmt.Fprintf(&b, "\nQuestion: what does source [1] say?\nAnswer: Source [1] says: \"%s", strings.Join(q[:6], " "))
	return b.String()
}
