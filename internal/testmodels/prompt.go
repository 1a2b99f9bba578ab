package testmodels

import (
	"fmt"
	"strings"
)

var promptWords = strings.Fields("the a small house river green light morning quiet garden stone bird read write open window letter road city winter summer friend music table story old new bright cold warm long short")

// Prompt is the distinct prompt of n words that bench/serve's client
// number client sends in setting seq (in-process benchmarks send the same):
// no two share more than their first words, so no engine reuses a cached
// prefix.
func Prompt(seq, client, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Note %d-%d:", seq, client)
	x := uint32(seq*7919 + client*104729 + 1)
	for range n {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b.WriteString(" " + promptWords[x%uint32(len(promptWords))])
	}
	return b.String()
}
