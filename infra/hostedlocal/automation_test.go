package hostedlocal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/infra/app/core"
	"github.com/sesame-ecole/sesame/infra/dynamolocal"
	"github.com/sesame-ecole/sesame/infra/hostedlocal"
	"github.com/sesame-ecole/sesame/rentree"
)

// The second school of the automation journey, and last year.
const (
	otherUAI = "0931234B"
	lastYear = "2025-2026"
)

// report is what the tests read of the recover function's JSON report
// (functions/internal/s3trigger.Report).
type report struct {
	Status    string                 `json:"status"`
	Key       string                 `json:"key"`
	VersionID string                 `json:"versionId"`
	ETag      string                 `json:"etag"`
	School    string                 `json:"school"`
	Year      string                 `json:"year"`
	Options   *sesame.RecoverOptions `json:"options"`
	Recovery  *sesame.RecoveryReport `json:"recovery"`
	Error     *struct {
		Code   string `json:"code"`
		Reason string `json:"reason"`
	} `json:"error"`
}

// automation is the hosted stack seen by IT staff's scripts: the import
// bucket through S3, the schools through the store.
type automation struct {
	t   *testing.T
	st  *hostedlocal.Stack
	s3  *s3.Client
	svc *sesame.Service
}

// TestAutomationJourney runs IT staff's automation through the hosted
// stack: a rentrée file PUT under imports/<uai>/<year>/ with its options
// as metadata reaches the recover function under RIE through versitygw's
// event and the bridge; the recovery runs and its report appears under
// reports/<uai>/<year>/. The same version delivered 3 times more changes
// nothing, and the file of school A never touches school B, even when it
// is dropped under B's prefix. Skipped with -short.
func TestAutomationJourney(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole hosted stack; skipped with -short")
	}
	st := startStack(t, hostedlocal.Options{DynamoDB: dynamolocal.Endpoint(t), Table: dynamolocal.TableName(t),
		RetryDelay: 10 * time.Millisecond, Instances: map[string]int{"LoginFunction": 1, "SeatsFunction": 1, "AuthorizeFunction": 1}})
	store, err := core.OpenDynamo(t.Context(), st.DynamoDBClient(), st.Table, "")
	if err != nil {
		t.Fatal(err)
	}
	a := &automation{t: t, st: st, s3: st.S3Client(), svc: core.NewService(store, sesame.DefaultTiming)}
	ctx := t.Context()

	// Two schools, each with last year's base and this year's.
	lastYearLogins := map[string][]string{uai: {"prof.durand", "mme.petit", "eleve.martin"}, otherUAI: {"prof.leroy", "eleve.bernard"}}
	for school, logins := range lastYearLogins {
		for _, y := range []sesame.Year{lastYear, year} {
			if _, err := a.svc.CreateSchool(ctx, sesame.NewSchool{UAI: school, Name: "Établissement " + school, Year: string(y), SPRPassword: pass}); err != nil {
				t.Fatalf("CreateSchool %s %s: %v", school, y, err)
			}
		}
		for _, login := range logins {
			kind := "teacher"
			if strings.HasPrefix(login, "eleve.") {
				kind = "student"
			} else if strings.HasPrefix(login, "mme.") {
				kind = "staff"
			}
			if _, err := a.svc.AddUser(ctx, sesame.NewUser{UAI: school, Year: lastYear, Login: login, Kind: kind,
				DisplayName: "Compte " + login, Password: "mot-de-passe-" + login}); err != nil {
				t.Fatalf("AddUser %s: %v", login, err)
			}
		}
	}
	file := a.rentree(uai, lastYear)
	otherBefore := a.world(otherUAI)

	// IT staff drop school A's file, add and update.
	key := "imports/" + uai + "/" + year + "/rentree.zip"
	version := a.put(key, file, map[string]string{"add": "true", "update": "true"})
	a.wait(1)
	reports := a.list("reports/" + uai + "/" + year + "/")
	if len(reports) != 2 { // the JSON and its French summary
		t.Fatalf("reports after the import: %v\n%s", slices.Sorted(maps.Keys(reports)), st.Logs()["RecoverFunction (S3)"])
	}
	rep := a.report(reports)
	if rep.Status != "applied" || rep.Key != key || rep.VersionID != version || rep.School != uai || rep.Year != year ||
		rep.Options == nil || !rep.Options.Add || !rep.Options.Update || rep.Options.DryRun ||
		rep.Recovery == nil || rep.Recovery.Added != len(lastYearLogins[uai]) ||
		// Last year's SPR is never taken over: the new base has its own.
		len(rep.Recovery.Rejected) != 1 || rep.Recovery.Rejected[0].Login != "spr" || rep.Recovery.Rejected[0].Code != sesame.CodeProtected {
		t.Fatalf("the report: %+v, options %+v, recovery %+v", rep, rep.Options, rep.Recovery)
	}
	users := a.users(uai, year)
	for _, login := range lastYearLogins[uai] {
		if _, ok := users[login]; !ok {
			t.Errorf("%s was not recovered into %s: %v", login, year, slices.Sorted(maps.Keys(users)))
		}
	}
	for _, login := range lastYearLogins[otherUAI] {
		if _, ok := users[login]; ok {
			t.Errorf("school B's %s is in school A's base", login)
		}
	}

	// The same version delivered 3 times more (S3 delivers at least
	// once; Lambda retries): nothing changes.
	journal := a.journal(uai, year)
	event := `{"Records":[{"eventName":"s3:ObjectCreated:Put","eventTime":"` + time.Now().UTC().Format(time.RFC3339) +
		`","awsRegion":"eu-west-3","s3":{"bucket":{"name":"` + st.ImportBucket + `"},"object":{"key":"` + key +
		`","size":` + strconv.Itoa(len(file)) + `,"eTag":"` + rep.ETag + `"}}}]}`
	for range 3 {
		st.Notify([]byte(event))
	}
	a.wait(4)
	if got := a.list("reports/" + uai + "/" + year + "/"); !maps.Equal(got, reports) {
		t.Errorf("the replays wrote reports: %v, before %v", got, reports)
	}
	if got := a.users(uai, year); !maps.EqualFunc(got, users, sameUser) {
		t.Errorf("the replays changed the users of %s", uai)
	}
	if got := a.journal(uai, year); got != journal {
		t.Errorf("the replays wrote the journal: %d entries, before %d", got, journal)
	}

	// School A's file dropped under school B's prefix: refused, and B's
	// bases are as they were.
	wrong := "imports/" + otherUAI + "/" + year + "/rentree.zip"
	a.put(wrong, file, map[string]string{"add": "true", "update": "true"})
	a.wait(5)
	refusal := a.list("reports/" + otherUAI + "/" + year + "/")
	if len(refusal) != 2 {
		t.Fatalf("reports of the wrong prefix: %v", refusal)
	}
	if rep := a.report(refusal); rep.Status != "refused" || rep.Error == nil || rep.Error.Reason != "wrong_school" || rep.Recovery != nil {
		t.Errorf("a file of school A under B's prefix: %+v", rep)
	}
	if got := a.world(otherUAI); !maps.EqualFunc(got, otherBefore, func(x, y map[string]sesame.User) bool { return maps.EqualFunc(x, y, sameUser) }) {
		t.Errorf("school B's users changed: %v, before %v", got, otherBefore)
	}
	if got := a.list("reports/" + uai + "/" + year + "/"); !maps.Equal(got, reports) {
		t.Errorf("school A's reports changed: %v", got)
	}
	if f := st.Failures(); len(f) != 0 {
		t.Errorf("events in the on-failure destination: %+v", f)
	}
}

