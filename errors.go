package sesame

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Stable error codes, every one of the domain. They are part of the public
// contract: the HTTP API and the command line show them beside the French
// message, and the HTTP layer maps each to a status (infra/httpapi).
const (
	CodeBadRequest         = "bad_request"
	CodeInvalid            = "invalid_value"
	CodeNotFound           = "not_found"
	CodeExists             = "already_exists"
	CodeConflict           = "conflict"
	CodeProtected          = "protected"
	CodeInUse              = "in_use" // a group or profile that still has members
	CodeSeatsExhausted     = "seats_exhausted"
	CodeSeatLost           = "seat_lost"
	CodeSessionEnded       = "session_ended"
	CodeModeForbidden      = "mode_forbidden"
	CodeAccountDisabled    = "account_disabled"
	CodeInvalidCredentials = "invalid_credentials"
	CodeTooManyAttempts    = "too_many_attempts"
	CodeBusy               = "busy" // sign-in is saturated: try again shortly
	CodeUnauthenticated    = "unauthenticated"
	CodeForbidden          = "forbidden"
	CodeUnavailable        = "unavailable" // the table cannot be reached (yet): try again shortly
	CodeUnknownAction      = "unknown_action"
	CodeUnlicensed         = "consultation_unlicensed"
	CodePlanStale          = "plan_stale"       // a dry run's base changed since
	CodeInvalidImport      = "invalid_import"   // a rentrée file refused whole; its Reason says why
	CodeExportTooLarge     = "export_too_large" // an export over MaxJournalExport entries
	CodeCanceled           = "canceled"         // the caller went away before the answer
	CodeNotConfigured      = "not_configured"   // a feature this server was not set up for
	CodeInternal           = "internal"

	// Sign-in through an identity provider (the school's ENT, EduConnect).
	CodeIdentityUnknown     = "identity_unknown"     // the provider's identity is linked to no account of the base
	CodeProviderForbidden   = "provider_forbidden"   // the account's kind may not use this provider
	CodeProviderUnavailable = "provider_unavailable" // the provider did not answer, or answered nonsense
	CodeAssertionReplayed   = "assertion_replayed"   // a SAML assertion or CAS ticket already used
	// Refusals of the protocol layer, which only a provider's answer
	// brings (infra/sso's kinds).
	CodeResponseRefused       = "response_refused"        // the answer failed a check, or came too late or elsewhere
	CodeCancelled             = "cancelled"               // the person cancelled at the provider
	CodeProviderMisconfigured = "provider_misconfigured"  // the provider's settings cannot work
	CodeProviderLogoutRefused = "provider_logout_refused" // the provider's logout answer failed a check
)

// Problem is what a domain error says of itself: a stable Code, a French
// Message a user can read, and Details for machines (the pool that is
// full, the reason a session ended…). RetryAfter, when positive, is how
// long the caller should wait before trying again.
type Problem struct {
	Code       string
	Message    string
	Details    map[string]any
	RetryAfter time.Duration
}

// Described is implemented by every error type of the domain. ErrorCode,
// ErrorMessage and the HTTP layer read errors through it, and nothing else.
type Described interface {
	error
	Problem() Problem
}

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

// Problem describes e; Field, when set, is its one detail.
func (e *Error) Problem() Problem {
	p := Problem{Code: e.Code, Message: e.Message}
	if e.Field != "" {
		p.Details = map[string]any{"field": e.Field}
	}
	return p
}

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

// Problem describes e: the pool, its limit (nil: unlimited) and how long
// to wait. The message says how the school gets more seats.
func (e *SeatsExhaustedError) Problem() Problem {
	var limit any = int(e.Limit)
	if e.Limit == Unlimited {
		limit = nil
	}
	return waitProblem(CodeSeatsExhausted, e.RetryAfter, func(time.Duration) string { return e.Message() + " " + MoreSeats },
		map[string]any{"pool": e.Pool, "label": e.Pool.Label(), "limit": limit})
}

// MoreSeats says, in French, how a school gets more simultaneous
// connections: the brief's "customer space" is the licence, which only the
// operator of Sésame changes (sesame license set on the single server).
const MoreSeats = "Pour disposer de davantage de connexions simultanées, le superviseur (SPR) fait étendre la licence de l'établissement par l'administrateur de Sésame."

// ErrorCode returns the stable code of err: its Problem's when it wraps a
// domain error, CodeCanceled when its caller went away, or CodeInternal.
func ErrorCode(err error) string { return Describe(err).Code }

