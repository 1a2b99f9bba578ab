package vault

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/nook-ai/nook/vault/vaulttest"
)

// BenchmarkRetrievalParams is how defaultParams were chosen: coordinate
// ascent over the ranking knobs on both corpora with the HashEmbedder,
// maximising mean recall over the budgets of fused and of lexical search
// (a vault without an embedding model searches lexically; conversations
// and notes weighted equally), each knob swept with the others fixed,
// twice round.
// It logs every sweep and the recall of the defaults; one knob alone:
// -bench 'RetrievalParams/r1/heading'.
//
//	go test -run '^$' -bench RetrievalParams -benchtime 1x -v ./vault
func BenchmarkRetrievalParams(b *testing.B) {
	type corpus struct {
		c  vaulttest.Corpus
		v  *Vault
		qs []vaulttest.BudgetQuestion
	}
	var cs []corpus
	for _, c := range budgetCorpora {
		dir := b.TempDir()
		v, err := Init(dir+"/v", testPass, WithScryptWorkFactor(10), WithEmbedder(vaulttest.HashEmbedder{}), WithEmbedModel("hash-test"))
		if err != nil {
			b.Fatal(err)
		}
		defer v.Close()
		if _, err := v.Add(context.Background(), []string{vaulttest.CopyDir(b, c.Dir)}, AddOptions{}); err != nil {
			b.Fatal(err)
		}
		cs = append(cs, corpus{c, v, c.Load(b)})
	}
	// eval returns the objective and the rows: fused then lexical, per corpus.
	eval := func(p rankParams) (mean float64, per [][]float64) {
		for _, c := range cs {
			c.v.idx.p = &p
			c.v.idx.reanalyze()
			c.v.idx.norm = c.v.idx.norm[:0]
			rows := vaulttest.Table(c.qs, []vaulttest.Retriever{retriever(b, c.v, "", Fused), retriever(b, c.v, "", Lexical)}, EstimateTokens)
			for _, row := range rows {
				per = append(per, row.Recall)
				for _, r := range row.Recall {
					mean += r / float64(len(row.Recall)*len(rows)*len(cs))
				}
			}
		}
		return mean, per
	}
	type knob struct {
		name   string
		values []float64
		set    func(*rankParams, float64)
	}
	knobs := []knob{
		{"title", []float64{0, 2, 4, 6}, func(p *rankParams, v float64) { p.title = uint16(v) }},
		{"heading", []float64{0, 2, 3, 4, 6}, func(p *rankParams, v float64) { p.heading = uint16(v) }},
		{"lead", []float64{0, 1, 2, 3}, func(p *rankParams, v float64) { p.lead = uint16(v) }},
		{"date", []float64{0, 1, 2, 3}, func(p *rankParams, v float64) { p.date = uint16(v) }},
		{"k1", []float64{0.6, 0.9, 1.2, 1.6, 2}, func(p *rankParams, v float64) { p.k1 = v }},
		{"b", []float64{0.3, 0.5, 0.75, 0.9}, func(p *rankParams, v float64) { p.b = v }},
		{"prox", []float64{0, 0.25, 0.5, 1, 2}, func(p *rankParams, v float64) { p.prox = v }},
		{"proxWindow", []float64{1, 2, 3, 5}, func(p *rankParams, v float64) { p.proxWindow = int(v) }},
		{"rrfK", []float64{2, 5, 10, 20, 60}, func(p *rankParams, v float64) { p.rrfK = int(v) }},
		{"vecWeight", []float64{0, 0.1, 0.25, 0.5, 0.75, 1}, func(p *rankParams, v float64) { p.vecWeight = v }},
		{"mmrLambda", []float64{0.5, 0.7, 0.8, 0.9, 1}, func(p *rankParams, v float64) { p.mmrLambda = v }},
		{"widenDecay", []float64{0, 0.25, 0.5, 0.75, 0.9}, func(p *rankParams, v float64) { p.widenDecay = v }},
		{"widenBack", []float64{0.5, 0.8, 1, 1.25}, func(p *rankParams, v float64) { p.widenBack = v }},
	}
	p := defaultParams
	for round := 1; round <= 2; round++ {
		for _, k := range knobs {
			b.Run(fmt.Sprintf("r%d/%s", round, k.name), func(b *testing.B) {
				for b.Loop() {
					var sb strings.Builder
					bestV, bestM := 0.0, -1.0
					for _, val := range k.values {
						q := p
						k.set(&q, val)
						m, per := eval(q)
						fmt.Fprintf(&sb, "  %s=%-5g mean %.4f conv %v %v notes %v %v\n", k.name, val, m, fmtRow(per[0]), fmtRow(per[1]), fmtRow(per[2]), fmtRow(per[3]))
						if m > bestM+1e-9 {
							bestV, bestM = val, m
						}
					}
					k.set(&p, bestV)
					b.Logf("%s → %g\n%s", k.name, bestV, sb.String())
				}
			})
		}
	}
	b.Logf("chosen: %+v", p)
	m, per := eval(defaultParams)
	b.Logf("defaultParams: mean %.4f; conversations fused %v lexical %v; notes fused %v lexical %v", m, fmtRow(per[0]), fmtRow(per[1]), fmtRow(per[2]), fmtRow(per[3]))
	b.ReportMetric(m, "recall-mean")
}

func fmtRow(r []float64) string {
	s := make([]string, len(r))
	for i, v := range r {
		s[i] = fmt.Sprintf("%.3f", v)
	}
	return "[" + strings.Join(s, " ") + "]"
}
