// Command ics is an example nook data plug: an MCP server over stdio that
// reads the .ics calendars of a folder.
//
//   - Data in: each event is a resource (text/markdown), which
//     `nook plug ingest ics` stores in the vault under the tag "calendar"
//     (scope vault:write:calendar).
//   - Tool: events_on lists the events of one day (scope tool).
//   - Data out: to_ics receives vault documents (scope vault:read:<tag>,
//     e.g. vault:read:notes) and turns their dated lines (2025-03-14 ...)
//     into calendar events.
//
// Usage: ics --dir FOLDER
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Event is one VEVENT.
type Event struct {
	UID, Summary, Location, Description string
	Start, End                          time.Time
	AllDay                              bool
	File                                string
}

// unfold joins folded lines (RFC 5545 3.1).
func unfold(data string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := strings.TrimRight(sc.Text(), "\r")
		if (strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")) && len(out) > 0 {
			out[len(out)-1] += l[1:]
			continue
		}
		out = append(out, l)
	}
	return out
}

func parseTime(params, v string) (time.Time, bool, error) {
	if strings.Contains(params, "VALUE=DATE") || len(v) == 8 {
		t, err := time.Parse("20060102", v)
		return t, true, err
	}
	if strings.HasSuffix(v, "Z") {
		t, err := time.Parse("20060102T150405Z", v)
		return t, false, err
	}
	t, err := time.Parse("20060102T150405", v)
	return t, false, err
}

var unescaper = strings.NewReplacer(`\n`, "\n", `\N`, "\n", `\,`, ",", `\;`, ";", `\\`, `\`)

// Parse reads the events of one calendar.
func Parse(data, file string) ([]Event, error) {
	var evs []Event
	var cur *Event
	for n, l := range unfold(data) {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		name, params, _ := strings.Cut(name, ";")
		switch strings.ToUpper(name) {
		case "BEGIN":
			if strings.EqualFold(value, "VEVENT") {
				cur = &Event{File: file}
			}
		case "END":
			if strings.EqualFold(value, "VEVENT") && cur != nil {
				if cur.UID == "" {
					cur.UID = fmt.Sprintf("%s-%d", filepath.Base(file), len(evs)+1)
				}
				evs = append(evs, *cur)
				cur = nil
			}
		}
		if cur == nil {
			continue
		}
		switch strings.ToUpper(name) {
		case "UID":
			cur.UID = value
		case "SUMMARY":
			cur.Summary = unescaper.Replace(value)
		case "LOCATION":
			cur.Location = unescaper.Replace(value)
		case "DESCRIPTION":
			cur.Description = unescaper.Replace(value)
		case "DTSTART", "DTEND":
			t, allDay, err := parseTime(params, value)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %s %q: %w", file, n+1, name, value, err)
			}
			if strings.EqualFold(name, "DTSTART") {
				cur.Start, cur.AllDay = t, allDay
			} else {
				cur.End = t
			}
		}
	}
	return evs, nil
}

// Markdown is the text nook ingests for an event.
func (e Event) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", e.Summary)
	if e.AllDay {
		fmt.Fprintf(&b, "When: %s (all day)\n", e.Start.Format("Monday 2 January 2006"))
	} else {
		fmt.Fprintf(&b, "When: %s", e.Start.Format("Monday 2 January 2006, 15:04"))
		if !e.End.IsZero() {
			fmt.Fprintf(&b, " to %s", e.End.Format("15:04"))
		}
		b.WriteString("\n")
	}
	if e.Location != "" {
		fmt.Fprintf(&b, "Where: %s\n", e.Location)
	}
	if e.Description != "" {
		fmt.Fprintf(&b, "\n%s\n", e.Description)
	}
	return b.String()
}

func load(dir string) ([]Event, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.ics"))
	if err != nil {
		return nil, err
	}
	var all []Event
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		evs, err := Parse(string(data), filepath.Base(f))
		if err != nil {
			return nil, err
		}
		all = append(all, evs...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Start.Before(all[j].Start) })
	return all, nil
}

type dayIn struct {
	Date string `json:"date" jsonschema:"the day, as YYYY-MM-DD"`
}

type doc struct {
	Source  string `json:"source"`
	Heading string `json:"heading,omitempty"`
	Text    string `json:"text"`
}

type receiveIn struct {
	Tag       string `json:"tag"`
	Documents []doc  `json:"documents"`
}

var datedLine = regexp.MustCompile(`(?m)^.*?(\d{4}-\d{2}-\d{2})\b[\s:,-]*(.*)$`)

// ToICS turns the dated lines of docs into a calendar.
func ToICS(docs []doc) (string, int) {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//nook//ics example//EN\r\n")
	n := 0
	for _, d := range docs {
		for _, m := range datedLine.FindAllStringSubmatch(d.Text, -1) {
			day, err := time.Parse("2006-01-02", m[1])
			if err != nil {
				continue
			}
			n++
			summary := strings.TrimSpace(m[2])
			if summary == "" {
				summary = d.Heading
			}
			fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:nook-%d-%s\r\nDTSTART;VALUE=DATE:%s\r\nSUMMARY:%s\r\nDESCRIPTION:from %s\r\nEND:VEVENT\r\n",
				n, day.Format("20060102"), day.Format("20060102"), summary, d.Source)
		}
	}
	b.WriteString("END:VCALENDAR\r\n")
	return b.String(), n
}

func main() {
	dir := flag.String("dir", ".", "folder of .ics files")
	flag.Parse()
	events, err := load(*dir)
	if err != nil {
		log.Fatalf("ics: %v", err)
	}
	s := mcp.NewServer(&mcp.Implementation{Name: "ics", Version: "0.1.0"}, nil)
	for _, e := range events {
		text := e.Markdown()
		uri := "ics://" + url.PathEscape(e.File) + "/" + url.PathEscape(e.UID)
		s.AddResource(&mcp.Resource{URI: uri, Name: e.Summary, MIMEType: "text/markdown", Size: int64(len(text))},
			func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
				return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: "text/markdown", Text: text}}}, nil
			})
	}
	mcp.AddTool(s, &mcp.Tool{Name: "events_on", Description: "List the calendar's events of one day.",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true}},
		func(ctx context.Context, req *mcp.CallToolRequest, in dayIn) (*mcp.CallToolResult, any, error) {
			day, err := time.Parse("2006-01-02", in.Date)
			if err != nil {
				return nil, nil, fmt.Errorf("date %q is not YYYY-MM-DD", in.Date)
			}
			var out []string
			for _, e := range events {
				if e.Start.Format("2006-01-02") == day.Format("2006-01-02") {
					out = append(out, strings.TrimSpace(e.Markdown()))
				}
			}
			text := "no events on " + in.Date
			if len(out) > 0 {
				text = strings.Join(out, "\n\n")
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}, nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "to_ics", Description: "Turn the dated lines (YYYY-MM-DD ...) of documents into calendar events."},
		func(ctx context.Context, req *mcp.CallToolRequest, in receiveIn) (*mcp.CallToolResult, any, error) {
			cal, n := ToICS(in.Documents)
			text := fmt.Sprintf("%d events from %d documents tagged %s\n%s", n, len(in.Documents), in.Tag, cal)
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}, nil, nil
		})
	if err := s.Run(context.Background(), &mcp.StdioTransport{}); err != nil {
		log.Fatalf("ics: %v", err)
	}
}
