package functions_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/functions/internal/fn"
	"github.com/sesame-ecole/sesame/functions/internal/recoverfn"
	"github.com/sesame-ecole/sesame/functions/internal/s3trigger"
	"github.com/sesame-ecole/sesame/infra/app"
	"github.com/sesame-ecole/sesame/infra/bolt"
	"github.com/sesame-ecole/sesame/infra/dynamo"
	"github.com/sesame-ecole/sesame/infra/dynamolocal"
	"github.com/sesame-ecole/sesame/infra/httpapi"
	"github.com/sesame-ecole/sesame/infra/s3local"
	"github.com/sesame-ecole/sesame/infra/s3object"
	"github.com/sesame-ecole/sesame/rentree"
)

// The recovery world: last year's base of the fixtures' school, with
// users, and this year's, current, with its SPR only; another school's
// last year beside them.
const (
	lastYear   = "2025-2026"
	thisYear   = "2026-2027"
	otherUAI   = "0931234B"
	testBucket = "sesame-test-imports"
	importsDir = "imports/" + uai + "/" + thisYear + "/"
	reportsDir = "reports/" + uai + "/" + thisYear + "/"
)

var lastYearUsers = []struct{ login, kind string }{
	{"prof.martin", "teacher"}, {"secretaire", "staff"}, {"parent.durand", "parent"},
}

// recoverSite is the recover function over one store and a real S3
// server (versitygw), with a service over the same store for the test's own
// reads and writes.
type recoverSite struct {
	t       *testing.T
	svc     *sesame.Service
	s3      *s3.Client
	s3URL   string
	handler recoverfn.EventHandlerFunc
	login   fn.HandlerFunc // to sign the SPR in, for the HTTP routes
	logs    *syncBuffer
	close   func() // makes the store unavailable (closed, or its table deleted)
}

// newS3 starts versitygw (infra/s3local) with the versioned import bucket
// and returns a real SDK client for it, the function's own client
// (infra/s3object), and its address: presigned URLs, versions and
// conditional writes are checked as S3 checks them.
func newS3(t *testing.T) (*s3.Client, *s3object.Client, string) {
	t.Helper()
	srv := s3local.New(t, testBucket)
	return srv.Client(""), srv.ObjectClient(""), srv.Endpoint()
}

// snapshot lists the users of base (school, year), with their versions.
func (s *recoverSite) snapshot(school, year string) map[string]sesame.User {
	s.t.Helper()
	page, err := s.svc.Store.ListUsers(context.Background(), sesame.BaseKey{UAI: sesame.UAI(school), Year: sesame.Year(year)}, sesame.UserQuery{Limit: 1000})
	if err != nil {
		s.t.Fatal(err)
	}
	out := map[string]sesame.User{}
	for _, u := range page.Users {
		out[u.Login] = u
	}
	return out
}

// eachRecoverSite runs f on the recover function built over a bbolt file
// (recoverfn.RecoverHandler) and over DynamoDB Local (recoverfn.NewRecover, from the
// environment the template sets), each time with a fresh world.
func eachRecoverSite(t *testing.T, f func(t *testing.T, s *recoverSite)) {
	t.Run("bolt", func(t *testing.T) {
		st, err := bolt.Open(filepath.Join(t.TempDir(), "sesame.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		c, oc, u := newS3(t)
		s := &recoverSite{t: t, s3: c, s3URL: u, logs: &syncBuffer{}, close: func() { _ = st.Close() }}
		s.svc = &sesame.Service{Store: st, Hasher: fastHash, Clock: sesame.SystemClock{}, Timing: sesame.DefaultTiming}
		cfg := fn.Config{Function: httpapi.Recover, Table: "unused", OriginSecret: secret, Timing: sesame.DefaultTiming, ImportBucket: testBucket}
		if s.handler, err = recoverfn.RecoverHandler(cfg, s.svc, oc, cfg.Logger(s.logs)); err != nil {
			t.Fatal(err)
		}
		lcfg := cfg
		lcfg.Function = httpapi.Login
		s.login = fn.Handler(lcfg, s.svc, nil, lcfg.Logger(s.logs))
		s.world()
		f(t, s)
	})
	t.Run("dynamo", func(t *testing.T) {
		client, table := dynamolocal.NewTable(t)
		st, err := dynamo.New(client, table)
		if err != nil {
			t.Fatal(err)
		}
		c, oc, u := newS3(t)
		s := &recoverSite{t: t, s3: c, s3URL: u, logs: &syncBuffer{}, close: func() {
			if _, err := client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)}); err != nil {
				t.Fatal(err)
			}
		}}
		s.svc = &sesame.Service{Store: st, Hasher: fastHash, Clock: sesame.SystemClock{}, Timing: sesame.DefaultTiming}
		env := map[string]string{fn.EnvTable: table, fn.EnvOriginSecret: secret, fn.EnvImportBucket: testBucket, "SESAME_STAGE": "dev"}
		getenv := func(k string) string { return env[k] }
		if s.handler, err = recoverfn.NewRecover(t.Context(), getenv, s.logs, app.StoreOptions{DynamoDB: client}, oc); err != nil {
			t.Fatalf("recoverfn.NewRecover: %v", err)
		}
		if s.login, err = fn.New(t.Context(), httpapi.Login, getenv, s.logs, app.StoreOptions{DynamoDB: client}); err != nil {
			t.Fatal(err)
		}
		s.world()
		f(t, s)
	})
}

