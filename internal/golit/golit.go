// Package golit writes a Go value as Go source: the body of a function
// that builds an equal value, for generated code that replaces a parse at
// start-up (openapi's document, openapi/document_gen.go).
//
// It writes what reflection sees: booleans, numbers, strings, pointers,
// structs, slices, arrays, maps and interfaces holding them. A pointer
// met more than once is built once, in a variable, so that what the
// value shares the written code shares too; a cycle is an error. An
// unexported field cannot be set from another package: one that is not
// zero is an error, unless Options say how to set it (MapSetters) or
// that it may be left out (Omit). Maps are written in the order of their
// sorted keys, so the output depends on the value alone.
package golit

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Options tune Write for the types of one library.
type Options struct {
	// MapSetters names, for a struct type, its one unexported map field
	// that the pointer's method Set(key, value) fills: such a struct is
	// built with its exported fields, then Set once per entry, in the
	// order of the sorted keys.
	MapSetters map[reflect.Type]string
	// Omit reports whether the unexported field f of struct type t may be
	// left out of the written value (its zero value then stands in for
	// it): bookkeeping of the library's that the value does not need.
	Omit func(t reflect.Type, f reflect.StructField) bool
}

// Write returns the statements of a function body that builds a value
// equal to v, ending with "return ...". Qualified type names use the last
// element of their package's import path; Imports lists those paths.
func Write(v any, opts Options) (body []byte, imports []string, err error) {
	w := &writer{opts: opts, seen: map[ptrKey]int{}, names: map[ptrKey]string{}, pkgs: map[string]bool{}}
	rv := reflect.ValueOf(v)
	if err := w.count(rv, map[ptrKey]bool{}); err != nil {
		return nil, nil, err
	}
	var ret bytes.Buffer
	if err := w.value(&ret, rv, false); err != nil {
		return nil, nil, err
	}
	w.body.WriteString("return ")
	w.body.Write(ret.Bytes())
	w.body.WriteByte('\n')
	for p := range w.pkgs {
		imports = append(imports, p)
	}
	slices.Sort(imports)
	return w.body.Bytes(), imports, nil
}

// ptrKey is a pointer met in the value: its address and type.
type ptrKey struct {
	addr uintptr
	t    reflect.Type
}

type writer struct {
	opts  Options
	seen  map[ptrKey]int    // how many times each pointer is met
	names map[ptrKey]string // the variable of each shared pointer written
	pkgs  map[string]bool
	body  bytes.Buffer // the shared pointers' variables, each before its first use
}

// count counts the pointers of v, failing on a cycle (a pointer met again
// within itself: onPath).
func (w *writer) count(v reflect.Value, onPath map[ptrKey]bool) error {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		k := ptrKey{v.Pointer(), v.Type()}
		if onPath[k] {
			return fmt.Errorf("golit: a cycle through %s", v.Type())
		}
		w.seen[k]++
		if w.seen[k] > 1 {
			return nil // its insides are counted once
		}
		onPath[k] = true
		defer delete(onPath, k)
		return w.count(v.Elem(), onPath)
	case reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return w.count(v.Elem(), onPath)
	case reflect.Struct:
		for i := range v.NumField() {
			if err := w.count(v.Field(i), onPath); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if err := w.count(v.Index(i), onPath); err != nil {
				return err
			}
		}
	case reflect.Map:
		for _, k := range sortedKeys(v) {
			if err := w.count(v.MapIndex(k), onPath); err != nil {
				return err
			}
		}
	}
	return nil
}

