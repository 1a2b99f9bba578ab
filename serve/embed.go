package serve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/nook-ai/nook/engine"
)

// embedJob is one embedding request in nook's terms.
type embedJob struct {
	model    string
	inputs   []string
	truncate bool // cut inputs to the model's context (default) or refuse them
	dims     int  // keep the first dims values, renormalised (0: all)
}

type embedResult struct {
	model   string
	vecs    [][]float32
	tokens  int
	load    time.Duration
	elapsed time.Duration
}

// inputs reads an "input" that is a string or an array of strings.
func inputs(v any, param string) ([]string, error) {
	switch x := v.(type) {
	case string:
		return []string{x}, nil
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, badRequest(param, "%s[%d] is not a string (token arrays are not supported)", param, i)
			}
			out[i] = s
		}
		return out, nil
	case nil:
		return nil, badRequest(param, "%s is required", param)
	}
	return nil, badRequest(param, "%s must be a string or an array of strings", param)
}

func (s *Server) embed(ctx context.Context, job embedJob) (*embedResult, error) {
	start := time.Now()
	if err := s.allow(ctx, callerOf(ctx), ScopeEmbed); err != nil {
		return nil, err
	}
	if job.model == "" {
		return nil, badRequest("model", "model is required")
	}
	if len(job.inputs) > s.o.MaxInputs {
		return nil, badRequest("input", "%d inputs is more than the limit of %d per request", len(job.inputs), s.o.MaxInputs)
	}
	if job.dims < 0 {
		return nil, badRequest("dimensions", "dimensions must be positive")
	}
	if err := s.admit(); err != nil {
		return nil, err
	}
	defer s.leave()
	eng, err := s.models.Acquire(ctx, job.model)
	if err != nil {
		if errors.Is(err, ErrModelNotFound) {
			return nil, errModelNotFound(job.model)
		}
		return nil, err
	}
	defer eng.Close()
	res := &embedResult{model: job.model, load: time.Since(start)}
	limit := eng.Info().ContextLength
	for i, in := range job.inputs {
		toks, err := eng.Tokenize(in)
		if err != nil {
			return nil, err
		}
		if !job.truncate && limit > 0 && len(toks) > limit {
			return nil, &apiError{Status: http.StatusBadRequest, Msg: fmt.Sprintf("input %d has %d tokens, more than the model's context of %d", i, len(toks), limit),
				Hint: "shorten it, or let it be cut (truncate: true)", Type: "invalid_request_error", Code: "context_length_exceeded", Param: "input"}
		}
		if limit > 0 {
			res.tokens += min(len(toks), limit)
		} else {
			res.tokens += len(toks)
		}
	}
	if len(job.inputs) > 0 {
		if res.vecs, err = eng.Embed(ctx, job.inputs); err != nil {
			return nil, err
		}
	}
	if res.vecs == nil {
		res.vecs = [][]float32{}
	}
	if job.dims > 0 {
		for i, v := range res.vecs {
			if job.dims < len(v) {
				res.vecs[i] = engine.Normalize(v[:job.dims])
			}
		}
	}
	res.elapsed = time.Since(start)
	return res, nil
}

func (s *Server) ollamaEmbed(w http.ResponseWriter, r *http.Request) {
	var req api.EmbedRequest
	if err := readBody(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	in, err := inputs(req.Input, "input")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.embed(r.Context(), embedJob{model: req.Model, inputs: in, truncate: req.Truncate == nil || *req.Truncate, dims: req.Dimensions})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.EmbedResponse{Model: res.model, Embeddings: res.vecs, TotalDuration: res.elapsed, LoadDuration: res.load, PromptEvalCount: res.tokens})
}

// ollamaEmbeddings is the older /api/embeddings: one prompt, one vector.
func (s *Server) ollamaEmbeddings(w http.ResponseWriter, r *http.Request) {
	var req api.EmbeddingRequest
	if err := readBody(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.embed(r.Context(), embedJob{model: req.Model, inputs: []string{req.Prompt}, truncate: true})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v := make([]float64, len(res.vecs[0]))
	for i, x := range res.vecs[0] {
		v[i] = float64(x)
	}
	writeJSON(w, http.StatusOK, api.EmbeddingResponse{Embedding: v})
}