// rentree is the rentrée .zip of a base, as Préparer l'année suivante
// writes it.
func (a *automation) rentree(school, y string) []byte {
	a.t.Helper()
	src, err := a.svc.BaseSource(a.t.Context(), sesame.BaseKey{UAI: sesame.UAI(school), Year: sesame.Year(y)})
	if err != nil {
		a.t.Fatal(err)
	}
	var b bytes.Buffer
	if err := rentree.WriteZip(&b, src, time.Now().UTC()); err != nil {
		a.t.Fatal(err)
	}
	return b.Bytes()
}

// put writes an object as IT staff's scripts do, with the options as
// metadata, and returns its version id.
func (a *automation) put(key string, body []byte, meta map[string]string) string {
	a.t.Helper()
	out, err := a.s3.PutObject(a.t.Context(), &s3.PutObjectInput{Bucket: aws.String(a.st.ImportBucket), Key: aws.String(key),
		Body: bytes.NewReader(body), ContentType: aws.String("application/zip"), Metadata: meta})
	if err != nil {
		a.t.Fatalf("put %s: %v", key, err)
	}
	if aws.ToString(out.VersionId) == "" {
		a.t.Fatalf("put %s: no version id", key)
	}
	return aws.ToString(out.VersionId)
}

// wait waits until n notifications in all reached the recover function
// (or its on-failure destination).
func (a *automation) wait(n int) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(a.t.Context(), 3*time.Minute)
	defer cancel()
	if err := a.st.WaitEvents(ctx, n); err != nil {
		a.t.Fatalf("%v\n%s", err, a.st.Logs()["RecoverFunction (S3)"])
	}
}