// world creates this year's base first (so that it is the current one,
// where login.json signs in), then last year's with its users, and the
// other school's last year.
func (s *recoverSite) world() {
	s.t.Helper()
	ctx := context.Background()
	for _, n := range []sesame.NewSchool{
		{UAI: uai, Name: "Collège Victor-Hugo", Year: thisYear, SPRPassword: sprPass},
		{UAI: uai, Name: "Collège Victor-Hugo", Year: lastYear, SPRPassword: sprPass},
		{UAI: otherUAI, Name: "Lycée Jean-Jaurès", Year: lastYear, SPRPassword: sprPass},
	} {
		if _, err := s.svc.CreateSchool(ctx, n); err != nil {
			s.t.Fatalf("CreateSchool %s %s: %v", n.UAI, n.Year, err)
		}
	}
	for _, school := range []string{uai, otherUAI} {
		for _, u := range lastYearUsers {
			if _, err := s.svc.AddUser(ctx, sesame.NewUser{UAI: school, Year: lastYear, Login: u.login, Kind: u.kind,
				DisplayName: "Compte " + u.login, Password: "mot-de-passe-de-" + u.login}); err != nil {
				s.t.Fatalf("AddUser %s: %v", u.login, err)
			}
		}
	}
}

// rentreeFile writes base (school, year) as a rentrée .zip or .profils.
func (s *recoverSite) rentreeFile(school, year, format string) []byte {
	s.t.Helper()
	src, err := s.svc.BaseSource(context.Background(), sesame.BaseKey{UAI: sesame.UAI(school), Year: sesame.Year(year)})
	if err != nil {
		s.t.Fatal(err)
	}
	var b bytes.Buffer
	if format == "profils" {
		err = rentree.WriteProfils(&b, src, time.Now().UTC())
	} else {
		err = rentree.WriteZip(&b, src, time.Now().UTC())
	}
	if err != nil {
		s.t.Fatal(err)
	}
	return b.Bytes()
}

// putImport writes an object as IT automation does, with its options as
// metadata, and returns its version id and ETag.
func (s *recoverSite) putImport(key string, body []byte, meta map[string]string) (string, string) {
	s.t.Helper()
	out, err := s.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key),
		Body: bytes.NewReader(body), Metadata: meta})
	if err != nil {
		s.t.Fatalf("put %s: %v", key, err)
	}
	if aws.ToString(out.VersionId) == "" {
		s.t.Fatalf("put %s: no version id: is the bucket versioned?", key)
	}
	return aws.ToString(out.VersionId), strings.Trim(aws.ToString(out.ETag), `"`)
}

// s3Event is fixture name, rewritten for the test's bucket and the object
// version put there; key "" keeps the fixture's key.
func s3Event(t *testing.T, name, key, version, etag string) json.RawMessage {
	t.Helper()
	ev := loadS3Event(t, name)
	for i := range ev.Records {
		r := &ev.Records[i].S3
		r.Bucket.Name, r.Bucket.Arn = testBucket, "arn:aws:s3:::"+testBucket
		if key != "" {
			r.Object.Key = s3local.EncodeKey(key)
		}
		r.Object.VersionID, r.Object.ETag = version, etag
	}
	return s3local.Wire(ev)
}

