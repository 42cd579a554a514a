package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"runner/engine"
	"runner/modelstore"
	"runner/pipeline"
)

// statusClientClosed is the status logged when the client went away before
// the answer (nginx's 499).
const statusClientClosed = 499

// apiError is an error that knows its HTTP status.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

// Errors the server itself raises.
var (
	errInternal        = &apiError{http.StatusInternalServerError, "internal server error"}
	errForbiddenHost   = &apiError{http.StatusForbidden, "forbidden: the request's Host does not name this machine (runner listens on loopback only; set RUNNER_HOST to serve other hosts)"}
	errForbiddenOrigin = &apiError{http.StatusForbidden, "forbidden: origin not allowed (add it to RUNNER_ORIGINS)"}
)

// badRequest makes a 400 error.
func badRequest(format string, args ...any) error {
	return &apiError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// notFound makes a 404 error.
func notFound(format string, args ...any) error {
	return &apiError{http.StatusNotFound, fmt.Sprintf(format, args...)}
}

// statusRule maps errors matching is to status.
type statusRule struct {
	is     func(error) bool
	status int
}

// statusRules is the one table from errors to HTTP status codes; the first
// rule that matches wins, and anything unmatched is a 500.
var statusRules = []statusRule{
	{func(err error) bool { var e *apiError; return errors.As(err, &e) }, 0}, // its own status
	{func(err error) bool { var e *http.MaxBytesError; return errors.As(err, &e) }, http.StatusRequestEntityTooLarge},
	{func(err error) bool { return errors.Is(err, engine.ErrQueueFull) }, http.StatusServiceUnavailable},
	{func(err error) bool { return errors.Is(err, engine.ErrSchedulerClosed) }, http.StatusServiceUnavailable},
	{func(err error) bool { return errors.Is(err, engine.ErrBatcherClosed) }, http.StatusServiceUnavailable},
	{func(err error) bool { return errors.Is(err, context.Canceled) }, statusClientClosed},
	{func(err error) bool { return errors.Is(err, context.DeadlineExceeded) }, http.StatusGatewayTimeout},
	{engine.IsBadInput, http.StatusBadRequest},
	{isAny(pipeline.ErrWrongTask, pipeline.ErrBadRequest, pipeline.ErrNoChatTemplate, modelstore.ErrInvalidReference, modelstore.ErrNoONNX), http.StatusBadRequest},
	{isAny(modelstore.ErrNotPulled, modelstore.ErrRepoNotFound, modelstore.ErrRevisionNotFound,
		modelstore.ErrVariantNotFound, modelstore.ErrEntryNotFound, modelstore.ErrOfflineNotCached), http.StatusNotFound},
	{isAny(modelstore.ErrBadToken), http.StatusUnauthorized},
	{isAny(modelstore.ErrGated, modelstore.ErrForbidden), http.StatusForbidden},
	{isAny(modelstore.ErrDiskFull), http.StatusInsufficientStorage},
	{isAny(modelstore.ErrHashMismatch, modelstore.ErrBadResponse, modelstore.ErrUnsafePath), http.StatusBadGateway},
}

// isAny matches errors that wrap one of targets.
func isAny(targets ...error) func(error) bool {
	return func(err error) bool {
		for _, t := range targets {
			if errors.Is(err, t) {
				return true
			}
		}
		return false
	}
}

// statusOf returns the HTTP status for err.
func statusOf(err error) int {
	for _, r := range statusRules {
		if r.is(err) {
			if r.status == 0 {
				var e *apiError
				errors.As(err, &e)
				return e.status
			}
			return r.status
		}
	}
	return http.StatusInternalServerError
}

// writeError answers with err in the error shape of the API the route
// belongs to: Ollama's {"error": "..."} or OpenAI's envelope under /v1/.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	msg := err.Error()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if strings.HasPrefix(r.URL.Path, "/v1/") {
		_ = json.NewEncoder(w).Encode(openAIError{Error: openAIErrorBody{Message: msg, Type: openAIErrorType(status)}})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

type openAIError struct {
	Error openAIErrorBody `json:"error"`
}

type openAIErrorBody struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func openAIErrorType(status int) string {
	switch {
	case status == http.StatusNotFound:
		return "not_found_error"
	case status == http.StatusServiceUnavailable, status == http.StatusTooManyRequests:
		return "rate_limit_error"
	case status < 500:
		return "invalid_request_error"
	}
	return "api_error"
}
