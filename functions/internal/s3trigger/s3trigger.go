package s3trigger

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/s3object"
	"github.com/sesame-ecole/sesame/rentree"
)

// The prefixes of the import bucket.
const (
	// ImportsPrefix is where IT automation drops files: the trigger's.
	ImportsPrefix = "imports/"
	// ReportsPrefix is where the reports go; it triggers nothing.
	ReportsPrefix = "reports/"
)

// The object metadata that carry the options (x-amz-meta-<name>).
const (
	MetaAdd    = "add"
	MetaUpdate = "update"
	MetaDryRun = "dry-run"
)

// API is the part of the S3 client the trigger uses (*s3object.Client):
// Head reads an object's metadata, Put writes the reports.
type API interface {
	Head(ctx context.Context, bucket, key, version string) (*s3object.Object, error)
	Put(context.Context, s3object.PutInput) (string, error)
}

// Files opens an object of the bucket at a version, refusing one over the
// size limit with a *sesame.ImportError (s3uploads.Store.OpenKey).
type Files interface {
	OpenKey(ctx context.Context, key, version string) (sesame.Upload, error)
}

// Config is what a Trigger needs.
type Config struct {
	Service *sesame.Service
	API     API
	Files   Files
	// Bucket is the import bucket; records of any other are ignored.
	Bucket string
	// Limits bound the files read (zero fields: the defaults).
	Limits sesame.RentreeLimits
	Logger *slog.Logger
}

// Trigger takes in the files of the import bucket.
type Trigger struct {
	cfg Config
	log *slog.Logger
}