// notify feeds an S3 event to the function; its error asks for a retry.
func (s *recoverSite) notify(raw json.RawMessage) (s3trigger.Result, error) {
	s.t.Helper()
	out, err := s.handler(s.t.Context(), raw)
	res, ok := out.(s3trigger.Result)
	if !ok {
		s.t.Fatalf("an S3 event answered %T %v", out, out)
	}
	return res, err
}

// mustNotify feeds one S3 event that must not fail and returns the
// outcome of its record.
func (s *recoverSite) mustNotify(raw json.RawMessage) s3trigger.Outcome {
	s.t.Helper()
	res, err := s.notify(raw)
	if err != nil {
		s.t.Fatalf("S3 event: %v\nlogs: %s", err, s.logs.String())
	}
	if len(res.Outcomes) != 1 {
		s.t.Fatalf("outcomes %+v", res.Outcomes)
	}
	return res.Outcomes[0]
}

// logins lists the users of this year's base, with their versions.
func (s *recoverSite) users() map[string]sesame.User { return s.snapshot(uai, thisYear) }

func (s *recoverSite) object(key string) ([]byte, bool) {
	s.t.Helper()
	out, err := s.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key)})
	var nsk *types.NoSuchKey
	if errors.As(err, &nsk) {
		return nil, false
	}
	if err != nil {
		s.t.Fatal(err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return b, true
}

// objects lists the keys under prefix, every version of each.
func (s *recoverSite) objects(prefix string) []string {
	s.t.Helper()
	out, err := s.s3.ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{Bucket: aws.String(testBucket), Prefix: aws.String(prefix)})
	if err != nil {
		s.t.Fatal(err)
	}
	var keys []string
	for _, v := range out.Versions {
		keys = append(keys, aws.ToString(v.Key)+"@"+aws.ToString(v.VersionId))
	}
	slices.Sort(keys)
	return keys
}

// report reads and decodes a report, and its summary beside it.
func (s *recoverSite) report(key string) (s3trigger.Report, string) {
	s.t.Helper()
	b, ok := s.object(key)
	if !ok {
		s.t.Fatalf("no report %s; reports: %v", key, s.objects("reports/"))
	}
	var r s3trigger.Report
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		s.t.Fatalf("report %s: %v\n%s", key, err, b)
	}
	txt, ok := s.object(strings.TrimSuffix(key, ".json") + ".txt")
	if !ok || strings.TrimSpace(string(txt)) != r.Summary {
		s.t.Fatalf("summary beside %s: %q, want the report's %q", key, txt, r.Summary)
	}
	return r, r.Summary
}

