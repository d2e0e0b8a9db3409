package sesame

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// RecoverOptions are the brief's two boxes, and whether to only preview.
type RecoverOptions struct {
	Add    bool `json:"add"`    // Ajouter des utilisateurs: the missing ones, and the groups and profiles they need
	Update bool `json:"update"` // Mettre à jour des utilisateurs: the existing ones, and their groups' and profiles' rights
	DryRun bool `json:"dryRun"` // show the plan without applying it
}

// ErrNoRecoverOption refuses a recovery with neither box ticked.
var ErrNoRecoverOption = &Error{Code: CodeBadRequest, Field: "options",
	Message: "Choisissez « Ajouter des utilisateurs » et/ou « Mettre à jour des utilisateurs »."}

// Validate checks that at least one of the two boxes is ticked.
func (o RecoverOptions) Validate() error {
	if !o.Add && !o.Update {
		return ErrNoRecoverOption
	}
	return nil
}

func (o RecoverOptions) code() string {
	s := ""
	if o.Add {
		s += "a"
	}
	if o.Update {
		s += "u"
	}
	return s
}

// ReportListMax is how many entries each list of a report shows; the
// counts are always whole.
const ReportListMax = 500

// RecoveryReport says what a recovery does (dry run) or did.
type RecoveryReport struct {
	ID             string          `json:"id"`
	DryRun         bool            `json:"dryRun"`
	AlreadyApplied bool            `json:"alreadyApplied"`
	Source         string          `json:"source"`
	FromYear       Year            `json:"fromYear"`
	Added          int             `json:"added"`
	Updated        int             `json:"updated"`
	Unchanged      int             `json:"unchanged"`
	Skipped        int             `json:"skipped"` // missing users when Ajouter is not chosen, and the like
	Rejected       []Rejection     `json:"rejected"`
	ToAdd          []string        `json:"toAdd"`
	ToUpdate       []UserChange    `json:"toUpdate"`
	Profiles       []ProfileChange `json:"profiles"`
	Truncated      bool            `json:"truncated"` // a list was cut at ReportListMax
}

// UserChange names an updated user and the fields that change.
type UserChange struct {
	Login  string   `json:"login"`
	Fields []string `json:"fields"`
}

