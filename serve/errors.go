package serve

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/nook-ai/nook/engine"
	"github.com/nook-ai/nook/internal/hint"
	"github.com/nook-ai/nook/vault"
)

// apiError is an error with its HTTP status and OpenAI error fields. Each
// API writes it in its own shape: Ollama {"error": "…"}, OpenAI
// {"error": {"message", "type", "param", "code"}}. The message ends with
// what to do next, when there is something to do.
type apiError struct {
	Status int
	Msg    string
	Hint   string
	Type   string // OpenAI: invalid_request_error, authentication_error, permission_error, not_found_error, rate_limit_error, api_error
	Code   string // OpenAI: model_not_found, context_length_exceeded, invalid_api_key, …
	Param  string
	// Scope is the grant a permission error is about.
	Scope string
}

func (e *apiError) Error() string {
	if e.Hint != "" {
		return e.Msg + " (hint: " + e.Hint + ")"
	}
	return e.Msg
}

func badRequest(param, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Msg: fmt.Sprintf(format, args...), Type: "invalid_request_error", Param: param}
}

func errUnauthorized(msg, h string) *apiError {
	return &apiError{Status: http.StatusUnauthorized, Msg: msg, Hint: h, Type: "authentication_error", Code: "invalid_api_key"}
}

func errForbidden(msg, h, scope string) *apiError {
	return &apiError{Status: http.StatusForbidden, Msg: msg, Hint: h, Type: "permission_error", Code: "insufficient_scope", Scope: scope}
}

func errUnavailable(err error) *apiError {
	return &apiError{Status: http.StatusServiceUnavailable, Msg: err.Error(), Hint: hint.Of(err), Type: "api_error", Code: "unavailable"}
}

func errModelNotFound(name string) *apiError {
	return &apiError{Status: http.StatusNotFound, Msg: fmt.Sprintf("model %q not found", name), Hint: "`nook models` lists the installed models; `nook pull " + name + "` installs it",
		Type: "not_found_error", Code: "model_not_found", Param: "model"}
}

func errTooLarge(limit int64) *apiError {
	return &apiError{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("the request body is over the limit of %d bytes", limit),
		Hint: "send less, or raise serve.max_body in the config", Type: "invalid_request_error", Code: "request_too_large"}
}

func errBusy(n int) *apiError {
	return &apiError{Status: http.StatusServiceUnavailable, Msg: fmt.Sprintf("server busy: %d requests are already waiting for a model", n),
		Hint: "retry shortly, or raise serve.max_queue in the config", Type: "rate_limit_error", Code: "server_busy"}
}

func isForbidden(err error) bool {
	var e *apiError
	return errors.As(err, &e) && e.Status == http.StatusForbidden
}

// asAPIError maps any error to an apiError.
func asAPIError(err error) *apiError {
	var e *apiError
	if errors.As(err, &e) {
		return e
	}
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &mb):
		return errTooLarge(mb.Limit)
	case errors.Is(err, engine.ErrContextFull):
		return &apiError{Status: http.StatusBadRequest, Msg: err.Error(), Hint: orHint(err, "shorten the prompt, or ask for fewer tokens"),
			Type: "invalid_request_error", Code: "context_length_exceeded", Param: "messages"}
	case errors.Is(err, ErrModelNotFound):
		return &apiError{Status: http.StatusNotFound, Msg: err.Error(), Hint: orHint(err, "`nook models` lists the installed models"),
			Type: "not_found_error", Code: "model_not_found", Param: "model"}
	case errors.Is(err, engine.ErrUnsupported):
		return &apiError{Status: http.StatusBadRequest, Msg: err.Error(), Hint: hint.Of(err), Type: "invalid_request_error", Code: "unsupported"}
	case errors.Is(err, engine.ErrBadModel):
		return &apiError{Status: http.StatusInternalServerError, Msg: err.Error(), Hint: hint.Of(err), Type: "api_error", Code: "bad_model"}
	case errors.Is(err, engine.ErrClosed), errors.Is(err, vault.ErrLocked):
		return errUnavailable(err)
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{Status: http.StatusGatewayTimeout, Msg: err.Error(), Type: "api_error", Code: "timeout"}
	}
	return &apiError{Status: http.StatusInternalServerError, Msg: err.Error(), Hint: hint.Of(err), Type: "api_error"}
}

func orHint(err error, h string) string {
	if x := hint.Of(err); x != "" {
		return x
	}
	return h
}
