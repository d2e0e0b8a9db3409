package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
)

// recoveryWorld has last year's base (2025-2026) with users, and this
// year's (2026-2027), current and empty but for its SPR.
func recoveryWorld(t *testing.T, st sesame.Backend) (*world, *browser, *browser) {
	t.Helper()
	w := newWorld(t, st, "0751234A", sesame.DefaultLicense)
	w.year = "2025-2026"
	ctx := context.Background()
	// newWorld made 2026-2027; last year's base comes beside it.
	if _, err := w.svc.CreateSchool(ctx, sesame.NewSchool{UAI: w.uai, Name: "x", Year: "2025-2026", SPRPassword: pw}); err != nil {
		t.Fatal(err)
	}
	w.user("prof.martin", "teacher", "", "")
	w.user("secretaire", "staff", "Modification", "")
	w.user("parent.durand", "parent", "", "")
	old := w.browser()
	a := old.do("POST", "/login", map[string]string{"school": w.uai, "login": "spr", "password": pw, "mode": "admin", "year": "2025-2026"}, nil)
	wantStatus(t, "SPR into last year", a, http.StatusOK, "")
	w.year = "2026-2027"
	cur := w.spr()
	return w, old, cur
}

func TestRecoveryRoutes(t *testing.T) {
	eachStore(t, func(t *testing.T, st sesame.Backend) {
		w, old, spr := recoveryWorld(t, st)

		// Préparer l'année suivante, in both formats.
		zip := old.raw("GET", "/next-year?format=zip", "", "")
		if zip.status != http.StatusOK || !strings.HasPrefix(zip.text, "PK\x03\x04") || !strings.Contains(zip.header.Get("Content-Disposition"), "rentree-0751234A-2025-2026.zip") {
			t.Fatalf("next-year zip: %d %s", zip.status, zip.header)
		}
		profils := old.raw("GET", "/next-year?format=profils", "", "")
		if profils.status != http.StatusOK || !strings.HasPrefix(profils.text, "{") || strings.Contains(profils.text, "parent.durand") {
			t.Fatalf("next-year profils: %d %.200s", profils.status, profils.text)
		}
		// Files are stamped with the service's clock, not the machine's.
		stamp := w.clock.Advance(10 * time.Minute).UTC().Format(time.RFC3339)
		if again := old.raw("GET", "/next-year?format=profils", "", ""); !strings.Contains(again.text, `"createdAt":"`+stamp+`"`) {
			t.Fatalf("next-year is not stamped with the service clock (%s): %.300s", stamp, again.text)
		}
		wantStatus(t, "bad format", old.do("GET", "/next-year?format=csv", nil, nil), http.StatusBadRequest, "bad_request")

		// The file in the body, previewed then applied.
		dry := spr.raw("POST", "/recoveries?add=true&dryRun=true", zip.text, "application/zip")
		if dry.status != http.StatusOK || dry.json["dryRun"] != true || dry.json["added"] != 3.0 {
			t.Fatalf("dry run: %d %v", dry.status, dry.json)
		}
		wantStatus(t, "sign-in before the apply", w.browser().login("prof.martin", "teacher", ""), http.StatusUnauthorized, "invalid_credentials")
		id := dry.json["id"].(string)
		applied := spr.do("POST", "/recoveries/"+id+"/apply", nil, nil)
		wantStatus(t, "apply", applied, http.StatusOK, "")
		if applied.body["added"] != 3.0 || applied.body["dryRun"] != false {
			t.Fatalf("apply: %v", applied.body)
		}
		// Last year's teacher signs in this year with last year's password.
		w.browser().mustLogin("prof.martin", "teacher", "")

		// The same file again changes nothing.
		again := spr.raw("POST", "/recoveries?add=true", zip.text, "application/zip")
		if again.json["alreadyApplied"] != true {
			t.Fatalf("second apply: %v", again.json)
		}

		// Through an upload: the .profils, update only.
		up := spr.do("POST", "/uploads", map[string]any{"size": len(profils.text), "contentType": "application/octet-stream"}, nil)
		wantStatus(t, "upload target", up, http.StatusOK, "")
		url, method := up.body["url"].(string), up.body["method"].(string)
		if method != "PUT" || !strings.HasPrefix(url, "/api/v1/uploads/") || up.body["headers"].(map[string]any)["Content-Type"] != "application/octet-stream" {
			t.Fatalf("upload target: %v", up.body)
		}
		// The address takes the declared file only: not another type,
		// not another length.
		path := strings.TrimPrefix(url, "/api/v1")
		wantRaw := func(what string, a rawAnswer, status int, code string) {
			t.Helper()
			if a.status != status || a.code() != code {
				t.Fatalf("%s: %d %s %s, want %d %s", what, a.status, a.code(), a.text, status, code)
			}
		}
		wantRaw("PUT of another type", spr.raw(method, path, profils.text, "application/zip"), http.StatusBadRequest, "invalid_value")
		wantRaw("PUT of another length", spr.raw(method, path, profils.text+"\n", "application/octet-stream"), http.StatusBadRequest, "invalid_value")
		wantRaw("PUT without a target", spr.raw(method, "/uploads/u-jamais-demande", profils.text, "application/octet-stream"), http.StatusNotFound, "not_found")
		put := spr.raw(method, path, profils.text, "application/octet-stream")
		if put.status != http.StatusNoContent {
			t.Fatalf("PUT upload: %d %s", put.status, put.text)
		}
		wantRaw("a second PUT", spr.raw(method, path, profils.text, "application/octet-stream"), http.StatusConflict, "already_exists")
		// Refused before any target is issued: over the rentrée limit,
		// another type, no size.
		for name, c := range map[string]struct {
			body   any
			status int
			code   string
		}{
			"over the limit": {map[string]any{"size": sesame.DefaultRentreeLimits.MaxCompressedIn + 1, "contentType": "application/zip"}, http.StatusRequestEntityTooLarge, "invalid_import"},
			"another type":   {map[string]any{"size": 10, "contentType": "text/html"}, http.StatusBadRequest, "invalid_value"},
			"no size":        {map[string]any{"contentType": "application/zip"}, http.StatusBadRequest, "invalid_value"},
			"no body":        {nil, http.StatusBadRequest, "bad_request"},
		} {
			got := spr.do("POST", "/uploads", c.body, nil)
			wantStatus(t, "upload target: "+name, got, c.status, c.code)
			if got.body["url"] != nil {
				t.Errorf("%s: a target was issued: %v", name, got.body)
			}
		}
		fromUpload := spr.do("POST", "/recoveries", map[string]any{"upload": up.body["uploadId"], "update": true}, nil)
		wantStatus(t, "recover from the upload", fromUpload, http.StatusOK, "")
		if fromUpload.body["added"] != 0.0 || fromUpload.body["unchanged"] != 2.0 {
			t.Fatalf("from the upload: %v", fromUpload.body)
		}

		// From last year's base directly.
		fromBase := spr.do("POST", "/recoveries", map[string]any{"fromYear": "2025-2026", "add": true, "update": true, "dryRun": true}, nil)
		wantStatus(t, "recover from last year", fromBase, http.StatusOK, "")
		if fromBase.body["unchanged"] != 3.0 {
			t.Fatalf("from last year's base: %v", fromBase.body)
		}

		// Refusals.
		bad := spr.raw("POST", "/recoveries?add=true", "ceci n'est pas un zip", "application/zip")
		if bad.status != http.StatusUnprocessableEntity || bad.code() != "invalid_import" {
			t.Fatalf("not a zip: %d %v", bad.status, bad.json)
		}
		wantStatus(t, "no option", spr.do("POST", "/recoveries", map[string]any{"fromYear": "2025-2026"}, nil), http.StatusBadRequest, "bad_request")
		wantStatus(t, "both sources", spr.do("POST", "/recoveries", map[string]any{"fromYear": "2025-2026", "upload": "u-1", "add": true}, nil), http.StatusBadRequest, "bad_request")
		wantStatus(t, "unknown plan", spr.do("POST", "/recoveries/rec-inconnu/apply", nil, nil), http.StatusNotFound, "not_found")
		w.user("prof.bis", "teacher", "", "")
		teacher := w.browser()
		teacher.mustLogin("prof.bis", "teacher", "")
		wantStatus(t, "a teacher", teacher.do("POST", "/recoveries", map[string]any{"fromYear": "2025-2026", "add": true}, nil), http.StatusForbidden, "forbidden")
		wantStatus(t, "a teacher's next-year", teacher.do("GET", "/next-year", nil, nil), http.StatusForbidden, "forbidden")

		// A stale preview.
		stale := spr.do("POST", "/recoveries", map[string]any{"fromYear": "2025-2026", "add": true, "update": true, "dryRun": true}, nil)
		w.user("nouveau", "teacher", "", "")
		u, _ := w.svc.Store.GetUser(context.Background(), sesame.BaseKey{UAI: "0751234A", Year: "2026-2027"}, "prof.martin")
		u.DisplayName = "Changé entre-temps"
		if _, err := w.svc.Store.UpdateUser(context.Background(), sesame.BaseKey{UAI: "0751234A", Year: "2026-2027"}, u); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "stale plan", spr.do("POST", "/recoveries/"+stale.body["id"].(string)+"/apply", nil, nil), http.StatusConflict, "plan_stale")
	})
}
