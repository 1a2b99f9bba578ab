package main

import (
	"errors"
	"fmt"
	"math"
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
		title, workload string
		prompt          func(round int) (string, error)
		greedy          bool
	}{
		{"own answer as a source (greedy)",
			"the model's greedy answer A to a question Q is placed in the prompt as retrieved source [1], then Q is asked again; an answer that repeats A is drafted from the prompt",
			func(round int) (string, error) { return ownAnswerPrompt(b, round, gen) }, true},
		{"own text continued (greedy)",
			"the prompt is a question Q and the model's own greedy answer A to it, and the model continues it: where A fell into a loop (random weights do) the continuation repeats text that is in the prompt",
			func(round int) (string, error) { return ownTextPrompt(b, round, gen) }, true},
		{"retrieved sources (greedy)",
			"three retrieved passages, a question and the start of a quoting answer; with random weights the answer copies little of them and repeats itself instead, which lookup drafts from the answer so far",
			func(round int) (string, error) { return groundedPrompt(round), nil }, true},
		{"nothing to copy (sampled)",
			"the retrieved-sources prompt, sampled at temperature 1 with a fixed seed: drafts are rarely accepted; lookup must cost no more than 3%",
			func(round int) (string, error) { return groundedPrompt(round), nil }, false},
	} {
		var withR, plainR, olR []result
		same, olDropped := true, 0
		before := readLoad()
		for i := range c.rounds + 1 {
			p, err := k.prompt(i)
			if err != nil {
				return fmt.Errorf("nook: %w", err)
			}
			w, err := nookRound(look, p, gen, k.greedy)
			if err != nil {
				return fmt.Errorf("nook: %w", err)
			}
			pl, err := nookRound(b.eng, p, gen, k.greedy)
			if err != nil {
				return fmt.Errorf("nook: %w", err)
			}
			o, err := b.ollamaRound(p, gen, k.greedy)
			if errors.Is(err, errDropped) {
				// ollama ends some of these streams early every time (on the
				// model's own byte-level text): its column is left out.
				olDropped++
			} else if err != nil {
				return fmt.Errorf("ollama: %w; the end of its log:\n%s", err, b.srv.Log(15))
			}
			same = same && w.text == pl.text
			if i == 0 {
				continue // warm-up
			}
			withR, plainR = append(withR, w), append(plainR, pl)
			if o.decodeTokens > 0 {
				olR = append(olR, o)
			}
		}
		w, pl := median(withR), median(plainR)
		o := result{decodeRate: math.NaN(), streamRate: math.NaN()}
		if len(olR) > 0 {
			o = median(olR)
		}
		drafted, accepted, tokens := 0, 0, 0
		for _, r := range withR {
			drafted += r.drafted
			accepted += r.accepted
			tokens += r.decodeTokens
		}
		pct := func(n, of int) float64 {
			if of == 0 {
				return 0
			}
			return 100 * float64(n) / float64(of)
		}
		fmt.Printf("\n%s, %d tokens (load average %s before, %s after)\n", k.title, gen, before, readLoad())
		fmt.Printf("workload: %s\n", k.workload)
		fmt.Printf("%-26s %12s %12s %12s\n", "metric", "nook", "ollama", "nook/ollama")
		fmt.Printf("%-26s %12.1f %12.1f %11.2fx\n", "decode tok/s, lookup", w.decodeRate, o.decodeRate, w.decodeRate/o.decodeRate)
		fmt.Printf("%-26s %12.1f %12.1f %11.2fx\n", "decode tok/s, no lookup", pl.decodeRate, o.decodeRate, pl.decodeRate/o.decodeRate)
		fmt.Printf("%-26s %12.1f %12.1f %11.2fx\n", "streamed tok/s, lookup", w.streamRate, o.streamRate, w.streamRate/o.streamRate)
		fmt.Printf("%-26s %12.1f %12.1f %11.2fx\n", "decode tok/s, lookup/none", w.decodeRate, pl.decodeRate, w.decodeRate/pl.decodeRate)
		fmt.Printf("%-26s %12s %12s\n", "drafted / accepted", fmt.Sprint(drafted/len(withR)), fmt.Sprint(accepted/len(withR)))
		fmt.Printf("%-26s %11.0f%% drafted, %.0f%% accepted (of %d answer tokens)\n", "answer tokens", pct(drafted, tokens), pct(accepted, tokens), tokens/len(withR))
		fmt.Printf("%-26s %11.0f%%\n", "acceptance", pct(accepted, drafted))
		fmt.Printf("same text with and without lookup: %v\n", same)
		if olDropped > 0 {
			fmt.Printf("ollama ended %d of %d streams early (after retries); its figures are from the others (NaN: none)\n", olDropped, c.rounds+1)
		}
	}
	fmt.Println("targets: >= 1.50x with lookup on answers that copy; >= 0.97x (no more than 3% slower) where nothing is accepted")
	return nil
}

// ownAnswerPrompt asks a question whose answer is in the prompt: the
// model's own greedy answer to it (made now, untimed, with prompt lookup
// off) is placed before it as a retrieved source. Whether the answer then
// copies the source is up to the model; the table reports how much of it
// lookup drafted.
func ownAnswerPrompt(b *bench, round, gen int) (string, error) {
	q := ownQuestion(round)
	a, err := nookRound(b.eng, q, gen, true)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Answer from the sources below and quote them word for word.\n\n[1]%s\n\n%s", a.text, q), nil
}

// ownTextPrompt is a question and the model's own greedy answer to it
// (made now, untimed, with lookup off), to be continued.
func ownTextPrompt(b *bench, round, gen int) (string, error) {
	q := ownQuestion(round)
	a, err := nookRound(b.eng, q, gen, true)
	if err != nil {
		return "", err
	}
	return q + a.text, nil
}

func ownQuestion(round int) string {
	return fmt.Sprintf("Question %d: what does the letter on the old table by the window say about the city in winter?\nAnswer:", round)
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
