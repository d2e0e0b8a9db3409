package sesame

import (
	"math/bits"
	"slices"
	"sync"
)

// Action is one action of the permission catalogue.
type Action struct {
	No       int    // number in PERMISSIONS.md (0 for SPR-only actions)
	Slug     string // stable, part of the public contract
	Category string // French
	Label    string // French, what users read
	marks    marks
}

// marks are an action's mode ceilings.
type marks struct{ vs, tch, adm, cons, sprOnly bool }

// ceil reads the four marks VS, TCH, ADM, CONS of PERMISSIONS.md written as
// "x" (allowed) or "-" (not allowed).
func ceil(s string) marks {
	return marks{vs: s[0] == 'x', tch: s[1] == 'x', adm: s[2] == 'x', cons: s[3] == 'x'}
}

// SPR-only actions: held by the SPR alone, on top of every admin action.
const (
	ActionSPRUsers    = "spr.utilisateurs"
	ActionSPRSecurity = "spr.securite"
	ActionSPRConnect  = "spr.connexions"
	ActionSPRRecover  = "spr.recuperer-utilisateurs"
	ActionSPRPrepare  = "spr.preparer-annee-suivante"
	ActionSPRJournal  = "spr.journal"
)

// ActionEditStaffProfiles is action 7, the one right that lets an admin
// user edit staff profiles' grants (not their automatic disconnection).
const ActionEditStaffProfiles = "ressources.modifier-profils-autorisations-personnels"

var sprActions = []Action{
	{0, ActionSPRUsers, "Superviseur", "Administration des utilisateurs (comptes administratifs, groupes)", marks{sprOnly: true}},
	{0, ActionSPRSecurity, "Superviseur", "Sécurité : déconnexion automatique, politique d'authentification", marks{sprOnly: true}},
	{0, ActionSPRConnect, "Superviseur", "Liste des utilisateurs connectés, déconnexion forcée", marks{sprOnly: true}},
	{0, ActionSPRRecover, "Superviseur", "Récupérer les utilisateurs", marks{sprOnly: true}},
	{0, ActionSPRPrepare, "Superviseur", "Préparer l'année suivante", marks{sprOnly: true}},
	{0, ActionSPRJournal, "Superviseur", "Journal des connexions et des changements", marks{sprOnly: true}},
}

// actions is the whole catalogue (the 97 actions, then the SPR-only ones);
// index is an action's position in it, and its bit in an ActionSet, built
// at the first decision rather than at start (a function's cold start
// answers many requests without one).
var (
	actions = slices.Concat(catalogue, sprActions) // one allocation, of its size
	index   = sync.OnceValue(func() map[string]int {
		m := make(map[string]int, len(actions))
		for i, a := range actions {
			m[a.Slug] = i
		}
		return m
	})
)

// Actions returns the whole catalogue in order: the 97 actions of the brief,
// then the SPR-only actions. The slice is a copy.
func Actions() []Action { return append([]Action(nil), actions...) }

// LookupAction returns the action with this slug.
func LookupAction(slug string) (Action, bool) {
	i, ok := index()[slug]
	if !ok {
		return Action{}, false
	}
	return actions[i], true
}

// SPROnly reports whether only the SPR may hold a.
func (a Action) SPROnly() bool { return a.marks.sprOnly }

// AllowedIn reports whether a is within the ceiling of mode m with access x.
// Spaces hold no catalogue action; SPR-only actions are in no mode's
// ceiling.
func (a Action) AllowedIn(m Mode, x Access) bool {
	switch m {
	case ModeAdmin:
		if x == Consult {
			return a.marks.cons
		}
		return a.marks.adm
	case ModeVieScolaire:
		return a.marks.vs
	case ModeTeacher:
		return a.marks.tch
	}
	return false
}

// ActionSet is a set of catalogue actions, one bit each.
type ActionSet [2]uint64

func (s ActionSet) has(i int) bool { return s[i/64]&(1<<(i%64)) != 0 }
func (s *ActionSet) add(i int)     { s[i/64] |= 1 << (i % 64) }

// Has reports whether a is in s.
func (s ActionSet) Has(a Action) bool {
	i, ok := index()[a.Slug]
	return ok && s.has(i)
}

// Len is the number of actions in s.
func (s ActionSet) Len() int { return bits.OnesCount64(s[0]) + bits.OnesCount64(s[1]) }

// Slugs lists the slugs of s in catalogue order.
func (s ActionSet) Slugs() []string {
	out := make([]string, 0, s.Len())
	for i, a := range actions {
		if s.has(i) {
			out = append(out, a.Slug)
		}
	}
	return out
}

// Intersect returns the actions in both s and t.
func (s ActionSet) Intersect(t ActionSet) ActionSet { return ActionSet{s[0] & t[0], s[1] & t[1]} }

// NewActionSet builds a set from slugs; unknown slugs are ignored (grants
// are validated when they are written).
func NewActionSet(slugs []string) ActionSet {
	var s ActionSet
	for _, g := range slugs {
		if i, ok := index()[g]; ok {
			s.add(i)
		}
	}
	return s
}

