// Command units is an example nook plugin: an MCP server over stdio with
// one tool, convert, that converts between units of length, mass,
// temperature and volume. It is a "tool" plugin: it reads no vault data.
// With -http ADDR it serves MCP's streamable HTTP transport on ADDR instead
// (then the manifest names its URL rather than a command).
//
// Build it beside its manifest, sign the manifest, install and grant it:
//
//	go build -o plugins/examples/units/units ./plugins/examples/units
//	nook plug sign plugins/examples/units --key publisher.key
//	nook plug add plugins/examples/units
//	nook plug grant units tool --for 30d
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// unit is a linear unit of a dimension: value in base units = v*factor + offset.
type unit struct {
	dim    string
	factor float64
	offset float64
}

var units = map[string]unit{
	"m": {"length", 1, 0}, "km": {"length", 1000, 0}, "cm": {"length", 0.01, 0}, "mm": {"length", 0.001, 0},
	"mi": {"length", 1609.344, 0}, "yd": {"length", 0.9144, 0}, "ft": {"length", 0.3048, 0}, "in": {"length", 0.0254, 0},
	"kg": {"mass", 1, 0}, "g": {"mass", 0.001, 0}, "lb": {"mass", 0.45359237, 0}, "oz": {"mass", 0.028349523125, 0},
	"l": {"volume", 1, 0}, "ml": {"volume", 0.001, 0}, "gal": {"volume", 3.785411784, 0}, "cup": {"volume", 0.2365882365, 0},
	"k": {"temperature", 1, 0}, "c": {"temperature", 1, 273.15}, "f": {"temperature", 5.0 / 9, 273.15 - 32*5.0/9},
}

var aliases = map[string]string{
	"meter": "m", "meters": "m", "metre": "m", "kilometer": "km", "kilometers": "km", "mile": "mi", "miles": "mi",
	"foot": "ft", "feet": "ft", "inch": "in", "inches": "in", "yard": "yd", "yards": "yd",
	"kilogram": "kg", "kilograms": "kg", "gram": "g", "grams": "g", "pound": "lb", "pounds": "lb", "lbs": "lb", "ounce": "oz", "ounces": "oz",
	"liter": "l", "litre": "l", "liters": "l", "milliliter": "ml", "gallon": "gal", "gallons": "gal", "cups": "cup",
	"celsius": "c", "°c": "c", "fahrenheit": "f", "°f": "f", "kelvin": "k",
}

func lookup(name string) (string, unit, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if a, ok := aliases[n]; ok {
		n = a
	}
	u, ok := units[n]
	if !ok {
		var known []string
		for k := range units {
			known = append(known, k)
		}
		sort.Strings(known)
		return "", unit{}, fmt.Errorf("unknown unit %q (known: %s)", name, strings.Join(known, ", "))
	}
	return n, u, nil
}

// Convert converts value from one unit to another.
func Convert(value float64, from, to string) (float64, string, error) {
	fn, fu, err := lookup(from)
	if err != nil {
		return 0, "", err
	}
	tn, tu, err := lookup(to)
	if err != nil {
		return 0, "", err
	}
	if fu.dim != tu.dim {
		return 0, "", fmt.Errorf("cannot convert %s (%s) to %s (%s)", fn, fu.dim, tn, tu.dim)
	}
	base := value*fu.factor + fu.offset
	return (base - tu.offset) / tu.factor, tn, nil
}

type convertIn struct {
	Value float64 `json:"value" jsonschema:"the number to convert"`
	From  string  `json:"from" jsonschema:"the unit of value, e.g. km, lb, celsius"`
	To    string  `json:"to" jsonschema:"the unit wanted, e.g. mi, kg, fahrenheit"`
}

type convertOut struct {
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	Text  string  `json:"text"`
}

func format(v float64) string {
	return strconv.FormatFloat(math.Round(v*1e4)/1e4, 'f', -1, 64)
}

func convert(ctx context.Context, req *mcp.CallToolRequest, in convertIn) (*mcp.CallToolResult, convertOut, error) {
	v, u, err := Convert(in.Value, in.From, in.To)
	if err != nil {
		return nil, convertOut{}, err
	}
	out := convertOut{Value: v, Unit: u, Text: fmt.Sprintf("%s %s = %s %s", format(in.Value), in.From, format(v), in.To)}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: out.Text}}}, out, nil
}

func main() {
	addr := flag.String("http", "", "serve streamable HTTP on this address (e.g. 127.0.0.1:8931) instead of stdio")
	flag.Parse()
	s := mcp.NewServer(&mcp.Implementation{Name: "units", Version: "0.1.0"}, nil)
	mcp.AddTool(s, &mcp.Tool{
		Name:        "convert",
		Description: "Convert a value between units of length, mass, volume or temperature.",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true},
	}, convert)
	if *addr != "" {
		h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil)
		log.Fatalf("units: %v", http.ListenAndServe(*addr, h))
	}
	if err := s.Run(context.Background(), &mcp.StdioTransport{}); err != nil {
		log.Fatalf("units: %v", err)
	}
}
