package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/sesame-ecole/sesame"
)

// apiError is the JSON error body: {"error": {"code", "message", …details}}.
type apiError struct {
	status  int
	code    string
	message string
	details map[string]any
	header  http.Header
}

// Codes of the HTTP layer itself.
const (
	codeCrossSite   = "cross_site"
	codeMediaType   = "unsupported_media_type"
	codeDirect      = "direct_access"
	codeMisdirected = "misdirected_request"
	codeNotFound    = "not_found"
	codeMethod      = "method_not_allowed"
	codeBadRequest  = sesame.CodeBadRequest
	codeInternalErr = sesame.CodeInternal
)

// statusOf is the one mapping from the domain's error codes to HTTP
// statuses; a code missing here is answered as an internal error.
var statusOf = map[string]int{
	sesame.CodeBadRequest:         http.StatusBadRequest,
	sesame.CodeInvalid:            http.StatusBadRequest,
	sesame.CodeUnknownAction:      http.StatusBadRequest,
	sesame.CodeNotFound:           http.StatusNotFound,
	sesame.CodeExists:             http.StatusConflict,
	sesame.CodeConflict:           http.StatusConflict,
	sesame.CodeProtected:          http.StatusConflict,
	sesame.CodeInUse:              http.StatusConflict,
	sesame.CodeSeatsExhausted:     http.StatusConflict,
	sesame.CodePlanStale:          http.StatusConflict,
	sesame.CodeSessionEnded:       http.StatusUnauthorized,
	sesame.CodeSeatLost:           http.StatusUnauthorized,
	sesame.CodeUnauthenticated:    http.StatusUnauthorized,
	sesame.CodeInvalidCredentials: http.StatusUnauthorized,
	sesame.CodeModeForbidden:      http.StatusForbidden,
	sesame.CodeAccountDisabled:    http.StatusForbidden,
	sesame.CodeUnlicensed:         http.StatusForbidden,
	sesame.CodeForbidden:          http.StatusForbidden,
	sesame.CodeTooManyAttempts:    http.StatusTooManyRequests,
	sesame.CodeBusy:               http.StatusServiceUnavailable,
	sesame.CodeUnavailable:        http.StatusServiceUnavailable,
	sesame.CodeInvalidImport:      http.StatusUnprocessableEntity,
	sesame.CodeExportTooLarge:     http.StatusRequestEntityTooLarge,
	sesame.CodeCanceled:           statusClientClosed,
	sesame.CodeNotConfigured:      http.StatusNotImplemented,
	sesame.CodeInternal:           http.StatusInternalServerError,

	// Sign-in through an identity provider.
	sesame.CodeIdentityUnknown:       http.StatusForbidden,
	sesame.CodeProviderForbidden:     http.StatusForbidden,
	sesame.CodeAssertionReplayed:     http.StatusUnauthorized,
	sesame.CodeProviderUnavailable:   http.StatusServiceUnavailable,
	sesame.CodeResponseRefused:       http.StatusBadRequest,
	sesame.CodeCancelled:             http.StatusBadRequest,
	sesame.CodeProviderMisconfigured: http.StatusBadGateway,
	sesame.CodeProviderLogoutRefused: http.StatusBadRequest,
}

// statusClientClosed answers a request whose client went away (nobody
// reads it; the log tells it from a failure).
const statusClientClosed = 499

// StatusOf returns the HTTP status of a domain error code.
func StatusOf(code string) int {
	if st, ok := statusOf[code]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// toAPIError translates any error of the service into its HTTP answer:
// the domain's Problem, its status from statusOf, and Retry-After when the
// problem says to wait.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	p := sesame.Describe(err)
	status := StatusOf(p.Code)
	if status == http.StatusInternalServerError {
		p = sesame.Problem{Code: codeInternalErr, Message: sesame.ErrorMessage(errors.New(""))}
	}
	if tl, _ := p.Details["tooLarge"].(bool); tl {
		status = http.StatusRequestEntityTooLarge
	}
	out := &apiError{status: status, code: p.Code, message: p.Message, details: p.Details}
	if p.RetryAfter > 0 {
		out.header = http.Header{"Retry-After": {strconv.Itoa(int(p.RetryAfter / time.Second))}}
	}
	return out
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func badRequest(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: codeBadRequest, message: msg}
}

// writeError answers err and records its code for the log.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae := toAPIError(err)
	if info := infoOf(r); info != nil {
		info.code = ae.code
		if ae.code == codeInternalErr || ae.code == sesame.CodeUnavailable {
			info.err = err // the cause, for the log: never in the answer
		}
	}
	for k, v := range ae.header {
		w.Header()[k] = v
	}
	writeJSON(w, ae.status, ae.body())
}

// body is the JSON body of the answer: {"error": {code, message, details…}}.
func (e *apiError) body() map[string]any {
	body := map[string]any{"code": e.code, "message": e.message}
	for k, v := range e.details {
		body[k] = v
	}
	return map[string]any{"error": body}
}

// ErrorAnswer is what the API answers err with, for an answer made outside
// its handlers (a function that cannot reach its table yet): the status,
// the headers (those of every JSON answer, and Retry-After when the error
// says to wait) and the JSON body.
func ErrorAnswer(err error) (status int, header http.Header, body []byte) {
	ae := toAPIError(err)
	header = ae.header.Clone()
	if header == nil {
		header = http.Header{}
	}
	setJSONHeaders(header)
	b, _ := json.Marshal(ae.body())
	return ae.status, header, b
}

// setJSONHeaders sets the headers of every JSON answer of the API.
func setJSONHeaders(h http.Header) {
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	setJSONHeaders(w.Header())
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Debug("write response", "err", err)
	}
}