var ceilings = func() map[Mode][2]ActionSet {
	m := map[Mode][2]ActionSet{}
	for _, mode := range []Mode{ModeAdmin, ModeVieScolaire, ModeTeacher} {
		var mod, con ActionSet
		for i, a := range actions {
			if a.AllowedIn(mode, Modify) {
				mod.add(i)
			}
			if a.AllowedIn(mode, Consult) {
				con.add(i)
			}
		}
		m[mode] = [2]ActionSet{mod, con}
	}
	return m
}()

// Ceiling returns the actions mode m allows with access x, before any group
// or profile narrows them. Spaces have an empty ceiling.
func Ceiling(m Mode, x Access) ActionSet {
	c := ceilings[m]
	if x == Consult {
		if m != ModeAdmin {
			return ActionSet{}
		}
		return c[1]
	}
	return c[0]
}

var sprSet = func() ActionSet {
	var s ActionSet
	for i, a := range actions {
		if a.marks.sprOnly || a.marks.adm {
			s.add(i)
		}
	}
	return s
}()

// Reasons of a Decision; stable codes.
const (
	ReasonGranted       = "granted"        // within the ceiling and granted by the group or profile
	ReasonSupervisor    = "supervisor"     // the SPR holds it
	ReasonUnknownAction = "unknown_action" // no such action
	ReasonSPROnly       = "spr_only"       // only the SPR holds it
	ReasonNotInMode     = "not_in_mode"    // outside the ceiling of the mode
	ReasonReadOnly      = "read_only"      // outside the consultation ceiling
	ReasonNotGranted    = "not_granted"    // the group or profile does not grant it
	ReasonDisabled      = "account_disabled"
)

// Decision is the outcome of Decide.
type Decision struct {
	Action  string
	Allowed bool
	Reason  string // one of the Reason… codes
}

// Message is the decision's reason in French.
func (d Decision) Message() string {
	switch d.Reason {
	case ReasonGranted:
		return "Autorisé par votre groupe ou votre profil d'autorisation."
	case ReasonSupervisor:
		return "Autorisé : vous êtes le superviseur (SPR)."
	case ReasonUnknownAction:
		return "Cette action n'existe pas."
	case ReasonSPROnly:
		return "Seul le superviseur (SPR) peut faire cette action."
	case ReasonNotInMode:
		return "Cette action n'est pas possible dans ce mode."
	case ReasonReadOnly:
		return "Vous êtes en consultation : cette action demande la modification."
	case ReasonNotGranted:
		return "Votre groupe ou votre profil d'autorisation ne vous donne pas cette action."
	case ReasonDisabled:
		return "Votre compte est désactivé."
	}
	return "Refusé."
}

// Principal is a signed-in user in a mode, with the grants of the group or
// profile that applies there, ready for decisions.
type Principal struct {
	User   User
	Mode   Mode
	Access Access
	Grants ActionSet
}

// NewPrincipal prepares decisions for u in mode m with access x, where
// grants are those of the group or profile that applies to u in m (see
// IdleProfileFor, which names the same one).
func NewPrincipal(u User, m Mode, x Access, grants []string) Principal {
	if x == "" {
		x = Modify
	}
	return Principal{User: u, Mode: m, Access: x, Grants: NewActionSet(grants)}
}

// Can decides action slug for p. See Decide.
func (p Principal) Can(slug string) Decision { return Decide(p, slug) }

// Allowed returns the slugs p may do, in catalogue order.
func (p Principal) Allowed() []string {
	var s ActionSet
	for i, a := range actions {
		if Decide(p, a.Slug).Allowed {
			s.add(i)
		}
	}
	return s.Slugs()
}

// Decide is the one decision function of the product: may principal p do
// action slug? It denies by default:
//   - an unknown action, a disabled account: denied;
//   - the SPR, in admin mode: every admin action and the SPR-only ones;
//   - SPR-only actions: denied to everyone else;
//   - otherwise the action must be within the ceiling of p's mode and
//     access, and granted by p's group or profile.
func Decide(p Principal, slug string) Decision {
	i, ok := index()[slug]
	if !ok {
		return Decision{Action: slug, Reason: ReasonUnknownAction}
	}
	a := actions[i]
	d := Decision{Action: slug}
	switch {
	case !p.User.Enabled:
		d.Reason = ReasonDisabled
	case p.User.Supervisor && p.Mode == ModeAdmin:
		d.Allowed, d.Reason = sprSet.has(i), ReasonSupervisor
		if !d.Allowed {
			d.Reason = ReasonNotInMode
		}
	case a.marks.sprOnly:
		d.Reason = ReasonSPROnly
	case !a.AllowedIn(p.Mode, p.Access):
		d.Reason = ReasonNotInMode
		if p.Access == Consult && a.AllowedIn(p.Mode, Modify) {
			d.Reason = ReasonReadOnly
		}
	case !p.Grants.has(i):
		d.Reason = ReasonNotGranted
	default:
		d.Allowed, d.Reason = true, ReasonGranted
	}
	return d
}

// CheckAction refuses slug when the catalogue has no such action, with an
// unknown_action error about field.
func CheckAction(field, slug string) error {
	if _, ok := LookupAction(slug); !ok {
		return &Error{Code: CodeUnknownAction, Field: field, Message: "L'action « " + slug + " » n'existe pas."}
	}
	return nil
}
