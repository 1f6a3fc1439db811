package golit

import (
	"bytes"
	"os"
	"testing"
)

// Golden holds the generated file path to src, the source its generator
// writes now: with update it writes src there, else it fails t when the
// file differs, naming regenerate, the command that rewrites it.
func Golden(t testing.TB, path string, src []byte, update bool, regenerate string) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, src, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, src) {
		t.Fatalf("%s is not what its generator writes now: run %s", path, regenerate)
	}
}