// New checks cfg and returns its Trigger.
func New(cfg Config) (*Trigger, error) {
	switch {
	case cfg.Service == nil || cfg.Service.Store == nil:
		return nil, errors.New("s3trigger: no service")
	case cfg.API == nil || cfg.Files == nil:
		return nil, errors.New("s3trigger: no S3 client")
	case cfg.Bucket == "":
		return nil, errors.New("s3trigger: no bucket")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Trigger{cfg: cfg, log: log}, nil
}

// Status says what became of one record.
type Status string

const (
	// Applied: the recovery ran (the report may say alreadyApplied, when
	// the same content was applied before under another key or version).
	Applied Status = "applied"
	// DryRun: the plan was computed and reported; nothing was applied.
	DryRun Status = "dry_run"
	// Refused: the file or its options were refused; nothing was applied.
	Refused Status = "refused"
	// Duplicate: this object version had been taken in already.
	Duplicate Status = "duplicate"
	// Ignored: not an object the trigger takes (another prefix, suffix or
	// bucket, or not a creation).
	Ignored Status = "ignored"
)

// Outcome is what became of one record of an event.
type Outcome struct {
	Key       string `json:"key"`
	VersionID string `json:"versionId,omitempty"`
	Status    Status `json:"status"`
	Report    string `json:"report,omitempty"` // the report's key
	Error     string `json:"error,omitempty"`  // the refusal's code, or why a retry is needed
}

// Result lists the outcomes of an event's records, in order.
type Result struct {
	Outcomes []Outcome `json:"outcomes"`
}

// Report is the JSON document written under reports/ for each file taken
// in.
type Report struct {
	Status    Status      `json:"status"` // applied, dry_run or refused
	Bucket    string      `json:"bucket"`
	Key       string      `json:"key"`
	VersionID string      `json:"versionId,omitempty"`
	ETag      string      `json:"etag,omitempty"`
	School    sesame.UAI  `json:"school"`
	Year      sesame.Year `json:"year"`
	// Options are those read from the metadata; absent when they were
	// refused.
	Options *Options `json:"options,omitempty"`
	// Recovery is the engine's report (applied, dry_run).
	Recovery *sesame.RecoveryReport `json:"recovery,omitempty"`
	// Error says why the file was refused (refused).
	Error       *Failure  `json:"error,omitempty"`
	Summary     string    `json:"summary"` // in French, as in the .txt beside
	ProcessedAt time.Time `json:"processedAt"`
}

// Options are the recovery options of a file, from its metadata.
type Options = sesame.RecoverOptions

// Failure is why a file was refused, as the HTTP API's error body says
// it: a stable code, the reason of an invalid_import, where, and a French
// message.
type Failure struct {
	Code    string `json:"code"`
	Reason  string `json:"reason,omitempty"`
	Entry   string `json:"entry,omitempty"`
	Line    int    `json:"line,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// Handle takes in the records of an S3 event, one after the other. It
// returns an error, joining those of the records, only when some record
// should be tried again; the others are done, and a retry finds them so.
func (t *Trigger) Handle(ctx context.Context, ev events.S3Event) (Result, error) {
	res := Result{Outcomes: []Outcome{}}
	var errs []error
	for i, rec := range ev.Records {
		out, err := t.record(ctx, rec)
		if err != nil {
			out.Error = err.Error()
			errs = append(errs, fmt.Errorf("record %d (%s): %w", i, out.Key, err))
			t.log.ErrorContext(ctx, "import failed, to be retried", "key", out.Key, "versionId", out.VersionID, "error", err.Error())
		}
		res.Outcomes = append(res.Outcomes, out)
	}
	return res, errors.Join(errs...)
}

// object is one record's object, checked.
type object struct {
	bucket, key, version, etag string
	k                          sesame.BaseKey
	name                       string // the file's name without its extension
	id                         string // the version id, or "etag-" and the ETag without one
	label                      string // id, tidied for an object key
}

func (o object) ref() sesame.SourceRef { return sesame.FromObject(o.bucket, o.key, o.id) }

// markerID is the import job that records that this object version was
// taken in.
func (o object) markerID() string {
	h := sha256.Sum256([]byte(o.bucket + "\x00" + o.key + "\x00" + o.id))
	return "s3-" + hex.EncodeToString(h[:])[:40]
}

func (o object) reportKey(ext string) string {
	return ReportsPrefix + string(o.k.UAI) + "/" + string(o.k.Year) + "/" + o.name + "-" + o.label + ext
}

// parse checks a record and its key; why says, for a record that the
// trigger does not take, why not.
func (t *Trigger) parse(rec events.S3EventRecord) (o object, why string) {
	o = object{bucket: rec.S3.Bucket.Name, key: rec.S3.Object.URLDecodedKey,
		version: rec.S3.Object.VersionID, etag: strings.Trim(rec.S3.Object.ETag, `"`)}
	if o.key == "" && rec.S3.Object.Key != "" {
		// Built by hand rather than decoded from JSON (where
		// S3Object.UnmarshalJSON fills URLDecodedKey).
		if k, err := url.QueryUnescape(rec.S3.Object.Key); err == nil {
			o.key = k
		}
	}
	switch {
	case rec.EventSource != "aws:s3":
		return o, "not an S3 record: " + rec.EventSource
	case !strings.HasPrefix(rec.EventName, "ObjectCreated:"):
		return o, "not an object creation: " + rec.EventName
	case o.bucket != t.cfg.Bucket:
		return o, "not the import bucket: " + o.bucket
	}
	parts := strings.Split(o.key, "/")
	if len(parts) != 4 || parts[0]+"/" != ImportsPrefix {
		return o, "not imports/<UAI>/<year>/<name>.zip|.profils"
	}
	k, err := sesame.ParseBaseKey(parts[1], parts[2])
	if err != nil {
		return o, "not imports/<UAI>/<year>/…: " + err.Error()
	}
	name := parts[3]
	lower := strings.ToLower(name)
	switch {
	case strings.HasSuffix(lower, ".zip"):
		name = name[:len(name)-len(".zip")]
	case strings.HasSuffix(lower, ".profils"):
		name = name[:len(name)-len(".profils")]
	default:
		return o, "neither .zip nor .profils"
	}
	if strings.TrimSpace(name) == "" {
		return o, "a file without a name"
	}
	o.k, o.name = k, name
	switch {
	case o.version != "":
		o.id = o.version
	case o.etag != "":
		// An unversioned bucket: the ETag names the content instead.
		o.id = "etag-" + o.etag
	default:
		o.id = "seq-" + rec.S3.Object.Sequencer
	}
	o.label = safeLabel(o.id)
	return o, ""
}

// safeLabel keeps a version id or an ETag to the characters of a tidy
// object key ("/", "+" and "=" may occur in version ids), and to a
// reasonable length.
func safeLabel(s string) string {
	if len(s) > 128 {
		h := sha256.Sum256([]byte(s))
		s = hex.EncodeToString(h[:16])
	}
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '_'
		}
	}
	return string(b)
}