// TestS3ImportAppliedOnce: a rentrée .zip of last year dropped under
// imports/<UAI>/<this year>/ lands in this year's base, with a report; the
// same notification again changes nothing; the same content as a new
// version is recognised by the engine.
func TestS3ImportAppliedOnce(t *testing.T) {
	eachRecoverSite(t, func(t *testing.T, s *recoverSite) {
		key := loadS3Event(t, "s3-put").Records[0].S3.Object.URLDecodedKey
		if !strings.HasPrefix(key, importsDir) {
			t.Fatalf("s3-put.json's key %s is not under %s", key, importsDir)
		}
		zip := s.rentreeFile(uai, lastYear, "zip")
		version, etag := s.putImport(key, zip, map[string]string{"add": "true"})

		out := s.mustNotify(s3Event(t, "s3-put", key, version, etag))
		// The version id, its "/", "+" and "=" made "_".
		wantReport := reportsDir + "rentree-2025-2026-" + strings.NewReplacer("/", "_", "+", "_", "=", "_").Replace(version) + ".json"
		if out.Status != s3trigger.Applied || out.Report != wantReport {
			t.Fatalf("outcome %+v, want applied with report %s\nlogs: %s", out, wantReport, s.logs.String())
		}
		users := s.users()
		for _, u := range lastYearUsers {
			if _, ok := users[u.login]; !ok {
				t.Errorf("%s did not land in %s: %v", u.login, thisYear, users)
			}
		}
		rep, txt := s.report(wantReport)
		if rep.Status != s3trigger.Applied || rep.Recovery == nil || rep.Recovery.Added != 3 || rep.Recovery.DryRun ||
			rep.School != uai || rep.Year != thisYear || rep.VersionID != version || rep.Key != key || rep.Options == nil || !rep.Options.Add || rep.Options.Update {
			t.Fatalf("report %+v (recovery %+v)", rep, rep.Recovery)
		}
		if !strings.Contains(txt, "Appliqué") || !strings.Contains(txt, "3 ajoutés") {
			t.Errorf("summary:\n%s", txt)
		}
		// Last year's teacher signs in this year with last year's password.
		if _, err := s.svc.Login(t.Context(), sesame.LoginRequest{School: uai, Login: "prof.martin", Password: "mot-de-passe-de-prof.martin",
			Mode: "teacher", Address: viewerIP}); err != nil {
			t.Errorf("prof.martin signs in: %v", err)
		}

		// Someone edits an account; then S3 delivers the notification
		// again: nothing changes, no second report.
		k := sesame.BaseKey{UAI: uai, Year: thisYear}
		u, err := s.svc.Store.GetUser(t.Context(), k, "secretaire")
		if err != nil {
			t.Fatal(err)
		}
		u.DisplayName = "Changé depuis"
		if _, err := s.svc.Store.UpdateUser(t.Context(), k, u); err != nil {
			t.Fatal(err)
		}
		before, reports := s.users(), s.objects("reports/")
		if again := s.mustNotify(s3Event(t, "s3-put-duplicate", key, version, etag)); again.Status != s3trigger.Duplicate {
			t.Fatalf("the duplicate: %+v", again)
		}
		if after := s.users(); !equalUsers(before, after) {
			t.Errorf("the duplicate changed users:\nbefore %v\nafter  %v", before, after)
		}
		if got := s.objects("reports/"); !slices.Equal(got, reports) {
			t.Errorf("reports after the duplicate %v, want %v", got, reports)
		}

		// The same content again as a new version: a new report, and the
		// engine recognises the content (nothing changes either).
		v2, etag2 := s.putImport(key, zip, nil)
		out = s.mustNotify(s3Event(t, "s3-put", key, v2, etag2))
		if out.Status != s3trigger.Applied {
			t.Fatalf("new version: %+v", out)
		}
		rep2, txt2 := s.report(out.Report)
		if !rep2.Recovery.AlreadyApplied || !strings.Contains(txt2, "déjà été appliqué") {
			t.Errorf("new version of the same content: %+v\n%s", rep2.Recovery, txt2)
		}
		if after := s.users(); !equalUsers(before, after) || after["secretaire"].DisplayName != "Changé depuis" {
			t.Errorf("the same content again changed users")
		}
		if !strings.Contains(s.logs.String(), `"message":"object taken in"`) {
			t.Errorf("no log line for the imports:\n%s", s.logs.String())
		}
	})
}

func equalUsers(a, b map[string]sesame.User) bool {
	if len(a) != len(b) {
		return false
	}
	for k, u := range a {
		if v, ok := b[k]; !ok || v.Version != u.Version || v.DisplayName != u.DisplayName || v.PasswordHash != u.PasswordHash {
			return false
		}
	}
	return true
}

// TestS3ImportEncodedKey: S3 sends keys URL-encoded; the trigger reads
// the decoded key (a space, an accent).
func TestS3ImportEncodedKey(t *testing.T) {
	eachRecoverSite(t, func(t *testing.T, s *recoverSite) {
		ev := loadS3Event(t, "s3-put-encoded")
		key := ev.Records[0].S3.Object.URLDecodedKey // imports/0751234A/2026-2027/rentrée 2025.zip
		version, etag := s.putImport(key, s.rentreeFile(uai, lastYear, "zip"), nil)
		out := s.mustNotify(s3Event(t, "s3-put-encoded", "", version, etag))
		if out.Status != s3trigger.Applied || out.Key != key {
			t.Fatalf("outcome %+v\nlogs: %s", out, s.logs.String())
		}
		if !strings.HasPrefix(out.Report, reportsDir+"rentrée 2025-") {
			t.Errorf("report %s", out.Report)
		}
		rep, _ := s.report(out.Report)
		if rep.Key != key || rep.VersionID != version || rep.Recovery.Added != 3 {
			t.Fatalf("report %+v", rep)
		}
	})
}

