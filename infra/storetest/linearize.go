package storetest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// checkTimeout bounds the linearizability check of one history.
const checkTimeout = time.Minute

// checkHistory checks a history of seat calls against the pool model, and
// fails t when it is not linearizable (or when the check cannot decide in
// time). A failing history is written as porcupine's visualisation under
// the repository's .cache/porcupine/, and its path is logged and returned.
func checkHistory(t testing.TB, ops []porcupine.Operation, init map[int]poolState) string {
	t.Helper()
	ok, path := linearizable(t, ops, init)
	if !ok {
		t.Errorf("the history of %d calls is not linearizable; open %s", len(ops), path)
	}
	return path
}

// linearizable reports whether ops is linearizable, and otherwise writes
// the visualisation and returns its path.
func linearizable(t testing.TB, ops []porcupine.Operation, init map[int]poolState) (bool, string) {
	t.Helper()
	model := poolModel(init)
	t0 := time.Now()
	res, info := porcupine.CheckOperationsVerbose(model, ops, checkTimeout)
	t.Logf("linearizability: %s for %d calls, checked in %v", res, len(ops), time.Since(t0).Round(time.Millisecond))
	if res == porcupine.Ok {
		return true, ""
	}
	path := historyPath(t)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Errorf("writing the history: %v", err)
		return false, path
	}
	if err := porcupine.VisualizePath(model, info, path); err != nil {
		t.Errorf("writing the history: %v", err)
	}
	t.Logf("history (%s): %s", res, path)
	if res == porcupine.Illegal {
		t.Log(explain(model, info, model.Partition(ops)))
	}
	return false, path
}

// explain describes where the longest linearization of each failing
// partition stops: its last steps, and the calls around the first call it
// could not place.
func explain(model porcupine.Model, info porcupine.LinearizationInfo, parts [][]porcupine.Operation) string {
	var b strings.Builder
	for p, partials := range info.PartialLinearizationsOperations() {
		var longest []porcupine.Operation
		for _, l := range partials {
			if len(l) > len(longest) {
				longest = l
			}
		}
		placed := map[int64]bool{}
		for _, op := range longest {
			placed[op.Call*1000+int64(op.ClientId)] = true
		}
		var stuck *porcupine.Operation
		for _, op := range parts[p] {
			if !placed[op.Call*1000+int64(op.ClientId)] && (stuck == nil || op.Call < stuck.Call) {
				stuck = &op
			}
		}
		if stuck == nil {
			continue
		}
		describe := func(op porcupine.Operation) string {
			return fmt.Sprintf("  client %d [%d µs, %d µs] %s", op.ClientId, op.Call/1000, op.Return/1000,
				model.DescribeOperation(op.Input, op.Output))
		}
		fmt.Fprintf(&b, "partition %d: %d calls placed; last placed:\n", p, len(longest))
		for _, op := range longest[max(0, len(longest)-8):] {
			b.WriteString(describe(op) + "\n")
		}
		b.WriteString(" first call not placed, and the calls around it:\n")
		for _, op := range parts[p] {
			if op.Return >= stuck.Call-int64(50*time.Millisecond) && op.Call <= stuck.Return {
				mark := " "
				if op.Call == stuck.Call && op.ClientId == stuck.ClientId {
					mark = "→"
				}
				b.WriteString(mark + describe(op) + "\n")
			}
		}
	}
	return b.String()
}

// historyPath is where a failing history goes: .cache/porcupine/ at the
// root of the repository (the directory holding go.mod), or the system's
// temporary directory when there is none.
func historyPath(t testing.TB) string {
	name := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
	file := fmt.Sprintf("%s-%s.html", name, time.Now().UTC().Format("20060102T150405.000"))
	dir, err := os.Getwd()
	for err == nil {
		if _, statErr := os.Stat(filepath.Join(dir, "go.mod")); statErr == nil {
			return filepath.Join(dir, ".cache", "porcupine", file)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return filepath.Join(os.TempDir(), "porcupine", file)
}