// record takes in one record. Its error means: try again.
func (t *Trigger) record(ctx context.Context, rec events.S3EventRecord) (Outcome, error) {
	o, why := t.parse(rec)
	out := Outcome{Key: o.key, VersionID: o.version}
	if why != "" {
		t.log.InfoContext(ctx, "object ignored", "bucket", o.bucket, "key", o.key, "event", rec.EventName, "why", why)
		out.Status = Ignored
		return out, nil
	}
	log := t.log.With("bucket", o.bucket, "key", o.key, "versionId", o.version, "school", string(o.k.UAI), "year", string(o.k.Year))
	out.Report = o.reportKey(".json")

	// The base must exist for the marker to be kept in it.
	st := t.cfg.Service.Store
	if _, err := st.GetBase(ctx, o.k); err != nil {
		if !errors.Is(err, sesame.ErrNotFound) {
			return out, fmt.Errorf("base %s: %w", o.k, err)
		}
		rep := t.refused(o, nil, &Failure{Code: sesame.CodeNotFound, Message: "La base " + string(o.k.Year) +
			" de l'établissement " + string(o.k.UAI) + " n'existe pas : créez-la, puis déposez le fichier à nouveau."})
		return t.finish(ctx, log, o, out, rep, nil)
	}
	marker, done, err := t.claim(ctx, o)
	if err != nil {
		return out, err
	}
	if done {
		log.InfoContext(ctx, "object already taken in", "report", out.Report)
		out.Status = Duplicate
		return out, nil
	}
	rep, err := t.recover(ctx, o)
	if err != nil {
		return out, err
	}
	return t.finish(ctx, log, o, out, rep, &marker)
}

// claim records that the object version is being taken in, or finds that
// it was already (done).
func (t *Trigger) claim(ctx context.Context, o object) (sesame.ImportJob, bool, error) {
	st := t.cfg.Service.Store
	id := o.markerID()
	for range 2 {
		job, err := st.GetImport(ctx, o.k, id)
		switch {
		case err == nil:
			// A job still applying is an earlier try that stopped, or one
			// running now: go on; the engine takes up where it stopped,
			// and two runs at once meet a conflict and are retried.
			return job, job.State == sesame.ImportDone || job.State == sesame.ImportFailed, nil
		case !errors.Is(err, sesame.ErrNotFound):
			return sesame.ImportJob{}, false, fmt.Errorf("import marker: %w", err)
		}
		now := t.now()
		job = sesame.ImportJob{ID: id, Source: o.ref().String(), State: sesame.ImportApplying, CreatedAt: now, UpdatedAt: now}
		err = st.CreateImport(ctx, o.k, job)
		if err != nil && !errors.Is(err, sesame.ErrExists) {
			return sesame.ImportJob{}, false, fmt.Errorf("import marker: %w", err)
		}
		// Read it back, as stored (its version), or as another run that
		// claimed it meanwhile left it.
	}
	return sesame.ImportJob{}, false, fmt.Errorf("import marker %s: created and gone", id)
}

