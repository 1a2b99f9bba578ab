package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-pdf/fpdf"
)

// leasePDF writes a three-page PDF as a word processor would (go-pdf/fpdf:
// every line a text object placed with Td, compressed streams), with
// "security deposit" wrapped across two lines of page 2.
func leasePDF(t *testing.T, path string) {
	t.Helper()
	pages := [][]string{
		{"Residential lease agreement", "", "The tenant rents the flat on the second", "floor from the first of March."},
		{"Payments", "", "Before moving in the tenant pays a security", "deposit of two months rent, held in an escrow", "account and returned after the tenancy ends."},
		{"Pets", "", "Cats are allowed; dogs need written consent."},
	}
	doc := fpdf.New("P", "pt", "A4", "")
	doc.SetFont("Helvetica", "", 12)
	for _, lines := range pages {
		doc.AddPage()
		for _, l := range lines {
			doc.CellFormat(0, 16, l, "", 1, "L", false, 0, "")
		}
	}
	if err := doc.OutputFileAndClose(path); err != nil {
		t.Fatal(err)
	}
}

func TestSearchFindsWordsWrappedInAPDFAndCitesThePage(t *testing.T) {
	bin := buildNook(t)
	env := shellEnv(t, bin)
	pdf := filepath.Join(t.TempDir(), "lease.pdf")
	leasePDF(t, pdf)
	if out := nook(t, bin, env, "add", pdf); !strings.Contains(out, "1") {
		t.Fatalf("add: %s", out)
	}

	x := startTmux(t, bin, env, "search", "security deposit")
	screen := x.waitFor(20*time.Second, "lease.pdf, page 2, lines 3-5")
	if !strings.Contains(screen, "security deposit of two months") {
		t.Errorf("the snippet does not keep the words apart at the wrap:\n%s", screen)
	}

	var hits []struct {
		Source    string `json:"source"`
		Page      int    `json:"page"`
		StartLine int    `json:"start_line"`
		EndLine   int    `json:"end_line"`
		Text      string `json:"text"`
	}
	c := exec.Command(bin, "search", "--json", "-k", "1", "security deposit")
	c.Env = append(os.Environ(), env...)
	out, err := c.Output() // stderr says the search is lexical
	if err != nil {
		t.Fatalf("search --json: %v", err)
	}
	if err := json.Unmarshal(out, &hits); err != nil {
		t.Fatalf("search --json: %v\n%s", err, out)
	}
	if len(hits) != 1 || hits[0].Page != 2 || hits[0].StartLine != 3 || hits[0].EndLine != 5 || !strings.Contains(hits[0].Text, "security\ndeposit") {
		t.Errorf("search --json: %+v", hits)
	}
	if out := nook(t, bin, env, "search", "written consent"); !strings.Contains(out, "page 3") {
		t.Errorf("a hit on page 3:\n%s", out)
	}
}