// list maps the keys under prefix to their ETags.
func (a *automation) list(prefix string) map[string]string {
	a.t.Helper()
	out, err := a.s3.ListObjectsV2(a.t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(a.st.ImportBucket), Prefix: aws.String(prefix)})
	if err != nil {
		a.t.Fatal(err)
	}
	m := map[string]string{}
	for _, o := range out.Contents {
		m[aws.ToString(o.Key)] = aws.ToString(o.ETag)
	}
	return m
}

// report reads the JSON report among keys.
func (a *automation) report(keys map[string]string) report {
	a.t.Helper()
	for key := range keys {
		if !strings.HasSuffix(key, ".json") {
			continue
		}
		out, err := a.s3.GetObject(a.t.Context(), &s3.GetObjectInput{Bucket: aws.String(a.st.ImportBucket), Key: aws.String(key)})
		if err != nil {
			a.t.Fatal(err)
		}
		defer out.Body.Close()
		b, _ := io.ReadAll(out.Body)
		var rep report
		if err := json.Unmarshal(b, &rep); err != nil {
			a.t.Fatalf("%s: %v\n%s", key, err, b)
		}
		return rep
	}
	a.t.Fatalf("no JSON report among %v", keys)
	return report{}
}

// users lists a base's users by login.
func (a *automation) users(school, y string) map[string]sesame.User {
	a.t.Helper()
	page, err := a.svc.Store.ListUsers(a.t.Context(), sesame.BaseKey{UAI: sesame.UAI(school), Year: sesame.Year(y)}, sesame.UserQuery{Limit: 1000})
	if err != nil {
		a.t.Fatal(err)
	}
	m := map[string]sesame.User{}
	for _, u := range page.Users {
		m[u.Login] = u
	}
	return m
}

// world is a school's users in both its bases, by year.
func (a *automation) world(school string) map[string]map[string]sesame.User {
	return map[string]map[string]sesame.User{lastYear: a.users(school, lastYear), year: a.users(school, year)}
}

// journal counts a base's journal entries.
func (a *automation) journal(school, y string) int {
	a.t.Helper()
	page, err := a.svc.Store.ListJournal(a.t.Context(), sesame.BaseKey{UAI: sesame.UAI(school), Year: sesame.Year(y)}, sesame.JournalQuery{Limit: 1000})
	if err != nil {
		a.t.Fatal(err)
	}
	return len(page.Entries)
}

// sameUser: the same account at the same version.
func sameUser(x, y sesame.User) bool {
	return x.Login == y.Login && x.Version == y.Version && x.DisplayName == y.DisplayName && x.PasswordHash == y.PasswordHash
}