// recover reads the options, opens the file and runs the engine. Its
// error means: try again; a refusal is a report.
func (t *Trigger) recover(ctx context.Context, o object) (Report, error) {
	head, err := t.cfg.API.Head(ctx, o.bucket, o.key, o.version)
	if err != nil {
		if notFound(err) {
			return t.refused(o, nil, goneFailure(o)), nil
		}
		return Report{}, fmt.Errorf("head %s: %w", o.key, err)
	}
	opts, fail := optionsOf(head.Metadata)
	if fail != nil {
		return t.refused(o, nil, fail), nil
	}
	f, err := t.cfg.Files.OpenKey(ctx, o.key, o.version)
	if err != nil {
		if fail, ok := refusal(err); ok {
			return t.refused(o, &opts, fail), nil
		}
		return Report{}, fmt.Errorf("open %s: %w", o.key, err)
	}
	defer f.Close()
	src, err := rentree.Open(f, f.Size(), t.cfg.Limits)
	if err != nil {
		if fail, ok := refusal(err); ok {
			return t.refused(o, &opts, fail), nil
		}
		return Report{}, fmt.Errorf("read %s: %w", o.key, err)
	}
	// The key's prefix says for which school and year the file was
	// dropped (IT automation's rights may be per prefix): the file must
	// agree. The engine checks the target base the same way.
	if h := src.Header(); h.UAI != o.k.UAI {
		return t.refused(o, &opts, &Failure{Code: sesame.CodeInvalidImport, Reason: "wrong_school",
			Message: "Ce fichier est celui de l'établissement " + string(h.UAI) + ", mais il est déposé sous " +
				ImportsPrefix + string(o.k.UAI) + "/ : il est refusé."}), nil
	} else if h.Year.Start() >= o.k.Year.Start() {
		return t.refused(o, &opts, &Failure{Code: sesame.CodeInvalidImport, Reason: "wrong_year",
			Message: "Ce fichier vient de l'année " + string(h.Year) + " : on ne récupère dans la base " + string(o.k.Year) +
				" que les utilisateurs d'une année antérieure."}), nil
	}
	actor := sesame.WithActor(ctx, "dépôt s3://"+o.bucket+"/"+o.key)
	rec, err := t.cfg.Service.Recover(actor, o.k, src, o.ref(), opts)
	if err != nil {
		if fail, ok := refusal(err); ok {
			return t.refused(o, &opts, fail), nil
		}
		return Report{}, fmt.Errorf("recover %s: %w", o.key, err)
	}
	rep := t.report(o, &opts)
	rep.Status, rep.Recovery = Applied, &rec
	if rec.DryRun {
		rep.Status = DryRun
	}
	rep.Summary = summary(rep)
	return rep, nil
}

// finish writes the report and its summary, closes the marker, and logs
// the outcome.
func (t *Trigger) finish(ctx context.Context, log *slog.Logger, o object, out Outcome, rep Report, marker *sesame.ImportJob) (Outcome, error) {
	body, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return out, fmt.Errorf("report: %w", err)
	}
	// The JSON first: it is the record. A run stopped between the two and
	// retried keeps the first JSON and writes the summary of its own
	// report, which says the same thing (AlreadyApplied aside).
	if err := t.put(ctx, out.Report, append(body, '\n'), "application/json; charset=utf-8"); err != nil {
		return out, err
	}
	if err := t.put(ctx, o.reportKey(".txt"), []byte(rep.Summary+"\n"), "text/plain; charset=utf-8"); err != nil {
		return out, err
	}
	if marker != nil {
		state := sesame.ImportDone
		if rep.Status == Refused {
			state = sesame.ImportFailed
		}
		if err := t.close(ctx, o, *marker, state, out.Report); err != nil {
			return out, err
		}
	}
	out.Status = rep.Status
	attrs := []any{"status", string(rep.Status), "report", out.Report}
	if rep.Error != nil {
		out.Error = rep.Error.Code
		attrs = append(attrs, "code", rep.Error.Code, "reason", rep.Error.Reason)
	}
	if r := rep.Recovery; r != nil {
		attrs = append(attrs, "recovery", r.ID, "added", r.Added, "updated", r.Updated, "unchanged", r.Unchanged,
			"rejected", len(r.Rejected), "alreadyApplied", r.AlreadyApplied)
	}
	log.InfoContext(ctx, "object taken in", attrs...)
	return out, nil
}