// TestS3ImportProfils: a .profils file, sent as a multipart upload, with
// add and update.
func TestS3ImportProfils(t *testing.T) {
	eachRecoverSite(t, func(t *testing.T, s *recoverSite) {
		key := loadS3Event(t, "s3-multipart-profils").Records[0].S3.Object.URLDecodedKey
		version, etag := s.putImport(key, s.rentreeFile(uai, lastYear, "profils"), map[string]string{"add": "true", "update": "TRUE"})
		out := s.mustNotify(s3Event(t, "s3-multipart-profils", key, version, etag))
		rep, _ := s.report(out.Report)
		if out.Status != s3trigger.Applied || !rep.Options.Update || rep.Recovery.Added == 0 {
			t.Fatalf("outcome %+v, report %+v", out, rep.Recovery)
		}
		if _, ok := s.users()["prof.martin"]; !ok {
			t.Error("prof.martin did not land")
		}
	})
}

// TestS3ImportRefusals: a refused file gets a report saying why, nothing
// is applied, and the function does not ask for a retry.
func TestS3ImportRefusals(t *testing.T) {
	eachRecoverSite(t, func(t *testing.T, s *recoverSite) {
		zip := s.rentreeFile(uai, lastYear, "zip")
		for _, tc := range []struct {
			name      string
			key       string
			body      []byte
			meta      map[string]string
			code      string
			reason    string
			inMessage string
		}{
			{"OtherSchool", importsDir + "autre.zip", s.rentreeFile(otherUAI, lastYear, "zip"), nil,
				sesame.CodeInvalidImport, "wrong_school", "0931234B"},
			{"SameYear", importsDir + "meme-annee.zip", s.rentreeFile(uai, thisYear, "zip"), nil,
				sesame.CodeInvalidImport, "wrong_year", "antérieure"},
			{"NotARentree", importsDir + "photo.zip", []byte("ceci n'est pas une archive"), nil,
				sesame.CodeInvalidImport, "not_a_zip", "ni une archive"},
			{"BadMetadata", importsDir + "options.zip", zip, map[string]string{"add": "oui"},
				sesame.CodeInvalid, "", "x-amz-meta-add"},
			{"NoOption", importsDir + "rien.zip", zip, map[string]string{"add": "false"},
				sesame.CodeBadRequest, "", "Ajouter des utilisateurs"},
			{"NoSuchBase", "imports/" + uai + "/2030-2031/futur.zip", zip, nil,
				sesame.CodeNotFound, "", "2030-2031"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := s.users()
				version, etag := s.putImport(tc.key, tc.body, tc.meta)
				out := s.mustNotify(s3Event(t, "s3-put", tc.key, version, etag))
				if out.Status != s3trigger.Refused || out.Error != tc.code {
					t.Fatalf("outcome %+v, want refused %s\nlogs: %s", out, tc.code, s.logs.String())
				}
				rep, txt := s.report(out.Report)
				if rep.Status != s3trigger.Refused || rep.Error == nil || rep.Error.Code != tc.code || rep.Error.Reason != tc.reason ||
					!strings.Contains(rep.Error.Message, tc.inMessage) || rep.Recovery != nil {
					t.Fatalf("report %+v, error %+v", rep, rep.Error)
				}
				if !strings.Contains(txt, "Fichier refusé : rien n'a été appliqué.") || !strings.Contains(txt, rep.Error.Message) {
					t.Errorf("summary:\n%s", txt)
				}
				if after := s.users(); !equalUsers(before, after) {
					t.Errorf("a refused file changed users: %v", after)
				}
				// Delivered again: nothing new (a marker, or the report
				// already there).
				reports := s.objects("reports/")
				if _, err := s.notify(s3Event(t, "s3-put", tc.key, version, etag)); err != nil {
					t.Fatal(err)
				}
				if got := s.objects("reports/"); !slices.Equal(got, reports) {
					t.Errorf("reports after the duplicate %v, want %v", got, reports)
				}
			})
		}
	})
}

