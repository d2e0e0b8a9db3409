package localtool_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/sesame-ecole/sesame/infra/localtool"
)

func TestInstalledChecksThePin(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tool := localtool.Tool{Name: "x", Module: "github.com/sesame-ecole/sesame", Version: "(devel)"}
	if !tool.Installed(self) {
		t.Fatal("the test binary is not its own module at (devel)")
	}
	for _, other := range []localtool.Tool{{Module: tool.Module, Version: "v1.0.0"}, {Module: "example.com/other", Version: "(devel)"}} {
		if other.Installed(self) {
			t.Errorf("%+v taken for the test binary", other)
		}
	}
	if tool.Installed(os.DevNull) {
		t.Error("not a Go binary, yet installed")
	}
}

func TestTailBuffer(t *testing.T) {
	b := &localtool.TailBuffer{Max: 10}
	for i := range 7 {
		fmt.Fprintf(b, "%d:", i)
	}
	if got := b.String(); got != "2:3:4:5:6:" || !strings.HasSuffix(got, "6:") {
		t.Fatalf("%q", got)
	}
}