// ProfileChange says what becomes of a group, profile or space setting.
type ProfileChange struct {
	Name   string   `json:"name"`
	Mode   Mode     `json:"mode"`
	Action string   `json:"action"` // add, update, unchanged, protected, skipped, rejected
	Fields []string `json:"fields,omitempty"`
	// Code and Message say why a rejected one is (the edit rules' error),
	// or what to do for a skipped one.
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// Rejection is an entry of the source that recovery leaves aside.
type Rejection struct {
	Entry   string `json:"entry"`
	Line    int    `json:"line"`
	Login   string `json:"login"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Rejection codes.
const (
	RejectProtected    = "protected"
	RejectUnknownGroup = "unknown_group"
	RejectKindMismatch = "kind_mismatch"
	RejectInvalid      = "invalid"
	RejectConflict     = "conflict"
	// RejectENTIDTaken: the line's identifiant ENT is already another
	// account's, in the base or on an earlier line: a person links to one
	// account, and sign-in through the ENT links nobody when two share it.
	RejectENTIDTaken = "entid_taken"
)

// planState is what recovery keeps in a job beside its report.
type planState struct {
	Fingerprint string         `json:"fingerprint"`
	Options     RecoverOptions `json:"options"`
	SourceRef   string         `json:"sourceRef"`
}

// recovery is one run of the merge engine over a source and a base.
type recovery struct {
	s    *Service
	k    BaseKey
	src  RentreeSource
	opts RecoverOptions
	now  time.Time

	target  map[string]Profile // by profileKey, the base's
	planned map[string]Profile // by profileKey, after the plan (IDs of profiles to add)
	refused map[string]string  // by profileKey, why the plan rejects a group or profile
	before  map[string]Profile // by ID, the profiles the writes change, as they were
	writes  []ImportWrite      // profile writes
	all     []Profile          // the planned groups and profiles, for the user edit rules

	entIDs  map[string]string // identifiant ENT → login of the line of this run that links it
	legacy  int               // the highest bcrypt cost the plan writes (0: none)
	report  RecoveryReport
	content []byte // the digest of the source's content
	finger  []byte // the digest of the base's state the plan read
}

func profileKey(m Mode, name string) string {
	return string(m) + "\x00" + strings.ToLower(strings.TrimSpace(name))
}

// Recover runs "Récupérer les utilisateurs" from src into base k.
// ref says where src can be found again to apply a dry run later. The run is idempotent: the same content
// with the same options, once applied, changes nothing again (the first
// report comes back, with AlreadyApplied).
func (s *Service) Recover(ctx context.Context, k BaseKey, src RentreeSource, ref SourceRef, opts RecoverOptions) (RecoveryReport, error) {
	r, err := s.plan(ctx, k, src, opts)
	if err != nil {
		return RecoveryReport{}, err
	}
	id := "rec-" + hex.EncodeToString(r.content)[:24] + "-" + opts.code()
	r.report.ID = id
	job, err := s.Store.GetImport(ctx, k, id)
	switch {
	case errors.Is(err, ErrNotFound):
		job = ImportJob{ID: id, Source: r.report.Source, CreatedAt: r.now}
	case err != nil:
		return RecoveryReport{}, fmt.Errorf("recover: %w", err)
	case job.State == ImportDone:
		var done RecoveryReport
		if err := json.Unmarshal(job.Report, &done); err != nil {
			return RecoveryReport{}, fmt.Errorf("recover: stored report: %w", err)
		}
		done.AlreadyApplied, done.DryRun = true, opts.DryRun
		return done, nil
	}
	if opts.DryRun {
		state, _ := json.Marshal(planState{Fingerprint: hex.EncodeToString(r.finger), Options: opts, SourceRef: ref.String()})
		report, _ := json.Marshal(r.report)
		job.State, job.Plan, job.Report, job.UpdatedAt = ImportPlanned, state, report, r.now
		if job.Version == 0 {
			err = s.Store.CreateImport(ctx, k, job)
		} else {
			_, err = s.Store.UpdateImport(ctx, k, job)
		}
		if err != nil {
			return RecoveryReport{}, fmt.Errorf("recover: %w", err)
		}
		return r.report, nil
	}
	return r.apply(ctx, job)
}

// PlannedSource returns where the dry run id found its source, so that the
// caller can open it again for ApplyPlan.
func (s *Service) PlannedSource(ctx context.Context, k BaseKey, id string) (SourceRef, RecoverOptions, error) {
	job, err := s.Store.GetImport(ctx, k, id)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return SourceRef{}, RecoverOptions{}, NotFound("L'aperçu « " + id + " »")
		}
		return SourceRef{}, RecoverOptions{}, fmt.Errorf("planned source: %w", err)
	}
	var st planState
	if len(job.Plan) > 0 {
		if err := json.Unmarshal(job.Plan, &st); err != nil {
			return SourceRef{}, RecoverOptions{}, fmt.Errorf("planned source: %w", err)
		}
	}
	ref, err := ParseSourceRef(st.SourceRef)
	return ref, st.Options, err
}

// ApplyPlan applies the dry run id, reading src again: exactly that plan,
// or ErrPlanStale if the base changed since (nothing applied then).
func (s *Service) ApplyPlan(ctx context.Context, k BaseKey, id string, src RentreeSource) (RecoveryReport, error) {
	job, err := s.Store.GetImport(ctx, k, id)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return RecoveryReport{}, NotFound("L'aperçu « " + id + " »")
		}
		return RecoveryReport{}, fmt.Errorf("apply plan: %w", err)
	}
	if job.State == ImportDone {
		var done RecoveryReport
		if err := json.Unmarshal(job.Report, &done); err != nil {
			return RecoveryReport{}, fmt.Errorf("apply plan: %w", err)
		}
		done.AlreadyApplied = true
		return done, nil
	}
	var st planState
	if err := json.Unmarshal(job.Plan, &st); err != nil {
		return RecoveryReport{}, fmt.Errorf("apply plan: %w", err)
	}
	opts := st.Options
	opts.DryRun = false
	r, err := s.plan(ctx, k, src, opts)
	if err != nil {
		return RecoveryReport{}, err
	}
	if job.State == ImportPlanned && hex.EncodeToString(r.finger) != st.Fingerprint {
		return RecoveryReport{}, ErrPlanStale
	}
	if !strings.HasPrefix(id, "rec-"+hex.EncodeToString(r.content)[:24]) {
		return RecoveryReport{}, ErrPlanStale // the source changed under the same reference
	}
	r.report.ID = id
	return r.apply(ctx, job)
}

// plan reads src and the base and decides everything, writing nothing.
func (s *Service) plan(ctx context.Context, k BaseKey, src RentreeSource, opts RecoverOptions) (*recovery, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	base, err := s.Store.GetBase(ctx, k)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, NotFound("La base " + string(k.Year) + " de l'établissement " + string(k.UAI))
		}
		return nil, fmt.Errorf("recover: %w", err)
	}
	h := src.Header()
	if h.UAI != k.UAI {
		return nil, &ImportError{Reason: "wrong_school", Message: "Ce fichier est celui de l'établissement " + string(h.UAI) +
			", pas de " + string(k.UAI) + " : il est refusé."}
	}
	if h.Year.Start() >= k.Year.Start() {
		return nil, &ImportError{Reason: "wrong_year", Message: "Ce fichier vient de l'année " + string(h.Year) +
			" : on ne récupère dans la base " + string(k.Year) + " que les utilisateurs d'une année antérieure."}
	}
	r := &recovery{s: s, k: k, src: src, opts: opts, now: s.now(),
		target: map[string]Profile{}, planned: map[string]Profile{}, refused: map[string]string{}, before: map[string]Profile{},
		entIDs: map[string]string{}}
	r.report = RecoveryReport{DryRun: opts.DryRun, Source: h.Format, FromYear: h.Year,
		Rejected: []Rejection{}, ToAdd: []string{}, ToUpdate: []UserChange{}, Profiles: []ProfileChange{}}
	content, finger := sha256.New(), sha256.New()
	fmt.Fprintf(content, "%s|%d|%s|%s\n", h.Format, h.Version, h.UAI, h.Year)
	ps, err := s.Store.ListProfiles(ctx, k)
	if err != nil {
		return nil, fmt.Errorf("recover: %w", err)
	}
	for _, p := range ps {
		r.target[profileKey(p.Mode, p.Name)] = p
		if p.Mode.IsSpace() {
			r.target[profileKey(p.Mode, "")] = p
		}
		fmt.Fprintf(finger, "p|%s|%d\n", p.ID, p.Version)
	}
	for _, sp := range src.Profiles() {
		fmt.Fprintf(content, "p|%s|%s|%s|%v|%v|%d\n", sp.Mode, sp.Name, sp.Group, sortedCopy(sp.Grants), sp.AutoDisconnect.Enabled, sp.AutoDisconnect.After)
		r.planProfile(sp, base.License)
	}
	for k, p := range r.target {
		if _, ok := r.planned[k]; !ok {
			r.planned[k] = p
		}
	}
	r.all = r.plannedProfiles()
	err = src.Users(ctx, func(u RentreeUser) error {
		u.Entry, u.Line = "", 0 // where it stands is not content
		line, _ := json.Marshal(u)
		content.Write(line)
		cur, err := s.Store.GetUser(ctx, k, u.Login)
		var target *User
		switch {
		case err == nil:
			target = &cur
			fmt.Fprintf(finger, "u|%s|%d\n", cur.Key(), cur.Version)
		case errors.Is(err, ErrNotFound):
			fmt.Fprintf(finger, "u|%s|0\n", LoginKey(u.Login))
		default:
			return err
		}
		d, err := r.claimENTID(ctx, r.planUser(u, target), u)
		if err != nil {
			return err
		}
		if d.action == "add" || d.action == "update" {
			r.legacy = max(r.legacy, BcryptCost(d.user.PasswordHash))
		}
		r.count(d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("recover: %w", err)
	}
	r.content, r.finger = content.Sum(nil), finger.Sum(nil)
	return r, nil
}

// userDecision is what becomes of one user of the source.
type userDecision struct {
	action string // add, update, unchanged, skipped, rejected
	user   User   // the user to write (add, update)
	before *User  // the user as it was (update)
	fields []string
	reject Rejection
}

func (r *recovery) count(d userDecision) {
	rep := &r.report
	switch d.action {
	case "add":
		rep.Added++
		if len(rep.ToAdd) < ReportListMax {
			rep.ToAdd = append(rep.ToAdd, d.user.Login)
		} else {
			rep.Truncated = true
		}
	case "update":
		rep.Updated++
		if len(rep.ToUpdate) < ReportListMax {
			rep.ToUpdate = append(rep.ToUpdate, UserChange{Login: d.user.Login, Fields: d.fields})
		} else {
			rep.Truncated = true
		}
	case "unchanged":
		rep.Unchanged++
	case "skipped":
		rep.Skipped++
	case "rejected":
		if len(rep.Rejected) < ReportListMax {
			rep.Rejected = append(rep.Rejected, d.reject)
		} else {
			rep.Truncated = true
		}
	}
}

// recoveredID is the ID a profile added by recovery gets: derived from its
// mode and name, so that a retry writes the same one.
func recoveredID(m Mode, name string) string {
	h := sha256.Sum256([]byte(profileKey(m, name)))
	return "r-" + hex.EncodeToString(h[:6])
}

// planProfile decides what becomes of one group, profile or space setting,
// through the edit rules (CheckProfileEdit): a change the ordinary edit
// would refuse is rejected, with its code and reason. A missing one is
// created only with Ajouter; Mettre à jour changes the grants and the
// disconnection setting of an existing one, never the protected
// properties of the built-ins.
func (r *recovery) planProfile(sp Profile, lic License) {
	name := sp.Name
	if sp.Mode.IsSpace() {
		name = ""
	}
	key := profileKey(sp.Mode, name)
	change := ProfileChange{Name: sp.Name, Mode: sp.Mode}
	defer func() { r.report.Profiles = append(r.report.Profiles, change) }()
	reject := func(err error) {
		change.Action, change.Code, change.Message = "rejected", ErrorCode(err), ErrorMessage(err)
		change.Fields = []string{change.Message}
	}
	cur, exists := r.target[key]
	if sp.Mode == ModeAdmin && sp.Group == GroupAdmin {
		// The source's Administration group is the new base's own.
		cur, exists = r.findAdministration()
		key = profileKey(ModeAdmin, cur.Name)
	}
	if !exists {
		if !r.opts.Add {
			change.Action = "skipped"
			change.Message = "Cochez « Ajouter des utilisateurs » pour le créer."
			return
		}
		p := sp
		p.ID, p.UpdatedAt, p.Version = recoveredID(sp.Mode, sp.Name), r.now, 0
		if err := CheckProfileEdit(nil, p, lic, r.s.MinIdleSetting()); err != nil {
			reject(err)
			r.refused[key] = change.Message // its members are refused with it
			return
		}
		change.Action = "add"
		r.planned[key] = p
		r.writes = append(r.writes, ImportWrite{Profile: &p, Create: true})
		return
	}
	r.planned[key] = cur
	next := cur
	next.Grants, next.AutoDisconnect = sp.Grants, sp.AutoDisconnect
	if cur.Mode == ModeAdmin {
		next.Group = sp.Group
	}
	next = WithoutProtected(cur, next)
	fields := profileDiff(cur, next)
	switch {
	case len(fields) == 0 && cur.ID == AdministrationID:
		change.Action = RejectProtected // nothing of it may change but its disconnection setting
	case len(fields) == 0:
		change.Action = "unchanged"
	case !r.opts.Update:
		change.Action = "skipped"
	default:
		next.UpdatedAt = r.now
		if err := CheckProfileEdit(&cur, next, lic, r.s.MinIdleSetting()); err != nil {
			reject(err)
			return
		}
		change.Action, change.Fields = "update", fields
		r.before[next.ID] = cur
		r.writes = append(r.writes, ImportWrite{Profile: &next})
	}
}

func (r *recovery) findAdministration() (Profile, bool) {
	for _, p := range r.target {
		if p.ID == AdministrationID {
			return p, true
		}
	}
	return Profile{}, false
}

func profileDiff(cur, src Profile) []string {
	var f []string
	if !slices.Equal(sortedCopy(cur.Grants), sortedCopy(src.Grants)) {
		f = append(f, "grants")
	}
	if cur.AutoDisconnect != src.AutoDisconnect {
		f = append(f, "autoDisconnect")
	}
	if cur.Mode == ModeAdmin && cur.Group != src.Group {
		f = append(f, "type")
	}
	return f
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// plannedProfiles lists the groups and profiles the base has once the
// plan's are written.
func (r *recovery) plannedProfiles() []Profile {
	ps := make([]Profile, 0, len(r.planned))
	for _, p := range r.planned {
		ps = append(ps, p)
	}
	return ps
}

// planUser decides what becomes of one user of the source, given the
// base's user with the same login (nil when none), through the edit rules
// (CheckUserEdit): a change the ordinary edit would refuse is rejected.
func (r *recovery) planUser(u RentreeUser, target *User) userDecision {
	reject := func(code, msg string) userDecision {
		return userDecision{action: "rejected", reject: Rejection{Entry: u.Entry, Line: u.Line, Login: u.Login, Code: code, Message: msg}}
	}
	if u.Supervisor {
		return reject(RejectProtected, "Le superviseur (SPR) de l'année précédente n'est pas repris : la nouvelle base a le sien.")
	}
	if target != nil && target.Supervisor {
		return reject(RejectProtected, "Cet identifiant est celui du superviseur (SPR) de la nouvelle base : il n'est jamais remplacé.")
	}
	if target == nil && !r.opts.Add {
		return userDecision{action: "skipped"}
	}
	want := User{Login: u.Login, DisplayName: u.DisplayName, Kind: u.Kind, Enabled: u.Enabled, PasswordHash: u.PasswordHash, ENTID: u.ENTID}
	for _, ref := range []struct {
		name string
		mode Mode
		id   *string
		what string
	}{{u.AdminGroup, ModeAdmin, &want.AdminGroup, "Le groupe d'utilisateurs"}, {u.Profile, u.Kind.ProfileMode(), &want.Profile, "Le profil d'autorisation"}} {
		if ref.name == "" {
			continue
		}
		key := profileKey(ref.mode, ref.name)
		if why, ok := r.refused[key]; ok {
			return reject(RejectUnknownGroup, ref.what+" « "+ref.name+" » est refusé : "+why)
		}
		p, ok := r.planned[key]
		if !ok {
			return reject(RejectUnknownGroup, ref.what+" « "+ref.name+" » n'existe pas dans la nouvelle base (cochez « Ajouter des utilisateurs » pour le créer).")
		}
		*ref.id = p.ID
	}
	if target == nil {
		want = WithDefaultProfile(want)
		if err := CheckUserEdit(nil, want, r.all); err != nil {
			return reject(ruleCode(err), ErrorMessage(err))
		}
		want.CreatedAt, want.UpdatedAt = r.now, r.now
		return userDecision{action: "add", user: want}
	}
	if target.Kind != want.Kind {
		return reject(RejectKindMismatch, "Cet identifiant est un "+target.Kind.Label()+" dans la nouvelle base et un "+want.Kind.Label()+" dans le fichier : il n'est pas modifié.")
	}
	next := *target
	next.DisplayName, next.Enabled, next.PasswordHash = want.DisplayName, want.Enabled, want.PasswordHash
	next.AdminGroup, next.Profile = want.AdminGroup, want.Profile
	if want.Profile == "" {
		next.Profile = target.Profile // a profile is never dropped
	}
	if next.ENTID = want.ENTID; want.ENTID == "" {
		next.ENTID = target.ENTID // nor a link to the ENT
	}
	next = WithDefaultProfile(next)
	fields := userDiff(*target, next)
	switch {
	case len(fields) == 0:
		return userDecision{action: "unchanged"}
	case !r.opts.Update:
		return userDecision{action: "skipped"}
	}
	if err := CheckUserEdit(target, next, r.all); err != nil {
		return reject(ruleCode(err), ErrorMessage(err))
	}
	next.UpdatedAt = r.now
	return userDecision{action: "update", user: next, fields: fields, before: target}
}

// claimENTID rejects decision d when the identifiant ENT it writes is
// already another account's: in the base (the rule of the ordinary edit,
// checkENTIDFree), or on an earlier line of this run, which the base
// does not show yet. A link the account already has is not checked again.
func (r *recovery) claimENTID(ctx context.Context, d userDecision, u RentreeUser) (userDecision, error) {
	id := d.user.ENTID
	if (d.action != "add" && d.action != "update") || id == "" || (d.before != nil && d.before.ENTID == id) {
		return d, nil
	}
	reject := func(msg string) userDecision {
		return userDecision{action: "rejected", reject: Rejection{Entry: u.Entry, Line: u.Line, Login: u.Login, Code: RejectENTIDTaken, Message: msg}}
	}
	if first, ok := r.entIDs[id]; ok && LoginKey(first) != d.user.Key() {
		return reject(entIDTaken(id, first)), nil
	}
	if err := r.s.checkENTIDFree(ctx, r.k, d.user); err != nil {
		if ErrorCode(err) == CodeExists {
			return reject(ErrorMessage(err)), nil
		}
		return d, err
	}
	r.entIDs[id] = d.user.Login
	return d, nil
}

// ruleCode is the rejection code of an edit rule's refusal.
func ruleCode(err error) string {
	if c := ErrorCode(err); c == CodeProtected || c == CodeUnlicensed {
		return c
	}
	return RejectInvalid
}

// userDiff names the fields recovery changes from cur to next.
func userDiff(cur, next User) []string {
	var fields []string
	for _, f := range []struct {
		name    string
		changed bool
	}{
		{"displayName", cur.DisplayName != next.DisplayName},
		{"enabled", cur.Enabled != next.Enabled},
		{"password", cur.PasswordHash != next.PasswordHash},
		{"adminGroup", cur.AdminGroup != next.AdminGroup},
		{"profile", cur.Profile != next.Profile},
		{"entId", cur.ENTID != next.ENTID},
	} {
		if f.changed {
			fields = append(fields, f.name)
		}
	}
	return fields
}

// importBatch is how many users one step of an apply writes.
const importBatch = 50

// apply writes the plan in steps, each one atomic with the job's progress:
// the profiles first, then the users by batches. A run that stops (a crash,
// a timeout) leaves the job at its last step, and running the same
// recovery again goes on from there. A user changed by someone else since
// it was read is not overwritten: it is reported as rejected (conflict).
func (r *recovery) apply(ctx context.Context, job ImportJob) (RecoveryReport, error) {
	rep := RecoveryReport{ID: r.report.ID, Source: r.report.Source, FromYear: r.report.FromYear,
		Rejected: []Rejection{}, ToAdd: []string{}, ToUpdate: []UserChange{}, Profiles: r.report.Profiles}
	if job.State == ImportApplying && len(job.Report) > 0 {
		if err := json.Unmarshal(job.Report, &rep); err != nil {
			return RecoveryReport{}, fmt.Errorf("recover: stored report: %w", err)
		}
	}
	run := &recovery{s: r.s, k: r.k, src: r.src, opts: r.opts, now: r.now, planned: r.planned, refused: r.refused,
		before: r.before, all: r.all, report: rep, entIDs: map[string]string{}}
	job, err := r.begin(ctx, run, job)
	if err != nil {
		return RecoveryReport{}, err
	}
	skip := job.Step
	var (
		ws   []ImportWrite
		ds   []userDecision
		seen int
	)
	err = r.src.Users(ctx, func(u RentreeUser) error {
		seen++
		if seen <= skip {
			return nil // applied by an earlier run
		}
		cur, err := r.s.Store.GetUser(ctx, r.k, u.Login)
		var target *User
		switch {
		case err == nil:
			target = &cur
		case !errors.Is(err, ErrNotFound):
			return err
		}
		d, err := run.claimENTID(ctx, run.planUser(u, target), u)
		if err != nil {
			return err
		}
		if d.action == "add" || d.action == "update" {
			user := d.user
			ws = append(ws, ImportWrite{User: &user, Create: d.action == "add"})
			ds = append(ds, d)
		} else {
			run.count(d)
		}
		if len(ws) >= importBatch {
			if job, err = run.step(ctx, job, ws, ds, seen); err != nil {
				return err
			}
			ws, ds = nil, nil
		}
		return nil
	})
	if err != nil {
		return RecoveryReport{}, fmt.Errorf("recover: %w", err)
	}
	if len(ws) > 0 || seen > job.Step {
		if job, err = run.step(ctx, job, ws, ds, seen); err != nil {
			return RecoveryReport{}, err
		}
	}
	run.report.DryRun = false
	final, _ := json.Marshal(run.report)
	job.State, job.Report, job.UpdatedAt = ImportDone, final, r.s.now()
	if _, err := r.s.Store.UpdateImport(ctx, r.k, job); err != nil {
		return RecoveryReport{}, fmt.Errorf("recover: %w", err)
	}
	rep = run.report
	actor := actorOf(ctx)
	if actor == "" {
		actor = OperatorLogin
	}
	r.s.journal(ctx, r.k, JournalEntry{Event: EventRecovery, Actor: actor, Subject: rep.ID,
		Detail: fmt.Sprintf("Récupération depuis %s : %d ajouté(s), %d mis à jour, %d inchangé(s), %d rejeté(s).",
			rep.Source, rep.Added, rep.Updated, rep.Unchanged, len(rep.Rejected))})
	return rep, nil
}

// begin starts applying the plan, unless an earlier run did: it marks the
// base as holding bcrypt hashes before the first lands (sign-in then
// pads), and writes the groups and profiles as the first step.
func (r *recovery) begin(ctx context.Context, run *recovery, job ImportJob) (ImportJob, error) {
	if r.legacy > 0 {
		if err := r.s.Store.MarkLegacyHashes(ctx, r.k, r.legacy); err != nil {
			return job, fmt.Errorf("recover: %w", err)
		}
	}
	if job.State == ImportApplying {
		return job, nil
	}
	job.State, job.Step, job.UpdatedAt = ImportApplying, 0, r.now
	return run.step(ctx, job, r.writes, nil, 0)
}

// endSessions ends, once ws landed, the sessions that the same changes
// made by hand would end (SessionsToEnd, EndsModification).
func (r *recovery) endSessions(ctx context.Context, ws []ImportWrite, ds []userDecision) error {
	for _, d := range ds {
		if d.before == nil {
			continue
		}
		if end, m := SessionsToEnd(*d.before, d.user); end {
			if err := r.s.endSessionsOf(ctx, r.k, d.user.Login, m); err != nil {
				return fmt.Errorf("recover: %w", err)
			}
		}
		if err := r.s.unstampUser(ctx, r.k, *d.before, d.user); err != nil {
			return fmt.Errorf("recover: %w", err)
		}
	}
	for _, w := range ws {
		if w.Profile == nil {
			continue
		}
		before, ok := r.before[w.Profile.ID]
		if !ok {
			continue
		}
		if EndsModification(before, *w.Profile) {
			if err := r.s.endModificationOf(ctx, r.k, w.Profile.ID); err != nil {
				return fmt.Errorf("recover: %w", err)
			}
		}
		if err := r.s.unstampProfile(ctx, r.k, before, *w.Profile); err != nil {
			return fmt.Errorf("recover: %w", err)
		}
	}
	return nil
}

// step writes ws (decided as ds) with the job at step, leaving aside the
// writes whose condition failed (someone changed them meanwhile).
func (r *recovery) step(ctx context.Context, job ImportJob, ws []ImportWrite, ds []userDecision, step int) (ImportJob, error) {
	for {
		before := r.report
		for _, d := range ds {
			r.count(d)
		}
		job.Step, job.UpdatedAt = step, r.s.now()
		job.Report, _ = json.Marshal(r.report)
		out, err := r.s.Store.WriteImport(ctx, r.k, ws, job)
		if err == nil {
			return out, r.endSessions(ctx, ws, ds)
		}
		r.report = before
		var wc *WriteConflict
		if !errors.As(err, &wc) || (!wc.Job && len(wc.Failed) == 0) {
			return ImportJob{}, fmt.Errorf("recover: %w", err)
		}
		if wc.Job {
			// Our own write may have landed with its answer lost; anyone
			// else's progress means another run is at work.
			cur, gerr := r.s.Store.GetImport(ctx, r.k, job.ID)
			if gerr == nil && cur.State == ImportApplying && cur.Step == step && string(cur.Report) == string(job.Report) {
				for _, d := range ds {
					r.count(d)
				}
				return cur, r.endSessions(ctx, ws, ds)
			}
			return ImportJob{}, &Error{Code: CodeConflict, Message: "Une autre récupération est en cours sur cette base ; attendez qu'elle finisse."}
		}
		var keepW []ImportWrite
		var keepD []userDecision
		for i := range ws {
			if !slices.Contains(wc.Failed, i) {
				keepW = append(keepW, ws[i])
				if ds != nil {
					keepD = append(keepD, ds[i])
				}
				continue
			}
			if ds != nil {
				d := ds[i]
				r.count(userDecision{action: "rejected", reject: Rejection{Login: d.user.Login, Code: RejectConflict,
					Message: "Ce compte a été modifié pendant la récupération : il n'est pas écrasé. Relancez la récupération pour le reprendre."}})
			} else if p := ws[i].Profile; p != nil {
				for j := range r.report.Profiles {
					if r.report.Profiles[j].Mode == p.Mode && strings.EqualFold(r.report.Profiles[j].Name, p.Name) {
						r.report.Profiles[j].Action = "rejected"
						r.report.Profiles[j].Fields = []string{"modifié pendant la récupération"}
					}
				}
			}
		}
		ws, ds = keepW, keepD
	}
}
