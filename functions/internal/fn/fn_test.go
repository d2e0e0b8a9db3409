package fn_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sesame-ecole/sesame"
	"github.com/sesame-ecole/sesame/functions/internal/fn"
	"github.com/sesame-ecole/sesame/functions/internal/recoverfn"
	"github.com/sesame-ecole/sesame/infra/app"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfig(t *testing.T) {
	base := map[string]string{fn.EnvTable: "sesame-prod-Table", fn.EnvOriginSecret: "s3cr3t"}
	with := func(k, v string) func(string) string {
		m := map[string]string{}
		for key, val := range base {
			m[key] = val
		}
		m[k] = v
		return env(m)
	}
	t.Run("Defaults", func(t *testing.T) {
		c, err := fn.LoadConfig("seats", env(base))
		if err != nil {
			t.Fatal(err)
		}
		if c.Function != "seats" || c.Table != "sesame-prod-Table" || c.OriginSecret != "s3cr3t" || c.Timing != sesame.DefaultTiming || c.LogLevel != slog.LevelInfo ||
			c.Retention != sesame.DefaultJournalRetention {
			t.Fatalf("%+v", c)
		}
	})
	t.Run("JournalRetention", func(t *testing.T) {
		for v, want := range map[string]time.Duration{"183": 183 * 24 * time.Hour, "1": 24 * time.Hour, "1098": sesame.MaxJournalRetention, "30": 30 * 24 * time.Hour} {
			c, err := fn.LoadConfig("admin", with(fn.EnvJournalRetention, v))
			if err != nil || c.Retention != want {
				t.Errorf("%s=%s: %v %v, want %v", fn.EnvJournalRetention, v, c.Retention, err, want)
			}
		}
		for _, v := range []string{"0", "1099", "-3", "six mois", "1.5", "183d"} {
			_, err := fn.LoadConfig("admin", with(fn.EnvJournalRetention, v))
			if err == nil || !strings.Contains(err.Error(), fn.EnvJournalRetention) ||
				!strings.Contains(err.Error(), "La durée de conservation du journal « "+v+" » est incorrecte : donnez un nombre entier de jours, de 1 à 1098") {
				t.Errorf("%s=%q: %v, want the French refusal", fn.EnvJournalRetention, v, err)
			}
		}
	})
	t.Run("TimingOverrides", func(t *testing.T) {
		m := map[string]string{fn.EnvHeartbeat: "30s", fn.EnvLease: "2m", fn.EnvAbsolute: "8h", fn.EnvWarning: "45s", fn.EnvReport: "5m"}
		for k, v := range base {
			m[k] = v
		}
		c, err := fn.LoadConfig("seats", env(m))
		if err != nil {
			t.Fatal(err)
		}
		want := sesame.Timing{Heartbeat: 30 * time.Second, Lease: 2 * time.Minute, Absolute: 8 * time.Hour, Warning: 45 * time.Second, Report: 5 * time.Minute}
		if c.Timing != want {
			t.Fatalf("timing %+v, want %+v", c.Timing, want)
		}
	})
	t.Run("LogLevel", func(t *testing.T) {
		c, err := fn.LoadConfig("login", with(fn.EnvLogLevel, "DEBUG"))
		if err != nil || c.LogLevel != slog.LevelDebug {
			t.Fatalf("%v %v", c.LogLevel, err)
		}
	})
	for name, getenv := range map[string]func(string) string{
		"NoTable":         with(fn.EnvTable, ""),
		"NoOriginSecret":  with(fn.EnvOriginSecret, ""),
		"BadDuration":     with(fn.EnvHeartbeat, "soixante"),
		"LeaseTooShort":   with(fn.EnvLease, "90s"), // under two heartbeats of 60 s
		"UnknownLogLevel": with(fn.EnvLogLevel, "CHATTY"),
	} {
		t.Run(name, func(t *testing.T) {
			if c, err := fn.LoadConfig("login", getenv); err == nil {
				t.Fatalf("accepted: %+v", c)
			}
		})
	}
}

// TestNewRefusesBadConfig: a function that cannot be configured does not
// start (and never reaches for AWS).
func TestNewRefusesBadConfig(t *testing.T) {
	var logs bytes.Buffer
	_, err := fn.New(t.Context(), "login", env(map[string]string{fn.EnvOriginSecret: "x"}), &logs, app.StoreOptions{})
	if err == nil || !strings.Contains(err.Error(), fn.EnvTable) {
		t.Fatalf("New without a table: %v", err)
	}
}

// TestNewRecoverNeedsBucket: the recover function does not start without
// its import bucket (and never reaches for AWS).
func TestNewRecoverNeedsBucket(t *testing.T) {
	var logs bytes.Buffer
	_, err := recoverfn.NewRecover(t.Context(), env(map[string]string{fn.EnvTable: "t", fn.EnvOriginSecret: "x"}), &logs, app.StoreOptions{}, nil)
	if err == nil || !strings.Contains(err.Error(), fn.EnvImportBucket) {
		t.Fatalf("NewRecover without a bucket: %v", err)
	}
	cfg := fn.Config{Function: "recover", ImportBucket: "b"}
	if _, err := recoverfn.RecoverHandler(cfg, &sesame.Service{}, nil, cfg.Logger(&logs)); err == nil {
		t.Fatal("RecoverHandler without an S3 client")
	}
}

// TestLogger: one JSON object a line, with Lambda's field names and the
// function's name.
func TestLogger(t *testing.T) {
	var out bytes.Buffer
	c, err := fn.LoadConfig("authorize", env(map[string]string{fn.EnvTable: "t", fn.EnvOriginSecret: "s", fn.EnvLogLevel: "WARN"}))
	if err != nil {
		t.Fatal(err)
	}
	log := c.Logger(&out)
	log.Info("hidden")
	log.Warn("shown", "route", "/authorize")
	var line map[string]any
	if err := json.Unmarshal(out.Bytes(), &line); err != nil {
		t.Fatalf("%q: %v", out.String(), err)
	}
	if line["message"] != "shown" || line["level"] != "WARN" || line["timestamp"] == nil || line["function"] != "authorize" || line["route"] != "/authorize" {
		t.Fatalf("log line %v", line)
	}
}