// value writes v as an expression to b. inIface says the expression
// stands where an interface is expected, so a constant must carry its
// type.
func (w *writer) value(b *bytes.Buffer, v reflect.Value, inIface bool) error {
	t := v.Type()
	switch v.Kind() {
	case reflect.Bool:
		return w.constant(b, t, strconv.FormatBool(v.Bool()), inIface && t != reflect.TypeFor[bool]())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return w.constant(b, t, strconv.FormatInt(v.Int(), 10), inIface && t != reflect.TypeFor[int]())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return w.constant(b, t, strconv.FormatUint(v.Uint(), 10), true)
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("golit: %v has no Go literal", f)
		}
		return w.constant(b, t, strconv.FormatFloat(f, 'g', -1, t.Bits()), true)
	case reflect.String:
		return w.constant(b, t, strconv.Quote(v.String()), inIface && t != reflect.TypeFor[string]())
	case reflect.Interface:
		if v.IsNil() {
			b.WriteString("nil")
			return nil
		}
		return w.value(b, v.Elem(), true)
	case reflect.Pointer:
		return w.pointer(b, v)
	case reflect.Struct:
		return w.structLit(b, v)
	case reflect.Slice:
		if v.IsNil() {
			if inIface {
				return w.constant(b, t, "nil", true)
			}
			b.WriteString("nil")
			return nil
		}
		fallthrough
	case reflect.Array:
		name, err := w.typeName(t)
		if err != nil {
			return err
		}
		b.WriteString(name + "{")
		for i := range v.Len() {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := w.value(b, v.Index(i), t.Elem().Kind() == reflect.Interface); err != nil {
				return err
			}
		}
		b.WriteString("}")
		return nil
	case reflect.Map:
		name, err := w.typeName(t)
		if err != nil {
			return err
		}
		if v.IsNil() {
			if inIface {
				b.WriteString(name + "(nil)")
			} else {
				b.WriteString("nil")
			}
			return nil
		}
		b.WriteString(name + "{")
		for i, k := range sortedKeys(v) {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := w.value(b, k, t.Key().Kind() == reflect.Interface); err != nil {
				return err
			}
			b.WriteString(": ")
			if err := w.value(b, v.MapIndex(k), t.Elem().Kind() == reflect.Interface); err != nil {
				return err
			}
		}
		b.WriteString("}")
		return nil
	}
	return fmt.Errorf("golit: cannot write a %s", t)
}

// constant writes lit, converted to t when typed says so.
func (w *writer) constant(b *bytes.Buffer, t reflect.Type, lit string, typed bool) error {
	if !typed {
		b.WriteString(lit)
		return nil
	}
	name, err := w.typeName(t)
	if err != nil {
		return err
	}
	fmt.Fprintf(b, "%s(%s)", name, lit)
	return nil
}

// pointer writes a pointer: nil, the variable of a shared one (written to
// w.body first), or the address of its value built in place.
func (w *writer) pointer(b *bytes.Buffer, v reflect.Value) error {
	if v.IsNil() {
		b.WriteString("nil")
		return nil
	}
	k := ptrKey{v.Pointer(), v.Type()}
	if name, ok := w.names[k]; ok {
		b.WriteString(name)
		return nil
	}
	var expr bytes.Buffer
	if err := w.address(&expr, v); err != nil {
		return err
	}
	if w.seen[k] < 2 {
		b.Write(expr.Bytes())
		return nil
	}
	name := "p" + strconv.Itoa(len(w.names))
	w.names[k] = name
	fmt.Fprintf(&w.body, "%s := %s\n", name, expr.Bytes())
	b.WriteString(name)
	return nil
}

// address writes an expression of v's address: &T{...} for what has a
// composite literal, ptrTo(x) for the rest (the generated file declares
// ptrTo), a function literal for a struct with a map setter.
func (w *writer) address(b *bytes.Buffer, v reflect.Value) error {
	e := v.Elem()
	switch e.Kind() {
	case reflect.Struct:
		if _, ok := w.opts.MapSetters[e.Type()]; ok {
			return w.setterStruct(b, e)
		}
		b.WriteString("&")
		return w.structLit(b, e)
	case reflect.Slice, reflect.Map:
		if !e.IsNil() {
			b.WriteString("&")
			return w.value(b, e, false)
		}
	case reflect.Array:
		b.WriteString("&")
		return w.value(b, e, false)
	}
	b.WriteString("ptrTo(")
	if err := w.value(b, e, true); err != nil {
		return err
	}
	b.WriteString(")")
	return nil
}

