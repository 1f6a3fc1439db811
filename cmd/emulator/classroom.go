package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/fixture"
)

// classroomFlags are --classroom and --classroom-file: tenants made at
// start, one per trainee, and the file their credentials are written to.
type classroomFlags struct {
	n    int
	file string
	ids  []string // the tenants made, once apply ran
}

// defaultClassroomFile is where --classroom writes the credentials when
// --classroom-file is not given: a printable page in the working directory.
const defaultClassroomFile = "mde-classroom.html"

func addClassroomFlags(fs *flag.FlagSet) *classroomFlags {
	f := &classroomFlags{}
	fs.IntVar(&f.n, "classroom", 0, fmt.Sprintf("make this many tenants at start (trainee-01, trainee-02, ...; at most %d), each a copy of the fixtures' first tenant with fresh ids and credentials; they are part of the fixtures, so POST /_emulator/reset keeps them", emulator.MaxClassroom))
	fs.StringVar(&f.file, "classroom-file", "", "where --classroom writes the trainees' credentials, mode 0600: .json, .txt or .html (a printed page per trainee) by its extension (default: "+defaultClassroomFile+")")
	return f
}

// apply returns set with the classroom's tenants added (set itself when
// --classroom is 0).
func (f *classroomFlags) apply(set *fixture.Set) (*fixture.Set, error) {
	if f.n == 0 {
		if f.file != "" {
			return nil, fmt.Errorf("--classroom-file needs --classroom")
		}
		return set, nil
	}
	if _, err := f.format(); err != nil {
		return nil, err
	}
	out, ids, err := emulator.AddClassroom(set, "trainee", f.n)
	if err != nil {
		return nil, err
	}
	f.ids = ids
	return out, nil
}

// format returns the credentials format of the file's extension.
func (f *classroomFlags) format() (string, error) {
	switch strings.ToLower(filepath.Ext(f.path())) {
	case ".json":
		return "json", nil
	case ".txt", ".text":
		return "text", nil
	case ".html", ".htm":
		return "html", nil
	}
	return "", fmt.Errorf("--classroom-file %s: the extension must be .json, .txt or .html", f.path())
}

func (f *classroomFlags) path() string {
	if f.file == "" {
		return defaultClassroomFile
	}
	return f.file
}

// write writes the classroom's credentials, with base as the emulator's
// URL for clients, and returns the file's path ("" without a classroom).
// The file holds secrets: it is made 0600, and an existing one is
// replaced (a new start means new credentials).
func (f *classroomFlags) write(srv *emulator.Server, base string) (string, error) {
	if len(f.ids) == 0 {
		return "", nil
	}
	format, err := f.format()
	if err != nil {
		return "", err
	}
	b, err := srv.Credentials(f.ids, base, format)
	if err != nil {
		return "", err
	}
	p := f.path()
	tmp, err := os.CreateTemp(filepath.Dir(p), ".classroom-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name()) // after the rename: nothing
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return "", err
	}
	return p, nil
}