// ErrorMessage returns the French message of err, or a generic French
// message for errors that are not the domain's (their text may hold
// technical details and is never shown to users).
func ErrorMessage(err error) string { return Describe(err).Message }

// internalMessage is what a user reads of an error that is not the domain's.
const internalMessage = "Une erreur interne est survenue. Réessayez ; si elle persiste, prévenez l'administrateur."

// Describe returns the Problem of the domain error err wraps. A request
// canceled by its caller is CodeCanceled; anything else is CodeInternal
// with a generic message.
func Describe(err error) Problem {
	var d Described
	switch {
	case errors.As(err, &d):
		return d.Problem()
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return Problem{Code: CodeCanceled, Message: "La demande a été abandonnée avant sa réponse."}
	}
	return Problem{Code: CodeInternal, Message: internalMessage}
}

// secondsUp is d in whole seconds, rounded up, at least 1.
func secondsUp(d time.Duration) int { return max(1, int((d+time.Second-1)/time.Second)) }

// waitProblem is the Problem of code that asks the caller to wait d,
// rounded up to whole seconds (at least one): its Retry-After, and its
// retryAfterSeconds detail beside details (which it may be given nil).
// message writes the French text, given the rounded wait.
func waitProblem(code string, d time.Duration, message func(wait time.Duration) string, details map[string]any) Problem {
	retry := secondsUp(d)
	wait := time.Duration(retry) * time.Second
	if details == nil {
		details = map[string]any{}
	}
	details["retryAfterSeconds"] = retry
	return Problem{Code: code, Message: message(wait), RetryAfter: wait, Details: details}
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

// ErrInvalidCredentials is the one answer to a wrong school, login or
// password: the same for all, so that nothing tells which was wrong.
var ErrInvalidCredentials = &Error{Code: CodeInvalidCredentials,
	Message: "Code établissement, identifiant ou mot de passe incorrect."}

// UnauthenticatedError says that a request has no open session, and why.
type UnauthenticatedError struct {
	Reason EndReason
	// IdleTimeout is the limit that ended the session, for ReasonIdleTimeout
	// when it is known.
	IdleTimeout time.Duration
}

func (e *UnauthenticatedError) Error() string { return CodeUnauthenticated + ": " + string(e.Reason) }

// Message is the French text for the reason.
func (e *UnauthenticatedError) Message() string {
	return e.Reason.Message()
}

// Is makes errors.Is(err, ErrUnauthenticated) hold.
func (e *UnauthenticatedError) Is(target error) bool { return target == ErrUnauthenticated }

// Problem describes e: the reason, and the idle limit that ended the
// session when it is known.
func (e *UnauthenticatedError) Problem() Problem {
	p := Problem{Code: CodeUnauthenticated, Message: e.Message(), Details: map[string]any{"reason": e.Reason}}
	if e.IdleTimeout > 0 {
		p.Details["idleTimeoutSeconds"] = int(e.IdleTimeout.Seconds())
	}
	return p
}

// ErrUnauthenticated matches every *UnauthenticatedError.
var ErrUnauthenticated = &Error{Code: CodeUnauthenticated, Message: "Vous n'êtes pas connecté."}

// ThrottledError says that sign-in attempts must wait.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string { return CodeTooManyAttempts }

// Message is the French text.
func (e *ThrottledError) Message() string {
	return "Trop de tentatives de connexion. Réessayez dans " + FrenchDuration(time.Duration(secondsUp(e.RetryAfter))*time.Second) + "."
}

// Problem describes e, with how long to wait.
func (e *ThrottledError) Problem() Problem {
	return waitProblem(CodeTooManyAttempts, e.RetryAfter, func(time.Duration) string { return e.Message() }, nil)
}

// BusyError says that sign-in is saturated (too many passwords being
// checked at once): nobody's fault and no failed attempt; try again
// after RetryAfter.
type BusyError struct{ RetryAfter time.Duration }

func (e *BusyError) Error() string { return CodeBusy }

// Problem describes e, with how long to wait.
func (e *BusyError) Problem() Problem {
	return waitProblem(CodeBusy, e.RetryAfter, func(wait time.Duration) string {
		return "Beaucoup de connexions arrivent en même temps dans l'établissement. Nouvel essai dans " + FrenchDuration(wait) + "."
	}, nil)
}

// UnavailableRetry is how long a caller is told to wait (Retry-After)
// when the store could not be reached.
const UnavailableRetry = 5 * time.Second

// UnavailableError says that the store could not be reached or could not
// answer (its server down or overloaded, its table not there yet): nobody's
// fault, nothing decided; try again after UnavailableRetry. Err is the
// cause, for the logs, never shown to users.
type UnavailableError struct{ Err error }

func (e *UnavailableError) Error() string {
	if e.Err == nil {
		return CodeUnavailable
	}
	return CodeUnavailable + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *UnavailableError) Unwrap() error { return e.Err }

// Problem describes e, with how long to wait.
func (e *UnavailableError) Problem() Problem {
	return waitProblem(CodeUnavailable, UnavailableRetry, func(wait time.Duration) string {
		return "Le service est momentanément indisponible. Réessayez dans " + FrenchDuration(wait) + "."
	}, nil)
}

// ForbiddenError says that the signed-in user may not do an action.
type ForbiddenError struct{ Decision Decision }

func (e *ForbiddenError) Error() string { return CodeForbidden + ": " + e.Decision.Action }

// Message is the French text.
func (e *ForbiddenError) Message() string { return e.Decision.Message() }

// Problem describes e: the action refused and why.
func (e *ForbiddenError) Problem() Problem {
	return Problem{Code: CodeForbidden, Message: e.Message(),
		Details: map[string]any{"action": e.Decision.Action, "reason": e.Decision.Reason}}
}

// ErrPlanStale: the base changed since the dry run; preview again.
var ErrPlanStale = &Error{Code: CodePlanStale, Message: "La base a changé depuis l'aperçu : relancez l'aperçu avant d'appliquer."}

// ImportError refuses a rentrée file as a whole: nothing is applied. Reason
// is a stable sub-code ("not_a_zip", "too_many_entries", "too_large",
// "compression_ratio", "unsafe_path", "symlink", "unknown_entry",
// "duplicate_entry",
// "missing_entry", "bad_manifest", "wrong_format", "wrong_version",
// "wrong_school", "wrong_year", "schema", "duplicate_login",
// "duplicate_name", "bad_hash", "too_many_users", "line_too_long",
// "truncated"); Entry, Line and Field say where, when known.
type ImportError struct {
	Reason  string
	Entry   string
	Line    int
	Field   string
	Message string // French
	// TooLarge marks a refusal for size (HTTP 413) rather than content (422).
	TooLarge bool
}

func (e *ImportError) Error() string {
	return CodeInvalidImport + ": " + e.Reason + ": " + e.Where() + e.Message
}

// Where writes the position of the error in French ("users.jsonl, ligne 12,
// champ « passwordHash » : "), or "".
func (e *ImportError) Where() string {
	s := ""
	if e.Entry != "" {
		s = e.Entry
	}
	if e.Line > 0 {
		if s != "" {
			s += ", "
		}
		s += "ligne " + strconv.Itoa(e.Line)
	}
	if e.Field != "" {
		if s != "" {
			s += ", "
		}
		s += "champ « " + e.Field + " »"
	}
	if s != "" {
		s += " : "
	}
	return s
}

// Is makes errors.Is(err, ErrInvalidImport) hold.
func (e *ImportError) Is(target error) bool { return target == ErrInvalidImport }

// Problem describes e: where in the file, and why (reason). A refusal for
// size says tooLarge (HTTP 413 rather than 422).
func (e *ImportError) Problem() Problem {
	d := map[string]any{"reason": e.Reason}
	if e.Entry != "" {
		d["entry"] = e.Entry
	}
	if e.Line > 0 {
		d["line"] = e.Line
	}
	if e.Field != "" {
		d["field"] = e.Field
	}
	if e.TooLarge {
		d["tooLarge"] = true
	}
	msg := "Fichier refusé : " + e.Message
	if w := e.Where(); w != "" {
		msg = "Fichier refusé (" + strings.TrimSuffix(w, " : ") + ") : " + e.Message
	}
	return Problem{Code: CodeInvalidImport, Message: msg, Details: d}
}

// ErrInvalidImport matches every *ImportError.
var ErrInvalidImport = &Error{Code: CodeInvalidImport, Message: "Le fichier est refusé ; rien n'a été appliqué."}

// WriteConflict says which writes of a WriteImport failed their
// condition: indexes into the writes, and Job when the job's did.
type WriteConflict struct {
	Failed []int
	Job    bool
}

func (e *WriteConflict) Error() string {
	return fmt.Sprintf("%s: %d write(s) failed their condition (job: %v)", CodeConflict, len(e.Failed), e.Job)
}

// Is makes errors.Is(err, ErrConflict) hold.
func (e *WriteConflict) Is(target error) bool { return target == ErrConflict }

// Problem describes e as the conflict it is.
func (e *WriteConflict) Problem() Problem { return ErrConflict.Problem() }

// ProviderUnavailableError says that an identity provider could not be
// reached or gave an answer that cannot be used (the protocol layer
// returns it; Err, never shown, says what happened).
type ProviderUnavailableError struct {
	Provider string // the provider's display name, for the message
	Err      error
}

func (e *ProviderUnavailableError) Error() string {
	if e.Err != nil {
		return CodeProviderUnavailable + ": " + e.Provider + ": " + e.Err.Error()
	}
	return CodeProviderUnavailable + ": " + e.Provider
}

// Unwrap returns the underlying cause.
func (e *ProviderUnavailableError) Unwrap() error { return e.Err }

// ProviderRetry is how long a page asks to wait after a provider failed.
const ProviderRetry = 30 * time.Second

// Problem describes e, with how long to wait before trying again.
func (e *ProviderUnavailableError) Problem() Problem {
	name := e.Provider
	if name == "" {
		name = "de l'établissement"
	} else {
		name = "« " + name + " »"
	}
	return waitProblem(CodeProviderUnavailable, ProviderRetry, func(time.Duration) string {
		return "Le service de connexion " + name + " ne répond pas. Réessayez dans quelques instants, ou connectez-vous avec votre identifiant et votre mot de passe Sésame."
	}, nil)
}

// Errors of the sign-in through an identity provider. Their messages are
// what the sign-in page shows.
var (
	ErrIdentityUnknown = &Error{Code: CodeIdentityUnknown,
		Message: "Votre compte de l'ENT n'est relié à aucun compte Sésame de l'établissement. Demandez au superviseur (SPR) de renseigner votre identifiant ENT."}
	ErrAssertionReplayed = &Error{Code: CodeAssertionReplayed,
		Message: "Cette réponse du service de connexion a déjà servi. Recommencez la connexion depuis la page d'accueil."}
)

// Refusal is a code the sign-in page may be sent back with, after a
// sign-in or a logout through a provider (?raison=<code>), and the French
// message the page shows for it. The page shows only these messages,
// never text from the address.
type Refusal struct {
	Code    string
	Message string
}

// SignInRefusals are the refusals a sign-in through a provider may end
// with, and the logout's: the domain's own errors with their messages,
// and, where the domain's message names what only the request knew (a
// pool, a provider, a kind), its general form.
var SignInRefusals = []Refusal{
	{CodeIdentityUnknown, ErrIdentityUnknown.Message},
	{CodeProviderForbidden, "Votre type de compte ne peut pas se connecter par ce service. Utilisez votre identifiant et votre mot de passe Sésame."},
	{CodeAssertionReplayed, ErrAssertionReplayed.Message},
	{CodeProviderUnavailable, (&ProviderUnavailableError{}).Problem().Message},
	{CodeResponseRefused, "La réponse du service de connexion a été refusée (connexion trop longue, ouverte dans un autre navigateur, ou réponse non valable). Recommencez la connexion."},
	{CodeCancelled, "La connexion a été annulée sur le service de connexion."},
	{CodeProviderMisconfigured, "Le service de connexion de l'établissement est mal réglé. Prévenez le superviseur (SPR)."},
	{CodeProviderLogoutRefused, "Votre session Sésame est bien fermée, mais la déconnexion du service de connexion (ENT) n'a pas été confirmée. Fermez le navigateur pour quitter aussi l'ENT."},
	{CodeSeatsExhausted, "Toutes les connexions de ce mode sont occupées. Réessayez plus tard, ou demandez au superviseur (SPR) d'en libérer une."},
	{CodeAccountDisabled, "Votre compte Sésame est désactivé. Adressez-vous au superviseur (SPR)."},
	{CodeModeForbidden, "Votre compte ne peut pas entrer dans ce mode. Choisissez un autre mode de connexion."},
	{CodeNotFound, "Ce service de connexion n'existe pas pour cet établissement."},
	{CodeUnavailable, "Le service est momentanément indisponible : la connexion n'a pas abouti. Réessayez dans quelques instants."},
}

// SignInRefusal returns the refusal code as an error with its message
// (SignInRefusals); a code not among them keeps the general message of a
// refused response, so that nothing goes without one.
func SignInRefusal(code string) *Error {
	for _, r := range SignInRefusals {
		if r.Code == code {
			return &Error{Code: code, Message: r.Message}
		}
	}
	return &Error{Code: code, Message: SignInRefusal(CodeResponseRefused).Message}
}