// structLit writes a struct's composite literal, its zero fields left out.
func (w *writer) structLit(b *bytes.Buffer, v reflect.Value) error {
	return w.structFields(b, v, "")
}

// structFields writes v's composite literal, without the unexported field
// skip (one a setter fills).
func (w *writer) structFields(b *bytes.Buffer, v reflect.Value, skip string) error {
	t := v.Type()
	name, err := w.typeName(t)
	if err != nil {
		return err
	}
	b.WriteString(name + "{")
	first := true
	for i := range t.NumField() {
		f, fv := t.Field(i), v.Field(i)
		if fv.IsZero() || f.Name == skip {
			continue
		}
		if !f.IsExported() {
			if w.opts.Omit != nil && w.opts.Omit(t, f) {
				continue
			}
			return fmt.Errorf("golit: %s.%s is unexported and not zero", t, f.Name)
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		b.WriteString(f.Name + ": ")
		if err := w.value(b, fv, f.Type.Kind() == reflect.Interface); err != nil {
			return fmt.Errorf("%s.%s: %w", t, f.Name, err)
		}
	}
	b.WriteString("}")
	return nil
}

// setterStruct writes a function literal that builds v with its exported
// fields, then fills its unexported map through Set.
func (w *writer) setterStruct(b *bytes.Buffer, v reflect.Value) error {
	field := w.opts.MapSetters[v.Type()]
	m := v.FieldByName(field)
	if m.Kind() != reflect.Map {
		return fmt.Errorf("golit: %s.%s is not a map", v.Type(), field)
	}
	name, err := w.typeName(v.Type())
	if err != nil {
		return err
	}
	b.WriteString("func() *" + name + " {\nx := &")
	if err := w.structFields(b, v, field); err != nil {
		return err
	}
	b.WriteString("\n")
	for _, k := range sortedKeys(m) {
		b.WriteString("x.Set(")
		if err := w.value(b, k, false); err != nil {
			return err
		}
		b.WriteString(", ")
		if err := w.value(b, m.MapIndex(k), false); err != nil {
			return err
		}
		b.WriteString(")\n")
	}
	b.WriteString("return x\n}()")
	return nil
}

// typeName returns t as Go source, recording the packages it names.
func (w *writer) typeName(t reflect.Type) (string, error) {
	if t.Name() != "" {
		if t.PkgPath() == "" {
			return t.Name(), nil // predeclared
		}
		if strings.ContainsAny(t.Name(), "[]") {
			return "", fmt.Errorf("golit: generic type %s", t)
		}
		w.pkgs[t.PkgPath()] = true
		return t.PkgPath()[strings.LastIndexByte(t.PkgPath(), '/')+1:] + "." + t.Name(), nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		e, err := w.typeName(t.Elem())
		return "*" + e, err
	case reflect.Slice:
		e, err := w.typeName(t.Elem())
		return "[]" + e, err
	case reflect.Array:
		e, err := w.typeName(t.Elem())
		return "[" + strconv.Itoa(t.Len()) + "]" + e, err
	case reflect.Map:
		k, err := w.typeName(t.Key())
		if err != nil {
			return "", err
		}
		e, err := w.typeName(t.Elem())
		return "map[" + k + "]" + e, err
	case reflect.Interface:
		if t.NumMethod() == 0 {
			return "any", nil
		}
	}
	return "", fmt.Errorf("golit: cannot name the type %s", t)
}

// sortedKeys returns m's keys in order: by their value when they are
// strings, booleans or numbers, by fmt's rendering otherwise.
func sortedKeys(m reflect.Value) []reflect.Value {
	keys := m.MapKeys()
	slices.SortFunc(keys, func(a, b reflect.Value) int {
		switch a.Kind() {
		case reflect.String:
			return strings.Compare(a.String(), b.String())
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			return cmp.Compare(a.Int(), b.Int())
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			return cmp.Compare(a.Uint(), b.Uint())
		case reflect.Float32, reflect.Float64:
			return cmp.Compare(a.Float(), b.Float())
		}
		return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
	})
	return keys
}