// TestS3ImportGone: the object version was deleted before the function
// read it (S3 answers 404 here; without s3:ListBucket AWS answers 403,
// which is retried instead).
func TestS3ImportGone(t *testing.T) {
	eachRecoverSite(t, func(t *testing.T, s *recoverSite) {
		key := importsDir + "efface.zip"
		out := s.mustNotify(s3Event(t, "s3-put", key, "", "d41d8cd98f00b204e9800998ecf8427e"))
		if out.Status != s3trigger.Refused || out.Error != sesame.CodeNotFound {
			t.Fatalf("outcome %+v\nlogs: %s", out, s.logs.String())
		}
		if rep, _ := s.report(out.Report); !strings.Contains(rep.Error.Message, "supprimé") || !strings.HasSuffix(out.Report, "-etag-d41d8cd98f00b204e9800998ecf8427e.json") {
			t.Fatalf("report %s: %+v", out.Report, rep.Error)
		}
	})
}

// TestS3ImportDryRun: x-amz-meta-dry-run: true reports the plan and
// applies nothing.
func TestS3ImportDryRun(t *testing.T) {
	eachRecoverSite(t, func(t *testing.T, s *recoverSite) {
		before := s.users()
		key := importsDir + "apercu.zip"
		version, etag := s.putImport(key, s.rentreeFile(uai, lastYear, "zip"), map[string]string{"add": "true", "dry-run": "true"})
		out := s.mustNotify(s3Event(t, "s3-put", key, version, etag))
		if out.Status != s3trigger.DryRun {
			t.Fatalf("outcome %+v", out)
		}
		rep, txt := s.report(out.Report)
		if !rep.Options.DryRun || !rep.Recovery.DryRun || rep.Recovery.Added != 3 || len(rep.Recovery.ToAdd) != 3 {
			t.Fatalf("report %+v, recovery %+v", rep, rep.Recovery)
		}
		if !strings.Contains(txt, "Aperçu seulement") || !strings.Contains(txt, "3 à ajouter") {
			t.Errorf("summary:\n%s", txt)
		}
		if after := s.users(); !equalUsers(before, after) {
			t.Errorf("a dry run changed users: %v", after)
		}
	})
}

// TestS3ImportIgnored: objects that are not imports/<UAI>/<year>/<name>
// with a known suffix, or of another bucket, are left alone: no report,
// no error.
func TestS3ImportIgnored(t *testing.T) {
	eachRecoverSite(t, func(t *testing.T, s *recoverSite) {
		zip := s.rentreeFile(uai, lastYear, "zip")
		for _, key := range []string{
			"imports/" + uai + "/rentree.zip",
			importsDir + "sous-dossier/rentree.zip",
			"imports/pas-un-uai/" + thisYear + "/rentree.zip",
			importsDir + "rentree.csv",
			importsDir + ".zip",
			"uploads/" + uai + "/" + thisYear + "/u-1.zip",
		} {
			version, etag := s.putImport(key, zip, nil)
			if out := s.mustNotify(s3Event(t, "s3-put", key, version, etag)); out.Status != s3trigger.Ignored {
				t.Errorf("%s: %+v", key, out)
			}
		}
		ev := loadS3Event(t, "s3-put")
		ev.Records[0].S3.Bucket.Name = "un-autre-compartiment"
		raw, _ := json.Marshal(ev)
		if out := s.mustNotify(raw); out.Status != s3trigger.Ignored {
			t.Errorf("another bucket: %+v", out)
		}
		if got := s.objects("reports/"); len(got) != 0 {
			t.Errorf("reports for ignored objects: %v", got)
		}
		if len(s.users()) != 1 {
			t.Error("an ignored object changed users")
		}
	})
}

// TestS3ImportRetried: when the store is unavailable the function returns
// an error (Lambda retries, then the on-failure destination), and writes
// no report.
func TestS3ImportRetried(t *testing.T) {
	eachRecoverSite(t, func(t *testing.T, s *recoverSite) {
		key := importsDir + "rentree.zip"
		version, etag := s.putImport(key, s.rentreeFile(uai, lastYear, "zip"), nil)
		s.close()
		res, err := s.notify(s3Event(t, "s3-put", key, version, etag))
		if err == nil || len(res.Outcomes) != 1 || res.Outcomes[0].Error == "" {
			t.Fatalf("store closed: %+v %v, want an error", res, err)
		}
		if got := s.objects("reports/"); len(got) != 0 {
			t.Errorf("reports written: %v", got)
		}
	})
}

