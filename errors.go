package sesame

import (
	"errors"
	"fmt"
	"time"
)

// Stable error codes. They are part of the public contract: the HTTP API and
// the command line show them beside the French message.
const (
	CodeBadRequest         = "bad_request"
	CodeInvalid            = "invalid_value"
	CodeNotFound           = "not_found"
	CodeExists             = "already_exists"
	CodeConflict           = "conflict"
	CodeProtected          = "protected"
	CodeSeatsExhausted     = "seats_exhausted"
	CodeSeatLost           = "seat_lost"
	CodeSessionEnded       = "session_ended"
	CodeModeForbidden      = "mode_forbidden"
	CodeAccountDisabled    = "account_disabled"
	CodeInvalidCredentials = "invalid_credentials"
	CodeUnauthenticated    = "unauthenticated"
	CodeForbidden          = "forbidden"
	CodeUnknownAction      = "unknown_action"
	CodeUnlicensed         = "consultation_unlicensed"
	CodeInternal           = "internal"
)

// Error is the domain's error: a stable machine-readable Code and a French
// Message that a user can read. Field names the offending input, when there
// is one.
//
// Two Errors match with errors.Is when their codes are equal, so
// errors.Is(err, ErrNotFound) holds for every "not found", whatever its message.
type Error struct {
	Code    string
	Message string
	Field   string
	Err     error // the underlying cause, if any; never shown to users
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	var t *Error
	if errors.As(target, &t) {
		return t.Code == e.Code
	}
	return false
}

// Errorf returns an *Error with code and a French message made with
// fmt.Sprintf.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Sentinels for errors.Is. Their messages are generic; the errors actually
// returned carry a precise French message.
var (
	ErrNotFound        = &Error{Code: CodeNotFound, Message: "Élément introuvable."}
	ErrExists          = &Error{Code: CodeExists, Message: "Cet élément existe déjà."}
	ErrConflict        = &Error{Code: CodeConflict, Message: "L'élément a été modifié entre-temps ; rechargez-le puis recommencez."}
	ErrSeatsExhausted  = &Error{Code: CodeSeatsExhausted, Message: "Toutes les connexions simultanées sont occupées."}
	ErrSeatLost        = &Error{Code: CodeSeatLost, Message: "Votre connexion a été attribuée à un autre utilisateur."}
	ErrSessionEnded    = &Error{Code: CodeSessionEnded, Message: "Cette session est terminée."}
	ErrModeForbidden   = &Error{Code: CodeModeForbidden, Message: "Vous ne pouvez pas utiliser ce mode."}
	ErrInvalid         = &Error{Code: CodeInvalid, Message: "Valeur incorrecte."}
	ErrProtected       = &Error{Code: CodeProtected, Message: "Cet élément est protégé."}
	ErrAccountDisabled = &Error{Code: CodeAccountDisabled, Message: "Ce compte est désactivé. Adressez-vous au superviseur (SPR) de l'établissement."}
)

// NotFound returns an ErrNotFound error naming what is missing, in French
// ("L'utilisateur « dupont » est introuvable.").
func NotFound(what string) *Error {
	return &Error{Code: CodeNotFound, Message: what + " est introuvable."}
}

// Exists returns an ErrExists error naming what already exists.
func Exists(what string) *Error {
	return &Error{Code: CodeExists, Message: what + " existe déjà."}
}

// Conflict returns an ErrConflict error naming what changed meanwhile.
func Conflict(what string) *Error {
	return &Error{Code: CodeConflict, Message: what + " a été modifié entre-temps ; rechargez puis recommencez."}
}

// Invalid returns an ErrInvalid error about field, with a French message.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// SeatsExhaustedError says that a pool has no free seat. It matches
// ErrSeatsExhausted with errors.Is.
type SeatsExhaustedError struct {
	Pool  Pool
	Limit Limit
	// RetryAfter is how long until the earliest live lease of the pool ends
	// if it is not renewed; at least one second.
	RetryAfter time.Duration
}

func (e *SeatsExhaustedError) Error() string {
	return fmt.Sprintf("%s: %s", CodeSeatsExhausted, e.Message())
}

// Message is the French text shown to the user.
func (e *SeatsExhaustedError) Message() string {
	if e.Limit == Closed {
		return fmt.Sprintf("Aucune connexion n'est ouverte en %s : la licence ne le prévoit pas.", e.Pool.Label())
	}
	wait := e.RetryAfter
	if wait > 90*time.Second {
		wait = (wait + time.Minute - 1).Truncate(time.Minute) // "3 minutes", not "2 minutes 59 secondes"
	}
	return fmt.Sprintf("Les %d connexions simultanées en %s sont toutes occupées. Réessayez dans %s.",
		int(e.Limit), e.Pool.Label(), FrenchDuration(wait))
}

// Is makes errors.Is(err, ErrSeatsExhausted) hold.
func (e *SeatsExhaustedError) Is(target error) bool { return target == ErrSeatsExhausted }

// ErrorCode returns the stable code of err: the code of the *Error or
// *SeatsExhaustedError it wraps, or CodeInternal.
func ErrorCode(err error) string {
	var se *SeatsExhaustedError
	if errors.As(err, &se) {
		return CodeSeatsExhausted
	}
	var ie *ImportError
	if errors.As(err, &ie) {
		return CodeInvalidImport
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the French message of err, or a generic French
// message for errors that are not the domain's (their text may hold
// technical details and is never shown to users).
func ErrorMessage(err error) string {
	var se *SeatsExhaustedError
	if errors.As(err, &se) {
		return se.Message()
	}
	var ie *ImportError
	if errors.As(err, &ie) {
		return "Le fichier est refusé (" + ie.Reason + ") : " + ie.Where() + ie.Message + " Rien n'a été appliqué."
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Une erreur interne est survenue. Réessayez ; si elle persiste, prévenez l'administrateur."
}

// FrenchDuration writes d in French, rounded to the second: "45 secondes",
// "3 minutes", "1 heure 30 minutes".
func FrenchDuration(d time.Duration) string {
	s := int64((d + time.Second/2) / time.Second)
	if s < 0 {
		s = 0
	}
	h, m, sec := s/3600, (s%3600)/60, s%60
	unit := func(n int64, one, many string) string {
		if n <= 1 {
			return fmt.Sprintf("%d %s", n, one)
		}
		return fmt.Sprintf("%d %s", n, many)
	}
	var out string
	add := func(part string) {
		if out != "" {
			out += " "
		}
		out += part
	}
	if h > 0 {
		add(unit(h, "heure", "heures"))
	}
	if m > 0 {
		add(unit(m, "minute", "minutes"))
	}
	if sec > 0 || out == "" {
		add(unit(sec, "seconde", "secondes"))
	}
	return out
}
