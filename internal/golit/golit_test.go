package golit

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

type leaf struct {
	Name  string
	Score *float64
	Any   any
}

type tree struct {
	Left, Right *leaf
	Tags        []string
	Attrs       map[string]any
	Count       uint32
	hidden      int
}

// keyed has its entries behind an unexported map and a Set method.
type keyed struct {
	Title string
	m     map[string]*leaf
}

func (k *keyed) Set(key string, v *leaf) {
	if k.m == nil {
		k.m = map[string]*leaf{}
	}
	k.m[key] = v
}

func write(t *testing.T, v any, opts Options) string {
	t.Helper()
	body, _, err := Write(v, opts)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// TestWriteValues writes each kind the way Go source builds it: zero
// fields left out, constants typed where an interface holds them, map
// keys sorted, nil and empty kept apart.
func TestWriteValues(t *testing.T) {
	score := 2.5
	v := &tree{
		Left:  &leaf{Name: "a\"b", Score: &score, Any: 3.0},
		Tags:  []string{},
		Attrs: map[string]any{"z": true, "a": []any{int64(1), "x", nil}, "m": map[string]any{}},
		Count: 7,
	}
	got := write(t, v, Options{})
	want := `return &golit.tree{Left: &golit.leaf{Name: "a\"b", Score: ptrTo(float64(2.5)), Any: float64(3)}, Tags: []string{}, Attrs: map[string]any{"a": []any{int64(1), "x", nil}, "m": map[string]any{}, "z": true}, Count: uint32(7)}` + "\n"
	if got != want {
		t.Errorf("Write =\n%s\nwant\n%s", got, want)
	}
}

// TestWriteSharedPointer builds a pointer met twice once, in a variable
// written before its first use.
func TestWriteSharedPointer(t *testing.T) {
	shared := &leaf{Name: "s"}
	got := write(t, &tree{Left: shared, Right: shared}, Options{})
	want := "p0 := &golit.leaf{Name: \"s\"}\nreturn &golit.tree{Left: p0, Right: p0}\n"
	if got != want {
		t.Errorf("Write =\n%s\nwant\n%s", got, want)
	}
}

// TestWriteMapSetter fills an unexported map through Set, keys sorted.
func TestWriteMapSetter(t *testing.T) {
	k := &keyed{Title: "t"}
	k.Set("b", &leaf{Name: "B"})
	k.Set("a", nil)
	got := write(t, k, Options{MapSetters: map[reflect.Type]string{reflect.TypeFor[keyed](): "m"}})
	want := "return func() *golit.keyed {\nx := &golit.keyed{Title: \"t\"}\nx.Set(\"a\", nil)\nx.Set(\"b\", &golit.leaf{Name: \"B\"})\nreturn x\n}()\n"
	if got != want {
		t.Errorf("Write =\n%s\nwant\n%s", got, want)
	}
}

// TestWriteRefuses what it cannot write faithfully: an unexported field
// that is set (unless Omit allows it), a cycle, a NaN.
func TestWriteRefuses(t *testing.T) {
	if _, _, err := Write(&tree{hidden: 1}, Options{}); err == nil || !strings.Contains(err.Error(), "hidden") {
		t.Errorf("an unexported field set: err = %v, want one naming it", err)
	}
	omit := Options{Omit: func(_ reflect.Type, f reflect.StructField) bool { return f.Name == "hidden" }}
	if got := write(t, &tree{hidden: 1, Count: 1}, omit); got != "return &golit.tree{Count: uint32(1)}\n" {
		t.Errorf("an omitted field: Write = %q", got)
	}
	type node struct{ Next *node }
	n := &node{}
	n.Next = n
	if _, _, err := Write(n, Options{}); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("a cycle: err = %v, want one saying so", err)
	}
	nan := math.NaN()
	if _, _, err := Write(&leaf{Score: &nan}, Options{}); err == nil {
		t.Error("a NaN: no error")
	}
}

// TestWriteImports lists the packages the written types name.
func TestWriteImports(t *testing.T) {
	_, imports, err := Write(&leaf{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(imports) != 1 || imports[0] != "github.com/mdelive/mde-emulator/internal/golit" {
		t.Errorf("imports = %v", imports)
	}
}