// TestRecoverDispatch: one function, two kinds of events; anything else
// is refused.
func TestRecoverDispatch(t *testing.T) {
	s3h := func(context.Context, events.S3Event) (s3trigger.Result, error) {
		return s3trigger.Result{Outcomes: []s3trigger.Outcome{{Status: "s3"}}}, nil
	}
	httph := func(_ context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 299, Body: ev.RouteKey}, nil
	}
	h := recoverfn.Dispatch(httph, s3h)
	for _, file := range append(fixtures(t), s3Fixtures(t)...) {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		raw := mustRead(t, file)
		out, err := h(t.Context(), raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		switch out := out.(type) {
		case events.APIGatewayV2HTTPResponse:
			if strings.HasPrefix(name, s3Prefix) || out.Body != loadEvent(t, name).RouteKey {
				t.Errorf("%s went to the HTTP handler: %+v", name, out)
			}
		case s3trigger.Result:
			if !strings.HasPrefix(name, s3Prefix) {
				t.Errorf("%s went to the S3 handler", name)
			}
		default:
			t.Errorf("%s: %T", name, out)
		}
	}
	for _, raw := range []string{`{}`, `{"Records":[{"eventSource":"aws:sqs"}]}`, `[]`, `"x"`} {
		if out, err := h(t.Context(), json.RawMessage(raw)); err == nil {
			t.Errorf("%s: accepted (%v)", raw, out)
		}
	}
}

