package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/internal/persist"
)

// dataFlags are the flags of persistence: --data, --data-clock,
// --data-reset.
type dataFlags struct {
	dir   *string
	clock *string
	reset *bool
}

func addDataFlags(fs *flag.FlagSet) dataFlags {
	return dataFlags{
		dir: fs.String("data", "", "keep the state in DIR (emulator.db): it survives restarts and crashes; a change is answered once durable (default: in memory only)"),
		clock: fs.String("data-clock", emulator.DataClockResume,
			"with --data, what the clock does across the downtime: resume (go on where it stopped) or catch-up (a real clock moves on by the wall time that passed)"),
		reset: fs.Bool("data-reset", false, "with --data, start the store over from the fixtures, forgetting what it held"),
	}
}

// apply sets opts' persistence from the flags; the flags that need
// --data are refused without it.
func (f dataFlags) apply(opts *emulator.Options) error {
	if *f.dir == "" {
		if *f.reset || *f.clock != emulator.DataClockResume {
			return fmt.Errorf("--data-reset and --data-clock need --data")
		}
		return nil
	}
	switch *f.clock {
	case emulator.DataClockResume, emulator.DataClockCatchUp:
	default:
		return fmt.Errorf("--data-clock must be resume or catch-up, not %q", *f.clock)
	}
	opts.Data, opts.DataClock, opts.DataReset = *f.dir, *f.clock, *f.reset
	return nil
}

// printData writes the banner's line of the store opts keep the state in;
// nothing without --data.
func printData(w io.Writer, opts emulator.Options) {
	if opts.Data == "" {
		return
	}
	fmt.Fprintf(w, "  data:          %s  (the state survives restarts; --data-clock %s)\n", filepath.Join(opts.Data, persist.FileName), opts.DataClock)
}