// put writes a report object unless one is there already: a run retried
// after it wrote its report keeps the first one.
func (t *Trigger) put(ctx context.Context, key string, body []byte, contentType string) error {
	_, err := t.cfg.API.Put(ctx, s3object.PutInput{Bucket: t.cfg.Bucket, Key: key,
		Body: bytes.NewReader(body), Size: int64(len(body)), ContentType: contentType, IfNoneMatch: "*"})
	if s3object.IsCode(err, "PreconditionFailed") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}

// close records the marker as final, unless another run did.
func (t *Trigger) close(ctx context.Context, o object, job sesame.ImportJob, state sesame.ImportState, reportKey string) error {
	st := t.cfg.Service.Store
	job.State, job.UpdatedAt = state, t.now()
	job.Report, _ = json.Marshal(map[string]string{"report": reportKey})
	_, err := st.UpdateImport(ctx, o.k, job)
	if errors.Is(err, sesame.ErrConflict) {
		cur, gerr := st.GetImport(ctx, o.k, job.ID)
		if gerr == nil && (cur.State == sesame.ImportDone || cur.State == sesame.ImportFailed) {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("import marker: %w", err)
	}
	return nil
}

func (t *Trigger) now() time.Time {
	if c := t.cfg.Service.Clock; c != nil {
		return c.Now().UTC()
	}
	return time.Now().UTC()
}

func (t *Trigger) report(o object, opts *Options) Report {
	return Report{Bucket: o.bucket, Key: o.key, VersionID: o.version, ETag: o.etag, School: o.k.UAI, Year: o.k.Year,
		Options: opts, ProcessedAt: t.now()}
}

func (t *Trigger) refused(o object, opts *Options, f *Failure) Report {
	rep := t.report(o, opts)
	rep.Status, rep.Error = Refused, f
	rep.Summary = summary(rep)
	return rep
}

// optionsOf reads the options from the object's metadata: true or false
// (any case); add only when none is given.
func optionsOf(md map[string]string) (Options, *Failure) {
	o := Options{Add: true}
	for name, dst := range map[string]*bool{MetaAdd: &o.Add, MetaUpdate: &o.Update, MetaDryRun: &o.DryRun} {
		v, ok := lookup(md, name)
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			*dst = true
		case "false":
			*dst = false
		default:
			return o, &Failure{Code: sesame.CodeInvalid, Field: "x-amz-meta-" + name,
				Message: "La métadonnée x-amz-meta-" + name + " vaut « " + v + " » : elle doit valoir true ou false."}
		}
	}
	if err := o.Validate(); err != nil {
		return o, &Failure{Code: sesame.ErrorCode(err), Field: "options",
			Message: "x-amz-meta-add et x-amz-meta-update valent false. " + sesame.ErrorMessage(err)}
	}
	return o, nil
}

// lookup finds metadata name whatever its case (s3object lower-cases the
// names; other clients may not).
func lookup(md map[string]string, name string) (string, bool) {
	if v, ok := md[name]; ok {
		return v, true
	}
	for k, v := range md {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// refusal tells a final refusal of the file (a retry would meet it again)
// from a failure worth retrying.
func refusal(err error) (*Failure, bool) {
	var ie *sesame.ImportError
	if errors.As(err, &ie) {
		return &Failure{Code: sesame.CodeInvalidImport, Reason: ie.Reason, Entry: ie.Entry, Line: ie.Line, Field: ie.Field,
			Message: ie.Where() + ie.Message}, true
	}
	var se *sesame.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sesame.CodeBadRequest, sesame.CodeInvalid, sesame.CodeNotFound, sesame.CodeProtected, sesame.CodeForbidden:
			return &Failure{Code: se.Code, Field: se.Field, Message: se.Message}, true
		}
	}
	return nil, false
}

func goneFailure(o object) *Failure {
	return &Failure{Code: sesame.CodeNotFound, Message: "Le fichier " + o.key + " (version " + o.id +
		") n'est plus dans le compartiment : il a été supprimé avant d'être lu. Déposez-le à nouveau."}
}

// notFound reports whether S3 answered 404 (HeadObject has no error body,
// hence no error code).
func notFound(err error) bool {
	var re interface{ HTTPStatusCode() int }
	return errors.As(err, &re) && re.HTTPStatusCode() == 404
}
