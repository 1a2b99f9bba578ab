package plugins

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/nook-ai/nook/internal/termsafe"
	"github.com/nook-ai/nook/vault"
)

// Vault is all of the vault that data plugs reach, and only through the
// host, which checks a grant for the tag of every operation; *vault.Vault
// satisfies it.
type Vault interface {
	// Search is used with SearchOptions.Tag always set to a granted tag.
	Search(ctx context.Context, query string, o vault.SearchOptions) ([]vault.Hit, error)
	// AddDocument ingests text under source with tags (the normal chunking,
	// embedding and encryption of Add).
	AddDocument(ctx context.Context, source string, text []byte, tags []string) (bool, error)
}

// Limits of data plugs.
const (
	MaxResources     = 1000    // resources ingested per Ingest
	MaxResourceBytes = 4 << 20 // text kept per resource
	MaxExportDocs    = 50      // documents sent per Export
	MaxExportBytes   = 1 << 20 // text sent per Export
)

// IngestReport says what Ingest did.
type IngestReport struct {
	Tag       string   `json:"tag"`
	Resources int      `json:"resources"` // listed
	Added     int      `json:"added"`     // new or changed documents
	Unchanged int      `json:"unchanged"`
	Skipped   []string `json:"skipped,omitempty"` // URIs with no text, too large, unreadable
}

// Source is the vault source name of a plugin's resource.
func Source(id, uri, mimeType string) string {
	ext := ".txt"
	switch {
	case strings.HasPrefix(mimeType, "text/markdown"):
		ext = ".md"
	case strings.HasPrefix(mimeType, "text/html"):
		ext = ".html"
	}
	return "plug://" + id + "/" + url.PathEscape(uri) + ext
}

// Ingest brings a data plug's resources into the vault under its tag
// ([data] tag), through the vault's normal ingest path. It needs the grant
// vault:write:<tag>; without it nothing is asked of the plugin.
func (h *Host) Ingest(ctx context.Context, id string) (IngestReport, error) {
	p, err := h.plugin(id)
	if err != nil {
		return IngestReport{}, err
	}
	tag := p.m.Data.Tag
	rep := IngestReport{Tag: tag}
	if tag == "" {
		return rep, fmt.Errorf("plugins: %s: not a data plug (its manifest has no [data] tag)", id)
	}
	if h.vault == nil {
		return rep, errors.New("plugins: ingest: no vault given to the host")
	}
	if err := h.gate(ctx, p, ScopeVaultWrite+tag); err != nil {
		return rep, err
	}
	r, err := p.session(ctx)
	if err != nil {
		return rep, err
	}
	var list []*mcp.Resource
	cctx, cancel := context.WithTimeout(ctx, h.timeoutFor(id))
	for res, err := range r.sess.Resources(cctx, nil) {
		if err != nil {
			cancel()
			return rep, p.failure(ctx, cctx, r, "list resources", err)
		}
		list = append(list, res)
		if len(list) >= MaxResources {
			break
		}
	}
	cancel()
	rep.Resources = len(list)
	for _, res := range list {
		text, mime, err := h.readResource(ctx, p, r, res)
		if err != nil {
			if errors.Is(err, ErrCrashed) || errors.Is(err, ErrTimeout) || ctx.Err() != nil {
				return rep, err
			}
			rep.Skipped = append(rep.Skipped, termsafe.Line(res.URI+": "+err.Error()))
			continue
		}
		if text == "" {
			rep.Skipped = append(rep.Skipped, termsafe.Line(res.URI)+": no text")
			continue
		}
		added, err := h.vault.AddDocument(ctx, Source(id, res.URI, mime), []byte(text), []string{tag})
		if err != nil {
			return rep, fmt.Errorf("plugins: %s: ingest %s: %w", id, termsafe.Line(res.URI), err)
		}
		if added {
			rep.Added++
		} else {
			rep.Unchanged++
		}
	}
	return rep, nil
}

func (h *Host) readResource(ctx context.Context, p *plugin, r *running, res *mcp.Resource) (string, string, error) {
	cctx, cancel := context.WithTimeout(ctx, h.timeoutFor(p.m.ID))
	defer cancel()
	rr, err := r.sess.ReadResource(cctx, &mcp.ReadResourceParams{URI: res.URI})
	if err != nil {
		return "", "", p.failure(ctx, cctx, r, "read "+res.URI, err)
	}
	var sb strings.Builder
	mime := res.MIMEType
	for _, c := range rr.Contents {
		if c == nil || c.Text == "" {
			continue
		}
		if mime == "" {
			mime = c.MIMEType
		}
		if sb.Len()+len(c.Text) > MaxResourceBytes {
			return "", "", fmt.Errorf("more than %d bytes of text", MaxResourceBytes)
		}
		if sb.Len() > 0 {
			sb.WriteString("\n")
		}
		sb.WriteString(c.Text)
	}
	return sb.String(), mime, nil
}

// ExportDoc is one document sent to a data plug's receive tool.
type ExportDoc struct {
	Source  string `json:"source"`
	Heading string `json:"heading,omitempty"`
	Text    string `json:"text"`
}

// Export sends the vault's best matches for query among documents tagged
// tag to the plug's receive tool ([data] receive) and returns its answer.
// It needs the grant vault:read:<tag>; without it the vault is not read and
// nothing is sent.
func (h *Host) Export(ctx context.Context, id, tag, query string, k int) (string, error) {
	p, err := h.plugin(id)
	if err != nil {
		return "", err
	}
	if p.m.Data.Receive == "" {
		return "", fmt.Errorf("plugins: %s: takes no documents (its manifest has no [data] receive)", id)
	}
	if err := ValidTag(tag); err != nil {
		return "", err
	}
	if h.vault == nil {
		return "", errors.New("plugins: export: no vault given to the host")
	}
	if err := h.gate(ctx, p, ScopeVaultRead+tag); err != nil {
		return "", err
	}
	docs, err := h.read(ctx, tag, query, k)
	if err != nil {
		return "", err
	}
	res, err := p.call(ctx, p.m.Data.Receive, map[string]any{"tag": tag, "documents": docs})
	if err != nil {
		return "", err
	}
	text := h.untrusted(res)
	if res.IsError {
		return "", fmt.Errorf("plugins: %s: %s failed: %s", id, p.m.Data.Receive, oneLine(text))
	}
	return text, nil
}

// read searches the vault within tag only (callers checked the grant).
func (h *Host) read(ctx context.Context, tag, query string, k int) ([]ExportDoc, error) {
	if k <= 0 || k > MaxExportDocs {
		k = MaxExportDocs
	}
	if strings.TrimSpace(query) == "" {
		query = tag
	}
	hits, err := h.vault.Search(ctx, query, vault.SearchOptions{K: k, Tag: tag})
	if err != nil {
		return nil, fmt.Errorf("plugins: read %q: %w", tag, err)
	}
	docs := []ExportDoc{}
	size := 0
	for _, hit := range hits {
		size += len(hit.Text)
		if size > MaxExportBytes {
			break
		}
		docs = append(docs, ExportDoc{Source: hit.Source, Heading: hit.Heading, Text: hit.Text})
	}
	return docs, nil
}