// TestRecoverRoutesWithS3Uploads: the recover function's routes with
// uploads in the import bucket (versitygw): a presigned PUT from the browser,
// a dry run of the upload, its apply, the file applied again, and the
// rentrée file of this year.
func TestRecoverRoutesWithS3Uploads(t *testing.T) {
	eachRecoverSite(t, func(t *testing.T, s *recoverSite) {
		lr, err := s.login(t.Context(), loadEvent(t, "login"))
		if err != nil {
			t.Fatal(err)
		}
		token := reply{APIGatewayV2HTTPResponse: lr}.cookie(httpapi.SessionCookie)
		if lr.StatusCode != http.StatusOK || token == nil {
			t.Fatalf("login: %d %s", lr.StatusCode, lr.Body)
		}
		call := func(name string, edit func(*events.APIGatewayV2HTTPRequest)) reply {
			t.Helper()
			ev := signedIn(loadEvent(t, name), token.Value)
			if edit != nil {
				edit(&ev)
			}
			raw, _ := json.Marshal(ev)
			out, err := s.handler(t.Context(), raw)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			res, ok := out.(events.APIGatewayV2HTTPResponse)
			if !ok {
				t.Fatalf("%s answered %T", name, out)
			}
			r := reply{APIGatewayV2HTTPResponse: res}
			if strings.HasPrefix(res.Headers["Content-Type"], "application/json") && res.Body != "" {
				if err := json.Unmarshal([]byte(res.Body), &r.body); err != nil {
					t.Fatalf("%s: %v %q", name, err, res.Body)
				}
			}
			return r
		}
		withBody := func(body any) func(*events.APIGatewayV2HTTPRequest) {
			return func(ev *events.APIGatewayV2HTTPRequest) {
				b, _ := json.Marshal(body)
				ev.Body = string(b)
				ev.Headers = maps.Clone(ev.Headers)
				ev.Headers["content-length"] = strconv.Itoa(len(b))
			}
		}

		// Where to send a file: a presigned PUT to the import bucket,
		// under this school's and year's uploads/.
		file := s.rentreeFile(uai, lastYear, "zip")
		tooBig := call("uploads", withBody(map[string]any{"size": sesame.DefaultRentreeLimits.MaxCompressedIn + 1, "contentType": "application/zip"}))
		want(t, "uploads.json (over the limit)", tooBig, http.StatusRequestEntityTooLarge, "invalid_import")
		html := call("uploads", withBody(map[string]any{"size": len(file), "contentType": "text/html"}))
		want(t, "uploads.json (another type)", html, http.StatusBadRequest, "invalid_value")
		if tooBig.body["url"] != nil || html.body["url"] != nil {
			t.Fatalf("a refused upload got a URL: %v %v", tooBig.body, html.body)
		}
		up := call("uploads", withBody(map[string]any{"size": len(file), "contentType": "application/zip"}))
		want(t, "uploads.json", up, http.StatusOK, "")
		id, _ := up.body["uploadId"].(string)
		target, _ := up.body["url"].(string)
		wantPrefix := s.s3URL + "/" + testBucket + "/uploads/" + uai + "/" + thisYear + "/" + id
		if up.body["method"] != "PUT" || id == "" || !strings.HasPrefix(target, wantPrefix) || !strings.Contains(target, "X-Amz-Signature=") {
			t.Fatalf("upload target %v, want a presigned PUT to %s", up.body, wantPrefix)
		}
		// The browser's PUT, straight to S3, with the headers given: a
		// longer body is refused, the declared file lands, once.
		putS3 := func(body []byte) int {
			t.Helper()
			req, _ := http.NewRequest(http.MethodPut, target, bytes.NewReader(body))
			if hs, ok := up.body["headers"].(map[string]any); ok {
				for k, v := range hs {
					req.Header.Set(k, str(v))
				}
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		}
		if code := putS3(append(slices.Clone(file), 0)); code != http.StatusForbidden {
			t.Fatalf("presigned PUT of a longer body: %d, want 403", code)
		}
		if code := putS3(file); code != http.StatusOK {
			t.Fatalf("presigned PUT: %d", code)
		}
		if code := putS3(file); code != http.StatusPreconditionFailed {
			t.Fatalf("a second presigned PUT: %d, want 412", code)
		}

		// recoveries.json: a dry run of the upload, then apply.json.
		dry := call("recoveries", withBody(map[string]any{"upload": id, "add": true, "update": false, "dryRun": true}))
		want(t, "recoveries.json (dry run)", dry, http.StatusOK, "")
		planID, _ := dry.body["id"].(string)
		if dry.body["dryRun"] != true || dry.body["added"] != 3.0 || planID == "" || len(s.users()) != 1 {
			t.Fatalf("dry run: %v", dry.body)
		}
		applied := call("apply", func(ev *events.APIGatewayV2HTTPRequest) {
			ev.RawPath = httpapi.Prefix + "/recoveries/" + planID + "/apply"
			ev.RequestContext.HTTP.Path = ev.RawPath
			ev.PathParameters = map[string]string{"id": planID}
		})
		want(t, "apply.json", applied, http.StatusOK, "")
		if applied.body["added"] != 3.0 || applied.body["dryRun"] != false {
			t.Fatalf("apply: %v", applied.body)
		}
		if _, ok := s.users()["parent.durand"]; !ok {
			t.Fatal("the upload was not applied")
		}
		// POST /recoveries {"upload": id, "add": true}: applied already.
		again := call("recoveries", withBody(map[string]any{"upload": id, "add": true}))
		want(t, "recoveries again", again, http.StatusOK, "")
		if again.body["alreadyApplied"] != true {
			t.Fatalf("again: %v", again.body)
		}

		// put-upload.json: the single server's upload address, served
		// here too, into the bucket; an empty zip is refused as a whole.
		put := call("put-upload", nil)
		want(t, "put-upload.json", put, http.StatusNoContent, "")
		putID := loadEvent(t, "put-upload").PathParameters["id"]
		if _, ok := s.object("uploads/" + uai + "/" + thisYear + "/" + putID); !ok {
			t.Fatalf("put-upload.json: no object; uploads: %v", s.objects("uploads/"))
		}
		refused := call("recoveries", withBody(map[string]any{"upload": putID, "add": true}))
		want(t, "an empty zip", refused, http.StatusUnprocessableEntity, "invalid_import")

		// next-year.json: this year's rentrée file, now with last year's
		// users.
		ny := call("next-year", nil)
		if ny.StatusCode != http.StatusOK || !ny.IsBase64Encoded {
			t.Fatalf("next-year.json: %d base64 %v %.200s", ny.StatusCode, ny.IsBase64Encoded, ny.Body)
		}
		zip, err := base64.StdEncoding.DecodeString(ny.Body)
		if err != nil {
			t.Fatal(err)
		}
		src, err := rentree.Open(bytes.NewReader(zip), int64(len(zip)), sesame.DefaultRentreeLimits)
		if err != nil {
			t.Fatalf("next-year.json: %v", err)
		}
		if h := src.Header(); h.UAI != uai || h.Year != thisYear || h.Users != 4 {
			t.Errorf("next-year.json: %+v", h)
		}
	})
}

func mustRead(t *testing.T, file string) json.RawMessage {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
