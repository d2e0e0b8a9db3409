package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

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
// statuses.
var statusOf = map[string]int{
	sesame.CodeBadRequest:         http.StatusBadRequest,
	sesame.CodeInvalid:            http.StatusBadRequest,
	sesame.CodeUnknownAction:      http.StatusBadRequest,
	sesame.CodeNotFound:           http.StatusNotFound,
	sesame.CodeExists:             http.StatusConflict,
	sesame.CodeConflict:           http.StatusConflict,
	sesame.CodeProtected:          http.StatusConflict,
	sesame.CodeSeatsExhausted:     http.StatusConflict,
	sesame.CodeSessionEnded:       http.StatusUnauthorized,
	sesame.CodeSeatLost:           http.StatusUnauthorized,
	sesame.CodeUnauthenticated:    http.StatusUnauthorized,
	sesame.CodeInvalidCredentials: http.StatusUnauthorized,
	sesame.CodeModeForbidden:      http.StatusForbidden,
	sesame.CodeAccountDisabled:    http.StatusForbidden,
	sesame.CodeUnlicensed:         http.StatusForbidden,
	sesame.CodeForbidden:          http.StatusForbidden,
	sesame.CodeTooManyAttempts:    http.StatusTooManyRequests,
	sesame.CodePlanStale:          http.StatusConflict,
	sesame.CodeInUse:              http.StatusConflict,
	sesame.CodeExportTooLarge:     http.StatusRequestEntityTooLarge,
}

// toAPIError translates any error of the service into its HTTP answer.
func toAPIError(err error) *apiError {
	var (
		ae     *apiError
		seats  *sesame.SeatsExhaustedError
		unauth *sesame.UnauthenticatedError
		thr    *sesame.ThrottledError
		forb   *sesame.ForbiddenError
		imp    *sesame.ImportError
		de     *sesame.Error
	)
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &seats):
		var limit any = int(seats.Limit)
		if seats.Limit == sesame.Unlimited {
			limit = nil
		}
		retry := int(seats.RetryAfter.Seconds() + 0.5)
		return &apiError{status: http.StatusConflict, code: sesame.CodeSeatsExhausted, message: seats.Message(),
			details: map[string]any{"pool": seats.Pool, "label": seats.Pool.Label(), "limit": limit, "retryAfterSeconds": retry},
			header:  http.Header{"Retry-After": {strconv.Itoa(retry)}}}
	case errors.As(err, &unauth):
		ae := &apiError{status: http.StatusUnauthorized, code: sesame.CodeUnauthenticated, message: unauth.Message(),
			details: map[string]any{"reason": unauth.Reason}}
		if unauth.IdleTimeout > 0 {
			ae.details["idleTimeoutSeconds"] = int(unauth.IdleTimeout.Seconds())
		}
		return ae
	case errors.As(err, &thr):
		retry := int(thr.RetryAfter.Seconds() + 0.999)
		return &apiError{status: http.StatusTooManyRequests, code: sesame.CodeTooManyAttempts, message: thr.Message(),
			details: map[string]any{"retryAfterSeconds": retry},
			header:  http.Header{"Retry-After": {strconv.Itoa(retry)}}}
	case errors.As(err, &imp):
		status := http.StatusUnprocessableEntity
		if imp.TooLarge {
			status = http.StatusRequestEntityTooLarge
		}
		d := map[string]any{"reason": imp.Reason}
		if imp.Entry != "" {
			d["entry"] = imp.Entry
		}
		if imp.Line > 0 {
			d["line"] = imp.Line
		}
		if imp.Field != "" {
			d["field"] = imp.Field
		}
		return &apiError{status: status, code: sesame.CodeInvalidImport, message: imp.Where() + imp.Message, details: d}
	case errors.As(err, &forb):
		return &apiError{status: http.StatusForbidden, code: sesame.CodeForbidden, message: forb.Message(),
			details: map[string]any{"action": forb.Decision.Action, "reason": forb.Decision.Reason}}
	case errors.As(err, &de):
		status, ok := statusOf[de.Code]
		if !ok {
			status = http.StatusInternalServerError
		}
		ae := &apiError{status: status, code: de.Code, message: de.Message}
		if de.Field != "" {
			ae.details = map[string]any{"field": de.Field}
		}
		if status == http.StatusInternalServerError {
			ae.code, ae.message = codeInternalErr, sesame.ErrorMessage(errors.New(""))
		}
		return ae
	}
	return &apiError{status: http.StatusInternalServerError, code: codeInternalErr, message: sesame.ErrorMessage(err)}
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
		if ae.status >= 500 {
			info.err = err
		}
	}
	for k, v := range ae.header {
		w.Header()[k] = v
	}
	body := map[string]any{"code": ae.code, "message": ae.message}
	for k, v := range ae.details {
		body[k] = v
	}
	writeJSON(w, ae.status, map[string]any{"error": body})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Debug("write response", "err", err)
	}
}
