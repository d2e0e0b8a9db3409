package httpapi

import "net/http"

// A Function is one Lambda function of the hosted deployment: its name
// (Route.Function) and the handlers of its routes. NewFunction registers
// its handlers alone, so that the function's binary links only its
// routes' code: no rentrée reader outside recover, no sign-in outside
// login, the OpenAPI document in authorize only. New registers every
// function's (the single server).
type Function struct {
	Name     string
	handlers func(*api) map[string]http.HandlerFunc
	// federation is the login function's protocol layer (With).
	federation Federation
}

// The five functions of the hosted deployment (functions/<Name>).
var (
	Login     = Function{Name: "login", handlers: (*api).loginHandlers}
	Seats     = Function{Name: "seats", handlers: (*api).seatsHandlers}
	Authorize = Function{Name: "authorize", handlers: (*api).authorizeHandlers}
	Recover   = Function{Name: "recover", handlers: (*api).recoverHandlers}
	Admin     = Function{Name: "admin", handlers: (*api).adminHandlers}
)

// Functions returns the five functions. Only New and tests call it: a
// function's main names its own, so that the others are not linked.
func Functions() []Function { return []Function{Login, Seats, Authorize, Recover, Admin} }

func (a *api) loginHandlers() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"POST /login":            a.login,
		"GET /login/providers":   a.signInProviders,
		"GET " + SSOStartPath:    a.ssoStart,
		"GET " + SSOCallbackPath: a.ssoCallback,
		"POST " + SSOACSPath:     a.ssoCallback,
		"GET " + SSOLogoutPath:   a.ssoLogout,
	}
}

func (a *api) seatsHandlers() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"GET /session":             a.session,
		"POST /heartbeat":          a.heartbeat,
		"POST /logout":             a.logout,
		"GET /connections":         a.connections,
		"DELETE /connections/{id}": a.disconnect,
	}
}

func (a *api) authorizeHandlers() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"GET /authorize":    a.authorize,
		"GET /permissions":  a.permissions,
		"GET /openapi.json": a.openapi,
	}
}

func (a *api) recoverHandlers() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"POST /uploads":               a.uploads,
		"PUT /uploads/{id}":           a.putUpload,
		"POST /recoveries":            a.recoveries,
		"POST /recoveries/{id}/apply": a.applyRecovery,
		"GET /next-year":              a.nextYear,
	}
}

func (a *api) adminHandlers() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"GET /users":                   a.listUsers,
		"POST /users":                  a.createUser,
		"GET /users/{login}":           a.getUser,
		"PATCH /users/{login}":         a.updateUser,
		"POST /users/{login}/password": a.resetPassword,
		"GET /groups":                  a.listProfiles,
		"POST /groups":                 a.createProfile,
		"GET /groups/{id}":             a.getProfile,
		"PATCH /groups/{id}":           a.updateProfile,
		"DELETE /groups/{id}":          a.deleteProfile,
		"GET /profiles":                a.listProfiles,
		"POST /profiles":               a.createProfile,
		"GET /profiles/{id}":           a.getProfile,
		"PATCH /profiles/{id}":         a.updateProfile,
		"DELETE /profiles/{id}":        a.deleteProfile,
		"GET /spaces":                  a.listProfiles,
		"GET /spaces/{id}":             a.getProfile,
		"PATCH /spaces/{id}":           a.updateProfile,
		"GET /journal":                 a.journal,
		"GET /journal.csv":             a.journalCSV,
		"GET /usage":                   a.usage,
		"GET /providers":               a.listProviders,
		"POST /providers":              a.createProvider,
		"GET /providers/{id}":          a.getProvider,
		"PUT /providers/{id}":          a.updateProvider,
		"DELETE /providers/{id}":       a.deleteProvider,
	}
}
